// Child-process registry: every process the e2e helpers start is tracked here and
// stopped by PID (never by name) when the test file ends, even after a failure.
import { spawn } from 'node:child_process';
import net from 'node:net';

const live = new Set(); // { child, name }

/** Starts a tracked child process. Same arguments as child_process.spawn. */
export function spawnTracked(name, cmd, args, options = {}) {
  const child = spawn(cmd, args, options);
  const entry = { child, name };
  live.add(entry);
  child.exitPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(entry);
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      live.delete(entry);
      resolve({ code: null, signal: null, error: err });
    });
  });
  return child;
}

/** True while the child has not exited. */
export function isRunning(child) {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * Sends `signal` to the child (by PID), waits up to timeoutMs, then SIGKILLs it.
 * Resolves {code, signal} of the exit.
 */
export async function killAndWait(child, { signal = 'SIGTERM', timeoutMs = 5000 } = {}) {
  if (!isRunning(child)) return child.exitPromise;
  try {
    process.kill(child.pid, signal);
  } catch {
    /* already gone */
  }
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const r = await Promise.race([child.exitPromise, timedOut]);
  clearTimeout(timer);
  if (r !== 'timeout') return r;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  return child.exitPromise;
}

/** Stops every tracked process (SIGTERM, then SIGKILL after timeoutMs). */
export async function stopAll({ timeoutMs = 3000 } = {}) {
  await Promise.all([...live].map((e) => killAndWait(e.child, { timeoutMs })));
}

/** Names and PIDs of processes still running (for diagnostics). */
export function runningProcesses() {
  return [...live].map((e) => ({ name: e.name, pid: e.child.pid }));
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `fn` (sync or async) until it returns a truthy value; rejects after timeoutMs. */
export async function waitFor(fn, { timeoutMs = 10000, intervalMs = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      const e = new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      if (lastErr) e.cause = lastErr;
      throw e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// Last resort: a test file that exits (normally or on a signal) kills what is left.
function killAllSync() {
  for (const e of live) {
    try {
      process.kill(e.child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  live.clear();
}
process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    killAllSync();
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  });
}
