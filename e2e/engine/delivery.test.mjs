// One sidecar, one 4-shard stream: every record reaches the FIFO in per-shard order,
// the table ends with each shard's last sequence, and a restart resumes from there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulators, createStream, scanTable } from '../lib/emulators.mjs';
import { makeTempDir, startSidecar, openFifoReader } from '../lib/sidecar.mjs';
import {
  produce,
  assertPerShardOrder,
  tally,
  waitAllDelivered,
  lastPutPerShard,
  waitCheckpoints,
  fifoIn,
} from './util.mjs';

test('one sidecar delivers 20,000 records from 4 shards in order and checkpoints them', async (t) => {
  const env = await startEmulators(t);
  const dir = await makeTempDir(t);
  await createStream(env.kc, 'orders', 4);
  const puts = await produce(env.kc, 'orders', 20000);
  const fifoPath = fifoIn(dir, 'a');
  const sc = await startSidecar(
    {
      name: 'a',
      dir,
      streams: ['orders'],
      table: 'leases',
      kinesisEndpoint: env.kinesis.endpoint,
      dynamoEndpoint: env.dynamo.endpoint,
      fifoPath,
      logLevel: 'INFO',
    },
    t,
  );
  const reader = await openFifoReader(fifoPath);
  t.after(() => reader.close()); // an open FIFO keeps node alive
  await waitAllDelivered([reader], puts, 90000);
  const { unique, dups } = tally(reader.records);
  assert.equal(unique, 20000);
  assert.equal(dups, 0);
  assertPerShardOrder(reader.records);
  for (const r of reader.records) {
    assert.deepEqual(Object.keys(r).sort(), ['arrival_timestamp', 'data', 'partition_key', 'sequence_number', 'shard_id', 'stream']);
    assert.equal(r.stream, 'orders');
    assert.match(r.arrival_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  await waitCheckpoints(env.dc, 'leases', 'orders', lastPutPerShard(puts));
  const { code } = await sc.stop();
  assert.equal(code, 0);
  await reader.close();
});

test('restart from checkpoints: nothing lost, nothing committed delivered twice', async (t) => {
  const env = await startEmulators(t);
  const dir = await makeTempDir(t);
  await createStream(env.kc, 'events', 2);
  const first = await produce(env.kc, 'events', 3000, { prefix: 'first' });
  const opts = {
    dir,
    streams: ['events'],
    table: 'leases',
    kinesisEndpoint: env.kinesis.endpoint,
    dynamoEndpoint: env.dynamo.endpoint,
    logLevel: 'INFO',
  };
  const fifo1 = fifoIn(dir, 'one');
  const sc1 = await startSidecar({ ...opts, name: 'one', fifoPath: fifo1 }, t);
  const r1 = await openFifoReader(fifo1);
  t.after(() => r1.close());
  await waitAllDelivered([r1], first);
  await waitCheckpoints(env.dc, 'leases', 'events', lastPutPerShard(first));
  assert.equal((await sc1.stop()).code, 0);
  await r1.close();
  // Released on a graceful stop.
  const rows = await scanTable(env.dc, 'leases');
  assert.equal(rows.length, 2);
  for (const row of rows) assert.equal(row.ClientID, undefined, `lease of ${row.ShardID} not released`);

  const second = await produce(env.kc, 'events', 2000, { prefix: 'second' });
  const fifo2 = fifoIn(dir, 'two');
  const sc2 = await startSidecar({ ...opts, name: 'two', fifoPath: fifo2 }, t);
  const r2 = await openFifoReader(fifo2);
  t.after(() => r2.close());
  await waitAllDelivered([r2], second);
  const firstSeqs = new Set(first.map((p) => p.sequenceNumber));
  const again = r2.records.filter((r) => firstSeqs.has(r.sequence_number));
  assert.equal(again.length, 0, 'records committed before the restart were delivered again');
  assert.equal(tally(r2.records).dups, 0);
  assertPerShardOrder(r2.records);
  assert.equal((await sc2.stop()).code, 0);
  await r2.close();
});
