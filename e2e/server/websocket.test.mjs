// Websocket sink end to end (docs/websocket.md): one sidecar over a 4-shard stream,
// clients written with `ws`. Every record arrives, per-shard order holds, nacks, ack
// timeouts and disconnects lose nothing, two clients share the shards, and bad
// handshakes or messages are refused while the sidecar keeps serving the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { startEmulators, createStream, waitFor } from '../lib/emulators.mjs';
import { makeTempDir } from '../lib/sidecar.mjs';
import { startWsSidecar, produce, scrape, admin } from './util.mjs';
import { connectClient, refusedStatus, coverage, orderViolation } from './wsclient.mjs';

const BATCHING = { count: 50, period: '100ms' };

async function setup(t, { ws = {}, shards = 4, ...opts } = {}) {
  const env = await startEmulators(t);
  await createStream(env.kc, 's4', shards);
  const side = await startWsSidecar(t, env, { stream: 's4', batching: BATCHING, ws, ...opts });
  return { env, ...side };
}

/** Waits until `records()` holds every put sequence number. */
function waitCovered(puts, records, timeoutMs = 45000, what = 'every record acked') {
  return waitFor(() => coverage(puts, records()).missing.length === 0, { timeoutMs, intervalMs: 50, what }).catch((err) => {
    err.message += ` (missing ${coverage(puts, records()).missing.length} of ${puts.length})`;
    throw err;
  });
}

function assertWellFormed(client, puts) {
  assert.deepEqual(client.errors, [], `${client.name} saw bad server messages`);
  const byseq = new Map(puts.map((p, i) => [p.sequenceNumber, { ...p, i }]));
  for (const b of client.batches) {
    assert.equal(typeof b.id, 'string');
    assert.equal(b.stream, 's4');
    assert.ok(b.records.length > 0, 'empty batch');
    for (const r of b.records) {
      assert.equal(r.shard_id, b.shard_id, 'a batch mixes shards');
      assert.equal(r.stream, 's4');
      const p = byseq.get(r.sequence_number);
      assert.ok(p, `unknown sequence number ${r.sequence_number}`);
      assert.equal(p.shardId, r.shard_id);
      assert.equal(Buffer.from(r.data, 'base64').toString('utf8'), `r-${p.i}`);
      assert.equal(r.partition_key, `k${p.i % 64}`);
      assert.match(r.arrival_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
  }
}

test('10,000 records over 4 shards, every batch acked: all arrive once, in order per shard', async (t) => {
  const { env, sc, url } = await setup(t);
  const c = await connectClient(url(), { name: 'a' });
  const puts = await produce(env.kc, 's4', 10000);
  assert.equal(new Set(puts.map((p) => p.shardId)).size, 4, 'records did not spread over 4 shards');
  await waitCovered(puts, () => c.acked, 50000);
  const cov = coverage(puts, c.received);
  assert.deepEqual(cov.missing, []);
  assert.deepEqual(cov.dups, [], 'records delivered twice without any nack');
  assert.equal(orderViolation(c.received), null);
  assertWellFormed(c, puts);
  assert.equal(new Set(c.batches.map((b) => b.id)).size, c.batches.length, 'batch ids repeat');
  await c.close();
  assert.equal((await sc.stop()).code, 0);
});

test('a client that nacks every 10th batch gets each nacked batch again; every record acked once', async (t) => {
  const { env, sc, url } = await setup(t);
  const c = await connectClient(url(), { name: 'nacker', answer: (_b, n) => (n % 10 === 9 ? 'nack' : 'ack') });
  const puts = await produce(env.kc, 's4', 4000);
  await waitCovered(puts, () => c.acked);
  t.diagnostic(`${c.batches.length} batches, ${c.nacked.length} nacked`);
  assert.ok(c.nacked.length >= 5, `only ${c.nacked.length} nacks`);
  const acked = coverage(puts, c.acked);
  assert.deepEqual(acked.dups, [], 'a record was acked twice');
  // Each nacked batch came back whole (same records, same order) in a later message.
  for (const nb of c.nacked) {
    const seqs = nb.records.map((r) => r.sequence_number).join(',');
    const again = c.batches.find((b) => b.n > nb.n && b.shard_id === nb.shard_id && b.records.map((r) => r.sequence_number).join(',') === seqs);
    assert.ok(again, `nacked batch ${nb.id} (${nb.shard_id}) was not delivered again`);
    assert.notEqual(again.id, nb.id, 'a replay reuses the batch id');
  }
  assertWellFormed(c, puts);
  // The sidecar saw exactly the nacks the client sent.
  const m = await waitFor(
    async () => {
      const s = await scrape(sc);
      return s.value('kinesis_sidecar_records_delivered_total') === puts.length && s;
    },
    { timeoutMs: 5000, what: 'records_delivered_total' },
  );
  assert.equal(m.value('kinesis_sidecar_websocket_nacks_total', { cause: 'client' }), c.nacked.length);
  assert.equal(m.value('kinesis_sidecar_batches_nacked_total'), c.nacked.length);
  assert.equal(m.value('kinesis_sidecar_batches_acked_total'), c.batches.length - c.nacked.length);
  await c.close();
  assert.equal((await sc.stop()).code, 0);
});

test('a client that never answers gets the batch again after ack_timeout; a late answer is ignored', async (t) => {
  const ackTimeoutMs = 2000;
  const { env, sc, url } = await setup(t, { ws: { ack_timeout: '2s' } });
  let answering = false;
  const c = await connectClient(url(), { name: 'silent', answer: () => (answering ? 'ack' : null) });
  const puts = await produce(env.kc, 's4', 400);
  await c.waitForBatches(1, 20000);
  const first = c.batches[0];
  const seqs = first.records.map((r) => r.sequence_number).join(',');
  const again = await waitFor(
    () => c.batches.find((b) => b.n > 0 && b.records.map((r) => r.sequence_number).join(',') === seqs),
    { timeoutMs: ackTimeoutMs + 10000, intervalMs: 20, what: 'the unanswered batch delivered again' },
  );
  const waited = again.at - first.at;
  t.diagnostic(`redelivered after ${waited} ms`);
  assert.ok(waited >= ackTimeoutMs - 100, `redelivered after ${waited} ms, before ack_timeout`);
  assert.ok(waited < ackTimeoutMs + 5000, `redelivered only after ${waited} ms`);
  assert.notEqual(again.id, first.id);
  assert.ok(c.acked.length === 0);

  // Answer from now on: the old id is late (ignored, the connection stays up), the rest flows.
  // (Batches already sent unanswered time out too and come back once more.)
  answering = true;
  c.send({ type: 'ack', id: first.id });
  await waitCovered(puts, () => c.acked);
  assert.equal(c.closeInfo, null, 'the late answer closed the connection');
  const m = await scrape(sc);
  assert.ok(m.value('kinesis_sidecar_websocket_nacks_total', { cause: 'timeout' }) >= 1);
  assert.ok(m.value('kinesis_sidecar_websocket_late_answers_total') >= 1, 'late answer not counted');
  assert.equal(m.value('kinesis_sidecar_websocket_protocol_errors_total') ?? 0, 0, 'a protocol error was counted');
  await c.close();
  assert.equal((await sc.stop()).code, 0);
});

test('a client disconnecting mid-stream loses nothing: what it held goes to the next client, in order', async (t) => {
  const MAX = 8; // max_in_flight: a silent client is full after MAX batches
  const { env, sc, url } = await setup(t, { ws: { max_in_flight: MAX } });
  const N = 12; // batches the first client acknowledges before going silent
  const a = await connectClient(url(), { name: 'a', answer: (_b, n) => (n < N ? 'ack' : null) });
  const puts = await produce(env.kc, 's4', 4000);
  await a.waitForBatches(N + MAX, 20000);
  // Every ack a sent has reached the sidecar, which holds MAX batches for a, all of them
  // received (none half-way on the wire), and sends nothing more to a full client.
  await waitFor(
    async () => {
      const m = await scrape(sc);
      const { json } = await admin(sc, '/status');
      return m.value('kinesis_sidecar_websocket_acks_total') === N && json?.sink?.clients?.[0]?.in_flight === MAX && a.unanswered.length === MAX;
    },
    { timeoutMs: 10000, intervalMs: 50, what: `${N} acks counted and ${MAX} batches held` },
  );
  const held = a.batches.filter((b) => b.answer === 'none');
  assert.equal(held.length, MAX);
  await a.terminate(); // no close handshake

  const b = await connectClient(url(), { name: 'b' });
  await waitCovered(puts, () => [...a.acked, ...b.acked]);
  const all = coverage(puts, [...a.acked, ...b.acked]);
  assert.deepEqual(all.dups, [], 'a record was acknowledged twice');
  const aSeqs = new Set(a.acked.map((r) => r.sequence_number));
  assert.ok(!b.received.some((r) => aSeqs.has(r.sequence_number)), 'an acknowledged record was delivered again');
  const heldSeqs = held.flatMap((x) => x.records.map((r) => r.sequence_number));
  const bSeqs = new Set(b.received.map((r) => r.sequence_number));
  assert.ok(heldSeqs.every((s) => bSeqs.has(s)), 'a batch the first client held was not delivered to the second');
  assert.equal(orderViolation([...a.acked, ...b.received]), null);
  const m = await scrape(sc);
  assert.equal(m.value('kinesis_sidecar_websocket_nacks_total', { cause: 'disconnect' }), held.length);
  await b.close();
  assert.equal((await sc.stop()).code, 0);
});

test('two clients share the shards; order holds per shard across both', async (t) => {
  const { env, sc, url } = await setup(t);
  const log = []; // arrival order over both clients
  // A small answer delay keeps batches in flight, so both clients get work.
  const a = await connectClient(url(), { name: 'a', log, delayMs: 5 });
  const b = await connectClient(url(), { name: 'b', log, delayMs: 5 });
  await waitFor(async () => (await scrape(sc)).value('kinesis_sidecar_websocket_clients') === 2, { timeoutMs: 5000, what: '2 clients' });
  const puts = await produce(env.kc, 's4', 6000);
  await waitCovered(puts, () => [...a.acked, ...b.acked]);
  t.diagnostic(`a: ${a.batches.length} batches, b: ${b.batches.length}`);
  assert.ok(a.batches.length > 0 && b.batches.length > 0, `no sharing: a=${a.batches.length} b=${b.batches.length} batches`);
  const inOrder = log.flatMap((x) => x.batch.records);
  const cov = coverage(puts, inOrder);
  assert.deepEqual(cov.dups, [], 'records delivered twice without any nack');
  assert.equal(orderViolation(inOrder), null);
  // While a client holds batches of a shard, that shard's batches go to it alone.
  for (const c of [a, b]) assertWellFormed(c, puts);
  await Promise.all([a.close(), b.close()]);
  assert.equal((await sc.stop()).code, 0);
});

test('bad tokens and malformed messages are refused; the sidecar keeps serving the others', async (t) => {
  const dir = await makeTempDir(t);
  const tokenFile = path.join(dir, 'ws-token');
  const token = 'secret-token-0123456789';
  await fsp.writeFile(tokenFile, token + '\n', { mode: 0o600 });
  const { env, sc, url } = await setup(t, { ws: { token_file: tokenFile } });

  assert.equal(await refusedStatus(url(), { name: 'no-token' }), 401);
  assert.equal(await refusedStatus(url(), { name: 'wrong-token', token: 'secret-token-0123456788' }), 401);
  assert.equal(await refusedStatus(url('/nope'), { name: 'wrong-path', token }), 404);

  const good = await connectClient(url(), { name: 'good', token, delayMs: 2 });
  const puts = await produce(env.kc, 's4', 3000);
  await good.waitForAcked(200, 20000);

  const big = JSON.stringify({ type: 'ack', id: 'x'.repeat((1 << 20) + 1000) });
  const cases = [
    { what: 'not JSON', msg: 'hello{', code: 1008, reason: 'malformed' },
    { what: 'not an object', msg: '[1,2,3]', code: 1008, reason: 'malformed' },
    { what: 'id missing', msg: '{"type":"ack"}', code: 1008, reason: 'malformed' },
    { what: 'id not a string', msg: '{"type":"ack","id":7}', code: 1008, reason: 'malformed' },
    { what: 'unknown type', msg: '{"type":"hello","id":"1-1"}', code: 1008, reason: 'unknown_type' },
    { what: 'unknown id', msg: '{"type":"ack","id":"999999-1"}', code: 1008, reason: 'unknown_id' },
    { what: 'binary', msg: Buffer.from('{"type":"ack","id":"1-1"}'), code: 1003, reason: 'binary' },
    { what: 'oversized', msg: big, code: 1009, reason: 'oversized' },
  ];
  const want = {};
  for (const k of cases) {
    // This client takes batches too and never answers them: the close hands them on.
    const bad = await connectClient(url(), { name: `bad (${k.what})`, token, answer: () => null });
    bad.ws.send(k.msg);
    const info = await Promise.race([
      bad.closed,
      new Promise((_, rej) => setTimeout(() => rej(new Error(`${k.what}: connection not closed`)), 10000)),
    ]);
    want[k.reason] = (want[k.reason] || 0) + 1;
    assert.equal(info.code, k.code, `${k.what}: close code ${info.code} (${info.reason}); client errors: ${bad.errors.join('; ')}; batches held: ${bad.batches.length}`);
    const ping = await admin(sc, '/ping');
    assert.equal(ping.status, 200, `${k.what}: sidecar not answering`);
  }
  assert.ok(sc.running(), 'sidecar exited');

  await waitCovered(puts, () => good.acked);
  t.diagnostic(`good client: ${good.batches.length} batches; protocol errors ${JSON.stringify(want)}`);
  assert.deepEqual(coverage(puts, good.acked).dups, []);
  assert.equal(orderViolation(good.received), null);
  assert.equal(good.closeInfo, null, 'the good client was disconnected');
  const m = await scrape(sc);
  for (const [reason, n] of Object.entries(want)) {
    assert.equal(m.value('kinesis_sidecar_websocket_protocol_errors_total', { reason }), n, `protocol errors {reason="${reason}"}`);
  }
  assert.equal(m.value('kinesis_sidecar_websocket_handshakes_refused_total', { reason: 'token' }), 2);
  assert.equal(m.value('kinesis_sidecar_websocket_handshakes_refused_total', { reason: 'path' }), 1);
  assert.equal(m.value('kinesis_sidecar_records_delivered_total'), puts.length);
  assert.ok(!sc.stderr().includes(token), 'the token appears in the logs');
  await good.close();
  assert.equal((await sc.stop()).code, 0);
});
