// A fault proxy between the sidecar and the emulators: throttling and 5xx on GetRecords are
// retried (and counted) without losing or reordering records; a ConditionalCheckFailed on a
// lease write drops that lease, and the shard comes back at a later rebalance; DynamoDB
// unreachable for longer than lease_period stops delivery (self-fencing) until it returns,
// and then every record arrives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulators, createStream, putRecords, waitFor } from '../lib/emulators.mjs';
import { startFaultProxy } from '../lib/fault-proxy.mjs';
import { makeTempDir, startSidecar, openFifoReader } from '../lib/sidecar.mjs';
import { produce, tally, waitAllDelivered, assertPerShardOrder, ownersOf, fifoIn, metricValue } from './util.mjs';

const PERIODS = { commitPeriod: '500ms', rebalancePeriod: '1s', leasePeriod: '3s', stealGracePeriod: '1s' };
const LEASE_MS = 3000;

async function sidecar(t, env, dir, name, { kinesisEndpoint, dynamoEndpoint, ...extra } = {}) {
  const fifoPath = fifoIn(dir, name);
  const sc = await startSidecar(
    {
      name,
      dir,
      streams: ['f'],
      table: 'leases',
      kinesisEndpoint: kinesisEndpoint ?? env.kinesis.endpoint,
      dynamoEndpoint: dynamoEndpoint ?? env.dynamo.endpoint,
      fifoPath,
      logLevel: 'DEBUG',
      env: { KS_CLIENT_ID: name },
      ...PERIODS,
      ...extra,
    },
    t,
  );
  const reader = await openFifoReader(fifoPath);
  t.after(() => reader.close()); // an open reader (reopen: true) would keep node alive
  return { sc, reader };
}

async function waitHeld(env, owner, n, timeoutMs = 20000) {
  return waitFor(async () => (await ownersOf(env.dc, 'leases', 'f'))[owner] === n, {
    timeoutMs,
    intervalMs: 200,
    what: `${owner} to hold ${n} leases`,
  });
}

/** /metrics of a sidecar as text, or null when the admin server does not serve it. */
async function metrics(sc) {
  try {
    const r = await sc.admin('/metrics');
    return r.status === 200 ? r.body : null;
  } catch {
    return null;
  }
}

/** Puts `perTick` records every `everyMs` until stop(); returns {puts, stop}. */
function backgroundProducer(kc, stream, { prefix, perTick = 20, everyMs = 100 }) {
  const puts = [];
  let i = 0;
  let running = true;
  let failure = null;
  const loop = (async () => {
    while (running) {
      const recs = [];
      for (let k = 0; k < perTick; k++, i++) recs.push({ data: `${prefix}-${i}`, partitionKey: `k${i % 64}` });
      try {
        puts.push(...(await putRecords(kc, stream, recs)));
      } catch (err) {
        failure = err;
        return;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    puts,
    async stop() {
      running = false;
      await loop;
      if (failure) throw failure;
      return puts;
    },
  };
}

test('throttling and 5xx on GetRecords: every record arrives in order, throttles are counted', async (t) => {
  const env = await startEmulators(t);
  const dir = await makeTempDir(t);
  const kproxy = await startFaultProxy(env.kinesis.endpoint);
  t.after(() => kproxy.stop());
  await createStream(env.kc, 'f', 2);
  const throttle = kproxy.throttle('GetRecords', { probability: 0.3, count: 15 });
  const limit = kproxy.awsError('GetRecords', 400, 'LimitExceededException', { probability: 0.2, count: 4 });
  const s500 = kproxy.serverError('GetRecords', { probability: 0.15, count: 6 });
  const s503 = kproxy.awsError('GetRecords', 503, 'ServiceUnavailable', { probability: 0.2, count: 4 });
  // Small pages: many GetRecords calls, so faults land in the middle of the stream.
  const { sc, reader } = await sidecar(t, env, dir, 'a', { kinesisEndpoint: kproxy.endpoint, getRecordsLimit: 50, logLevel: 'INFO' });
  const puts = await produce(env.kc, 'f', 3000);
  await waitAllDelivered([reader], puts, 90000);
  // Faults of every kind were injected while records flowed.
  await waitFor(() => throttle.fired >= 5 && s500.fired >= 1, { timeoutMs: 30000, what: 'faults to be injected' });
  t.diagnostic(`injected: throttle ${throttle.fired}, limit ${limit.fired}, 500 ${s500.fired}, 503 ${s503.fired}; GetRecords seen ${kproxy.seen('GetRecords')}`);
  assertPerShardOrder(reader.records);
  const { unique, dups } = tally(reader.records);
  assert.equal(unique, puts.length);
  assert.equal(dups, 0, 'a failed GetRecords made records arrive twice');

  // Counted: every throttling answer (ProvisionedThroughputExceeded, LimitExceeded) once, and
  // every failed call (throttles and 5xx) in kinesis_errors_total. Rules stop firing now.
  kproxy.clearRules();
  const body = await metrics(sc);
  assert.ok(body !== null, 'GET /metrics is not served by the admin server');
  const throttles = throttle.fired + limit.fired;
  const failed = throttles + s500.fired + s503.fired;
  await waitFor(
    async () => {
      const m = await metrics(sc);
      return (
        metricValue(m, 'kinesis_sidecar_getrecords_throttles_total') === throttles &&
        metricValue(m, 'kinesis_sidecar_kinesis_errors_total') === failed
      );
    },
    { timeoutMs: 10000, intervalMs: 200, what: `throttles_total = ${throttles} and kinesis_errors_total = ${failed}` },
  ).catch(async (err) => {
    const m = await metrics(sc);
    err.message += `; got throttles ${metricValue(m, 'kinesis_sidecar_getrecords_throttles_total')}, errors ${metricValue(m, 'kinesis_sidecar_kinesis_errors_total')}`;
    throw err;
  });
  assert.ok(throttles > 0);
  // 5xx are retried with a WARN naming the failure (throttles only at DEBUG).
  const warned = sc.logs.filter((l) => l.level === 'WARN' && /^GetRecords failed/.test(l.msg || ''));
  assert.equal(warned.length, s500.fired + s503.fired, 'one WARN per 5xx answer');
  assert.equal((await sc.stop()).code, 0);
});

test('ConditionalCheckFailed on a lease write: that lease is lost, regained at a later rebalance, nothing lost', async (t) => {
  const env = await startEmulators(t);
  const dir = await makeTempDir(t);
  const dproxy = await startFaultProxy(env.dynamo.endpoint);
  t.after(() => dproxy.stop());
  await createStream(env.kc, 'f', 2);
  const { sc, reader } = await sidecar(t, env, dir, 'a', { dynamoEndpoint: dproxy.endpoint });
  await waitHeld(env, 'a', 2);
  const first = await produce(env.kc, 'f', 1000, { prefix: 'one' });
  await waitAllDelivered([reader], first);

  // The next lease write (a heartbeat or checkpoint of one shard) fails its condition.
  const prod = backgroundProducer(env.kc, 'f', { prefix: 'two' });
  const rule = dproxy.conditionalFail('UpdateItem', { count: 1 });
  let lost;
  try {
    lost = await sc.waitForLog((l) => /^lease lost/.test(l.msg || '') && l.shard, 15000);
    // The consumer stops that shard's delivery too.
    await sc.waitForLog((l) => /^lease lost \(/.test(l.msg || '') && l.shard === lost.shard, 5000);
    const lostAt = sc.logs.indexOf(lost);
    // Regained by a later rebalance (the row still names this client: its own row).
    await sc.waitForLog(
      (l) => sc.logs.indexOf(l) > lostAt && /^lease acquired/.test(l.msg || '') && l.shard === lost.shard,
      20000,
    );
  } finally {
    await prod.stop();
  }
  assert.equal(rule.fired, 1);
  const all = [...first, ...prod.puts];
  assert.ok(prod.puts.length > 0);
  await waitAllDelivered([reader], all, 60000);
  await waitHeld(env, 'a', 2);
  // Only the dropped, uncommitted records may come again, in order.
  assertPerShardOrder(reader.records, { allowReplay: true });
  for (const [, recs] of perShardSeqs(reader.records)) assertReplaysOnlySuffixes(recs);
  assert.equal(tally(reader.records).unique, all.length);
  const body = await metrics(sc);
  assert.ok(body !== null, 'GET /metrics is not served by the admin server');
  assert.ok(metricValue(body, 'kinesis_sidecar_lease_losses_total') >= 1, 'lease loss not counted');
  assert.equal((await sc.stop()).code, 0);
});

test('DynamoDB unreachable for longer than lease_period: delivery stops, then resumes and every record arrives', async (t) => {
  const env = await startEmulators(t);
  const dir = await makeTempDir(t);
  const dproxy = await startFaultProxy(env.dynamo.endpoint);
  t.after(() => dproxy.stop());
  await createStream(env.kc, 'f', 2);
  const { sc, reader } = await sidecar(t, env, dir, 'a', { dynamoEndpoint: dproxy.endpoint });
  await waitHeld(env, 'a', 2);
  const first = await produce(env.kc, 'f', 500, { prefix: 'one' });
  await waitAllDelivered([reader], first);

  const prod = backgroundProducer(env.kc, 'f', { prefix: 'two' });
  let puts;
  try {
    const downAt = Date.now();
    await dproxy.down();
    // Self-fenced: both leases reported lost within lease_period (+ a heartbeat and margin).
    const lostLogs = () => sc.logs.filter((l) => /^lease lost/.test(l.msg || '') && l.shard && !/^lease lost \(/.test(l.msg));
    await waitFor(() => new Set(lostLogs().map((l) => l.shard)).size === 2, {
      timeoutMs: LEASE_MS + 5000,
      intervalMs: 50,
      what: 'both leases to be reported lost',
    });
    const fencedMs = Date.now() - downAt;
    t.diagnostic(`fenced ${fencedMs} ms after DynamoDB went down`);
    assert.ok(fencedMs >= LEASE_MS - 1500, `leases dropped after ${fencedMs} ms, before lease_period`);
    // From lease_period + a margin on, nothing more is delivered although records keep coming.
    await waitFor(() => Date.now() - downAt >= LEASE_MS + 1500, { timeoutMs: 10000, what: 'lease_period + margin' });
    const n0 = reader.records.length;
    const puts0 = prod.puts.length;
    await waitFor(() => Date.now() - downAt >= LEASE_MS + 4500, { timeoutMs: 10000, what: 'the observation window' });
    assert.ok(prod.puts.length > puts0, 'the producer stalled');
    assert.equal(reader.records.length, n0, `${reader.records.length - n0} records delivered while fenced`);
    assert.ok(sc.running());

    await dproxy.up();
    // Back: the leases are taken again and everything arrives, including what was produced
    // while DynamoDB was away.
    await waitHeld(env, 'a', 2, 20000);
  } finally {
    puts = await prod.stop();
  }
  const all = [...first, ...puts];
  await waitAllDelivered([reader], all, 60000);
  assertPerShardOrder(reader.records, { allowReplay: true });
  for (const [, recs] of perShardSeqs(reader.records)) assertReplaysOnlySuffixes(recs);
  assert.equal(tally(reader.records).unique, all.length);
  assert.equal((await sc.stop()).code, 0);
});

function perShardSeqs(records) {
  const m = new Map();
  for (const r of records) {
    if (!m.has(r.shard_id)) m.set(r.shard_id, []);
    m.get(r.shard_id).push(BigInt(r.sequence_number));
  }
  return m;
}

/** Within one shard, a step back in sequence must restart at a record already delivered
 * (a replay from the last checkpoint), never skip ahead past an undelivered one. */
function assertReplaysOnlySuffixes(seqs) {
  const seen = new Set();
  let max = -1n;
  for (const s of seqs) {
    if (s <= max) assert.ok(seen.has(s), `sequence ${s} went back to a record never delivered`);
    seen.add(s);
    if (s > max) max = s;
  }
}
