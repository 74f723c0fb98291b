// Migration and explicit shards: rows written by Redpanda Connect (ClientID, LeaseTimeout,
// SequenceNumber only) are resumed from, not replayed; an explicit `stream:shard` is still
// a lease with expiry, so a restart after a crash resumes within one lease_period.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { startEmulators, createStream, createLeaseTable, scanTable, listShards } from '../lib/emulators.mjs';
import { makeTempDir, startSidecar, openFifoReader } from '../lib/sidecar.mjs';
import { produce, tally, waitAllDelivered, assertPerShardOrder, fifoIn } from './util.mjs';

const FAST = { commitPeriod: '500ms', rebalancePeriod: '1s', leasePeriod: '3s' };

test('rows written by Redpanda Connect are resumed from, not replayed', async (t) => {
  const env = await startEmulators(t);
  const dir = await makeTempDir(t);
  await createStream(env.kc, 'legacy', 2);
  await createLeaseTable(env.dc, 'rp-leases');
  const old = await produce(env.kc, 'legacy', 1000, { prefix: 'old' });
  // Redpanda Connect's checkpointer rows: a dead owner, a wall-clock timeout, a sequence.
  const lastOld = new Map();
  for (const p of old) if (!lastOld.has(p.shardId) || BigInt(p.sequenceNumber) > BigInt(lastOld.get(p.shardId))) lastOld.set(p.shardId, p.sequenceNumber);
  for (const [shard, seq] of lastOld) {
    await env.dc.send(
      new PutItemCommand({
        TableName: 'rp-leases',
        Item: {
          StreamID: { S: 'legacy' },
          ShardID: { S: shard },
          ClientID: { S: 'redpanda-connect-0b1c' },
          LeaseTimeout: { S: '2026-01-01T00:00:00Z' },
          SequenceNumber: { S: seq },
        },
      }),
    );
  }
  const fresh = await produce(env.kc, 'legacy', 500, { prefix: 'new' });
  const fifoPath = fifoIn(dir, 'mig');
  const sc = await startSidecar(
    {
      name: 'mig',
      dir,
      streams: ['legacy'],
      table: 'rp-leases',
      createTable: false,
      kinesisEndpoint: env.kinesis.endpoint,
      dynamoEndpoint: env.dynamo.endpoint,
      fifoPath,
      logLevel: 'INFO',
      ...FAST,
    },
    t,
  );
  const reader = await openFifoReader(fifoPath);
  t.after(() => reader.close());
  // The dead owner's rows expire after lease_period on our clock, then are taken over.
  await waitAllDelivered([reader], fresh, 30000);
  const oldSeqs = new Set(old.map((p) => p.sequenceNumber));
  assert.equal(reader.records.filter((r) => oldSeqs.has(r.sequence_number)).length, 0, 'records before the Redpanda checkpoint were replayed');
  assert.equal(tally(reader.records).dups, 0);
  assertPerShardOrder(reader.records);
  const rows = await scanTable(env.dc, 'rp-leases');
  assert.equal(rows.length, 2);
  for (const row of rows) assert.notEqual(row.ClientID, 'redpanda-connect-0b1c', `${row.ShardID} still owned by the dead client`);
  assert.equal((await sc.stop()).code, 0);
});

test('an explicit stream:shard is leased with expiry: after a crash a restart resumes within lease_period', async (t) => {
  const env = await startEmulators(t);
  const dir = await makeTempDir(t);
  await createStream(env.kc, 'pinned', 2);
  const shards = await listShards(env.kc, 'pinned');
  const shard = shards[1].ShardId;
  const puts = await produce(env.kc, 'pinned', 1000, { prefix: 'p' });
  const mine = puts.filter((p) => p.shardId === shard);
  const opts = {
    dir,
    streams: [`pinned:${shard}`],
    table: 'pin-leases',
    kinesisEndpoint: env.kinesis.endpoint,
    dynamoEndpoint: env.dynamo.endpoint,
    logLevel: 'INFO',
    ...FAST,
  };
  const f1 = fifoIn(dir, 'one');
  const sc1 = await startSidecar({ ...opts, name: 'one', fifoPath: f1 }, t);
  const r1 = await openFifoReader(f1);
  t.after(() => r1.close());
  await waitAllDelivered([r1], mine, 30000);
  // Only the pinned shard is read.
  assert.ok(r1.records.every((r) => r.shard_id === shard));
  await sc1.kill(); // a crash: the lease stays in the table, owned by a dead client
  const more = (await produce(env.kc, 'pinned', 600, { prefix: 'q' })).filter((p) => p.shardId === shard);
  const f2 = fifoIn(dir, 'two');
  const t0 = Date.now();
  const sc2 = await startSidecar({ ...opts, name: 'two', fifoPath: f2 }, t);
  const r2 = await openFifoReader(f2);
  t.after(() => r2.close());
  await waitAllDelivered([r2], more, 30000);
  const took = Date.now() - t0;
  assert.ok(took < 3000 + 6000, `resumed after ${took} ms`);
  assertPerShardOrder(r2.records, { allowReplay: true });
  assert.equal((await sc2.stop()).code, 0);
});
