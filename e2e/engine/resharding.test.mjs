// Resharding while consuming: after a split and a merge, every record of a parent is
// delivered before any record of its children for the same partition keys, nothing is
// lost, and parents end as SHARD_END in the table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulators, createStream, splitShard, mergeShards, listShards, scanTable, waitFor } from '../lib/emulators.mjs';
import { makeTempDir, startSidecar, openFifoReader } from '../lib/sidecar.mjs';
import { produce, tally, waitAllDelivered, fifoIn } from './util.mjs';

/** For each partition key, the records in arrival order must follow put order. */
function assertKeyOrder(records, puts, putData) {
  const putIndex = new Map(puts.map((p, i) => [p.sequenceNumber, i]));
  const lastByKey = new Map();
  for (const r of records) {
    const idx = putIndex.get(r.sequence_number);
    if (idx === undefined) continue;
    const key = putData[idx].partitionKey;
    const prev = lastByKey.get(key);
    assert.ok(prev === undefined || idx > prev, `key ${key}: record #${idx} arrived after #${prev}`);
    lastByKey.set(key, idx);
  }
}

test('split and merge while consuming: parents before children, nothing lost', async (t) => {
  const env = await startEmulators(t);
  const dir = await makeTempDir(t);
  await createStream(env.kc, 'rs', 2);
  const fifoPath = fifoIn(dir, 'rs');
  const sc = await startSidecar(
    {
      name: 'rs',
      dir,
      streams: ['rs'],
      table: 'leases',
      kinesisEndpoint: env.kinesis.endpoint,
      dynamoEndpoint: env.dynamo.endpoint,
      fifoPath,
      logLevel: 'INFO',
      commitPeriod: '500ms',
      rebalancePeriod: '1s',
      leasePeriod: '3s',
    },
    t,
  );
  const reader = await openFifoReader(fifoPath);
  t.after(() => reader.close()); // an open FIFO keeps node alive
  const data = [];
  const puts = [];
  async function put(n, prefix) {
    const recs = [];
    for (let i = 0; i < n; i++) recs.push({ data: `${prefix}-${i}`, partitionKey: `key-${i % 16}` });
    const res = await (await import('../lib/emulators.mjs')).putRecords(env.kc, 'rs', recs);
    data.push(...recs);
    puts.push(...res);
  }
  await put(1000, 'a');
  const shards0 = await listShards(env.kc, 'rs');
  await splitShard(env.kc, 'rs', shards0[0].ShardId);
  await put(1000, 'b');
  const open = (await listShards(env.kc, 'rs')).filter((s) => !s.SequenceNumberRange.EndingSequenceNumber);
  // Merge two adjacent open shards (the split's children are adjacent).
  const kids = open.filter((s) => s.ParentShardId === shards0[0].ShardId);
  assert.equal(kids.length, 2);
  const [lo, hi] = kids.sort((x, y) => (BigInt(x.HashKeyRange.StartingHashKey) < BigInt(y.HashKeyRange.StartingHashKey) ? -1 : 1));
  await mergeShards(env.kc, 'rs', lo.ShardId, hi.ShardId);
  await put(1000, 'c');

  await waitAllDelivered([reader], puts, 90000);
  assert.equal(tally(reader.records).unique, 3000);
  assertKeyOrder(reader.records, puts, data);
  // Closed shards end as SHARD_END (or are deleted once their children started).
  const closed = (await listShards(env.kc, 'rs')).filter((s) => s.SequenceNumberRange.EndingSequenceNumber);
  await waitFor(
    async () => {
      const rows = await scanTable(env.dc, 'leases');
      return closed.every((s) => {
        const row = rows.find((r) => r.ShardID === s.ShardId);
        return !row || row.SequenceNumber === 'SHARD_END';
      });
    },
    { timeoutMs: 20000, intervalMs: 250, what: 'closed shards at SHARD_END' },
  );
  assert.equal((await sc.stop()).code, 0);
});
