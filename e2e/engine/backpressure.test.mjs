// Back-pressure from the FIFO reader. `checkpoint_limit: 1` keeps strict per-shard order
// under a slow reader (paused, then reading in fits and starts), and while the reader does
// not read at all the sidecar stops fetching and its memory stays flat however many records
// wait in the stream. A reader that closes the FIFO in the middle of a batch and comes back
// loses nothing: only that (unacknowledged) batch is written again, whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulators, createStream, waitFor } from '../lib/emulators.mjs';
import { startFaultProxy } from '../lib/fault-proxy.mjs';
import { makeTempDir, startSidecar, openFifoReader } from '../lib/sidecar.mjs';
import {
  produce,
  dataOf,
  tally,
  waitAllDelivered,
  assertPerShardOrder,
  fifoIn,
  vmRssKb,
  pauseReader,
  resumeReader,
  waitStable,
} from './util.mjs';

const PERIODS = { commitPeriod: '500ms', rebalancePeriod: '1s', leasePeriod: '3s', stealGracePeriod: '1s' };

/** The per-shard entries of /status (`leases`, each merged with its reader's in_flight and
 * buffered; older builds listed them under `readers`). */
function perShardStatus(st) {
  if (!st) return [];
  if (Array.isArray(st.leases)) return st.leases;
  return Array.isArray(st.readers) ? st.readers : [];
}

test('checkpoint_limit 1: strict order under a slow reader; a stalled reader stops fetching and memory stays flat', async (t) => {
  const env = await startEmulators(t);
  const dir = await makeTempDir(t);
  // GetRecords goes through a (fault-free) proxy so the test can count the calls.
  const kproxy = await startFaultProxy(env.kinesis.endpoint);
  t.after(() => kproxy.stop());
  await createStream(env.kc, 'slow', 2);
  const SIZE = 1000;
  const first = await produce(env.kc, 'slow', 1000, { prefix: 'a', size: SIZE });
  const fifoPath = fifoIn(dir, 'slow');
  const sc = await startSidecar(
    {
      name: 'slow',
      dir,
      streams: ['slow'],
      table: 'leases',
      kinesisEndpoint: kproxy.endpoint,
      dynamoEndpoint: env.dynamo.endpoint,
      fifoPath,
      checkpointLimit: 1,
      getRecordsLimit: 200,
      logLevel: 'INFO',
      ...PERIODS,
    },
    t,
  );
  const reader = await openFifoReader(fifoPath);
  t.after(() => reader.close()); // an open reader (reopen: true) would keep node alive
  await reader.waitForRecords(100, 30000);

  // The reader stops reading: the pipe and the sink queue fill, the shards stop fetching.
  pauseReader(reader);
  const pending = await produce(env.kc, 'slow', 6000, { prefix: 'b', size: SIZE });
  const pendingBytes = 6000 * SIZE;
  // Stalled: no GetRecords for 2 s (one in flight per shard may still land).
  await waitStable(() => kproxy.seen('GetRecords'), { stableMs: 2000, timeoutMs: 30000, what: 'GetRecords to stop' });
  const rss0 = await vmRssKb(sc.pid);
  const calls0 = kproxy.seen('GetRecords');
  const got0 = reader.records.length;
  // Observe for 3 s more: nothing fetched, memory flat, records pending.
  let rssMax = rss0;
  const t0 = Date.now();
  await waitFor(
    async () => {
      rssMax = Math.max(rssMax, await vmRssKb(sc.pid));
      return Date.now() - t0 >= 3000;
    },
    { timeoutMs: 10000, intervalMs: 200, what: 'the observation window' },
  );
  const calls1 = kproxy.seen('GetRecords');
  // What is held: one record in the sink per shard, at most one page buffered, <= 4 batches queued.
  const st = (await sc.admin('/status')).json;
  const shards = perShardStatus(st);
  assert.equal(shards.length, 2, `/status: ${JSON.stringify(st)}`);
  for (const r of shards) {
    assert.equal(typeof r.in_flight, 'number', `/status: ${JSON.stringify(r)}`);
    assert.equal(typeof r.buffered, 'number', `/status: ${JSON.stringify(r)}`);
    assert.ok(r.in_flight <= 1, `${r.shard_id}: ${r.in_flight} records in flight with checkpoint_limit 1`);
    assert.ok(r.buffered <= 200, `${r.shard_id}: ${r.buffered} records buffered (get_records_limit 200)`);
  }
  assert.ok(st.sink.queued_batches <= 4, `sink holds ${st.sink.queued_batches} batches`);
  t.diagnostic(`paused: rss ${rss0} -> max ${rssMax} KiB; GetRecords ${calls0} -> ${calls1}; ${got0} records read`);
  assert.equal(calls1 - calls0, 0, 'the sidecar kept fetching while the reader did not read');
  assert.ok(reader.records.length - got0 <= 0, 'a paused reader received records');
  // Had the sidecar kept reading, the pending records alone (base64 in memory) would be
  // more than pendingBytes; a flat RSS allows for allocator noise only.
  const growthKb = rssMax - rss0;
  assert.ok(growthKb < 4096, `RSS grew by ${growthKb} KiB while ${pendingBytes} bytes were pending`);
  assert.ok(sc.running(), 'sidecar died while the reader was paused');

  // A slow reader: reads in fits and starts until everything arrived.
  const puts = [...first, ...pending];
  let paused = false;
  const toggler = setInterval(() => {
    paused = !paused;
    if (paused) pauseReader(reader);
    else resumeReader(reader);
  }, 40);
  // Meanwhile, never more than checkpoint_limit records of a shard in flight.
  let maxInFlight = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const j = (await sc.admin('/status').catch(() => ({}))).json;
      for (const r of perShardStatus(j)) maxInFlight = Math.max(maxInFlight, r.in_flight ?? 0);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    resumeReader(reader);
    await waitAllDelivered([reader], puts, 90000);
  } finally {
    clearInterval(toggler);
    resumeReader(reader);
    sampling = false;
    await sampler;
  }
  assert.ok(maxInFlight <= 1, `${maxInFlight} records of a shard in flight with checkpoint_limit 1`);
  // Strict per-shard order, nothing twice (nothing was ever nacked).
  assertPerShardOrder(reader.records);
  const { unique, dups } = tally(reader.records);
  assert.equal(unique, puts.length);
  assert.equal(dups, 0);
  assert.equal(reader.errors.length, 0, `malformed lines: ${JSON.stringify(reader.errors.slice(0, 2))}`);
  const rssEnd = await vmRssKb(sc.pid);
  t.diagnostic(`after delivery: rss ${rssEnd} KiB`);
  assert.equal((await sc.stop()).code, 0);
  await reader.close();
});

test('a reader that closes the FIFO mid-batch and comes back loses nothing; only that batch is replayed', async (t) => {
  const env = await startEmulators(t);
  const dir = await makeTempDir(t);
  await createStream(env.kc, 'gone', 1);
  const fifoPath = fifoIn(dir, 'gone');
  // One shard, batches of exactly K records (count trigger only), each far larger than the
  // pipe (64 KiB): while the reader holds fewer than K - 20 records of a batch, that batch
  // cannot have been completely written, so it is not acknowledged, and the pipe holds
  // nothing acknowledged that the reader has not read.
  const K = 100;
  const SIZE = 6000; // ~8 KiB per json_lines record, ~800 KiB per batch
  const sc = await startSidecar(
    {
      name: 'gone',
      dir,
      streams: ['gone'],
      table: 'leases',
      kinesisEndpoint: env.kinesis.endpoint,
      dynamoEndpoint: env.dynamo.endpoint,
      fifoPath,
      batching: { count: K },
      logLevel: 'INFO',
      ...PERIODS,
    },
    t,
  );
  await sc.waitForLog((l) => l.msg === 'lease acquired' || /^lease acquired/.test(l.msg || ''), 20000);
  const reader = await openFifoReader(fifoPath, { reopen: false });
  t.after(() => reader.close());
  await sc.waitForLog((l) => l.msg === 'FIFO reader attached', 10000);

  const CUT = 20; // records of the first batch read before the reader goes away
  const closed = new Promise((resolve) => {
    const onRecord = () => {
      if (reader.records.length < CUT) return;
      reader.off('record', onRecord);
      resolve(reader.close());
    };
    reader.on('record', onRecord);
  });
  const puts = await produce(env.kc, 'gone', 3 * K, { prefix: 'c', size: SIZE });
  await closed;
  const before = reader.records.slice();
  t.diagnostic(`closed after ${before.length} records (${reader.bytes} bytes read)`);
  assert.ok(before.length >= CUT && before.length < K - 20, `read ${before.length} records before closing`);
  // The premise: what was read plus a full pipe is still short of the first batch's end.
  const batchBytes = K * (JSON.stringify(before[0]).length + 1);
  assert.ok(reader.bytes + 65536 < batchBytes, `${reader.bytes} bytes read of a ${batchBytes}-byte batch`);
  const attaches = sc.logs.filter((l) => l.msg === 'FIFO reader attached').length;
  // The sidecar notices (EPIPE or POLLERR), nacks what it held and waits for a reader.
  await sc.waitForLog((l) => l.msg === 'FIFO reader went away; waiting for the next reader', 20000);
  // Away for a while: records keep waiting, nothing is dropped.
  const more = await produce(env.kc, 'gone', K, { prefix: 'd', size: SIZE });
  assert.equal(reader.records.length, before.length);

  await reader.reopen();
  await waitFor(() => sc.logs.filter((l) => l.msg === 'FIFO reader attached').length > attaches, {
    timeoutMs: 10000,
    what: 'the sidecar to attach to the new reader',
  });
  const all = [...puts, ...more];
  await waitAllDelivered([reader], all, 60000);
  // Let anything extra arrive (there should be nothing).
  await waitStable(() => reader.records.length, { stableMs: 1000, timeoutMs: 20000, what: 'the reader to go quiet' });

  const after = reader.records.slice(before.length);
  // The new reader gets everything, from the first record of the interrupted batch, in order, once.
  assert.deepEqual(
    after.map((r) => r.sequence_number),
    all.map((p) => p.sequenceNumber),
    'the new reader did not get exactly every record in order',
  );
  // The old reader's records were a prefix of that batch: the only records seen twice.
  assert.deepEqual(
    before.map((r) => r.sequence_number),
    all.slice(0, before.length).map((p) => p.sequenceNumber),
  );
  const { unique, dups } = tally(reader.records);
  assert.equal(unique, all.length);
  assert.equal(dups, before.length);
  assertPerShardOrder(after);
  assert.equal(dataOf(after[0]), 'c-0');
  assert.equal(reader.errors.length, 0, `malformed lines: ${JSON.stringify(reader.errors.slice(0, 2))}`);
  assert.equal((await sc.stop()).code, 0);
  await reader.close();
});
