// Probes (docs/admin.md "Readiness"): /ready follows leases, standby, DynamoDB health and
// draining; /ping answers 200 all along.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulators, createStream, waitFor } from '../lib/emulators.mjs';
import { startFaultProxy } from '../lib/fault-proxy.mjs';
import { startWsSidecar, admin, statusLeases } from './util.mjs';

const LEASE_MS = 3000; // PERIODS.leasePeriod

/** Polls /ping every 100 ms until stopped; collects whatever was not a 200. */
/** Polls /ping every 100 ms until stop(); stopped by t.after too, so a failing test
 * never leaves the loop running (it would keep the test process alive). */
function pinger(t, sc) {
  const failures = [];
  let n = 0;
  let stop = false;
  const done = (async () => {
    while (!stop) {
      try {
        const r = await fetch(sc.adminUrl + '/ping', { signal: AbortSignal.timeout(2000) });
        const body = await r.text();
        if (r.status !== 200 || body.trim() !== 'pong') failures.push(`${r.status} ${body}`);
      } catch (err) {
        failures.push(err.message);
      }
      n++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const handle = {
    failures,
    async stop() {
      stop = true;
      await done;
      return n;
    },
  };
  t.after(() => handle.stop());
  return handle;
}

async function ready(sc) {
  const r = await admin(sc, '/ready');
  assert.ok(r.status === 200 || r.status === 503, `/ready answered ${r.status}`);
  assert.equal(r.json?.ready, r.status === 200, `/ready body disagrees with its status: ${r.body}`);
  return r;
}

/** Waits for /ready to answer `status`; resolves the answer. */
function waitReady(sc, status, timeoutMs, pred = () => true) {
  let last;
  return waitFor(
    async () => {
      last = await ready(sc);
      return last.status === status && pred(last.json) && last;
    },
    { timeoutMs, intervalMs: 50, what: `/ready ${status}` },
  ).catch((err) => {
    err.message += `; last answer ${last?.status} ${last?.body}`;
    throw err;
  });
}

test('/ready: 503 until the first lease is held, then 200; 503 while draining; /ping 200 throughout', async (t) => {
  const env = await startEmulators(t);
  await createStream(env.kc, 'p2', 2);
  // DynamoDB is unreachable at start, so nothing can be claimed until it comes up.
  const proxy = await startFaultProxy(env.dynamo.endpoint);
  t.after(() => proxy.stop());
  await proxy.down({ mode: 'reset' }); // accepts and resets: attempts are counted
  const { sc } = await startWsSidecar(t, { ...env, dynamoEndpoint: proxy.endpoint }, { stream: 'p2' });
  const ping = pinger(t, sc);

  const before = await ready(sc);
  assert.equal(before.status, 503);
  assert.ok(before.json.reasons.includes('no_lease_and_not_standby'), before.body);
  assert.equal(before.json.leases_held, 0);
  await waitFor(() => proxy.injected() >= 2, { timeoutMs: 10000, what: 'DynamoDB calls reset' });
  assert.equal((await ready(sc)).status, 503);

  await proxy.up();
  const up = await waitReady(sc, 200, 20000);
  assert.ok(up.json.leases_held >= 1, up.body);
  assert.equal(up.json.standby, false);
  const st = await admin(sc, '/status');
  assert.ok(statusLeases(st.json).length >= 1, 'ready without a lease');

  const drain = await admin(sc, '/drain', { method: 'POST' });
  assert.equal(drain.status, 202);
  const draining = await ready(sc); // the hook runs before the 202 is sent
  assert.equal(draining.status, 503, draining.body);
  assert.ok(draining.json.reasons.includes('draining'), draining.body);
  await waitFor(async () => statusLeases((await admin(sc, '/status')).json).length === 0, { timeoutMs: 10000, what: 'leases released' });
  const drained = await ready(sc);
  assert.equal(drained.status, 503);
  assert.deepEqual(drained.json.reasons.sort(), ['draining', 'no_lease_and_not_standby'].sort(), drained.body);

  const n = await ping.stop();
  assert.ok(n >= 3, `only ${n} pings`);
  assert.deepEqual(ping.failures, []);
  assert.equal((await sc.stop()).code, 0);
});

test('/ready: 200 on a standby whose shards are all held by a live peer', async (t) => {
  const env = await startEmulators(t);
  await createStream(env.kc, 'p1', 1);
  const a = await startWsSidecar(t, env, { name: 'a', stream: 'p1', env: { KS_CLIENT_ID: 'a' } });
  await waitReady(a.sc, 200, 15000, (j) => j.leases_held === 1);
  const b = await startWsSidecar(t, env, { name: 'b', stream: 'p1', env: { KS_CLIENT_ID: 'b' }, logLevel: 'DEBUG' });
  const ping = pinger(t, b.sc);
  const sb = await waitReady(b.sc, 200, 15000);
  assert.equal(sb.json.leases_held, 0, sb.body);
  assert.equal(sb.json.standby, true, sb.body);
  // Still a standby after three more rebalance cycles (it does not grab the peer's only shard).
  const cycles = () => b.sc.logs.filter((l) => /^rebalance p1:/.test(l.msg || '')).length;
  const k = cycles();
  await waitFor(() => cycles() >= k + 3, { timeoutMs: 10000, what: 'three rebalance cycles on b' });
  const after = await ready(b.sc);
  assert.equal(after.status, 200, after.body);
  assert.equal((await admin(a.sc, '/ready')).json.leases_held, 1);

  // The peer goes away (releasing its lease): the standby takes the shard and stays ready.
  assert.equal((await a.sc.stop()).code, 0);
  const took = await waitReady(b.sc, 200, 15000, (j) => j.leases_held === 1);
  assert.equal(took.json.standby, false);
  assert.deepEqual(ping.failures, []);
  await ping.stop();
  assert.equal((await b.sc.stop()).code, 0);
});

test('/ready: 503 within lease_period of DynamoDB becoming unreachable, 200 again when it returns', async (t) => {
  const env = await startEmulators(t);
  await createStream(env.kc, 'p2', 2);
  const proxy = await startFaultProxy(env.dynamo.endpoint);
  t.after(() => proxy.stop());
  const { sc } = await startWsSidecar(t, { ...env, dynamoEndpoint: proxy.endpoint }, { stream: 'p2' });
  await waitReady(sc, 200, 15000, (j) => j.leases_held === 2);
  const ping = pinger(t, sc);

  const t0 = Date.now();
  await proxy.down();
  const down = await waitReady(sc, 503, LEASE_MS + 3000, (j) => j.reasons.includes('dynamodb_unhealthy'));
  const took = Date.now() - t0;
  t.diagnostic(`503 after ${took} ms`);
  // lease_period after the last successful write, which is at most one heartbeat
  // (lease_period/3) before the outage; plus one poll.
  assert.ok(took <= LEASE_MS + 500, `503 only after ${took} ms`);
  assert.ok(took >= LEASE_MS - LEASE_MS / 3 - 200, `503 already after ${took} ms`);
  assert.ok(down.json.reasons.includes('dynamodb_unhealthy'), down.body);

  await proxy.up();
  const back = await waitReady(sc, 200, 20000, (j) => j.leases_held === 2);
  assert.equal(back.json.standby, false);
  assert.deepEqual(ping.failures, []);
  await ping.stop();
  assert.equal((await sc.stop()).code, 0);
});
