// Shared pieces of the engine e2e tests: a stream with records, sidecars writing to
// FIFOs with a reader each, and checks over what arrived.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { scanTable, waitFor } from '../lib/emulators.mjs';

export function dataOf(rec) {
  return Buffer.from(rec.data, 'base64').toString('utf8').replace(/-x+$/, '');
}

export function fifoIn(dir, name) {
  return path.join(dir, `${name}.fifo`);
}

/** Asserts that, per shard, sequence numbers only increase in arrival order
 * (duplicates allowed only as a replay of an earlier suffix when allowReplay). */
export function assertPerShardOrder(records, { allowReplay = false } = {}) {
  const last = new Map();
  for (const r of records) {
    const key = `${r.stream}/${r.shard_id}`;
    const prev = last.get(key);
    if (prev !== undefined && !allowReplay) {
      assert.ok(BigInt(r.sequence_number) > prev, `order broken in ${key}: ${r.sequence_number} after ${prev}`);
    }
    last.set(key, BigInt(r.sequence_number));
  }
}

/** Unique sequence numbers seen and how many arrived more than once. */
export function tally(records) {
  const seen = new Map();
  for (const r of records) seen.set(r.sequence_number, (seen.get(r.sequence_number) || 0) + 1);
  let dups = 0;
  for (const c of seen.values()) if (c > 1) dups += c - 1;
  return { unique: seen.size, dups, seen };
}

/** Waits until the FIFO readers together saw every put sequence number. */
export async function waitAllDelivered(readers, puts, timeoutMs = 60000) {
  const want = new Set(puts.map((p) => p.sequenceNumber));
  await waitFor(
    () => {
      const got = new Set();
      for (const r of readers) for (const rec of r.records) got.add(rec.sequence_number);
      for (const s of want) if (!got.has(s)) return false;
      return true;
    },
    { timeoutMs, intervalMs: 100, what: `all ${want.size} records delivered` },
  );
}

/** Last put sequence number per shard. */
export function lastPutPerShard(puts) {
  const m = new Map();
  for (const p of puts) {
    const prev = m.get(p.shardId);
    if (!prev || BigInt(p.sequenceNumber) > BigInt(prev)) m.set(p.shardId, p.sequenceNumber);
  }
  return m;
}

/** Waits until the lease table holds `want` (shard -> sequence) for every shard listed. */
export async function waitCheckpoints(dc, table, stream, want, timeoutMs = 30000) {
  return waitFor(
    async () => {
      const rows = (await scanTable(dc, table)).filter((r) => r.StreamID === stream);
      for (const [shard, seq] of want) {
        const row = rows.find((r) => r.ShardID === shard);
        if (!row || row.SequenceNumber !== seq) return false;
      }
      return rows;
    },
    { timeoutMs, intervalMs: 200, what: `checkpoints of ${stream}` },
  );
}

/** Leases held per client id, from the table. */
export async function ownersOf(dc, table, stream) {
  const rows = (await scanTable(dc, table)).filter((r) => r.StreamID === stream);
  const counts = {};
  for (const r of rows) if (r.ClientID && r.SequenceNumber !== 'SHARD_END') counts[r.ClientID] = (counts[r.ClientID] || 0) + 1;
  return counts;
}


export { produce } from '../lib/emulators.mjs';

// ------------------------------------------------------------------ added for backpressure/faults

/** Resident set size of a process in KiB (VmRSS from /proc/<pid>/status). */
export async function vmRssKb(pid) {
  const text = await fsp.readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** Sum of a Prometheus metric's samples (all label sets) in a /metrics text; null if absent. */
export function metricValue(text, name) {
  let found = false;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name) {
      found = true;
      sum += Number(m[3]);
    }
  }
  return found ? sum : null;
}

/** Stops a FIFO reader from reading (the pipe then fills and the writer blocks). */
export function pauseReader(reader) {
  if (reader.socket) reader.socket.pause();
}

export function resumeReader(reader) {
  if (reader.socket) reader.socket.resume();
}

/** Waits until fn() has returned the same value for stableMs (polling every intervalMs). */
export async function waitStable(fn, { stableMs = 1500, timeoutMs = 30000, intervalMs = 100, what = 'a stable value' } = {}) {
  let last;
  let since = 0;
  return waitFor(
    async () => {
      const v = await fn();
      const now = Date.now();
      if (since === 0 || v !== last) {
        last = v;
        since = now;
        return false;
      }
      return now - since >= stableMs ? { value: v } : false;
    },
    { timeoutMs, intervalMs, what },
  );
}
