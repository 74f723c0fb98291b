// Smoke test of the e2e harness: emulators as child processes, SDK helpers, the fault
// proxy, the FIFO reader and the sidecar process helper (with a stand-in binary).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import { UpdateItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  startEmulators,
  kinesisClient,
  dynamoClient,
  createStream,
  putRecords,
  readAllRecords,
  listShards,
  splitShard,
  mergeShards,
  createLeaseTable,
  describeTable,
  scanTable,
  runningProcesses,
} from './lib/emulators.mjs';
import { startFaultProxy } from './lib/fault-proxy.mjs';
import { startSidecar, openFifoReader, buildConfig, toYaml, makeTempDir } from './lib/sidecar.mjs';

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('emulators: stream and table round trip, reshard, stop by PID', async (t) => {
  const env = await startEmulators(t);
  assert.ok(alive(env.kinesis.pid) && alive(env.dynamo.pid));
  assert.notEqual(env.kinesis.port, env.dynamo.port);

  await createStream(env.kc, 'smoke', 2);
  const shards = await listShards(env.kc, 'smoke');
  assert.equal(shards.length, 2);

  const input = Array.from({ length: 1200 }, (_, i) => ({ data: `rec-${i}`, partitionKey: `k${i % 37}` }));
  const put = await putRecords(env.kc, 'smoke', input);
  assert.equal(put.length, 1200);
  assert.ok(put.every((r) => r.sequenceNumber && r.shardId));

  const got = await readAllRecords(env.kc, 'smoke');
  assert.equal(got.length, 1200);
  assert.deepEqual(new Set(got.map((r) => r.data)), new Set(input.map((r) => r.data)));
  const first = got.find((r) => r.data === 'rec-0');
  assert.equal(first.partitionKey, 'k0');
  assert.equal(first.dataB64, Buffer.from('rec-0').toString('base64'));
  assert.ok(first.arrivalMs > Date.now() - 60000);

  // Reshard: split shard 0, then merge the two children.
  const after = await splitShard(env.kc, 'smoke', shards[0].ShardId);
  const children = after.filter((s) => s.ParentShardId === shards[0].ShardId);
  assert.equal(children.length, 2);
  const merged = await mergeShards(env.kc, 'smoke', children[0].ShardId, children[1].ShardId);
  const mergedChild = merged.find((s) => s.ParentShardId === children[0].ShardId);
  assert.equal(mergedChild.AdjacentParentShardId, children[1].ShardId);

  await createLeaseTable(env.dc, 'leases-ppr');
  await createLeaseTable(env.dc, 'leases-prov', { billingMode: 'PROVISIONED', rcu: 3, wcu: 4 });
  const prov = await describeTable(env.dc, 'leases-prov');
  assert.equal(prov.ProvisionedThroughput.WriteCapacityUnits, 4);
  await env.dc.send(
    new PutItemCommand({
      TableName: 'leases-ppr',
      Item: { StreamID: { S: 'smoke' }, ShardID: { S: 'shardId-0' }, LeaseCounter: { N: '1' }, ParentShardIDs: { SS: ['a', 'b'] } },
    }),
  );
  const rows = await scanTable(env.dc, 'leases-ppr');
  assert.deepEqual(rows, [{ StreamID: 'smoke', ShardID: 'shardId-0', LeaseCounter: 1, ParentShardIDs: ['a', 'b'] }]);

  const pids = [env.kinesis.pid, env.dynamo.pid];
  await env.stop();
  assert.ok(!alive(pids[0]) && !alive(pids[1]), 'emulators stopped by PID');
  assert.equal(runningProcesses().filter((p) => pids.includes(p.pid)).length, 0);
});

test('fault proxy: throttling, 5xx, conditional failure, reset, latency, down', async (t) => {
  const env = await startEmulators(t);
  const kp = await startFaultProxy(env.kinesis.endpoint);
  t.after(() => kp.stop());
  const dp = await startFaultProxy(env.dynamo.endpoint);
  t.after(() => dp.stop());
  const kc = kinesisClient(kp.endpoint, { maxAttempts: 1 });
  const dc = dynamoClient(dp.endpoint, { maxAttempts: 1 });
  t.after(() => {
    kc.destroy();
    dc.destroy();
  });

  await createStream(kc, 'faulty', 1);
  await putRecords(kc, 'faulty', [{ data: 'a' }, { data: 'b' }]);
  const [shard] = await listShards(kc, 'faulty');
  const { ShardIterator: it } = await kc.send(
    new GetShardIteratorCommand({ StreamName: 'faulty', ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
  );

  // Two throttles, then the real answer.
  kp.throttle('GetRecords', { count: 2 });
  for (let i = 0; i < 2; i++) {
    await assert.rejects(kc.send(new GetRecordsCommand({ ShardIterator: it })), (e) => e.name === 'ProvisionedThroughputExceededException' && e.$metadata.httpStatusCode === 400);
  }
  const ok = await kc.send(new GetRecordsCommand({ ShardIterator: it }));
  assert.equal(ok.Records.length, 2);
  assert.equal(kp.injected('GetRecords', 'error'), 2);

  kp.clearRules();
  kp.serverError('GetRecords', { count: 1 });
  await assert.rejects(kc.send(new GetRecordsCommand({ ShardIterator: it })), (e) => e.$metadata.httpStatusCode === 500);

  kp.reset('GetRecords', { count: 1 });
  await assert.rejects(kc.send(new GetRecordsCommand({ ShardIterator: it })), (e) => /ECONNRESET|socket hang up/i.test(`${e.code} ${e.message}`));
  assert.equal(kp.injected('GetRecords', 'reset'), 1);

  kp.latency('GetRecords', 300, { count: 1 });
  const t0 = Date.now();
  await kc.send(new GetRecordsCommand({ ShardIterator: it }));
  assert.ok(Date.now() - t0 >= 280, 'latency added');

  // Probability 0 never fires; `after` lets the first matches through.
  kp.clearRules();
  kp.throttle('GetRecords', { probability: 0 });
  await kc.send(new GetRecordsCommand({ ShardIterator: it }));
  kp.clearRules();

  await createLeaseTable(dc, 'leases');
  dp.conditionalFail('UpdateItem', { after: 1, count: 1 });
  const upd = () =>
    dc.send(
      new UpdateItemCommand({
        TableName: 'leases',
        Key: { StreamID: { S: 's' }, ShardID: { S: 'x' } },
        UpdateExpression: 'ADD LeaseCounter :one',
        ExpressionAttributeValues: { ':one': { N: '1' } },
      }),
    );
  await upd();
  await assert.rejects(upd(), (e) => e.name === 'ConditionalCheckFailedException');
  await upd();
  assert.equal(dp.injected('UpdateItem'), 1);
  assert.equal(dp.seen('UpdateItem'), 3);
  const [row] = await scanTable(env.dc, 'leases');
  assert.equal(row.LeaseCounter, 2, 'the injected failure never reached dynalite');

  // Down (refuse), then up again on the same port.
  await dp.down();
  await assert.rejects(upd(), (e) => /ECONNREFUSED|ECONNRESET/.test(`${e.code} ${e.message}`));
  await assert.rejects(
    new Promise((resolve, reject) => net.connect(dp.port, '127.0.0.1', resolve).on('error', reject)),
    (e) => e.code === 'ECONNREFUSED',
  );
  await dp.up();
  await upd();
  await dp.down({ mode: 'reset' });
  await assert.rejects(upd());
  // A new connection is accepted and reset at once.
  await assert.rejects(fetch(dp.endpoint, { method: 'POST', body: '{}' }));
  assert.ok(dp.injected(null, 'down') >= 1);
  await dp.up();
  await upd();
  assert.ok(dp.requests.some((r) => r.op === 'UpdateItem' && JSON.parse(r.body).TableName === 'leases'));
});

test('FIFO reader: json_lines, writer restart, close and reopen', async (t) => {
  const dir = await makeTempDir(t);
  const fifo = path.join(dir, 'records');
  execFileSync('mkfifo', [fifo]);
  const reader = await openFifoReader(fifo);
  t.after(() => reader.close());

  const rec = (i) => ({ data: Buffer.from(`r${i}`).toString('base64'), partition_key: 'k', sequence_number: String(i), shard_id: 'shardId-000000000000', stream: 's', arrival_timestamp: '2026-01-01T00:00:00.000Z' });
  // A writer opened without blocking (a reader exists), written and closed; then a second one.
  for (const batch of [[0, 1, 2], [3, 4]]) {
    const fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    fs.writeSync(fd, batch.map((i) => JSON.stringify(rec(i)) + '\n').join(''));
    fs.closeSync(fd);
    await reader.waitForRecords(batch[batch.length - 1] + 1, 5000);
  }
  assert.deepEqual(reader.records.map((r) => r.sequence_number), ['0', '1', '2', '3', '4']);
  assert.equal(reader.errors.length, 0);

  await reader.close();
  // No reader now: a non-blocking writer open fails with ENXIO.
  assert.throws(() => fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK), /ENXIO/);
  await reader.reopen({ clear: true });
  const fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  fs.writeSync(fd, JSON.stringify(rec(9)) + '\n');
  fs.closeSync(fd);
  await reader.waitForRecords(1, 5000);
  assert.equal(reader.records[0].sequence_number, '9');
});

test('sidecar helper: config, logs, stop by PID with exit code', async (t) => {
  const dir = await makeTempDir(t);
  const cfg = buildConfig({ streams: ['a', 'b:shardId-000000000001'], table: 'tbl', kinesisEndpoint: 'http://127.0.0.1:1', dynamoEndpoint: 'http://127.0.0.1:2', fifoPath: path.join(dir, 'f'), httpAddress: '127.0.0.1:9' });
  assert.equal(cfg.input.aws_kinesis.dynamodb.table, 'tbl');
  const yaml = toYaml(cfg);
  assert.match(yaml, /^input:\n {2}aws_kinesis:\n {4}streams:\n {6}- "a"\n/);
  assert.match(yaml, /\n {6}endpoint: "http:\/\/127\.0\.0\.1:2"\n/);
  assert.match(yaml, /\noutput:\n {2}fifo:\n {4}path: ".*\/f"\n {4}codec: "json_lines"/);

  // A stand-in binary that logs JSON lines like the sidecar and exits 0 on SIGTERM.
  const fake = path.join(dir, 'fake-sidecar.mjs');
  await fsp.writeFile(
    fake,
    `#!${process.execPath}\n` +
      `const cfg = process.argv[process.argv.indexOf('-c') + 1];\n` +
      `console.error(JSON.stringify({level:'INFO', msg:'started', config: cfg, cmd: process.argv[2]}));\n` +
      `console.error('not json');\n` +
      `process.on('SIGTERM', () => { console.error(JSON.stringify({level:'INFO', msg:'bye'})); process.exit(0); });\n` +
      `setInterval(() => {}, 1000);\n`,
  );
  await fsp.chmod(fake, 0o755);
  const sc = await startSidecar({ bin: fake, dir, streams: ['x'], table: 't', fifoPath: path.join(dir, 'f') }, t);
  const line = await sc.waitForLog((l) => l.msg === 'started', 5000);
  assert.equal(line.cmd, 'run');
  assert.equal(line.config, sc.configPath);
  assert.match(await fsp.readFile(sc.configPath, 'utf8'), /streams:\n {6}- "x"/);
  await sc.waitForLog((l) => l.raw === 'not json', 5000);
  await assert.rejects(sc.waitForLog((l) => l.msg === 'never', 100), /no matching log line/);
  const { code } = await sc.stop();
  assert.equal(code, 0);
  assert.ok(sc.logs.some((l) => l.msg === 'bye'));
  assert.ok(!alive(sc.pid));

  // A missing binary is an error, not a hang.
  await assert.rejects(startSidecar({ bin: path.join(dir, 'missing'), dir, streams: ['x'] }, t), /cannot start/);
});
