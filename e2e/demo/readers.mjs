// The demo's producer and the two readers (FIFO through the harness, websocket with `ws`),
// each counting what it sees. Counters only: nothing is kept per record, so the demo can run
// for hours in constant memory.
import WebSocket from 'ws';
import { putRecords } from '../lib/emulators.mjs';
import { openFifoReader } from '../lib/sidecar.mjs';

/** Per-reader counters: records, batches, end-to-end latency of the current second. */
export function newCounter() {
  return { records: 0, batches: 0, latSum: 0, latN: 0, latMax: 0, badData: 0 };
}

/**
 * Counts one delivered record ({data: base64 of the producer's JSON, shard_id,
 * sequence_number, ...}, the json_lines object) into `c`; `dedup` tracks the highest sequence
 * number per shard across both readers, so a record seen again (a replay after a hand-over)
 * is counted as redelivered.
 */
export function countRecord(c, dedup, rec, now = Date.now()) {
  c.records++;
  try {
    const body = JSON.parse(Buffer.from(rec.data, 'base64').toString('utf8'));
    if (typeof body.ts === 'number') {
      const lat = Math.max(0, now - body.ts);
      c.latSum += lat;
      c.latN++;
      if (lat > c.latMax) c.latMax = lat;
    }
  } catch {
    c.badData++;
  }
  try {
    const seq = BigInt(rec.sequence_number);
    const prev = dedup.maxSeq.get(rec.shard_id);
    if (prev !== undefined && seq <= prev) dedup.redelivered++;
    else dedup.maxSeq.set(rec.shard_id, seq);
  } catch {
    /* no sequence number: nothing to compare */
  }
}

/** Opens the FIFO reader of the harness and counts every record (nothing kept). */
export async function fifoReader(fifoPath, counter, dedup) {
  const reader = await openFifoReader(fifoPath, { codec: 'json_lines', reopen: true, waitMs: 15000 });
  reader.on('record', (rec) => {
    countRecord(counter, dedup, rec);
    reader.records.length = 0; // the harness keeps records for tests; the demo only counts
    reader.lines.length = 0;
  });
  return reader;
}

/**
 * A websocket client that acks every batch ({"type":"ack","id":..}) after counting its
 * records; reconnects every 300 ms while not closed (the sidecar's listener may not be up yet).
 */
export function wsReader(url, counter, dedup) {
  const state = { url, connected: false, connects: 0, closed: false, errors: 0, lastError: '' };
  let ws = null;
  let timer = null;
  const connect = () => {
    timer = null;
    if (state.closed) return;
    ws = new WebSocket(url, { handshakeTimeout: 2000 });
    ws.on('open', () => {
      state.connected = true;
      state.connects++;
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let msg;
      try {
        msg = JSON.parse(data.toString('utf8'));
      } catch {
        return;
      }
      if (msg.type !== 'batch') return;
      const now = Date.now();
      counter.batches++;
      for (const rec of msg.records || []) countRecord(counter, dedup, { shard_id: msg.shard_id, ...rec }, now);
      ws.send(JSON.stringify({ type: 'ack', id: msg.id }));
    });
    ws.on('error', (err) => {
      state.errors++;
      state.lastError = err.message;
    });
    ws.on('close', () => {
      state.connected = false;
      if (!state.closed) timer = setTimeout(connect, 300);
    });
  };
  connect();
  state.close = () =>
    new Promise((resolve) => {
      state.closed = true;
      if (timer) clearTimeout(timer);
      if (!ws || ws.readyState === WebSocket.CLOSED) return resolve();
      const done = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1000);
      ws.once('close', () => {
        clearTimeout(done);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'demo stopping');
    });
  return state;
}

/**
 * Puts `rate` records per second (ticks of 100 ms, PutRecords of up to 500, random partition
 * keys so all shards get some). Each record is {"n":..,"ts":<ms>}. Never runs two puts at once:
 * when the emulator is slow it catches up later. stop() resolves after the put in progress.
 */
export function startProducer(kc, stream, rate) {
  const st = { rate, put: 0, errors: 0, lastError: '', running: true };
  const t0 = Date.now();
  let busy = null;
  let n = 0;
  const tick = async () => {
    const due = Math.floor(((Date.now() - t0) / 1000) * rate) - st.put;
    if (due <= 0) return;
    const batch = [];
    for (let i = 0; i < Math.min(due, 500); i++) {
      batch.push({
        data: JSON.stringify({ n: n + i, ts: Date.now() }),
        partitionKey: `user-${Math.floor(Math.random() * 1e6)}`,
      });
    }
    try {
      await putRecords(kc, stream, batch, { attempts: 3 });
      st.put += batch.length;
      n += batch.length;
    } catch (err) {
      st.errors++;
      st.lastError = err.message;
    }
  };
  const timer = setInterval(() => {
    if (busy || !st.running) return;
    busy = tick().finally(() => {
      busy = null;
    });
  }, 100);
  st.stop = async () => {
    st.running = false;
    clearInterval(timer);
    if (busy) await busy;
  };
  return st;
}
