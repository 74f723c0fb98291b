// Several sidecars share one stream through the lease table: they converge to an even
// split, hand shards over to a newcomer without duplicates, and take over the shards of
// a sidecar that is killed (after lease_period) or stopped (within a rebalance).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulators, createStream, waitFor } from '../lib/emulators.mjs';
import { makeTempDir, startSidecar, openFifoReader } from '../lib/sidecar.mjs';
import { produce, tally, waitAllDelivered, assertPerShardOrder, ownersOf, fifoIn } from './util.mjs';

const PERIODS = { commitPeriod: '500ms', rebalancePeriod: '1s', leasePeriod: '3s', stealGracePeriod: '1s' };

async function fleet(t, env, dir, names, extra = {}) {
  const out = {};
  for (const name of names) {
    const fifoPath = fifoIn(dir, name);
    const sc = await startSidecar(
      {
        name,
        dir,
        streams: ['s8'],
        table: 'leases',
        kinesisEndpoint: env.kinesis.endpoint,
        dynamoEndpoint: env.dynamo.endpoint,
        fifoPath,
        logLevel: 'INFO',
        env: { KS_CLIENT_ID: name },
        ...PERIODS,
        ...extra,
      },
      t,
    );
    const reader = await openFifoReader(fifoPath);
    t.after(() => reader.close()); // an open FIFO keeps node alive
    out[name] = { sc, reader };
  }
  return out;
}

function sortedCounts(owners) {
  return Object.values(owners).sort((a, b) => b - a);
}

async function waitSplit(env, want, timeoutMs = 30000) {
  return waitFor(
    async () => {
      const owners = await ownersOf(env.dc, 'leases', 's8');
      return JSON.stringify(sortedCounts(owners)) === JSON.stringify(want) && owners;
    },
    { timeoutMs, intervalMs: 250, what: `lease split ${want}` },
  );
}

function allRecords(f) {
  return Object.values(f).flatMap((x) => x.reader.records);
}

test('three sidecars converge to 3/3/2; a fourth joins through handoff with zero duplicates', async (t) => {
  const env = await startEmulators(t);
  const dir = await makeTempDir(t);
  await createStream(env.kc, 's8', 8);
  const f = await fleet(t, env, dir, ['a', 'b', 'c']);
  await waitSplit(env, [3, 3, 2]);
  const first = await produce(env.kc, 's8', 4000, { prefix: 'one' });
  await waitAllDelivered(Object.values(f).map((x) => x.reader), first);

  Object.assign(f, await fleet(t, env, dir, ['d']));
  await waitSplit(env, [2, 2, 2, 2], 45000);
  const second = await produce(env.kc, 's8', 4000, { prefix: 'two' });
  await waitAllDelivered(Object.values(f).map((x) => x.reader), [...first, ...second]);
  const all = allRecords(f);
  assert.equal(tally(all).dups, 0, 'handoff delivered records twice');
  for (const x of Object.values(f)) assertPerShardOrder(x.reader.records);
  const handoffs = Object.values(f).flatMap((x) => x.sc.logs).filter((l) => /asked for this shard/.test(l.msg || ''));
  assert.ok(handoffs.length >= 1, 'no shard moved through a handoff');
  for (const x of Object.values(f)) assert.equal((await x.sc.stop()).code, 0);
});

test('SIGKILL: the shards move after lease_period and every record still arrives', async (t) => {
  const env = await startEmulators(t);
  const dir = await makeTempDir(t);
  await createStream(env.kc, 's8', 8);
  const f = await fleet(t, env, dir, ['a', 'b']);
  await waitSplit(env, [4, 4]);
  const before = await produce(env.kc, 's8', 2000, { prefix: 'before' });
  await waitAllDelivered([f.a.reader, f.b.reader], before);
  await f.b.sc.kill();
  const after = await produce(env.kc, 's8', 2000, { prefix: 'after' });
  await waitSplit(env, [8], 30000);
  await waitAllDelivered([f.a.reader, f.b.reader], [...before, ...after], 60000);
  assertPerShardOrder(f.a.reader.records, { allowReplay: true });
  assert.equal((await f.a.sc.stop()).code, 0);
});

test('SIGTERM: the shards move within one rebalance period with zero duplicates', async (t) => {
  const env = await startEmulators(t);
  const dir = await makeTempDir(t);
  await createStream(env.kc, 's8', 8);
  // A long lease_period shows the move does not wait for expiry.
  const f = await fleet(t, env, dir, ['a', 'b'], { leasePeriod: '60s' });
  await waitSplit(env, [4, 4]);
  const before = await produce(env.kc, 's8', 2000, { prefix: 'before' });
  await waitAllDelivered([f.a.reader, f.b.reader], before);
  const t0 = Date.now();
  assert.equal((await f.b.sc.stop()).code, 0);
  await waitSplit(env, [8], 15000);
  const moved = Date.now() - t0;
  assert.ok(moved < 15000, `took ${moved} ms`);
  const after = await produce(env.kc, 's8', 2000, { prefix: 'after' });
  await waitAllDelivered([f.a.reader, f.b.reader], [...before, ...after], 60000);
  assert.equal(tally(allRecords(f)).dups, 0);
  assert.equal((await f.a.sc.stop()).code, 0);
});
