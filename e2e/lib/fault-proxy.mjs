// HTTP/1.1 reverse proxy in front of an emulator that injects faults by operation
// (the part of X-Amz-Target after the '.', e.g. "GetRecords", "UpdateItem").
//
//   const proxy = await startFaultProxy(kin.endpoint);   // {endpoint, port, ...}
//   proxy.throttle('GetRecords', { count: 3 });           // 3 x 400 ProvisionedThroughputExceeded
//   proxy.serverError('UpdateItem', { probability: 0.2 });// 500 InternalFailure 20 % of the time
//   proxy.conditionalFail('UpdateItem', { count: 1 });
//   proxy.reset('GetRecords', { count: 1 });              // connection reset (TCP RST)
//   proxy.latency('*', 200);                              // add 200 ms, then forward
//   proxy.down();  proxy.up();                            // refuse (or reset) every connection
//   proxy.injected('GetRecords')                          // how many faults were injected
//
// A rule matches when its `op` (string, array, or '*') matches and its budget allows:
// `after` matching requests pass first, then up to `count` (default unlimited) are
// injected, each with `probability` (default 1). The first matching rule that fires wins;
// latency rules add their delay and the request continues to the other rules.
import http from 'node:http';

const DDB_PREFIX = 'com.amazonaws.dynamodb.v20120810#';

function opOf(req) {
  const target = req.headers['x-amz-target'] || '';
  const dot = target.lastIndexOf('.');
  return dot >= 0 ? target.slice(dot + 1) : target || `${req.method} ${req.url}`;
}

function matches(ruleOp, op) {
  if (ruleOp === '*' || ruleOp == null) return true;
  return Array.isArray(ruleOp) ? ruleOp.includes(op) : ruleOp === op;
}

function hardReset(socket) {
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

/**
 * Starts the proxy on 127.0.0.1 (port 0 = free unless options.port).
 * options: { port, keepRequests (default 5000: last N requests kept in proxy.requests) }
 */
export async function startFaultProxy(targetEndpoint, { port = 0, keepRequests = 5000 } = {}) {
  const target = new URL(targetEndpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const sockets = new Set();
  let rules = [];
  let nextId = 1;
  let downMode = null; // null | 'refuse' | 'reset'
  const stats = { requests: {}, forwarded: 0, injected: {}, injectedTotal: 0, upstreamErrors: 0 };
  const requests = [];

  function count(op, kind) {
    stats.injectedTotal++;
    const o = (stats.injected[op] ||= {});
    o[kind] = (o[kind] || 0) + 1;
  }

  function pickRules(op) {
    const out = [];
    for (const r of rules) {
      if (!matches(r.op, op)) continue;
      r.seen++;
      if (r.seen <= r.after) continue;
      if (r.fired >= r.count) continue;
      if (Math.random() >= r.probability) continue;
      r.fired++;
      out.push(r);
      if (r.action !== 'latency') break;
    }
    return out;
  }

  function sendError(req, res, op, rule) {
    const isDdb = (req.headers['x-amz-target'] || '').startsWith('DynamoDB');
    const type = rule.type;
    const body = JSON.stringify({
      __type: isDdb ? DDB_PREFIX + type : type,
      message: rule.message ?? `injected ${type} by fault-proxy`,
    });
    res.writeHead(rule.status, {
      'content-type': req.headers['content-type'] || 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(body),
      'x-amzn-requestid': `fault-${stats.injectedTotal}`,
    });
    res.end(body);
  }

  function forward(req, res, body) {
    const up = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
        agent,
      },
      (ures) => {
        res.writeHead(ures.statusCode, ures.headers);
        ures.pipe(res);
      },
    );
    up.on('error', () => {
      stats.upstreamErrors++;
      hardReset(req.socket);
    });
    stats.forwarded++;
    up.end(body);
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const op = opOf(req);
      stats.requests[op] = (stats.requests[op] || 0) + 1;
      requests.push({ op, body: body.toString('utf8'), at: Date.now() });
      if (requests.length > keepRequests) requests.shift();
      if (downMode) {
        count(op, 'down');
        hardReset(req.socket);
        return;
      }
      const fired = pickRules(op);
      for (const rule of fired) {
        count(op, rule.action);
        if (rule.action === 'latency') {
          await new Promise((r) => setTimeout(r, rule.latencyMs));
          if (req.socket.destroyed) return;
          continue;
        }
        if (rule.action === 'reset') {
          hardReset(req.socket);
          return;
        }
        if (rule.action === 'error') {
          sendError(req, res, op, rule);
          return;
        }
      }
      forward(req, res, body);
    });
  });
  server.keepAliveTimeout = 60000;
  server.on('connection', (s) => {
    if (downMode === 'reset') {
      count('(connection)', 'down'); // the operation is unknown before the request is read
      hardReset(s);
      return;
    }
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (_err, s) => s.destroy());

  const listen = (p) =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => {
        server.off('error', reject);
        resolve(server.address().port);
      });
    });
  const boundPort = await listen(port);

  function addRule(rule) {
    const r = {
      id: nextId++,
      op: rule.op ?? '*',
      action: rule.action,
      status: rule.status ?? 400,
      type: rule.type ?? 'InternalFailure',
      message: rule.message,
      latencyMs: rule.latencyMs ?? 0,
      probability: rule.probability ?? 1,
      count: rule.count ?? Infinity,
      after: rule.after ?? 0,
      seen: 0,
      fired: 0,
    };
    if (!['error', 'reset', 'latency'].includes(r.action)) throw new Error(`unknown action ${r.action}`);
    rules.push(r);
    return r;
  }

  const proxy = {
    endpoint: `http://127.0.0.1:${boundPort}`,
    port: boundPort,
    target: targetEndpoint,
    stats,
    requests,
    addRule,
    removeRule(r) {
      rules = rules.filter((x) => x !== r && x.id !== r);
    },
    clearRules() {
      rules = [];
    },
    rules: () => rules.slice(),
    /** 400 ProvisionedThroughputExceededException (or opts.type, e.g. LimitExceededException). */
    throttle: (op, opts = {}) =>
      addRule({ op, action: 'error', status: 400, type: 'ProvisionedThroughputExceededException', ...opts }),
    /** 500 InternalFailure (or opts.status/type, e.g. 503 ServiceUnavailable). */
    serverError: (op, opts = {}) => addRule({ op, action: 'error', status: 500, type: 'InternalFailure', ...opts }),
    conditionalFail: (op, opts = {}) =>
      addRule({ op, action: 'error', status: 400, type: 'ConditionalCheckFailedException', ...opts }),
    /** Any AWS error: awsError('GetRecords', 400, 'ExpiredIteratorException', opts). */
    awsError: (op, status, type, opts = {}) => addRule({ op, action: 'error', status, type, ...opts }),
    reset: (op, opts = {}) => addRule({ op, action: 'reset', ...opts }),
    latency: (op, latencyMs, opts = {}) => addRule({ op, action: 'latency', latencyMs, ...opts }),
    /** Everything fails: 'refuse' stops listening (ECONNREFUSED), 'reset' resets connections. */
    async down({ mode = 'refuse' } = {}) {
      downMode = mode;
      for (const s of sockets) hardReset(s);
      sockets.clear();
      if (mode === 'refuse' && server.listening) await new Promise((r) => server.close(() => r()));
    },
    /** Back up on the same port. */
    async up() {
      const wasRefusing = downMode === 'refuse';
      downMode = null;
      if (wasRefusing && !server.listening) await listen(boundPort);
    },
    isDown: () => downMode !== null,
    /** Faults injected for op (all ops when omitted), optionally of one action kind. */
    injected(op, kind) {
      const ops = op ? [op] : Object.keys(stats.injected);
      let n = 0;
      for (const o of ops) {
        const m = stats.injected[o] || {};
        n += kind ? m[kind] || 0 : Object.values(m).reduce((a, b) => a + b, 0);
      }
      return n;
    },
    /** Requests seen for op (all when omitted). */
    seen(op) {
      return op ? stats.requests[op] || 0 : Object.values(stats.requests).reduce((a, b) => a + b, 0);
    },
    async stop() {
      downMode = 'reset';
      for (const s of sockets) s.destroy();
      agent.destroy();
      if (server.listening) await new Promise((r) => server.close(() => r()));
    },
  };
  return proxy;
}
