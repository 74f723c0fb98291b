// Benchmark (not a test: nothing here passes or fails on a timing).
//
// One kinesis-sidecar draining a pre-filled 8-shard stream into a FIFO whose reader discards,
// beside lifion-kinesis (npm, the peer) consuming the same records from the same emulators in
// the same run. Reports records/s, CPU-seconds per million records, peak RSS, and the ratio of
// CPU per record ours/peer. kinesalite is the throughput ceiling on these machines, so CPU per
// record is the figure that compares consumers.
//
//   make bench                                   (builds bin/kinesis-sidecar, npm ci, runs this)
//   node e2e/bench/bench.mjs [--sizes 100,1024] [--records N | --records 100:100000,1024:30000]
//                            [--shards 8] [--runs 3] [--no-peer] [--no-write] [--out FILE]
//                            [--sidecar-input '{"get_records_limit":1000}']  (experiments: merged
//                            into the sidecar's input.aws_kinesis; the default run uses none)
//
// What is measured, per consumer process (and only that process: neither the emulators nor
// the FIFO reader, which runs in this node process and only counts newlines):
//   seconds  = first delivered record .. last expected record delivered; records/s counts the
//              records delivered after the first delivery over that time
//   CPU      = utime+stime (all threads) from /proc/<pid>/stat, from "ready" (sidecar: exec;
//              peer: node started and lifion-kinesis loaded, before startConsumer) to the last
//              record: start-up, lease claims and every GetRecords are in, node boot is not
//   peak RSS = VmHWM from /proc/<pid>/status at the end (whole process life)
// The sidecar binary: KS_SIDECAR_BIN, else bin/kinesis-sidecar (the optimised build).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import {
  startEmulators,
  createStream,
  putRecords,
  listShards,
  waitTableActive,
  waitFor,
  stopAll,
  REGION,
  FAKE_CREDS,
} from '../lib/emulators.mjs';
import { startSidecar, openFifoReader, makeTempDir } from '../lib/sidecar.mjs';
import { spawnTracked, killAndWait } from '../lib/procs.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

// ------------------------------------------------------------------ options

function parseArgs(argv) {
  const o = { sizes: [100, 1024], records: null, shards: 8, runs: 3, peer: true, write: true, out: path.join(here, 'RESULTS.md'), timeoutS: 600 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--sizes') o.sizes = val().split(',').map((s) => parseInt(s, 10));
    else if (a === '--records') o.records = val();
    else if (a === '--shards') o.shards = parseInt(val(), 10);
    else if (a === '--runs') o.runs = parseInt(val(), 10);
    else if (a === '--timeout') o.timeoutS = parseInt(val(), 10);
    else if (a === '--no-peer') o.peer = false;
    else if (a === '--sidecar-input') o.sidecarInput = JSON.parse(val());
    else if (a === '--no-write') o.write = false;
    else if (a === '--out') o.out = path.resolve(val());
    else if (a === '-h' || a === '--help') {
      process.stdout.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport ')[0] + '\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (see --help)`);
  }
  if (o.sizes.some((s) => !(s > 0))) throw new Error('--sizes: positive byte counts');
  if (!(o.shards > 0) || !(o.runs > 0)) throw new Error('--shards and --runs must be positive');
  return o;
}

/** Records to pre-fill for a record size: --records N, --records size:N,..., else 100k / 30k. */
function recordsFor(opts, size) {
  if (opts.records) {
    if (!opts.records.includes(':')) return parseInt(opts.records, 10);
    for (const part of opts.records.split(',')) {
      const [s, n] = part.split(':').map((x) => parseInt(x, 10));
      if (s === size) return n;
    }
  }
  return size <= 512 ? 100000 : 30000;
}

// ------------------------------------------------------------------ /proc sampling

function cpuSeconds(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime (14) + stime (15), all threads
}

function statusKb(pid, key) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) : NaN;
}

/** Samples RssAnon (heap, stacks, anonymous maps: what the process itself allocated, without
 * shared-library pages) every `ms` and keeps the maximum; stop() returns it in kB. */
function anonPeak(pid, ms = 25) {
  let peak = 0;
  const tick = () => {
    try {
      peak = Math.max(peak, statusKb(pid, 'RssAnon'));
    } catch {
      /* exited */
    }
  };
  tick();
  const timer = setInterval(tick, ms);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return peak;
    },
  };
}

function sample(pid, emuPids) {
  return { t: performance.now(), cpu: cpuSeconds(pid), emu: emuPids.reduce((a, p) => a + cpuSeconds(p), 0) };
}

/**
 * ready: sampled when the consumer is loaded and about to start (the sidecar: at exec; the
 * peer: after node start-up and require(), before startConsumer()); first/last: first
 * delivery and the last expected record; firstCount: records in the first delivery.
 * CPU counts from `ready` (so the consumer's own start-up, lease claims and every GetRecords
 * are in, node's module loading is not); records/s counts from the first delivery.
 */
function result(consumer, size, records, { ready, first, last, firstCount }, pid) {
  const secs = (last.t - first.t) / 1000;
  const cpu = last.cpu - ready.cpu;
  return {
    consumer,
    size,
    records,
    secs,
    rate: (records - firstCount) / secs,
    cpu,
    cpuPerM: (cpu / records) * 1e6,
    cpuWindow: last.cpu - first.cpu,
    cpuTotal: last.cpu,
    rssMb: statusKb(pid, 'VmHWM') / 1024,
    rssFileMb: statusKb(pid, 'RssFile') / 1024,
    emuCpu: last.emu - ready.emu,
    firstCount,
  };
}

// ------------------------------------------------------------------ data

/** A record of exactly `size` bytes of printable ASCII (not JSON-looking: the peer's
 * shouldParseJson "auto" leaves it a string, as our sidecar does). */
function recordData(i, size) {
  const head = `r${i}-`;
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = head;
  let x = (i * 2654435761) >>> 0;
  while (s.length < size) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += alphabet[x % alphabet.length];
  }
  return s.slice(0, size);
}

async function prefill(kc, stream, n, size) {
  const t0 = performance.now();
  const par = 4;
  const per = Math.ceil(n / par);
  await Promise.all(
    Array.from({ length: par }, (_, p) => {
      const recs = [];
      for (let i = p * per; i < Math.min(n, (p + 1) * per); i++) {
        recs.push({ data: recordData(i, size), partitionKey: `pk-${i}` });
      }
      return putRecords(kc, stream, recs);
    }),
  );
  return (performance.now() - t0) / 1000;
}

// ------------------------------------------------------------------ consumers

async function runSidecar(env, { stream, n, size, run, bin, timeoutS, sidecarInput }) {
  const dir = await makeTempDir(null, 'ks-bench-');
  const fifoPath = path.join(dir, 'records.fifo');
  const sc = await startSidecar({
    name: `sidecar-${size}-${run}`,
    dir,
    bin,
    streams: [stream],
    table: `ks-bench-${size}-${run}`,
    kinesisEndpoint: env.kinesis.endpoint,
    dynamoEndpoint: env.dynamo.endpoint,
    fifoPath,
    codec: 'json_lines',
    logLevel: 'INFO',
    commitPeriod: '1s',
    rebalancePeriod: '2s',
    leasePeriod: '10s',
    input: { max_claims_per_cycle: 8, ...sidecarInput },
  });
  const emuPids = [env.kinesis.pid, env.dynamo.pid];
  const ready = sample(sc.pid, emuPids);
  const anon = anonPeak(sc.pid);
  const reader = await openFifoReader(fifoPath, { codec: 'raw', reopen: false });
  let lines = 0;
  let first = null;
  let last = null;
  let firstCount = 0;
  const finished = new Promise((resolve) => {
    reader.on('data', (chunk) => {
      if (!first) first = sample(sc.pid, emuPids);
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
      if (!firstCount) firstCount = lines;
      if (!last && lines >= n) {
        last = sample(sc.pid, emuPids);
        resolve();
      }
    });
  });
  let timer;
  const failed = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`sidecar: ${lines}/${n} records after ${timeoutS} s`)), timeoutS * 1000);
    sc.child.exitPromise.then(({ code, signal }) =>
      reject(new Error(`sidecar exited (code ${code}, signal ${signal}) at ${lines}/${n}:\n${sc.stderr().slice(-3000)}`)),
    );
  });
  try {
    await Promise.race([finished, failed]);
  } finally {
    clearTimeout(timer);
  }
  const r = result('kinesis-sidecar', size, n, { ready, first, last, firstCount }, sc.pid);
  r.anonMb = anon.stop() / 1024;
  // Cross-check with the sidecar's own counter (duplicates would show here).
  let delivered = NaN;
  try {
    await waitFor(
      async () => {
        const m = (await sc.admin('/metrics')).body.match(/^kinesis_sidecar_records_delivered_total(?:\{[^}]*\})? (\d+)/m);
        delivered = m ? Number(m[1]) : NaN;
        return delivered >= n;
      },
      { timeoutMs: 5000, intervalMs: 100 },
    );
  } catch {
    /* reported below */
  }
  r.note = delivered === n && lines === n ? '' : `delivered_total=${delivered}, lines=${lines}`;
  await sc.stop({ timeoutMs: 10000 });
  await reader.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return r;
}

async function runPeer(env, { stream, n, size, run, stateTable, timeoutS }) {
  const emuPids = [env.kinesis.pid, env.dynamo.pid];
  const child = spawnTracked(
    `peer-${size}-${run}`,
    process.execPath,
    [
      path.join(here, 'peer.cjs'),
      JSON.stringify({
        kinesisEndpoint: env.kinesis.endpoint,
        dynamoEndpoint: env.dynamo.endpoint,
        region: REGION,
        ...FAKE_CREDS,
        stream,
        stateTable,
        consumerGroup: `bench-${size}-${run}`,
        expected: n,
      }),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'], cwd: here },
  );
  const anon = anonPeak(child.pid);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-8192);
  });
  let ready = null;
  let first = null;
  let last = null;
  let firstCount = 0;
  let count = 0;
  const finished = new Promise((resolve) => {
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let ev;
        try {
          ev = JSON.parse(line);
        } catch {
          continue;
        }
        if (ev.ev === 'loaded' && !ready) {
          ready = sample(child.pid, emuPids);
          child.stdin.write('go\n');
        }
        if (ev.ev === 'first' && !first) {
          first = sample(child.pid, emuPids);
          firstCount = ev.n;
        }
        if (ev.ev === 'done' && !last) {
          last = sample(child.pid, emuPids);
          count = ev.count;
          resolve();
        }
      }
    });
  });
  let timer;
  const failed = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`peer: not done after ${timeoutS} s:\n${stderr}`)), timeoutS * 1000);
    child.exitPromise.then(({ code, signal }) =>
      reject(new Error(`peer exited (code ${code}, signal ${signal}):\n${stderr}`)),
    );
  });
  try {
    await Promise.race([finished, failed]);
  } finally {
    clearTimeout(timer);
  }
  const r = result('lifion-kinesis', size, n, { ready, first, last, firstCount }, child.pid);
  r.anonMb = anon.stop() / 1024;
  r.note = count === n ? '' : `count=${count}`;
  await killAndWait(child, { signal: 'SIGTERM', timeoutMs: 5000 });
  return r;
}

/** lifion-kinesis creates its state table itself, then waits ~20 s in the SDK v2 waiter;
 * creating it beforehand (same key schema) skips that idle wait. */
async function createPeerStateTable(dc, name) {
  await dc.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [
        { AttributeName: 'consumerGroup', AttributeType: 'S' },
        { AttributeName: 'streamName', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'consumerGroup', KeyType: 'HASH' },
        { AttributeName: 'streamName', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await waitTableActive(dc, name);
}

// ------------------------------------------------------------------ report

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function summarize(results) {
  const rows = [];
  const keys = [...new Set(results.map((r) => `${r.size}|${r.consumer}`))];
  for (const k of keys) {
    const rs = results.filter((r) => `${r.size}|${r.consumer}` === k);
    const r0 = rs[0];
    rows.push({
      consumer: r0.consumer,
      size: r0.size,
      records: r0.records,
      runs: rs.length,
      secs: median(rs.map((r) => r.secs)),
      rate: median(rs.map((r) => r.rate)),
      cpuPerM: median(rs.map((r) => r.cpuPerM)),
      cpuTotal: median(rs.map((r) => r.cpuTotal)),
      rssMb: Math.max(...rs.map((r) => r.rssMb)),
      anonMb: Math.max(...rs.map((r) => r.anonMb)),
      emuPerM: median(rs.map((r) => (r.emuCpu / r.records) * 1e6)),
      notes: rs.map((r) => r.note).filter(Boolean).join('; '),
    });
  }
  for (const row of rows) {
    const peer = rows.find((x) => x.size === row.size && x.consumer === 'lifion-kinesis');
    row.ratio = row.consumer === 'kinesis-sidecar' && peer ? row.cpuPerM / peer.cpuPerM : null;
  }
  return rows;
}

function table(rows) {
  const head = ['consumer', 'record size', 'records', 'runs', 'seconds', 'records/s', 'CPU-s per 1M rec', 'ours/peer CPU per rec', 'peak RSS MB', 'peak anon RSS MB', 'CPU-s total (process life)', 'emulators CPU-s per 1M rec (excluded)'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    lines.push(
      `| ${[
        r.consumer,
        r.size >= 1024 && r.size % 1024 === 0 ? `${r.size / 1024} KB` : `${r.size} B`,
        r.records,
        r.runs,
        r.secs.toFixed(2),
        Math.round(r.rate),
        r.cpuPerM.toFixed(2),
        r.ratio == null ? '' : `${r.ratio.toFixed(3)} (1/${(1 / r.ratio).toFixed(1)})`,
        r.rssMb.toFixed(1),
        r.anonMb.toFixed(1),
        r.cpuTotal.toFixed(2),
        r.emuPerM.toFixed(1),
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

function machineNotes() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = (cpuinfo.match(/^model name\s*:\s*(.*)$/m) || [])[1] || 'unknown CPU';
  let load = '';
  try {
    load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    /* none */
  }
  return `${os.cpus().length} cores (${model}), shared with the emulators, this node process and whatever else runs on the machine; ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM; Linux ${os.release()}; node ${process.version}; load average at the end ${load}`;
}

function writeResults(file, { cmd, rows, all, bin, opts, prefills }) {
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  let commit = '';
  try {
    commit = execFileSync('git', ['-C', repo, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    /* not a checkout */
  }
  const runs = all
    .map((r) => `| ${r.run} | ${r.consumer} | ${r.size} | ${r.firstCount} | ${r.secs.toFixed(2)} | ${Math.round(r.rate)} | ${r.cpu.toFixed(2)} | ${r.cpuWindow.toFixed(2)} | ${r.cpuPerM.toFixed(2)} | ${r.rssMb.toFixed(1)} | ${r.anonMb.toFixed(1)} | ${r.note || ''} |`)
    .join('\n');
  const text = `# Benchmark results

Not a test: these numbers vary with the machine and its load. Produced by \`e2e/bench/bench.mjs\`.

## Latest measurement: ${date}

Command (from the repository root): \`${cmd}\`

- Binary: \`${path.relative(repo, bin) || bin}\`${path.relative(repo, bin) === 'bin/kinesis-sidecar' ? ', the optimised build (-O2)' : ''}, built ${fs.statSync(bin).mtime.toISOString().replace(/\.\d+Z$/, 'Z')} (HEAD at measurement: ${commit || 'unknown'}; the binary is whatever the working tree held when it was built)
- Machine: ${machineNotes()}.
- Emulators: kinesalite 3.3.3 + dynalite 4.0.0 (in memory), ${opts.shards} shards per stream, one stream per record size,
  pre-filled before any consumer starts (${prefills.map((p) => `${p.records} x ${p.size} B in ${p.secs.toFixed(1)} s`).join(', ')}).
  Both consumers read the same stream from TRIM_HORIZON, one after the other (order alternates between runs), each
  with its own lease/state table.
- kinesis-sidecar: \`json_lines\` FIFO output; the reader (in the benchmark's node process) only counts newlines;
  \`log level INFO, commit_period 1s, rebalance_period 2s, lease_period 10s, max_claims_per_cycle 8\`, GetRecords limit 10000${opts.sidecarInput ? `; **extra input settings ${JSON.stringify(opts.sidecarInput)}**` : ''}.
- lifion-kinesis 1.3.3: polling consumer, \`initialPositionInStream: TRIM_HORIZON\`, auto checkpoints, auto shard
  assignment, limit 10000, defaults otherwise; its 'data' handler counts records and drops them. Its state table is
  created beforehand (same schema) to skip the SDK v2 waiter's idle ~20 s.
- Seconds: first delivered record .. the last one; records/s = records delivered after the first delivery / seconds.
- CPU = utime+stime of the consumer process only (all its threads) from /proc/<pid>/stat (resolution 1/${CLK_TCK} s),
  from "ready" to the last record: the sidecar from exec, the peer once node is up and lifion-kinesis is loaded
  (just before startConsumer). So each consumer's own start-up, lease claims and all GetRecords are counted, node's
  boot and module loading are not ("CPU-s total" includes them). **Emulator CPU is excluded** (its column is for
  reference only: kinesalite is the throughput ceiling). The FIFO reader's CPU is excluded.
- Peak RSS = VmHWM of the consumer process (its whole life; includes the pages of shared libraries it touched: an idle
  sidecar is ~14 MB, ~12 MB of it file-backed libcrypto/gnutls/libc/libstdc++/libcurl/icu pages). Peak anon RSS = the
  largest RssAnon seen by polling /proc/<pid>/status every 25 ms (heap and anonymous maps only; may miss a short spike).
- Medians over ${opts.runs} run(s); peak RSS is the maximum.

${table(rows)}

Target (issue): at most 1/10 of the peer's CPU per record; RSS under 20 MB for 8 shards.

### Every run

| run | consumer | record bytes | records in first delivery | seconds | records/s | CPU-s (ready..last) | CPU-s (first..last) | CPU-s per 1M rec | peak RSS MB | peak anon RSS MB | note |
|---|---|---|---|---|---|---|---|---|---|---|---|
${runs}
`;
  let tail = '';
  try {
    const old = fs.readFileSync(file, 'utf8');
    const i = old.indexOf('\n## Notes');
    if (i >= 0) tail = old.slice(i);
  } catch {
    /* new file */
  }
  fs.writeFileSync(file, text + tail);
}

// ------------------------------------------------------------------ main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const bin = process.env.KS_SIDECAR_BIN ? path.resolve(process.env.KS_SIDECAR_BIN) : path.join(repo, 'bin/kinesis-sidecar');
  if (!fs.existsSync(bin)) throw new Error(`no sidecar binary at ${bin} (make bin/kinesis-sidecar)`);
  if (opts.peer && !fs.existsSync(path.join(here, 'node_modules/lifion-kinesis'))) {
    throw new Error('lifion-kinesis is not installed: KS_BENCH=1 scripts/install-deps.sh (or --no-peer)');
  }
  const log = (m) => process.stderr.write(`bench: ${m}\n`);
  log(`sidecar ${bin}; sizes ${opts.sizes.join(',')}; ${opts.shards} shards; ${opts.runs} run(s)`);
  const env = await startEmulators(null);
  const all = [];
  const prefills = [];
  try {
    const stateTable = 'lifion-kinesis-state-bench';
    if (opts.peer) await createPeerStateTable(env.dc, stateTable);
    for (const size of opts.sizes) {
      const n = recordsFor(opts, size);
      const stream = `bench-${size}`;
      await createStream(env.kc, stream, opts.shards);
      const secs = await prefill(env.kc, stream, n, size);
      prefills.push({ size, records: n, secs });
      const shards = await listShards(env.kc, stream);
      log(`stream ${stream}: ${shards.length} shards, ${n} records of ${size} B put in ${secs.toFixed(1)} s`);
      for (let run = 1; run <= opts.runs; run++) {
        const order = opts.peer ? (run % 2 ? ['sidecar', 'peer'] : ['peer', 'sidecar']) : ['sidecar'];
        for (const who of order) {
          const args = { stream, n, size, run, bin, stateTable, timeoutS: opts.timeoutS, sidecarInput: opts.sidecarInput || {} };
          const r = who === 'sidecar' ? await runSidecar(env, args) : await runPeer(env, args);
          r.run = run;
          all.push(r);
          log(
            `run ${run} ${r.consumer} ${size} B: ${r.secs.toFixed(2)} s, ${Math.round(r.rate)} rec/s, ` +
              `${r.cpu.toFixed(2)} CPU-s (${r.cpuPerM.toFixed(2)} per 1M), peak RSS ${r.rssMb.toFixed(1)} MB (anon ${r.anonMb.toFixed(1)})${r.note ? ' — ' + r.note : ''}`,
          );
        }
      }
    }
  } finally {
    await env.stop().catch(() => {});
    await stopAll();
  }
  const rows = summarize(all);
  process.stdout.write(`\n${table(rows)}\n\n`);
  for (const r of rows.filter((x) => x.ratio != null)) {
    process.stdout.write(
      `${r.size} B: ours/peer CPU per record = ${r.ratio.toFixed(3)} (target <= 0.100: ${r.ratio <= 0.1 ? 'met' : 'not met'}); ` +
        `sidecar peak RSS ${r.rssMb.toFixed(1)} MB (target < 20 MB: ${r.rssMb < 20 ? 'met' : 'not met'})\n`,
    );
  }
  if (opts.write) {
    const cmd = ['node e2e/bench/bench.mjs', ...process.argv.slice(2)].join(' ');
    writeResults(opts.out, { cmd: process.env.KS_BENCH_CMD || cmd, rows, all, bin, opts, prefills });
    process.stderr.write(`bench: wrote ${path.relative(process.cwd(), opts.out)}\n`);
  }
}

main().then(
  () => process.exit(0), // leftover keep-alive sockets must not hold the process
  async (err) => {
    process.stderr.write(`bench: ${err.stack || err}\n`);
    await stopAll();
    process.exit(1);
  },
);
