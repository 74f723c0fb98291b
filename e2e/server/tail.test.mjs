// `kinesis-sidecar tail` is a websocket client for people debugging a pod: it prints each
// record and acks each batch, so what it printed is delivered and checkpointed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulators, createStream, waitFor } from '../lib/emulators.mjs';
import { sidecarBin } from '../lib/sidecar.mjs';
import { spawnTracked, killAndWait } from '../lib/procs.mjs';
import { startWsSidecar, produce, scrape } from './util.mjs';

function startTail(args) {
  const child = spawnTracked('tail', sidecarBin(), ['tail', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { lines: [], stderr: '' };
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    partial += d;
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      out.lines.push(partial.slice(0, nl));
      partial = partial.slice(nl + 1);
    }
  });
  child.stderr.on('data', (d) => (out.stderr += d));
  return { child, out };
}

test('kinesis-sidecar tail prints every record and acks it (the checkpoint moves)', async (t) => {
  const env = await startEmulators(t);
  await createStream(env.kc, 'tailed', 2);
  const { sc, port } = await startWsSidecar(t, env, { name: 'tailed', stream: 'tailed' });
  const puts = await produce(env.kc, 'tailed', 300, { prefix: 'line' });

  const plain = startTail(['--address', `127.0.0.1:${port}`]);
  t.after(() => killAndWait(plain.child, { signal: 'SIGKILL' }));
  // Records print as their data, one per line.
  await waitFor(() => plain.out.lines.length >= puts.length, { timeoutMs: 30000, intervalMs: 50, what: `tail printed ${puts.length} lines` });
  const printed = new Set(plain.out.lines);
  for (let i = 0; i < puts.length; i++) assert.ok(printed.has(`line-${i}`), `line-${i} not printed`);
  // Acked: the sidecar counts them delivered.
  await waitFor(
    async () => ((await scrape(sc)).value('kinesis_sidecar_records_delivered_total') ?? 0) >= puts.length,
    { timeoutMs: 15000, intervalMs: 100, what: 'records acked by tail' },
  );
  const { code, signal } = await killAndWait(plain.child, { signal: 'SIGINT', timeoutMs: 5000 });
  assert.ok(code === 0 || signal === 'SIGINT', `tail ended with ${code}/${signal}: ${plain.out.stderr}`);

  // --json prints the records with their metadata.
  const more = await produce(env.kc, 'tailed', 20, { prefix: 'json' });
  const js = startTail(['--address', `127.0.0.1:${port}`, '--json']);
  t.after(() => killAndWait(js.child, { signal: 'SIGKILL' }));
  await waitFor(() => js.out.lines.length >= more.length, { timeoutMs: 30000, intervalMs: 50, what: 'tail --json output' });
  const rec = JSON.parse(js.out.lines[0]);
  for (const k of ['data', 'partition_key', 'sequence_number', 'shard_id', 'stream']) assert.ok(k in rec, `--json line lacks ${k}: ${js.out.lines[0]}`);
  assert.equal(rec.stream, 'tailed');
  await killAndWait(js.child, { signal: 'SIGINT', timeoutMs: 5000 });
});

test('kinesis-sidecar tail: bad arguments exit 2 with a usage line', async () => {
  const { child, out } = startTail(['--bogus']);
  const code = await new Promise((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 2);
  assert.match(out.stderr, /usage: kinesis-sidecar tail/);
});
