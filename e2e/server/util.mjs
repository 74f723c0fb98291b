// Shared pieces of the e2e/server tests: sidecars with the websocket sink, admin calls,
// Prometheus scrapes through a real parser, the CLI as a child process.
import parsePrometheus from 'parse-prometheus-text-format';
import { freePort, waitFor } from '../lib/emulators.mjs';
import { spawnTracked } from '../lib/procs.mjs';
import { startSidecar, sidecarBin } from '../lib/sidecar.mjs';

/** Short periods: every test file stays well under a minute. */
export const PERIODS = { commitPeriod: '500ms', rebalancePeriod: '1s', leasePeriod: '3s', stealGracePeriod: '1s' };

export { produce } from '../lib/emulators.mjs';

/**
 * Starts a sidecar whose output is the websocket sink on a free loopback port.
 * opts: startSidecar options plus ws ({path, ack_timeout, max_in_flight, token_file}).
 * Log level: INFO, or env KS_E2E_LOG.
 * Returns {sc, port, url(path?)}.
 */
export async function startWsSidecar(t, env, { name = 'sidecar', stream, table = 'leases', ws = {}, ...opts }) {
  const port = await freePort();
  const path = ws.path || '/records';
  const sc = await startSidecar(
    {
      name,
      streams: Array.isArray(stream) ? stream : [stream],
      table,
      kinesisEndpoint: env.kinesisEndpoint ?? env.kinesis.endpoint,
      dynamoEndpoint: env.dynamoEndpoint ?? env.dynamo.endpoint,
      logLevel: process.env.KS_E2E_LOG || 'INFO', // KS_E2E_LOG=DEBUG (+ KS_E2E_ECHO=1) to diagnose
      ...PERIODS,
      ...opts,
      websocket: { address: `127.0.0.1:${port}`, path, ...ws },
    },
    t,
  );
  await waitForListening(sc, port);
  return { sc, port, url: (p = path) => `ws://127.0.0.1:${port}${p}` };
}

/** Waits until the sidecar answers /ping and the websocket port accepts HTTP. */
async function waitForListening(sc, port) {
  await waitFor(
    async () => {
      if (!sc.running()) throw new Error(`${sc.name} exited:\n${sc.stderr().slice(-3000)}`);
      const ping = await fetch(sc.adminUrl + '/ping').catch(() => null);
      if (!ping || ping.status !== 200) return false;
      const r = await fetch(`http://127.0.0.1:${port}/`).catch(() => null);
      return r !== null;
    },
    { timeoutMs: 15000, intervalMs: 50, what: `${sc.name} listening` },
  );
}

/** GET or POST on an admin server (POST sends '{}' so Content-Length is explicit). */
export async function admin(sc, pathname, { method = 'GET' } = {}) {
  const res = await fetch(sc.adminUrl + pathname, method === 'POST' ? { method, body: '{}' } : { method });
  const body = await res.text();
  let json;
  try {
    json = JSON.parse(body);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, json, headers: res.headers };
}

/**
 * Scrapes /metrics and parses it with parse-prometheus-text-format. Returns
 * {text, families, value(name, labels?)} where value() sums the samples of `name` whose
 * labels include `labels` (null when the family is absent).
 */
export async function scrape(sc) {
  const res = await fetch(sc.adminUrl + '/metrics');
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/metrics: HTTP ${res.status}`);
  const families = parsePrometheus(text);
  const byName = new Map(families.map((f) => [f.name, f]));
  return {
    text,
    families,
    contentType: res.headers.get('content-type'),
    family: (name) => byName.get(name),
    value(name, labels = {}) {
      const f = byName.get(name);
      if (!f) return null;
      let sum = 0;
      for (const m of f.metrics) {
        const ls = m.labels || {};
        if (Object.entries(labels).every(([k, v]) => ls[k] === v)) sum += Number(m.value ?? m.count);
      }
      return sum;
    },
  };
}

/** Runs `kinesis-sidecar <args>` to completion; resolves {code, signal, stdout, stderr, ms}. */
export function runCli(args, { timeoutMs = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawnTracked('cli', sidecarBin(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kinesis-sidecar ${args.join(' ')} did not finish in ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** Leases held per client id, from /status of each sidecar: {name: [shard ids]}. */
export async function leasesByStatus(scs) {
  const out = {};
  for (const sc of scs) {
    const { json } = await admin(sc, '/status');
    out[sc.name] = statusLeases(json).map((l) => l.shard_id);
  }
  return out;
}

/** The lease list of a /status document (flat `leases: [...]`; older builds nested it). */
export function statusLeases(json) {
  if (Array.isArray(json?.leases)) return json.leases;
  return json?.leases?.leases ?? [];
}
