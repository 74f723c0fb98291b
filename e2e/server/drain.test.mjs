// `kinesis-sidecar drain` and `kinesis-sidecar status` (docs/admin.md "Operator hooks"),
// run as child processes against a live sidecar: a drained sidecar's leases move to its peer
// within one rebalance with zero duplicates and zero loss, while records keep flowing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulators, createStream, waitFor } from '../lib/emulators.mjs';
import { startWsSidecar, produce, admin, runCli, statusLeases, PERIODS } from './util.mjs';
import { connectClient, coverage, orderViolation } from './wsclient.mjs';

const REBALANCE_MS = 1000; // PERIODS.rebalancePeriod

async function held(sc) {
  const { json } = await admin(sc, '/status');
  return statusLeases(json).map((l) => l.shard_id).sort();
}

test('drain CLI on one of two sidecars: leases move to the other within one rebalance, no duplicate, no loss', async (t) => {
  assert.equal(PERIODS.rebalancePeriod, '1s');
  const env = await startEmulators(t);
  await createStream(env.kc, 's4', 4);
  const side = {};
  const clients = {};
  for (const name of ['a', 'b']) {
    side[name] = await startWsSidecar(t, env, {
      name,
      stream: 's4',
      env: { KS_CLIENT_ID: name },
      batching: { count: 50, period: '100ms' },
    });
    clients[name] = await connectClient(side[name].url(), { name });
  }
  const { a, b } = { a: side.a.sc, b: side.b.sc };
  await waitFor(async () => (await held(a)).length === 2 && (await held(b)).length === 2, {
    timeoutMs: 20000,
    intervalMs: 100,
    what: 'a 2/2 split',
  });
  const bShards = await held(b);

  const puts = await produce(env.kc, 's4', 2000, { prefix: 'before' });
  const acked = () => [...clients.a.acked, ...clients.b.acked];
  await waitFor(() => coverage(puts, acked()).missing.length === 0, { timeoutMs: 30000, what: 'first records delivered' });

  // Records keep arriving during the drain.
  let producing = true;
  let k = 0;
  const producer = (async () => {
    while (producing) {
      puts.push(...(await produce(env.kc, 's4', 100, { prefix: `during${k++}` })));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await waitFor(() => k >= 3, { timeoutMs: 10000, what: 'producer running' });

  const drain = await runCli(['drain', '--address', b.httpAddress, '--timeout', '20s'], { timeoutMs: 30000 });
  const drainedAt = Date.now();
  t.diagnostic(`drain: exit ${drain.code} after ${drain.ms} ms; stderr: ${drain.stderr.trim()}`);
  assert.equal(drain.code, 0, `drain exited ${drain.code}: ${drain.stderr}`);
  assert.deepEqual(await held(b), [], 'b still holds leases after drain returned');
  const moved = await waitFor(async () => (await held(a)).length === 4 && Date.now(), {
    timeoutMs: 10000,
    intervalMs: 50,
    what: 'a holding all 4 shards',
  });
  t.diagnostic(`a holds all shards ${moved - drainedAt} ms after the drain completed`);
  // One rebalance period (jittered) plus the time to write the claims.
  assert.ok(moved - drainedAt <= 2 * REBALANCE_MS + 500, `took ${moved - drainedAt} ms`);
  const st = await admin(b, '/ready');
  assert.equal(st.status, 503);
  assert.ok(st.json.reasons.includes('draining'));

  producing = false;
  await producer;
  puts.push(...(await produce(env.kc, 's4', 500, { prefix: 'after' })));
  await waitFor(() => coverage(puts, acked()).missing.length === 0, {
    timeoutMs: 30000,
    what: 'every record delivered',
  }).catch((err) => {
    err.message += ` (missing ${coverage(puts, acked()).missing.length} of ${puts.length})`;
    throw err;
  });
  const cov = coverage(puts, [...clients.a.received, ...clients.b.received]);
  assert.deepEqual(cov.dups, [], `${cov.dups.length} records delivered twice`);
  // b's shards continued on a where b left off: per shard, b's records then a's are in order.
  const bRecs = clients.b.received.filter((r) => bShards.includes(r.shard_id));
  const aRecs = clients.a.received.filter((r) => bShards.includes(r.shard_id));
  assert.ok(aRecs.length > 0, 'a never read the drained shards');
  assert.equal(orderViolation([...bRecs, ...aRecs]), null);
  assert.equal(orderViolation(clients.a.received), null);

  // `status` prints the leases as JSON.
  const status = await runCli(['status', '--address', a.httpAddress]);
  assert.equal(status.code, 0, status.stderr);
  const sj = JSON.parse(status.stdout);
  assert.equal(sj.client_id, 'a');
  assert.deepEqual(statusLeases(sj).map((l) => l.shard_id).sort(), ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003']);
  for (const l of statusLeases(sj)) {
    assert.equal(l.stream, 's4');
    assert.match(l.checkpoint, /^\d+$/, 'checkpoint is a sequence number');
  }
  const bStatus = await runCli(['status', '--address', b.httpAddress]);
  assert.equal(bStatus.code, 0, bStatus.stderr);
  assert.deepEqual(statusLeases(JSON.parse(bStatus.stdout)), []);
  assert.equal(JSON.parse(bStatus.stdout).draining, true);

  await Promise.all([clients.a.close(), clients.b.close()]);
  assert.equal((await b.stop()).code, 0);
  assert.equal((await a.stop()).code, 0);
});

test('drain CLI errors: unreachable address exits 2; status on it exits non-zero', async () => {
  // A port nobody listens on (the admin server of a stopped sidecar looks the same).
  const { freePort } = await import('../lib/emulators.mjs');
  const port = await freePort();
  const drain = await runCli(['drain', '--address', `127.0.0.1:${port}`, '--timeout', '2s']);
  assert.equal(drain.code, 2, drain.stderr);
  const status = await runCli(['status', '--address', `127.0.0.1:${port}`]);
  assert.notEqual(status.code, 0);
  const usage = await runCli(['drain', '--bogus']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /usage/);
});
