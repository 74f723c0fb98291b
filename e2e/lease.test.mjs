// Lease coordinator against real emulators: e2e/itest/lease_itest.c runs several
// coordinators in one process (dynalite + kinesalite, fake static credentials) and
// prints JSON events; commands go to its stdin. Short periods: lease 2s, rebalance 500ms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { startEmulators, createStream, scanTable, stopAll } from './lib/emulators.mjs';
import { spawnTracked, killAndWait } from './lib/procs.mjs';
import { startFaultProxy } from './lib/fault-proxy.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BUILD = process.env.KS_BUILD ? path.resolve(here, '..', process.env.KS_BUILD) : path.resolve(here, '../build');
const BIN = process.env.KS_LEASE_ITEST_BIN || path.join(BUILD, 'itest/lease_itest');
const LEASE_MS = 2000;
const REBALANCE_MS = 500;

test.after(() => stopAll());

/** Starts the driver; tracks which client holds which shard from its events. */
function startDriver(env, table, stream, clients, extra = [], dynamoEndpoint = env.dynamo.endpoint) {
  const args = ['--dynamo', dynamoEndpoint, '--kinesis', env.kinesis.endpoint, '--table', table,
    '--stream', stream, '--lease-ms', String(LEASE_MS), '--rebalance-ms', String(REBALANCE_MS),
    '--commit-ms', '500', '--grace-ms', '200', ...extra, ...clients];
  const child = spawnTracked('lease_itest', BIN, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const d = { child, events: [], owners: new Map(), waiters: [], stderr: '' };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s) => { d.stderr = (d.stderr + s).slice(-20000); });
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    let ev;
    try { ev = JSON.parse(line); } catch { return; }
    ev.at = Date.now();
    d.events.push(ev);
    if (ev.event === 'acquired') d.owners.set(ev.shard, ev.client);
    if ((ev.event === 'lost' || ev.event === 'released') && d.owners.get(ev.shard) === ev.client) d.owners.delete(ev.shard);
    if (ev.event === 'killed') for (const [s, c] of d.owners) if (c === ev.client) d.owners.delete(s);
    for (const w of [...d.waiters]) w();
  });
  d.send = (cmd) => child.stdin.write(cmd + '\n');
  d.held = (client) => [...d.owners.values()].filter((c) => c === client).length;
  d.until = (what, pred, timeoutMs) => new Promise((resolve, reject) => {
    const check = () => {
      if (!pred()) return false;
      d.waiters = d.waiters.filter((w) => w !== check);
      clearTimeout(timer);
      resolve();
      return true;
    };
    const timer = setTimeout(() => {
      d.waiters = d.waiters.filter((w) => w !== check);
      reject(new Error(`timeout waiting for ${what}; owners=${JSON.stringify([...d.owners])}\n` +
        `events=${JSON.stringify(d.events.slice(-30))}\nstderr=${d.stderr.slice(-3000)}`));
    }, timeoutMs);
    if (!check()) d.waiters.push(check);
  });
  d.stop = async () => {
    if (child.exitCode === null) d.send('quit');
    const r = await Promise.race([child.exitPromise, new Promise((res) => setTimeout(() => res('timeout'), 5000))]);
    if (r === 'timeout') await killAndWait(child);
    return child.exitPromise;
  };
  return d;
}

/** quit: every coordinator destroyed, the loop closes, no sanitizer report. */
async function assertCleanExit(d) {
  const r = await d.stop();
  assert.equal(r.code, 0, d.stderr);
  assert.doesNotMatch(d.stderr, /Sanitizer|runtime error/, d.stderr);
  const exit = d.events.find((e) => e.event === 'exit');
  assert.ok(exit && exit.clean, 'loop closed cleanly');
}

async function setup(t, shards) {
  const env = await startEmulators(t);
  t.after(() => env.stop());
  const stream = `lease-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  await createStream(env.kc, stream, shards);
  return { env, stream, table: `leases_${stream}` };
}

// Without the driver the lease cases are skipped when run by hand, but fail under CI=true
// (make test builds it).
const skip = fs.existsSync(BIN) || process.env.CI === 'true' ? false : `no ${BIN} (make san-bin)`;

test('lease: the itest driver exists', { skip }, () => {
  assert.ok(fs.existsSync(BIN), `no ${BIN} (make san-bin)`);
});

test('lease: two coordinators split 4 shards 2/2; a crashed one is taken over after lease_period', { skip, timeout: 60000 }, async (t) => {
  const { env, stream, table } = await setup(t, 4);
  const d = startDriver(env, table, stream, ['A', 'B']);
  t.after(() => d.stop());
  await d.until('2/2 split', () => d.held('A') === 2 && d.held('B') === 2, 20000);
  t.diagnostic(`events to converge: ${d.events.map((e) => `${e.event}:${e.client}`).join(' ')}`);
  // Stable: nothing moves for a few rebalances.
  const before = d.events.length;
  await new Promise((r) => setTimeout(r, 4 * REBALANCE_MS));
  assert.equal(d.held('A'), 2);
  assert.equal(d.held('B'), 2);
  assert.equal(d.events.slice(before).filter((e) => e.event === 'lost').length, 0);
  // The table agrees: every row owned, counters present, positions stored at claim.
  const rows = (await scanTable(env.dc, table)).filter((r) => r.StreamID === stream);
  assert.equal(rows.length, 4);
  for (const r of rows) {
    assert.ok(['A', 'B'].includes(r.ClientID), JSON.stringify(r));
    assert.ok(Number(r.LeaseCounter) >= 1);
    assert.equal(r.SequenceNumber, 'TRIM_HORIZON');
    assert.match(r.LeaseTimeout, /^\d{4}-\d\d-\d\dT/);
  }
  // Crash A (no release): B takes its shards only after A's counters stop for lease_period.
  const killedAt = Date.now();
  d.send('kill A');
  await d.until('B holds 4', () => d.held('B') === 4, LEASE_MS + 6000);
  const took = Date.now() - killedAt;
  assert.ok(took >= LEASE_MS - 300, `taken over after ${took} ms, before lease_period`);
  assert.equal(d.events.filter((e) => e.event === 'lost' && e.client === 'B').length, 0);
  await assertCleanExit(d);
});

test('lease: release_all hands every shard over within one rebalance', { skip, timeout: 60000 }, async (t) => {
  const { env, stream, table } = await setup(t, 4);
  const d = startDriver(env, table, stream, ['A', 'B']);
  t.after(() => d.stop());
  await d.until('2/2 split', () => d.held('A') === 2 && d.held('B') === 2, 20000);
  d.send('release_all A');
  await d.until('released_all', () => d.events.some((e) => e.event === 'released_all' && e.client === 'A'), 5000);
  const ev = d.events.find((e) => e.event === 'released_all');
  assert.equal(ev.err, 'ok');
  assert.equal(ev.held, 0);
  const rows = (await scanTable(env.dc, table)).filter((r) => r.StreamID === stream);
  assert.equal(rows.filter((r) => r.ClientID === 'A').length, 0);
  for (const [s, c] of d.owners) if (c === 'A') d.owners.delete(s);
  await d.until('B holds 4', () => d.held('B') === 4, 2 * REBALANCE_MS + 1200);
  assert.ok(Date.now() - ev.at < LEASE_MS, 'peer took the shards without waiting for lease_period');
  await assertCleanExit(d);
});

test('lease: a conditional-write failure (another writer bumps the counter) is reported as lost', { skip, timeout: 60000 }, async (t) => {
  const { env, stream, table } = await setup(t, 2);
  const d = startDriver(env, table, stream, ['A']);
  t.after(() => d.stop());
  await d.until('A holds 2', () => d.held('A') === 2, 15000);
  const shard = [...d.owners.keys()].sort()[0];
  await env.dc.send(new UpdateItemCommand({
    TableName: table,
    Key: { StreamID: { S: stream }, ShardID: { S: shard } },
    UpdateExpression: 'SET LeaseCounter = LeaseCounter + :one',
    ExpressionAttributeValues: { ':one': { N: '1000' } },
  }));
  await d.until('lost', () => d.events.some((e) => e.event === 'lost' && e.shard === shard), LEASE_MS + 2000);
  const lost = d.events.find((e) => e.event === 'lost');
  assert.equal(lost.client, 'A');
  assert.match(lost.reason, /condition/);
  // The other shard is unaffected.
  assert.equal(d.events.filter((e) => e.event === 'lost').length, 1);
  await assertCleanExit(d);
});

test('lease: DynamoDB errors are retried without losing the lease; unreachable for lease_period -> self-fenced', { skip, timeout: 60000 }, async (t) => {
  const { env, stream, table } = await setup(t, 2);
  const proxy = await startFaultProxy(env.dynamo.endpoint);
  t.after(() => proxy.stop());
  const d = startDriver(env, table, stream, ['A'], [], proxy.endpoint);
  t.after(() => d.stop());
  await d.until('A holds 2', () => d.held('A') === 2, 15000);
  // A few 500s on heartbeats: retried with back-off, the lease survives.
  proxy.serverError('UpdateItem', { count: 3 });
  await new Promise((r) => setTimeout(r, LEASE_MS));
  assert.equal(proxy.injected('UpdateItem'), 3);
  assert.equal(d.events.filter((e) => e.event === 'lost').length, 0);
  assert.equal(d.held('A'), 2);
  // DynamoDB unreachable: renewals fail; after lease_period both leases are reported lost
  // locally (a peer may own them by now), without any write succeeding.
  const downAt = Date.now();
  await proxy.down();
  await d.until('self-fenced', () => d.events.filter((e) => e.event === 'lost').length === 2, LEASE_MS + 3000);
  const lost = d.events.filter((e) => e.event === 'lost');
  for (const e of lost) assert.match(e.reason, /renewal failed/);
  assert.ok(lost[0].at - downAt >= LEASE_MS - 1000, `fenced after ${lost[0].at - downAt} ms`);
  // Back up: the rows still name A; it takes them back by their counters.
  await proxy.up();
  await d.until('A holds 2 again', () => d.held('A') === 2, 10000);
  await assertCleanExit(d);
});
