// `make demo` end to end: the demo runs by itself for 12 s, both sidecars deliver, it exits 0
// and leaves no process behind. Plus the view's 80-column promise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { frameLines, statusLine } from './view.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const bin = process.env.KS_SIDECAR_BIN ? path.resolve(process.env.KS_SIDECAR_BIN) : path.join(repo, 'bin/kinesis-sidecar');

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

test('demo --duration 12: both sidecars deliver, exit 0, nothing left running', { timeout: 120000 }, async (t) => {
  if (!fs.existsSync(bin)) {
    const msg = `no sidecar binary at ${bin} (make bin/kinesis-sidecar, or set KS_SIDECAR_BIN)`;
    if (process.env.CI === 'true') assert.fail(msg);
    t.skip(msg);
    return;
  }
  const child = spawn(process.execPath, [path.join(here, 'demo.mjs'), '--duration', '12', '--rate', '200'], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KS_SIDECAR_BIN: bin },
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, 'SIGTERM'); // the launcher forwards it: an orderly stop
      const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
      await exited;
      clearTimeout(timer);
    }
  });
  const { code, signal } = await exited;
  const ctx = `\n--- stdout\n${out}\n--- stderr\n${err}`;
  assert.equal(signal, null, ctx);
  assert.equal(code, 0, ctx);

  // Not a TTY: one status line per second, with both sidecars holding leases and ready.
  const lines = out.split('\n').filter((l) => /^\[\s*\d+s\] put \d+ \|/.test(l));
  assert.ok(lines.length >= 8, `expected a status line per second${ctx}`);
  const balanced = lines.some((l) => /\| fifo [1-4] leases? ready .* \| ws [1-4] leases? ready /.test(l));
  assert.ok(balanced, `never saw both sidecars holding leases and ready${ctx}`);

  const put = Number(/records put: (\d+), delivered: (\d+)/.exec(out)?.[1]);
  assert.ok(put > 0, `nothing put${ctx}`);
  for (const name of ['fifo', 'ws']) {
    const m = new RegExp(`^sidecar ${name}: pid (\\d+), delivered (\\d+), exit code (\\d+)`, 'm').exec(out);
    assert.ok(m, `no closing line for sidecar ${name}${ctx}`);
    assert.ok(Number(m[2]) > 0, `sidecar ${name} delivered nothing${ctx}`);
    assert.equal(m[3], '0', `sidecar ${name} exit code${ctx}`);
  }

  const pidsLine = /^stopped pids: (.*)$/m.exec(out);
  assert.ok(pidsLine, `no "stopped pids" line${ctx}`);
  const pids = [...pidsLine[1].matchAll(/\d+/g)].map((m) => Number(m[0]));
  assert.equal(pids.length, 5, `demo, 2 emulators, 2 sidecars: ${pidsLine[1]}`);
  const left = pids.filter(alive);
  assert.deepEqual(left, [], `processes left running: ${left.join(' ')}${ctx}`);
});

test('the view fits 80 columns', () => {
  const sc = (name, pid) => ({
    name,
    pid,
    running: true,
    ready: { status: 503, reason: 'no_lease_and_not_standby' },
    leases: 2,
    shardIds: ['shardId-000000000000', 'shardId-000000000003'],
    perS: 123456.7,
    delivered: 123456789,
    latAvg: 12345,
    reader: `FIFO /tmp/ks-demo-XXXXXX/${'x'.repeat(80)}`,
  });
  const snap = {
    elapsedS: 36000,
    duration: 90000,
    stream: 'demo',
    shards: 4,
    table: 'kinesis-sidecar-demo-leases',
    producer: { rate: 10000, put: 123456789, perS: 9999.9, errors: 123 },
    sidecars: [sc('fifo', 4194303), sc('ws', 4194304)],
    owners: [0, 1, 2, 3].map((i) => [`shardId-00000000000${i}`, i % 2 ? 'fifo' : null]),
    backlog: 12345,
    redelivered: 678,
    stopping: null,
  };
  const lines = frameLines(snap, 80);
  for (const l of lines) assert.ok(l.length <= 80, `too wide (${l.length}): ${l}`);
  const text = lines.join('\n');
  assert.match(text, /^fifo\s+4194303 503 no_lease_~\s+2 0 3\s+123,457\s+123,456,789\s+12,345$/m);
  assert.match(text, /0:free {2}1:fifo {2}2:free {2}3:fifo/);
  assert.match(frameLines({ ...snap, sidecars: [{ ...sc('ws', 1), running: false, exit: 'exit 0' }] }, 80).join('\n'), /^ws\s+1 exit 0 /m);
  assert.equal(
    statusLine({ ...snap, elapsedS: 12, sidecars: [{ ...sc('fifo', 1), ready: { status: 200 }, leases: 1, perS: 99.6, delivered: 7 }] }),
    '[ 12s] put 123456789 | fifo 1 lease ready 100/s 7',
  );
});
