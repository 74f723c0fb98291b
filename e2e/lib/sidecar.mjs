// Runs kinesis-sidecar processes for e2e tests and reads what they deliver.
//
//   const sc = await startSidecar({ streams: ['orders'], table: 'leases',
//     kinesisEndpoint: kin.endpoint, dynamoEndpoint: ddb.endpoint, fifoPath }, t);
//   await sc.waitForLog((l) => l.msg === 'lease claimed', 10000);
//   const reader = await openFifoReader(fifoPath);
//   await reader.waitForRecords(100, 20000);
//   const { code } = await sc.stop();           // SIGTERM, SIGKILL after timeoutMs
//
// The binary: env KS_SIDECAR_BIN, else ../build/san/kinesis-sidecar relative to e2e/.
// Command line: <bin> run -c <config.yaml> (plus opts.extraArgs).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { spawnTracked, killAndWait, isRunning, freePort, waitFor } from './procs.mjs';
import { FAKE_CREDS, REGION } from './emulators.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const E2E_DIR = path.join(here, '..');

export function sidecarBin() {
  return process.env.KS_SIDECAR_BIN
    ? path.resolve(process.env.KS_SIDECAR_BIN)
    : path.resolve(E2E_DIR, '../build/san/kinesis-sidecar');
}

/** A fresh temp dir under the OS temp dir; removed by t.after when t is given. */
export async function makeTempDir(t, prefix = 'ks-e2e-') {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  if (t) t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  return dir;
}

// ------------------------------------------------------------------ YAML config

function yamlScalar(v) {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return '""';
  return JSON.stringify(String(v)); // JSON strings are valid YAML double-quoted scalars
}

/** Serializes plain objects/arrays/scalars as block YAML (keys in insertion order). */
export function toYaml(value, indent = 0) {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (!value.length) return '[]';
    return value
      .map((v) => {
        if (v && typeof v === 'object') {
          const inner = toYaml(v, indent + 2).replace(/^\s+/, '');
          return `${pad}- ${inner}`;
        }
        return `${pad}- ${yamlScalar(v)}`;
      })
      .join('\n');
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (!entries.length) return '{}';
    return entries
      .map(([k, v]) => {
        if (v && typeof v === 'object' && (Array.isArray(v) ? v.length : Object.keys(v).length)) {
          return `${pad}${k}:\n${toYaml(v, indent + 2)}`;
        }
        if (v && typeof v === 'object') return `${pad}${k}: ${Array.isArray(v) ? '[]' : '{}'}`;
        return `${pad}${k}: ${yamlScalar(v)}`;
      })
      .join('\n');
  }
  return pad + yamlScalar(value);
}

/**
 * Builds the config object (see DESIGN.md §3). Options:
 *   streams (array of "name" | "arn:..." | "name:shardId"), table, createTable (true),
 *   billingMode ('PAY_PER_REQUEST'), kinesisEndpoint, dynamoEndpoint, region (us-east-1),
 *   credentials ({id, secret}; fake by default),
 *   fifoPath (FIFO output) | websocket ({address, path, ack_timeout, max_in_flight, token_file}),
 *   codec ('json_lines'), httpAddress ('127.0.0.1:<port>'),
 *   commitPeriod ('1s'), rebalancePeriod ('2s'), leasePeriod ('5s'), stealGracePeriod ('1s'),
 *   checkpointLimit, startFromOldest (true), getRecordsLimit, idlePollMax, batching ({...}),
 *   logLevel ('DEBUG'), shutdownTimeout ('10s'), input / output / extra: objects merged over
 *   the generated sections (input is merged into input.aws_kinesis).
 */
export function buildConfig(o = {}) {
  const creds = o.credentials || { id: FAKE_CREDS.accessKeyId, secret: FAKE_CREDS.secretAccessKey };
  const aws = {
    streams: o.streams || [],
    dynamodb: {
      table: o.table || 'kinesis-sidecar-leases',
      create: o.createTable ?? true,
      billing_mode: o.billingMode || 'PAY_PER_REQUEST',
      ...(o.dynamoEndpoint ? { endpoint: o.dynamoEndpoint } : {}),
    },
    checkpoint_limit: o.checkpointLimit,
    commit_period: o.commitPeriod ?? '1s',
    rebalance_period: o.rebalancePeriod ?? '2s',
    lease_period: o.leasePeriod ?? '5s',
    steal_grace_period: o.stealGracePeriod ?? '1s',
    start_from_oldest: o.startFromOldest ?? true,
    region: o.region || REGION,
    endpoint: o.kinesisEndpoint,
    credentials: creds,
    get_records_limit: o.getRecordsLimit,
    idle_poll_max: o.idlePollMax,
    batching: o.batching,
    ...(o.input || {}),
  };
  let output;
  if (o.websocket) output = { websocket: o.websocket };
  else output = { fifo: { path: o.fifoPath, codec: o.codec || 'json_lines', create: true, mode: '0600' } };
  return {
    input: { aws_kinesis: aws },
    output: { ...output, ...(o.output || {}) },
    http: { address: o.httpAddress },
    logger: { level: o.logLevel || 'DEBUG', format: 'json' },
    shutdown_timeout: o.shutdownTimeout ?? '10s',
    ...(o.extra || {}),
  };
}

// ------------------------------------------------------------------ the process

/**
 * Starts a sidecar. opts: every buildConfig option, plus
 *   config (a full config object: used instead of buildConfig), configYaml (raw text),
 *   dir (temp dir; created when absent), bin, env, extraArgs, args (replaces ['run','-c',cfg]),
 *   name (for diagnostics), echo (print its stderr; also env KS_E2E_ECHO=1).
 * Picks a free admin port when httpAddress is absent. Registers t.after(stop) when t given.
 * Returns a handle: {pid, child, dir, configPath, adminUrl, logs, stderr(), waitForLog(),
 * waitExit(), stop(), kill(), running()}.
 */
export async function startSidecar(opts = {}, t) {
  const dir = opts.dir || (await makeTempDir(t));
  let httpAddress = opts.httpAddress;
  if (!httpAddress) httpAddress = `127.0.0.1:${await freePort()}`;
  const configPath = path.join(dir, `${opts.name || 'sidecar'}.yaml`);
  const yaml = opts.configYaml ?? toYaml(opts.config || buildConfig({ ...opts, httpAddress })) + '\n';
  await fsp.writeFile(configPath, yaml);
  const bin = opts.bin || sidecarBin();
  const args = opts.args || ['run', '-c', configPath, ...(opts.extraArgs || [])];
  const child = spawnTracked(opts.name || 'sidecar', bin, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: FAKE_CREDS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: FAKE_CREDS.secretAccessKey,
      AWS_REGION: REGION,
      AWS_EC2_METADATA_DISABLED: 'true',
      ...(opts.env || {}),
    },
  });
  const echo = opts.echo ?? process.env.KS_E2E_ECHO === '1';
  const logs = []; // parsed JSON log lines ({raw} for lines that are not JSON)
  const emitter = new EventEmitter();
  let stderrText = '';
  let stdoutText = '';
  let partial = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderrText = (stderrText + d).slice(-1 << 20);
    if (echo) process.stderr.write(`[${opts.name || 'sidecar'} ${child.pid}] ${d}`);
    partial += d;
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (!line.trim()) continue;
      let entry;
      try {
        entry = JSON.parse(line);
        if (!entry || typeof entry !== 'object') entry = { raw: line };
      } catch {
        entry = { raw: line };
      }
      logs.push(entry);
      emitter.emit('log', entry);
    }
  });
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    stdoutText = (stdoutText + d).slice(-1 << 20);
  });

  const handle = {
    name: opts.name || 'sidecar',
    pid: child.pid,
    child,
    dir,
    configPath,
    httpAddress,
    adminUrl: `http://${httpAddress}`,
    logs,
    events: emitter,
    stderr: () => stderrText,
    stdout: () => stdoutText,
    running: () => isRunning(child),
    /** Resolves with the first log entry (past or future) for which pred(entry) is true. */
    waitForLog(pred, timeoutMs = 10000) {
      const hit = logs.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const done = (fn, v) => {
          clearTimeout(timer);
          emitter.off('log', onLog);
          fn(v);
        };
        const onLog = (e) => {
          if (pred(e)) done(resolve, e);
        };
        const timer = setTimeout(
          () => done(reject, new Error(`${handle.name}: no matching log line in ${timeoutMs} ms; last lines:\n${stderrText.slice(-3000)}`)),
          timeoutMs,
        );
        emitter.on('log', onLog);
        child.exitPromise.then(({ code, signal }) => {
          if (!logs.find(pred)) done(reject, new Error(`${handle.name} exited (code ${code}, signal ${signal}) before the log line appeared:\n${stderrText.slice(-3000)}`));
        });
      });
    },
    /** Resolves {code, signal} when the process exits (rejects after timeoutMs). */
    async waitExit(timeoutMs = 30000) {
      let timer;
      const r = await Promise.race([
        child.exitPromise,
        new Promise((_, rej) => {
          timer = setTimeout(() => rej(new Error(`${handle.name} did not exit in ${timeoutMs} ms`)), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
      return r;
    },
    /** SIGTERM (or opts.signal), SIGKILL after timeoutMs; resolves {code, signal}. */
    stop({ signal = 'SIGTERM', timeoutMs = 15000 } = {}) {
      return killAndWait(child, { signal, timeoutMs });
    },
    kill() {
      return killAndWait(child, { signal: 'SIGKILL', timeoutMs: 5000 });
    },
    /** GET/POST on the admin server: returns {status, body, json}. */
    async admin(pathname, { method = 'GET' } = {}) {
      const res = await fetch(handle.adminUrl + pathname, { method });
      const body = await res.text();
      let json;
      try {
        json = JSON.parse(body);
      } catch {
        /* not JSON */
      }
      return { status: res.status, body, json };
    },
  };
  // A failed spawn (e.g. missing binary) must surface as an error, not a hang.
  await new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(new Error(`cannot start ${bin}: ${err.message}`)));
  });
  if (t) t.after(() => handle.stop({ timeoutMs: 5000 }));
  return handle;
}

// ------------------------------------------------------------------ FIFO reader

/**
 * Opens a FIFO for reading without blocking the event loop (O_NONBLOCK; the data then flows
 * through a libuv pipe handle). Waits up to waitMs for the path to exist as a FIFO.
 * options: { waitMs (10000), codec ('json_lines' | 'lines' | 'raw'), reopen (true: when the
 * writer closes, open again so a restarted writer finds a reader) }.
 * Returns {records, lines, errors, chunks, waitForRecords(n, ms), close(), reopen(), on(...)}.
 * json_lines records are the parsed objects ({data, partition_key, sequence_number, shard_id,
 * stream, arrival_timestamp, ...} as the sidecar writes them).
 */
export async function openFifoReader(fifoPath, { waitMs = 10000, codec = 'json_lines', reopen = true } = {}) {
  await waitFor(
    async () => {
      try {
        return (await fsp.stat(fifoPath)).isFIFO();
      } catch {
        return false;
      }
    },
    { timeoutMs: waitMs, intervalMs: 20, what: `FIFO ${fifoPath}` },
  );
  const emitter = new EventEmitter();
  const reader = {
    path: fifoPath,
    records: [],
    lines: [],
    errors: [],
    bytes: 0,
    opens: 0,
    eofs: 0,
    closed: false,
    socket: null,
    on: (...a) => emitter.on(...a),
    off: (...a) => emitter.off(...a),
  };
  let partial = '';

  function onData(chunk) {
    reader.bytes += chunk.length;
    if (codec === 'raw') {
      emitter.emit('data', chunk);
      return;
    }
    partial += chunk.toString('utf8');
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      reader.lines.push(line);
      if (codec === 'json_lines') {
        try {
          const rec = JSON.parse(line);
          reader.records.push(rec);
          emitter.emit('record', rec);
        } catch (err) {
          reader.errors.push({ line, error: err.message });
          emitter.emit('parse-error', line);
        }
      } else {
        reader.records.push(line);
        emitter.emit('record', line);
      }
    }
  }

  async function open() {
    // A raw fd (not a FileHandle, which would close it on garbage collection), handed to a
    // libuv pipe handle that owns it from then on. O_NONBLOCK: open never waits for a writer.
    const fd = await new Promise((resolve, reject) =>
      fs.open(fifoPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK, (err, f) => (err ? reject(err) : resolve(f))),
    );
    const sock = new net.Socket({ fd, readable: true, writable: false });
    reader.opens++;
    reader.socket = sock;
    sock.on('data', onData);
    sock.on('error', (err) => emitter.emit('error-event', err));
    sock.on('close', () => {
      if (reader.socket !== sock) return;
      reader.socket = null;
      if (partial && codec !== 'raw') reader.errors.push({ line: partial, error: 'truncated line at EOF' });
      partial = '';
      reader.eofs++;
      emitter.emit('eof');
      if (!reader.closed && reopen) open().catch((err) => emitter.emit('error-event', err));
    });
  }

  /** Resolves when at least n records arrived; rejects after timeoutMs. */
  reader.waitForRecords = (n, timeoutMs = 10000) =>
    waitFor(() => reader.records.length >= n && reader.records, {
      timeoutMs,
      intervalMs: 10,
      what: `${n} records on ${fifoPath} (have ${reader.records.length})`,
    }).catch((err) => {
      err.message += ` (have ${reader.records.length})`;
      throw err;
    });
  /** Closes the read end (the writer sees EPIPE on its next write). */
  reader.close = async () => {
    reader.closed = true;
    const s = reader.socket;
    reader.socket = null;
    partial = '';
    if (s && !s.destroyed) {
      await new Promise((r) => {
        s.once('close', r);
        s.destroy();
      });
    }
  };
  /** Opens the FIFO again after close() (keeps collected records unless clear = true). */
  reader.reopen = async ({ clear = false } = {}) => {
    if (clear) {
      reader.records.length = 0;
      reader.lines.length = 0;
      reader.errors.length = 0;
    }
    reader.closed = false;
    if (!reader.socket) await open();
  };
  await open();
  return reader;
}
