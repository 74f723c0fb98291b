// Local AWS emulators (kinesalite, dynalite) as child processes on free loopback ports,
// AWS SDK v3 clients wired to them, and helpers to set up and inspect test data.
//
//   const kin = await startKinesalite();          // {endpoint, port, pid, stop()}
//   const ddb = await startDynalite();
//   const kc = kinesisClient(kin.endpoint);        // HTTP/1.1 (kinesalite breaks on HTTP/2)
//   await createStream(kc, 'orders', 2);
//   await putRecords(kc, 'orders', [{ data: 'x', partitionKey: 'k' }]);
//   const recs = await readAllRecords(kc, 'orders');
//
// Every process is tracked in procs.mjs and killed by PID when the test process ends.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  KinesisClient,
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  PutRecordsCommand,
  GetShardIteratorCommand,
  GetRecordsCommand,
  SplitShardCommand,
  MergeShardsCommand,
  DeleteStreamCommand,
} from '@aws-sdk/client-kinesis';
import {
  DynamoDBClient,
  CreateTableCommand,
  DescribeTableCommand,
  ScanCommand,
  DeleteTableCommand,
} from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { spawnTracked, killAndWait, isRunning, waitFor } from './procs.mjs';

export { stopAll, freePort, waitFor, runningProcesses } from './procs.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const childScript = path.join(here, 'emulator-child.cjs');

export const REGION = 'us-east-1';
export const FAKE_CREDS = Object.freeze({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'fake-secret' });

async function startEmulator(kind, options = {}) {
  const { startTimeoutMs = 10000, ...emuOpts } = options;
  const child = spawnTracked(kind, process.execPath, [childScript, kind, JSON.stringify(emuOpts)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    cwd: path.join(here, '..'),
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-8192);
  });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${kind} did not start in ${startTimeoutMs} ms: ${stderr}`)), startTimeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(out.slice(0, nl)).port);
        } catch (err) {
          reject(err);
        }
      }
    });
    child.exitPromise.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${kind} exited early (code ${code}, signal ${signal}): ${stderr}`));
    });
  }).catch(async (err) => {
    await killAndWait(child, { signal: 'SIGKILL' });
    throw err;
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    kind,
    endpoint,
    port,
    pid: child.pid,
    child,
    stderr: () => stderr,
    running: () => isRunning(child),
    /** Kills the emulator by PID and waits for it to exit. Idempotent. */
    stop: ({ signal = 'SIGTERM', timeoutMs = 3000 } = {}) => killAndWait(child, { signal, timeoutMs }),
  };
}

/**
 * Starts kinesalite on 127.0.0.1. Options: port (0 = free), path (LevelDB dir; in memory
 * when absent), createStreamMs/deleteStreamMs/updateStreamMs (50), shardLimit (1000).
 */
export function startKinesalite(options = {}) {
  return startEmulator('kinesalite', options);
}

/**
 * Starts dynalite on 127.0.0.1. Options: port (0 = free; pass the old port with the same
 * `path` to restart "the same" DynamoDB), path, createTableMs/deleteTableMs/updateTableMs (50).
 */
export function startDynalite(options = {}) {
  return startEmulator('dynalite', options);
}

/** Starts both; returns {kinesis, dynamo, kc, dc, stop()}. Registers t.after(stop) when t given. */
export async function startEmulators(t, { kinesis = {}, dynamo = {} } = {}) {
  const [kin, ddb] = await Promise.all([startKinesalite(kinesis), startDynalite(dynamo)]);
  const env = {
    kinesis: kin,
    dynamo: ddb,
    kc: kinesisClient(kin.endpoint),
    dc: dynamoClient(ddb.endpoint),
    async stop() {
      env.kc.destroy();
      env.dc.destroy();
      await Promise.all([kin.stop(), ddb.stop()]);
    },
  };
  if (t) t.after(() => env.stop());
  return env;
}

// ---------------------------------------------------------------- SDK clients

function httpHandler() {
  return new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 30000 });
}

/** Kinesis client for an emulator endpoint: HTTP/1.1, fake credentials, us-east-1. */
export function kinesisClient(endpoint, { maxAttempts = 3 } = {}) {
  return new KinesisClient({
    endpoint,
    region: REGION,
    credentials: { ...FAKE_CREDS }, // a copy: the SDK annotates the object
    requestHandler: httpHandler(),
    maxAttempts,
  });
}

/** DynamoDB client for an emulator endpoint: HTTP/1.1, fake credentials, us-east-1. */
export function dynamoClient(endpoint, { maxAttempts = 3 } = {}) {
  return new DynamoDBClient({
    endpoint,
    region: REGION,
    credentials: { ...FAKE_CREDS }, // a copy: the SDK annotates the object
    requestHandler: httpHandler(),
    maxAttempts,
  });
}

// ---------------------------------------------------------------- Kinesis helpers

/** Waits until the stream is ACTIVE; returns its StreamDescriptionSummary. */
export async function waitStreamActive(kc, name, { timeoutMs = 10000 } = {}) {
  return waitFor(
    async () => {
      const r = await kc.send(new DescribeStreamSummaryCommand({ StreamName: name }));
      return r.StreamDescriptionSummary.StreamStatus === 'ACTIVE' && r.StreamDescriptionSummary;
    },
    { timeoutMs, intervalMs: 25, what: `stream ${name} ACTIVE` },
  );
}

/** Creates a stream with `shards` shards and waits for ACTIVE. */
export async function createStream(kc, name, shards = 1, opts = {}) {
  await kc.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  return waitStreamActive(kc, name, opts);
}

export async function deleteStream(kc, name) {
  await kc.send(new DeleteStreamCommand({ StreamName: name }));
}

/** All shards of a stream (follows NextToken, though kinesalite never pages). */
export async function listShards(kc, name) {
  const shards = [];
  let token;
  do {
    const r = await kc.send(
      new ListShardsCommand(token ? { NextToken: token } : { StreamName: name }),
    );
    shards.push(...(r.Shards || []));
    token = r.NextToken;
  } while (token);
  return shards;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Puts records in chunks of 500, retrying failed entries (up to `attempts` rounds).
 * records: [{data: string|Buffer|Uint8Array, partitionKey?, explicitHashKey?}]
 * (partitionKey defaults to `pk-<index>`). Returns [{shardId, sequenceNumber}] in input order.
 */
export async function putRecords(kc, stream, records, { attempts = 8 } = {}) {
  const results = new Array(records.length);
  const entries = records.map((r, i) => ({
    index: i,
    entry: {
      Data: typeof r.data === 'string' ? Buffer.from(r.data) : r.data,
      PartitionKey: r.partitionKey ?? `pk-${i}`,
      ...(r.explicitHashKey ? { ExplicitHashKey: r.explicitHashKey } : {}),
    },
  }));
  for (let off = 0; off < entries.length; off += 500) {
    let pending = entries.slice(off, off + 500);
    for (let attempt = 0; pending.length; attempt++) {
      if (attempt >= attempts) throw new Error(`putRecords: ${pending.length} records still failing`);
      if (attempt) await sleep(Math.min(1000, 20 * 2 ** attempt));
      let r;
      try {
        r = await kc.send(new PutRecordsCommand({ StreamName: stream, Records: pending.map((p) => p.entry) }));
      } catch (err) {
        if (attempt + 1 >= attempts) throw err;
        continue;
      }
      const failed = [];
      r.Records.forEach((res, j) => {
        if (res.ErrorCode) failed.push(pending[j]);
        else results[pending[j].index] = { shardId: res.ShardId, sequenceNumber: res.SequenceNumber };
      });
      pending = failed;
    }
  }
  return results;
}

/**
 * Puts n records `${prefix}-${i}` (padded with `-xxx...` to `size` when given) over `keys`
 * partition keys `k${i % keys}`; returns putRecords' [{shardId, sequenceNumber}].
 */
export function produce(kc, stream, n, { prefix = 'r', keys = 64, size = 0 } = {}) {
  const pad = size > 0 ? '-' + 'x'.repeat(size) : '';
  const recs = [];
  for (let i = 0; i < n; i++) recs.push({ data: `${prefix}-${i}${pad}`, partitionKey: `k${i % keys}` });
  return putRecords(kc, stream, recs);
}

/**
 * Reads every record of every shard from TRIM_HORIZON through the SDK, until each shard is
 * closed-and-read or returns an empty page. Returns
 * [{shardId, sequenceNumber, partitionKey, data (string), dataB64, arrivalMs}] ordered by shard
 * then sequence.
 */
export async function readAllRecords(kc, stream, { limit = 10000 } = {}) {
  const out = [];
  for (const shard of await listShards(kc, stream)) {
    let { ShardIterator: it } = await kc.send(
      new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    while (it) {
      const r = await kc.send(new GetRecordsCommand({ ShardIterator: it, Limit: limit }));
      for (const rec of r.Records || []) {
        const buf = Buffer.from(rec.Data);
        out.push({
          shardId: shard.ShardId,
          sequenceNumber: rec.SequenceNumber,
          partitionKey: rec.PartitionKey,
          data: buf.toString('utf8'),
          dataB64: buf.toString('base64'),
          arrivalMs: rec.ApproximateArrivalTimestamp ? rec.ApproximateArrivalTimestamp.getTime() : 0,
        });
      }
      if (!r.Records || r.Records.length === 0) break;
      it = r.NextShardIterator;
    }
  }
  return out;
}

/** Splits a shard at `newStartingHashKey` (default: the middle of its range); waits ACTIVE. */
export async function splitShard(kc, stream, shardId, newStartingHashKey) {
  if (!newStartingHashKey) {
    const s = (await listShards(kc, stream)).find((x) => x.ShardId === shardId);
    if (!s) throw new Error(`no shard ${shardId} in ${stream}`);
    const lo = BigInt(s.HashKeyRange.StartingHashKey);
    const hi = BigInt(s.HashKeyRange.EndingHashKey);
    newStartingHashKey = ((lo + hi) / 2n + 1n).toString();
  }
  await kc.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: shardId, NewStartingHashKey: newStartingHashKey }));
  await waitStreamActive(kc, stream);
  return listShards(kc, stream);
}

/** Merges two adjacent shards; waits ACTIVE; returns the new shard list. */
export async function mergeShards(kc, stream, shardId, adjacentShardId) {
  await kc.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: shardId, AdjacentShardToMerge: adjacentShardId }));
  await waitStreamActive(kc, stream);
  return listShards(kc, stream);
}

// ---------------------------------------------------------------- DynamoDB helpers

export async function waitTableActive(dc, name, { timeoutMs = 10000 } = {}) {
  return waitFor(
    async () => {
      const r = await dc.send(new DescribeTableCommand({ TableName: name }));
      return r.Table.TableStatus === 'ACTIVE' && r.Table;
    },
    { timeoutMs, intervalMs: 25, what: `table ${name} ACTIVE` },
  );
}

/** Creates the lease table (HASH StreamID S, RANGE ShardID S) and waits for ACTIVE. */
export async function createLeaseTable(dc, name, { billingMode = 'PAY_PER_REQUEST', rcu = 5, wcu = 5 } = {}) {
  await dc.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [
        { AttributeName: 'StreamID', AttributeType: 'S' },
        { AttributeName: 'ShardID', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'StreamID', KeyType: 'HASH' },
        { AttributeName: 'ShardID', KeyType: 'RANGE' },
      ],
      BillingMode: billingMode,
      ...(billingMode === 'PROVISIONED'
        ? { ProvisionedThroughput: { ReadCapacityUnits: rcu, WriteCapacityUnits: wcu } }
        : {}),
    }),
  );
  return waitTableActive(dc, name);
}

export async function describeTable(dc, name) {
  return (await dc.send(new DescribeTableCommand({ TableName: name }))).Table;
}

export async function deleteTable(dc, name) {
  await dc.send(new DeleteTableCommand({ TableName: name }));
}

/** DynamoDB AttributeValue -> plain JS (S: string, N: number, SS: string[], ...). */
export function unmarshallValue(v) {
  if (v == null) return undefined;
  if ('S' in v) return v.S;
  if ('N' in v) return Number(v.N);
  if ('BOOL' in v) return v.BOOL;
  if ('NULL' in v) return null;
  if ('SS' in v) return [...v.SS];
  if ('NS' in v) return v.NS.map(Number);
  if ('L' in v) return v.L.map(unmarshallValue);
  if ('M' in v) return unmarshallItem(v.M);
  if ('B' in v) return Buffer.from(v.B);
  return v;
}

export function unmarshallItem(item) {
  const o = {};
  for (const [k, v] of Object.entries(item || {})) o[k] = unmarshallValue(v);
  return o;
}

/** Every item of a table (paginated, consistent). raw: true keeps AttributeValue JSON. */
export async function scanTable(dc, name, { raw = false } = {}) {
  const items = [];
  let start;
  do {
    const r = await dc.send(new ScanCommand({ TableName: name, ConsistentRead: true, ExclusiveStartKey: start }));
    items.push(...(r.Items || []));
    start = r.LastEvaluatedKey;
  } while (start);
  return raw ? items : items.map(unmarshallItem);
}
