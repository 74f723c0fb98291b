// /metrics (docs/admin.md "Metrics", DESIGN.md section 7): valid Prometheus text 0.0.4 read
// with a real parser, and counters that match what the test's websocket client received.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulators, createStream, waitFor } from '../lib/emulators.mjs';
import { startWsSidecar, produce, scrape } from './util.mjs';
import { connectClient, coverage } from './wsclient.mjs';

const P = 'kinesis_sidecar_';

/** Line-level checks of the exposition format the parser is lenient about. */
function assertExposition(text) {
  assert.ok(text.endsWith('\n'), 'exposition does not end with a newline');
  const typed = new Map();
  const series = new Set();
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*")*)?\})? (-?[0-9.]+(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)$/;
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# HELP ')) continue;
    const ty = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (ty) {
      assert.ok(!typed.has(ty[1]), `TYPE ${ty[1]} given twice`);
      typed.set(ty[1], ty[2]);
      continue;
    }
    const m = sample.exec(line);
    assert.ok(m, `not a valid sample line: ${JSON.stringify(line)}`);
    assert.ok(m[1].startsWith(P), `${m[1]} lacks the ${P} prefix`);
    const family = m[1].replace(/_(bucket|sum|count)$/, '');
    assert.ok(typed.has(m[1]) || typed.get(family) === 'histogram', `${m[1]} has no TYPE line before it`);
    const key = `${m[1]}{${m[3] || ''}}`;
    assert.ok(!series.has(key), `series ${key} repeated`);
    series.add(key);
    if (typed.get(m[1]) === 'counter') assert.ok(Number(m[4]) >= 0, `${key} negative`);
  }
  return typed;
}

function assertHistogram(fam, count) {
  assert.equal(fam.type, 'HISTOGRAM');
  assert.equal(fam.metrics.length, 1);
  const h = fam.metrics[0];
  assert.equal(Number(h.count), count, `${fam.name} count`);
  assert.ok(Number(h.sum) >= 0);
  // (Object keys put integer-like bounds such as "1" first: order by value.)
  const les = Object.keys(h.buckets).sort((x, y) => Number(x) - Number(y));
  assert.equal(les[les.length - 1], '+Inf');
  assert.ok(les.length >= 5, `only ${les.length} buckets`);
  let prev = 0;
  for (const le of les) {
    const v = Number(h.buckets[le]);
    assert.ok(v >= prev, `${fam.name} buckets not cumulative at le=${le}`);
    prev = v;
  }
  assert.equal(prev, count, '+Inf bucket differs from _count');
}

test('/metrics parses as Prometheus text and its counters match what the client received', async (t) => {
  const env = await startEmulators(t);
  await createStream(env.kc, 's4', 4);
  const { sc, url } = await startWsSidecar(t, env, { stream: 's4', batching: { count: 40, period: '100ms' } });
  let nackEvery = 0; // phase 1: ack everything
  const c = await connectClient(url(), { name: 'c', answer: (_b, n) => (nackEvery && n % nackEvery === nackEvery - 1 ? 'nack' : 'ack') });

  const first = await scrape(sc);
  assert.match(first.contentType, /^text\/plain; ?version=0\.0\.4/);
  assertExposition(first.text);

  // ---- phase 1: every batch acked, nothing redelivered
  const puts = await produce(env.kc, 's4', 3000);
  await waitFor(() => coverage(puts, c.acked).missing.length === 0, { timeoutMs: 30000, what: 'phase 1 delivered' });
  assert.deepEqual(coverage(puts, c.received).dups, [], 'a record came twice without a nack');
  const bytes = (recs) => recs.reduce((n, r) => n + Buffer.from(r.data, 'base64').length, 0);
  // Acks travel to the sidecar after the client has them: wait for it to count them all.
  const m = await waitFor(
    async () => {
      const s = await scrape(sc);
      return s.value(P + 'batches_acked_total') === c.batches.length && s;
    },
    { timeoutMs: 5000, what: 'every ack counted' },
  );
  const typed = assertExposition(m.text);
  for (const f of m.families) {
    assert.ok(f.help, `${f.name} has no HELP`);
    assert.equal(f.type.toLowerCase(), typed.get(f.name), `${f.name} type`);
  }
  assert.equal(m.value(P + 'records_delivered_total'), c.acked.length);
  assert.equal(m.value(P + 'records_delivered_total'), puts.length);
  assert.equal(m.value(P + 'bytes_delivered_total'), bytes(c.acked));
  assert.equal(m.value(P + 'batches_nacked_total'), 0);
  assert.equal(m.value(P + 'batches_dropped_total'), 0);
  assert.equal(m.value(P + 'websocket_acks_total'), c.batches.length);
  assert.equal(m.value(P + 'websocket_batches_sent_total'), c.batches.length);
  assert.equal(m.value(P + 'websocket_nacks_total') ?? 0, 0);
  assert.equal(m.value(P + 'websocket_clients'), 1);
  assert.equal(m.value(P + 'leases_held'), 4);
  assert.equal(m.value(P + 'lease_claims_total'), 4);
  assert.equal(m.value(P + 'lease_losses_total'), 0);
  // Received, per shard, as the test put them.
  const perShard = new Map();
  for (const p of puts) perShard.set(p.shardId, (perShard.get(p.shardId) || 0) + 1);
  assert.equal(m.value(P + 'records_received_total'), puts.length);
  for (const [shard, n] of perShard) {
    assert.equal(m.value(P + 'records_received_total', { stream: 's4', shard }), n, `records_received_total{shard="${shard}"}`);
    const got = c.acked.filter((r) => r.shard_id === shard);
    assert.equal(m.value(P + 'bytes_received_total', { stream: 's4', shard }), bytes(got), `bytes_received_total{shard="${shard}"}`);
    assert.ok(m.value(P + 'millis_behind_latest', { stream: 's4', shard }) !== null, `no millis_behind_latest for ${shard}`);
  }
  assertHistogram(m.family(P + 'delivery_latency_seconds'), c.batches.length);
  // The admin request counter counts itself and the scrapes before it.
  const before = m.value(P + 'admin_requests_total', { path: '/metrics', code: '200' });
  const again = await scrape(sc);
  assert.equal(again.value(P + 'admin_requests_total', { path: '/metrics', code: '200' }), before + 1);

  // ---- phase 2: every 4th batch nacked; each record is still acked exactly once
  nackEvery = 4;
  const acked1 = c.acked.length;
  const batches1 = c.batches.length;
  const more = await produce(env.kc, 's4', 1000, { prefix: 'two' });
  await waitFor(() => coverage(more, c.acked).missing.length === 0, { timeoutMs: 30000, what: 'phase 2 delivered' });
  const all = [...puts, ...more];
  assert.deepEqual(coverage(all, c.acked).dups, [], 'a record was acked twice');
  const ackedBatches = c.batches.filter((b) => b.answer === 'ack').length;
  const m2 = await waitFor(
    async () => {
      const s = await scrape(sc);
      return s.value(P + 'batches_acked_total') === ackedBatches && s;
    },
    { timeoutMs: 5000, what: 'phase 2 acks counted' },
  );
  assertExposition(m2.text);
  assert.ok(c.nacked.length >= 2, `only ${c.nacked.length} nacks`);
  assert.equal(m2.value(P + 'records_delivered_total'), all.length);
  assert.equal(m2.value(P + 'records_delivered_total'), c.acked.length);
  assert.equal(m2.value(P + 'bytes_delivered_total'), bytes(c.acked));
  assert.equal(m2.value(P + 'batches_nacked_total'), c.nacked.length);
  assert.equal(m2.value(P + 'websocket_nacks_total', { cause: 'client' }), c.nacked.length);
  assert.equal(m2.value(P + 'websocket_batches_sent_total'), c.batches.length);
  assert.equal(m2.value(P + 'records_received_total'), all.length, 'a replay was counted as received again');
  assertHistogram(m2.family(P + 'delivery_latency_seconds'), ackedBatches);
  t.diagnostic(`phase 1: ${batches1} batches, ${acked1} records; phase 2: ${c.batches.length - batches1} batches, ${c.nacked.length} nacked`);

  await c.close();
  await waitFor(async () => (await scrape(sc)).value(P + 'websocket_clients') === 0, { timeoutMs: 5000, what: 'client gone' });
  assert.equal((await sc.stop()).code, 0);
});
