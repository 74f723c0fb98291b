// A websocket client for the sidecar's websocket sink (docs/websocket.md), for e2e tests.
//
//   const c = await connectClient(`ws://127.0.0.1:${port}/records`, { name: 'a' });
//   await c.waitForAcked(1000, 20000);     // records of acknowledged batches
//   await c.close();
//
// Each batch message is answered by `answer(batch, n)` (n = 0-based count of batches this
// client received): 'ack' (default), 'nack', or null (no answer). `delayMs` answers later
// (the order of answers is kept). Everything the client saw is kept:
//   batches  [{id, shard_id, stream, records, n, at, answer}] in arrival order
//   acked    records of acknowledged batches, in the order the acks were sent
//   received every record of every batch, in arrival order
//   log      optional shared array: {client, batch} pushed on arrival (cross-client order)
import WebSocket from 'ws';
import { waitFor } from '../lib/procs.mjs';

/**
 * Opens a websocket. Resolves with the client once the handshake succeeded; rejects with
 * an Error carrying `.status` when the server refused the upgrade (401, 404, ...).
 * options: { name, token, headers, answer(batch, n), delayMs, log }
 */
export function connectClient(url, options = {}) {
  const { name = 'client', token, answer = () => 'ack', delayMs = 0, log = null } = options;
  const headers = { ...(options.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  const ws = new WebSocket(url, { headers, maxPayload: 64 << 20 });
  let closeResolve;
  const client = {
    name,
    ws,
    batches: [],
    acked: [],
    received: [],
    nacked: [], // batches nacked by this client
    unanswered: [], // batches deliberately left unanswered
    answer,
    delayMs,
    closeInfo: null,
    closed: new Promise((r) => {
      closeResolve = r;
    }),
    errors: [],
    /** Sends one text message (raw string or an object, JSON-encoded). */
    send(msg) {
      ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
    },
    ack(batch) {
      client.send({ type: 'ack', id: batch.id });
      client.acked.push(...batch.records);
    },
    nack(batch, reason = 'test nack') {
      client.send({ type: 'nack', id: batch.id, reason });
      client.nacked.push(batch);
    },
    /** Resolves when at least n records of acknowledged batches were seen. */
    waitForAcked(n, timeoutMs = 20000) {
      return waitFor(() => client.acked.length >= n, {
        timeoutMs,
        intervalMs: 10,
        what: `${name}: ${n} acked records (have ${client.acked.length})`,
      });
    },
    /** Resolves when at least n batches arrived. */
    waitForBatches(n, timeoutMs = 20000) {
      return waitFor(() => client.batches.length >= n, {
        timeoutMs,
        intervalMs: 10,
        what: `${name}: ${n} batches (have ${client.batches.length})`,
      });
    },
    /** Graceful close (1000); resolves {code, reason} once closed. */
    async close(code = 1000, reason = '') {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
      return client.closed;
    },
    /** Drops the TCP connection without a close handshake. */
    async terminate() {
      ws.terminate();
      return client.closed;
    },
  };

  let chain = Promise.resolve(); // keeps delayed answers in arrival order
  ws.on('message', (raw, isBinary) => {
    if (isBinary) {
      client.errors.push('binary message from server');
      return;
    }
    let msg;
    try {
      msg = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      client.errors.push(`unparsable message: ${err.message}`);
      return;
    }
    if (msg.type !== 'batch') {
      client.errors.push(`unexpected message type ${msg.type}`);
      return;
    }
    const batch = { ...msg, n: client.batches.length, at: Date.now(), answer: null };
    client.batches.push(batch);
    client.received.push(...batch.records);
    if (log) log.push({ client: name, batch });
    const what = client.answer(batch, batch.n);
    batch.answer = what || 'none';
    if (!what) {
      client.unanswered.push(batch);
      return;
    }
    const reply = () => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (what === 'ack') client.ack(batch);
      else client.nack(batch);
    };
    if (client.delayMs > 0) chain = chain.then(() => new Promise((r) => setTimeout(r, client.delayMs))).then(reply);
    else reply();
  });
  ws.on('close', (code, reason) => {
    client.closeInfo = { code, reason: reason.toString('utf8') };
    closeResolve(client.closeInfo);
  });

  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (_req, res) => {
      const err = new Error(`${name}: handshake refused with HTTP ${res.statusCode}`);
      err.status = res.statusCode;
      res.resume();
      ws.terminate();
      reject(err);
    });
    ws.on('error', (err) => {
      client.errors.push(err.message);
      reject(err); // no effect once opened
    });
  });
}

/** Opens a client and expects the handshake to be refused; resolves the HTTP status. */
export async function refusedStatus(url, options = {}) {
  try {
    const c = await connectClient(url, options);
    await c.terminate();
    return 101;
  } catch (err) {
    if (err.status) return err.status;
    throw err;
  }
}

/** Sequence-number multiset helpers over records ({sequence_number, shard_id, stream}). */
export function countBySeq(records) {
  const m = new Map();
  for (const r of records) m.set(r.sequence_number, (m.get(r.sequence_number) || 0) + 1);
  return m;
}

/** Asserts-friendly: sequence numbers put but missing from records, and those seen twice. */
export function coverage(puts, records) {
  const seen = countBySeq(records);
  const missing = puts.filter((p) => !seen.has(p.sequenceNumber)).map((p) => p.sequenceNumber);
  const dups = [...seen.entries()].filter(([, c]) => c > 1).map(([s]) => s);
  return { missing, dups, unique: seen.size };
}

/** Per shard (stream/shard_id), the first place where sequence numbers do not increase; null if none. */
export function orderViolation(records) {
  const last = new Map();
  for (const r of records) {
    const key = `${r.stream}/${r.shard_id}`;
    const prev = last.get(key);
    const cur = BigInt(r.sequence_number);
    if (prev !== undefined && cur <= prev) return `${key}: ${r.sequence_number} after ${prev}`;
    last.set(key, cur);
  }
  return null;
}
