// Our Kinesis and DynamoDB clients (pkg/kinesis, pkg/dynamo over pkg/aws + pkg/http) against
// the real emulators, through e2e/itest/*.c drivers. The SDK writes, our client reads; the
// fault proxy in front counts and records the requests our client sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import {
  startEmulators,
  createStream,
  putRecords,
  readAllRecords,
  listShards,
  splitShard,
  describeTable,
  scanTable,
  waitFor,
} from './lib/emulators.mjs';
import { startFaultProxy } from './lib/fault-proxy.mjs';
import { E2E_DIR } from './lib/sidecar.mjs';

const itestDir = process.env.KS_ITEST_DIR
  ? path.resolve(process.env.KS_ITEST_DIR)
  : path.resolve(E2E_DIR, '..', process.env.KS_BUILD || 'build', 'itest');
const kinesisBin = path.join(itestDir, 'kinesis_itest');
const dynamoBin = path.join(itestDir, 'dynamo_itest');
const missing = [kinesisBin, dynamoBin].filter((b) => !fs.existsSync(b));
const skip = missing.length ? `itest binaries not built (make san-bin): ${missing.join(', ')}` : false;
if (skip && process.env.CI === 'true') throw new Error(skip);

/** Runs an itest binary asynchronously (the proxy lives in this process); parses its JSON. */
function run(bin, args, { timeoutMs = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      let out;
      try {
        out = JSON.parse(stdout);
      } catch {
        reject(new Error(`${path.basename(bin)} ${args[1]}: no JSON (exit ${err?.code}): ${stdout}\n${stderr}`));
        return;
      }
      if (/ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:/.test(stderr)) {
        reject(new Error(`sanitizer report from ${path.basename(bin)}:\n${stderr}`));
        return;
      }
      resolve(out);
    });
  });
}

const kin = (endpoint, ...args) => run(kinesisBin, [endpoint, ...args]);
const ddb = (endpoint, ops) => run(dynamoBin, [endpoint, JSON.stringify(ops)]);

test('kinesis client: list shards, summary, every iterator type, closed shard, errors', { skip }, async (t) => {
  const env = await startEmulators(t);
  const proxy = await startFaultProxy(env.kinesis.endpoint);
  t.after(() => proxy.stop());
  const ep = proxy.endpoint;

  await createStream(env.kc, 'it-orders', 3);
  const input = Array.from({ length: 300 }, (_, i) => ({
    data: i % 10 === 0 ? Buffer.from([0, 255, i & 255, 10, 13, 34]) : `record-${i} "quoted" \\ ünïcode`,
    partitionKey: `pk-${i % 23}`,
  }));
  await putRecords(env.kc, 'it-orders', input);
  const sdk = await readAllRecords(env.kc, 'it-orders');
  assert.equal(sdk.length, 300);

  const listed = await kin(ep, 'list-shards', 'it-orders');
  const sdkShards = await listShards(env.kc, 'it-orders');
  assert.deepEqual(listed.shards.map((s) => s.shard_id), sdkShards.map((s) => s.ShardId));
  assert.equal(listed.shards[0].starting_hash_key, sdkShards[0].HashKeyRange.StartingHashKey);
  assert.equal(listed.shards[2].ending_hash_key, sdkShards[2].HashKeyRange.EndingHashKey);
  assert.ok(listed.shards.every((s) => s.parent_shard_id === null && s.ending_sequence === null));
  const lsBody = JSON.parse(proxy.requests.find((r) => r.op === 'ListShards').body);
  assert.equal(lsBody.StreamName, 'it-orders');
  assert.ok(lsBody.MaxResults >= 1);

  const sum = await kin(ep, 'summary', 'it-orders');
  assert.equal(sum.stream_name, 'it-orders');
  assert.equal(sum.stream_status, 'ACTIVE');
  assert.equal(sum.open_shard_count, 3);

  for (const shard of sdkShards) {
    const want = sdk.filter((r) => r.shardId === shard.ShardId);
    const before = proxy.seen('GetRecords');
    const got = await kin(ep, 'read', 'it-orders', shard.ShardId, 'TRIM_HORIZON', '-', '7');
    assert.equal(got.closed, false);
    assert.deepEqual(got.records.map((r) => r.sequence_number), want.map((r) => r.sequenceNumber));
    assert.deepEqual(got.records.map((r) => r.data_b64), want.map((r) => r.dataB64));
    assert.deepEqual(got.records.map((r) => r.partition_key), want.map((r) => r.partitionKey));
    got.records.forEach((r, i) => assert.ok(Math.abs(r.arrival_ms - want[i].arrivalMs) <= 1, 'arrival ms'));
    assert.equal(got.millis_behind_latest, 0);
    // Limit 7 forces pages: ceil(n/7) full or partial pages, then one empty page.
    assert.equal(proxy.seen('GetRecords') - before, Math.ceil(want.length / 7) + 1);
  }
  const grBody = JSON.parse(proxy.requests.filter((r) => r.op === 'GetRecords').at(-1).body);
  assert.equal(grBody.Limit, 7);

  // Sequence-number iterators, on the busiest shard.
  const shardId = sdkShards.map((s) => s.ShardId).sort((a, b) => sdk.filter((r) => r.shardId === b).length - sdk.filter((r) => r.shardId === a).length)[0];
  const recs = sdk.filter((r) => r.shardId === shardId);
  const k = Math.floor(recs.length / 2);
  const after = await kin(ep, 'read', 'it-orders', shardId, 'AFTER_SEQUENCE_NUMBER', recs[k].sequenceNumber);
  assert.deepEqual(after.records.map((r) => r.sequence_number), recs.slice(k + 1).map((r) => r.sequenceNumber));
  const at = await kin(ep, 'read', 'it-orders', shardId, 'AT_SEQUENCE_NUMBER', recs[k].sequenceNumber);
  assert.deepEqual(at.records.map((r) => r.sequence_number), recs.slice(k).map((r) => r.sequenceNumber));
  const latest = await kin(ep, 'read', 'it-orders', shardId, 'LATEST');
  assert.deepEqual(latest.records, []);
  const gsiBodies = proxy.requests.filter((r) => r.op === 'GetShardIterator').map((r) => JSON.parse(r.body));
  assert.ok(gsiBodies.some((b) => b.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' && b.StartingSequenceNumber === recs[k].sequenceNumber));

  // AT_TIMESTAMP: a second batch written strictly later than the first one.
  await createStream(env.kc, 'it-ts', 1);
  const first = await putRecords(env.kc, 'it-ts', [{ data: 'early-1' }, { data: 'early-2' }]);
  assert.equal(first.length, 2);
  const early = await readAllRecords(env.kc, 'it-ts');
  await waitFor(() => Date.now() > early.at(-1).arrivalMs + 5, { timeoutMs: 1000 });
  await putRecords(env.kc, 'it-ts', [{ data: 'late-1' }, { data: 'late-2' }, { data: 'late-3' }]);
  const all = await readAllRecords(env.kc, 'it-ts');
  const t0 = all.find((r) => r.data === 'late-1').arrivalMs;
  const byTs = await kin(ep, 'read', 'it-ts', all[0].shardId, 'AT_TIMESTAMP', String(t0));
  assert.deepEqual(byTs.records.map((r) => Buffer.from(r.data_b64, 'base64').toString()), ['late-1', 'late-2', 'late-3']);
  const tsBody = proxy.requests.filter((r) => r.op === 'GetShardIterator').map((r) => JSON.parse(r.body)).find((b) => b.ShardIteratorType === 'AT_TIMESTAMP');
  assert.equal(tsBody.Timestamp, t0 / 1000);

  // A closed shard is read to its end (no NextShardIterator) and its children are listed.
  const split = await splitShard(env.kc, 'it-ts', all[0].shardId);
  const closed = await kin(ep, 'read', 'it-ts', all[0].shardId, 'TRIM_HORIZON');
  assert.equal(closed.closed, true);
  assert.equal(closed.records.length, 5);
  const relisted = await kin(ep, 'list-shards', 'it-ts');
  assert.equal(relisted.shards.length, split.length);
  const parent = relisted.shards.find((s) => s.shard_id === all[0].shardId);
  assert.ok(parent.ending_sequence, 'closed parent has an ending sequence');
  assert.equal(relisted.shards.filter((s) => s.parent_shard_id === all[0].shardId).length, 2);

  // Errors map to ks_err names.
  assert.equal((await kin(ep, 'list-shards', 'no-such-stream')).error, 'aws_resource_not_found');
  proxy.throttle('GetRecords', { count: 1 });
  assert.equal((await kin(ep, 'read', 'it-orders', shardId, 'TRIM_HORIZON')).error, 'aws_throttled');
  proxy.serverError('GetShardIterator', { count: 1 });
  assert.equal((await kin(ep, 'read', 'it-orders', shardId, 'TRIM_HORIZON')).error, 'aws_server');
});

test('dynamo client: ensure table (both billing modes), conditional writes, paged query', { skip }, async (t) => {
  const env = await startEmulators(t);
  const proxy = await startFaultProxy(env.dynamo.endpoint);
  t.after(() => proxy.stop());
  const ep = proxy.endpoint;
  const key = (shard) => ({ StreamID: { S: 'orders' }, ShardID: { S: shard } });

  // Missing table without create: a clear error, nothing created.
  let r = await ddb(ep, [{ op: 'ensure', table: 'it-leases', create: false, timeout_ms: 5000 }]);
  assert.equal(r.results[0].err, 'aws_resource_not_found');
  assert.equal(proxy.seen('CreateTable'), 0);

  r = await ddb(ep, [
    { op: 'ensure', table: 'it-leases', create: true, timeout_ms: 10000 },
    { op: 'ensure', table: 'it-prov', create: true, billing: 'PROVISIONED', rcu: 3, wcu: 4, timeout_ms: 10000 },
    { op: 'ensure', table: 'it-leases', create: true, timeout_ms: 10000 },
    { op: 'describe', table: 'it-leases' },
  ]);
  assert.deepEqual(r.results.map((x) => x.err), ['ok', 'ok', 'ok', 'ok']);
  assert.equal(r.results[3].status, 'ACTIVE');
  assert.equal(proxy.seen('CreateTable'), 2, 'an existing table is not created again');
  const ppr = await describeTable(env.dc, 'it-leases');
  assert.equal(ppr.TableStatus, 'ACTIVE');
  assert.equal(ppr.BillingModeSummary?.BillingMode ?? 'PAY_PER_REQUEST', 'PAY_PER_REQUEST');
  assert.deepEqual(ppr.KeySchema, [
    { AttributeName: 'StreamID', KeyType: 'HASH' },
    { AttributeName: 'ShardID', KeyType: 'RANGE' },
  ]);
  const prov = await describeTable(env.dc, 'it-prov');
  assert.equal(prov.ProvisionedThroughput.ReadCapacityUnits, 3);
  assert.equal(prov.ProvisionedThroughput.WriteCapacityUnits, 4);
  const createBodies = proxy.requests.filter((x) => x.op === 'CreateTable').map((x) => JSON.parse(x.body));
  assert.equal(createBodies[0].BillingMode, 'PAY_PER_REQUEST');
  assert.equal(createBodies[0].ProvisionedThroughput, undefined);
  assert.equal(createBodies[1].BillingMode, 'PROVISIONED');

  // Claim, conditional heartbeat, stale heartbeat, get, delete with condition.
  const claim = { op: 'put', table: 'it-leases', key: { ...key('shardId-000000000000'), ClientID: { S: 'a' }, LeaseCounter: { N: '1' } }, condition: 'attribute_not_exists(ShardID)' };
  const beat = (n) => ({
    op: 'update',
    table: 'it-leases',
    key: key('shardId-000000000000'),
    update: 'SET #c = #c + :one, SequenceNumber = :seq',
    condition: 'ClientID = :me AND #c = :n',
    names: { '#c': 'LeaseCounter' },
    values: { ':one': { N: '1' }, ':n': { N: String(n) }, ':me': { S: 'a' }, ':seq': { S: 'TRIM_HORIZON' } },
    return: 'ALL_NEW',
  });
  r = await ddb(ep, [
    claim,
    claim,
    beat(1),
    beat(1),
    { op: 'get', table: 'it-leases', key: key('shardId-000000000000'), consistent: true },
    { op: 'get', table: 'it-leases', key: key('shardId-none') },
    { op: 'delete', table: 'it-leases', key: key('shardId-000000000000'), condition: 'ClientID = :me', values: { ':me': { S: 'b' } } },
    { op: 'delete', table: 'it-leases', key: key('shardId-000000000000'), condition: 'ClientID = :me', values: { ':me': { S: 'a' } }, return: 'ALL_OLD' },
    { op: 'get', table: 'it-leases', key: key('shardId-000000000000') },
  ]);
  assert.deepEqual(r.results.map((x) => x.err), [
    'ok', 'aws_condition_failed', 'ok', 'aws_condition_failed', 'ok', 'ok', 'aws_condition_failed', 'ok', 'ok',
  ]);
  assert.equal(r.results[2].item.LeaseCounter.N, '2');
  assert.equal(r.results[2].item.SequenceNumber.S, 'TRIM_HORIZON');
  assert.equal(r.results[3].item, null);
  assert.equal(r.results[4].item.LeaseCounter.N, '2');
  assert.equal(r.results[4].item.ClientID.S, 'a');
  assert.equal(r.results[5].item, null);
  assert.equal(r.results[7].item.LeaseCounter.N, '2', 'ALL_OLD returns the deleted row');
  assert.equal(r.results[8].item, null);
  const getBody = JSON.parse(proxy.requests.find((x) => x.op === 'GetItem').body);
  assert.equal(getBody.ConsistentRead, true);

  // Query paging: 45 rows of one stream (+ 3 of another), 7 per page.
  const rows = [];
  for (let i = 0; i < 45; i++) rows.push({ op: 'put', table: 'it-leases', key: { ...key(`shardId-${String(i).padStart(12, '0')}`), LeaseCounter: { N: String(i) } } });
  for (let i = 0; i < 3; i++) rows.push({ op: 'put', table: 'it-leases', key: { StreamID: { S: 'other' }, ShardID: { S: `s-${i}` } } });
  r = await ddb(ep, rows);
  assert.ok(r.results.every((x) => x.err === 'ok'));
  const q0 = proxy.seen('Query');
  r = await ddb(ep, [{ op: 'query', table: 'it-leases', hash_key: 'StreamID', hash_value: 'orders', page_limit: 7 }]);
  assert.equal(r.results[0].err, 'ok');
  const items = r.results[0].items;
  assert.equal(items.length, 45);
  assert.deepEqual(items.map((x) => Number(x.LeaseCounter.N)), Array.from({ length: 45 }, (_, i) => i));
  const pages = proxy.seen('Query') - q0;
  assert.ok(pages >= 7, `paged query: ${pages} pages`);
  const qBodies = proxy.requests.filter((x) => x.op === 'Query').map((x) => JSON.parse(x.body));
  assert.equal(qBodies[0].ConsistentRead, true);
  assert.equal(qBodies[0].ExclusiveStartKey, undefined);
  assert.equal(qBodies[1].ExclusiveStartKey.ShardID.S, 'shardId-000000000006');
  const scanned = await scanTable(env.dc, 'it-leases');
  assert.equal(scanned.length, 48);

  // Transport and server errors surface as ks_err names.
  proxy.serverError('Query', { count: 1 });
  r = await ddb(ep, [{ op: 'query', table: 'it-leases', hash_key: 'StreamID', hash_value: 'orders' }]);
  assert.equal(r.results[0].err, 'aws_server');
  proxy.reset('GetItem', { count: 1 });
  r = await ddb(ep, [{ op: 'get', table: 'it-leases', key: key('x') }]);
  assert.equal(r.results[0].err, 'http');
});
