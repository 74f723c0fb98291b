// The demo itself (started by demo.mjs in its own process group; see README.md here).
//
// kinesalite + dynalite -> a 4-shard stream and a producer at --rate records/s -> two sidecars
// sharing the stream through one lease table: "fifo" (FIFO output, read with the harness's
// FIFO reader) and "ws" (websocket output, a `ws` client that acks every batch). A view is
// printed every second until SIGINT/SIGTERM or --duration; then everything started is stopped
// by PID: producer, sidecars (SIGTERM: they hand their leases over and exit 0), readers,
// emulators; the temp dir is removed. Exit status 0 when both sidecars exited 0.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  startKinesalite,
  startDynalite,
  kinesisClient,
  dynamoClient,
  createStream,
  createLeaseTable,
  scanTable,
  freePort,
} from '../lib/emulators.mjs';
import { startSidecar } from '../lib/sidecar.mjs';
import { newCounter, fifoReader, wsReader, startProducer } from './readers.mjs';
import { frameLines, statusLine } from './view.mjs';

// procs.mjs (imported by the harness) kills everything with SIGKILL on SIGINT/SIGTERM, which
// suits tests; the demo wants an orderly stop, so it takes those signals over. The harness's
// 'exit' hook stays: whatever is still running when this process exits is SIGKILLed.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.removeAllListeners(sig);

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');

const USAGE = `usage: node e2e/demo/demo.mjs [--rate R] [--duration N] [--shards S] [--plain]
  --rate R       records per second put by the producer (default 200)
  --duration N   stop by itself after N seconds (default: run until Ctrl-C)
  --shards S     shards of the demo stream (default 4)
  --plain        one status line per second even on a terminal
  --keep         keep the temp dir (configs, sidecar logs) and print its path
env: KS_SIDECAR_BIN  the sidecar binary (default bin/kinesis-sidecar)`;

function fail(msg) {
  process.stderr.write(`demo: ${msg}\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      rate: { type: 'string', default: '200' },
      duration: { type: 'string' },
      shards: { type: 'string', default: '4' },
      plain: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (err) {
  fail(`${err.message}\n${USAGE}`);
}
if (args.help) {
  process.stdout.write(USAGE + '\n');
  process.exit(0);
}
const rate = Number(args.rate);
const duration = args.duration == null ? null : Number(args.duration);
const shards = Number(args.shards);
if (!(rate > 0 && rate <= 10000)) fail('--rate must be a number in (0, 10000]');
if (duration != null && !(duration > 0)) fail('--duration must be a positive number of seconds');
if (!(Number.isInteger(shards) && shards >= 1 && shards <= 64)) fail('--shards must be an integer 1..64');

const tty = process.env.KS_DEMO_TTY === '1' && !args.plain;
let columns = Number(process.env.KS_DEMO_COLUMNS) || 80;
process.on('message', (m) => {
  if (m && m.columns) columns = m.columns;
});

const bin = process.env.KS_SIDECAR_BIN ? path.resolve(process.env.KS_SIDECAR_BIN) : path.join(repo, 'bin/kinesis-sidecar');
const STREAM = 'demo';
const TABLE = 'kinesis-sidecar-demo-leases';
const PERIODS = { commitPeriod: '1s', rebalancePeriod: '2s', leasePeriod: '10s', stealGracePeriod: '1s', shutdownTimeout: '10s' };

let outputGone = false; // the launcher died: nobody reads stdout any more (EPIPE)
process.stdout.on('error', () => {
  outputGone = true;
});
const write = (text) => {
  if (!outputGone) process.stdout.write(text);
};
const say = (line) => write(line + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ state

const t0 = Date.now();
const started = []; // {name, pid} of every process started, for the closing report
const dedup = { maxSeq: new Map(), redelivered: 0 };
let tmp = null;
let kin = null;
let ddb = null;
let kc = null;
let dc = null;
let producer = null;
const sidecars = []; // {name, clientId, output, sc, counter, reader, last: {records, at}, perS, status, ready}
let owners = null;
let stopping = null; // reason, once stopping
let ticker = null;
let durationTimer = null;

// ------------------------------------------------------------------ polling

async function getJson(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(900) });
  const body = await res.text();
  let json = null;
  try {
    json = JSON.parse(body);
  } catch {
    /* not JSON */
  }
  return { status: res.status, json };
}

let polling = false;
async function poll() {
  if (polling) return;
  polling = true;
  try {
    await Promise.all([
      ...sidecars.map(async (x) => {
        if (!x.sc.running()) {
          x.ready = null;
          x.status = null;
          return;
        }
        const [ready, status] = await Promise.allSettled([getJson(x.sc.adminUrl + '/ready'), getJson(x.sc.adminUrl + '/status')]);
        x.ready =
          ready.status === 'fulfilled'
            ? { status: ready.value.status, reason: ready.value.json?.reasons?.[0] || '' }
            : null;
        x.status = status.status === 'fulfilled' && status.value.status === 200 ? status.value.json : null;
      }),
      (async () => {
        try {
          const rows = (await scanTable(dc, TABLE)).filter((r) => r.StreamID === STREAM);
          rows.sort((a, b) => (a.ShardID < b.ShardID ? -1 : 1));
          const byClient = new Map(sidecars.map((x) => [x.clientId, x.name]));
          owners = rows
            .filter((r) => r.SequenceNumber !== 'SHARD_END')
            .map((r) => [r.ShardID, r.ClientID ? byClient.get(r.ClientID) || r.ClientID : null]);
        } catch {
          owners = null;
        }
      })(),
    ]);
  } finally {
    polling = false;
  }
}

function readerText(x) {
  if (!x.sc.running()) return x.output === 'fifo' ? `FIFO ${x.fifoPath} (writer gone)` : 'ws client closed';
  if (x.output === 'fifo') {
    const connected = x.status?.sink?.reader_connected;
    return `FIFO ${x.fifoPath}` + (connected === undefined ? '' : connected ? ' (open)' : ' (no reader)');
  }
  const r = x.reader;
  const inFlight = x.status?.sink?.in_flight;
  return (
    `ws client ${r.connected ? 'connected' : 'connecting'}` +
    (inFlight === undefined ? '' : `, ${inFlight} batches in flight`) +
    `, ${x.counter.batches.toLocaleString('en-US')} acked`
  );
}

function snapshot() {
  const now = Date.now();
  const put = producer ? producer.put : 0;
  let delivered = 0;
  const scs = sidecars.map((x) => {
    const dt = (now - x.last.at) / 1000;
    if (dt >= 0.5) {
      x.perS = (x.counter.records - x.last.records) / dt;
      x.latAvg = x.counter.latN ? x.counter.latSum / x.counter.latN : null;
      x.counter.latSum = 0;
      x.counter.latN = 0;
      x.last = { records: x.counter.records, at: now };
    }
    delivered += x.counter.records;
    // /status: {"held": n, "leases": [{stream, shard_id, ...}], ...}
    const lease = x.status && Array.isArray(x.status.leases) ? x.status : null;
    return {
      name: x.name,
      pid: x.sc.pid,
      running: x.sc.running(),
      exit: x.exitText,
      ready: x.ready,
      leases: x.sc.running() && lease ? lease.held : null,
      shardIds: x.sc.running() && lease ? (lease.leases || []).map((l) => l.shard_id).sort() : [],
      perS: x.perS,
      delivered: x.counter.records,
      latAvg: x.latAvg,
      reader: readerText(x),
    };
  });
  if (producer) {
    const dt = (now - producer.last.at) / 1000;
    if (dt >= 0.5) {
      producer.perS = (put - producer.last.put) / dt;
      producer.last = { put, at: now };
    }
  }
  return {
    elapsedS: (now - t0) / 1000,
    duration,
    stream: STREAM,
    shards,
    table: TABLE,
    producer: { rate, put, perS: producer?.perS || 0, errors: producer?.errors || 0 },
    sidecars: scs,
    owners,
    backlog: Math.max(0, put - (delivered - dedup.redelivered)),
    redelivered: dedup.redelivered,
    stopping,
  };
}

function render() {
  const s = snapshot();
  if (tty) {
    const lines = frameLines(s, Math.max(40, columns));
    write('\x1b[H' + lines.map((l) => l + '\x1b[K').join('\n') + '\n\x1b[J');
  } else {
    say(statusLine(s));
  }
}

async function tick() {
  await poll();
  if (!stopping || tty) render();
}

// ------------------------------------------------------------------ start

/** "demo 1, emulators 2 3, sidecars 4 5": every PID the demo is responsible for. */
function pidList() {
  const of = (re) => started.filter((p) => re.test(p.name)).map((p) => p.pid).join(' ');
  return `demo ${process.pid}, emulators ${of(/lite$/)}, sidecars ${of(/^sidecar/)}`;
}

async function startOne(name, output) {
  const clientId = `demo-${name}`;
  const x = { name, clientId, output, counter: newCounter(), perS: 0, latAvg: null, status: null, ready: null };
  const opts = {
    name,
    dir: tmp,
    bin,
    streams: [STREAM],
    table: TABLE,
    kinesisEndpoint: kin.endpoint,
    dynamoEndpoint: ddb.endpoint,
    logLevel: 'INFO',
    env: { KS_CLIENT_ID: clientId },
    ...PERIODS,
  };
  if (output === 'fifo') {
    x.fifoPath = path.join(tmp, 'fifo-records');
    opts.fifoPath = x.fifoPath;
  } else {
    const port = await freePort();
    opts.websocket = { address: `127.0.0.1:${port}`, path: '/records', ack_timeout: '10s', max_in_flight: 16 };
    x.wsUrl = `ws://127.0.0.1:${port}/records`;
  }
  x.sc = await startSidecar(opts);
  started.push({ name: `sidecar ${name}`, pid: x.sc.pid });
  if (args.keep) {
    const log = fs.createWriteStream(path.join(tmp, `${name}.log`));
    x.sc.child.stderr.on('data', (d) => log.write(d));
  }
  x.sc.child.exitPromise.then(({ code, signal }) => {
    x.exitText = signal ? `killed ${signal}` : `exit ${code}`;
    if (!stopping) stop(`sidecar ${name} exited on its own (${x.exitText})`, 1);
  });
  x.last = { records: 0, at: Date.now() };
  sidecars.push(x);
  say(`sidecar ${name}: pid ${x.sc.pid}, ${output} output, admin ${x.sc.adminUrl}`);
  if (output === 'fifo') {
    x.reader = await fifoReader(x.fifoPath, x.counter, dedup);
    say(`  reader: FIFO ${x.fifoPath}`);
  } else {
    x.reader = wsReader(x.wsUrl, x.counter, dedup);
    say(`  reader: websocket client on ${x.wsUrl} (acks every batch)`);
  }
  return x;
}

async function start() {
  try {
    fs.accessSync(bin, fs.constants.X_OK);
  } catch {
    fail(`no sidecar binary at ${bin}: run "make bin/kinesis-sidecar" or set KS_SIDECAR_BIN`);
  }
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'ks-demo-'));
  say(`demo: pid ${process.pid}, temp dir ${tmp}`);
  say(`sidecar binary: ${path.relative(process.cwd(), bin) || bin}`);
  [kin, ddb] = await Promise.all([startKinesalite(), startDynalite()]);
  started.push({ name: 'kinesalite', pid: kin.pid }, { name: 'dynalite', pid: ddb.pid });
  say(`kinesalite: pid ${kin.pid}, ${kin.endpoint}`);
  say(`dynalite:   pid ${ddb.pid}, ${ddb.endpoint}`);
  kc = kinesisClient(kin.endpoint);
  dc = dynamoClient(ddb.endpoint);
  await createStream(kc, STREAM, shards);
  await createLeaseTable(dc, TABLE);
  say(`stream "${STREAM}" (${shards} shards) and lease table "${TABLE}" created`);
  producer = startProducer(kc, STREAM, rate);
  producer.last = { put: 0, at: Date.now() };
  say(`producer: ${rate} records/s`);
  await startOne('fifo', 'fifo');
  await startOne('ws', 'websocket');
  say(`pids: ${pidList()}`);
  if (tty) write('\x1b[?25l\x1b[2J'); // hide the cursor, clear once
  else say('columns: time, records put | per sidecar: leases held, GET /ready, records/s, delivered');
}

// ------------------------------------------------------------------ stop

let exitCode = 0;
let stopPromise = null;

function stop(reason, code = 0) {
  if (stopPromise) return stopPromise;
  stopping = reason;
  exitCode = code;
  stopPromise = (async () => {
    clearTimeout(durationTimer);
    if (!tty) say(`stopping: ${reason}`);
    if (producer) await producer.stop();
    // Give the sidecars a moment to deliver what was put (a cleaner closing tally).
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && sidecars.some((x) => x.sc.running())) {
      const s = snapshot();
      if (s.backlog === 0) break;
      await sleep(100);
    }
    if (tty) render();
    // Sidecars first (SIGTERM: they release or hand over their leases, so DynamoDB must still be up).
    const results = await Promise.all(
      sidecars.map(async (x) => {
        const t = Date.now();
        const r = await x.sc.stop({ signal: 'SIGTERM', timeoutMs: 20000 });
        return { x, r, ms: Date.now() - t };
      }),
    );
    clearInterval(ticker);
    await Promise.all(sidecars.map((x) => (x.reader ? x.reader.close() : null)));
    if (dc) await poll(); // the lease table after the hand-over: every shard free
    kc?.destroy();
    dc?.destroy();
    await Promise.all([kin?.stop(), ddb?.stop()]);
    if (tty) {
      render();
      write('\x1b[?25h\n');
    }
    const put = producer ? producer.put : 0;
    const total = sidecars.reduce((a, x) => a + x.counter.records, 0);
    say(`stopped after ${Math.round((Date.now() - t0) / 1000)}s: ${reason}`);
    say(`records put: ${put}, delivered: ${total} (delivered twice: ${dedup.redelivered}, not delivered: ${Math.max(0, put - (total - dedup.redelivered))})`);
    for (const { x, r, ms } of results) {
      const how = r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`;
      say(`sidecar ${x.name}: pid ${x.sc.pid}, delivered ${x.counter.records}, ${how} ${ms} ms after SIGTERM`);
      if (r.code !== 0) {
        exitCode = 1;
        say(`sidecar ${x.name}: last log lines:`);
        for (const l of x.sc.stderr().trim().split('\n').slice(-15)) say(`  ${l}`);
      }
    }
    if (args.keep) say(`temp dir kept: ${tmp}`);
    else if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
    say(`stopped pids: ${pidList()}`);
    process.exit(exitCode);
  })();
  return stopPromise;
}

let signals = 0;
function onSignal(sig) {
  signals++;
  if (signals === 1 && stopPromise === null && sidecars.length) {
    stop(`${sig}`);
    return;
  }
  if (signals === 1 && stopPromise === null) {
    // Still starting: nothing orderly to do.
    stop(`${sig} while starting`, 1);
    return;
  }
  // Second signal: stop now. The harness's exit hook SIGKILLs every child by PID.
  if (tty) write('\x1b[?25h\n');
  say(`demo: second ${sig}, killing everything now`);
  if (tmp && !args.keep) fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(130);
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => onSignal(sig));
process.on('disconnect', () => {
  // demo.mjs died (e.g. SIGKILL): stop everything the same way, silently.
  outputGone = true;
  stop('the launcher went away', 1);
});

try {
  await start();
} catch (err) {
  say(`demo: start failed: ${err.stack || err.message}`);
  for (const x of sidecars) if (x.sc.stderr()) say(`sidecar ${x.name} log:\n${x.sc.stderr().slice(-3000)}`);
  await stop('start failed', 1);
}
if (!stopping) {
  ticker = setInterval(() => {
    tick().catch((err) => say(`demo: ${err.message}`));
  }, 1000);
  if (duration != null) durationTimer = setTimeout(() => stop(`--duration ${duration}s reached`), duration * 1000);
}
