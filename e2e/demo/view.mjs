// Text rendering of the demo's state: a full-screen frame for a terminal (80 columns) and
// one line per second otherwise. Pure functions of a snapshot:
//   { elapsedS, stream, shards, table, producer: {rate, put, perS, errors, lastError},
//     sidecars: [{name, pid, running, exit, ready: {status, reason} | null, leases, shardIds,
//                 perS, delivered, latAvg, reader}],
//     owners: [[shardId, name|null]] | null, backlog, redelivered, duration }

const n = (x) => (x == null ? '-' : Number(x).toLocaleString('en-US'));

/** "shardId-000000000003" -> "3" */
export function shortShard(id) {
  const m = /(\d+)$/.exec(id || '');
  return m ? String(Number(m[1])) : String(id);
}

export function fmtElapsed(s) {
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** "200 ready", "503 draining", "down" (no answer), "exit 0" (stopped). */
export function readyText(sc, width = 14) {
  if (!sc.running) return sc.exit || 'stopped';
  if (!sc.ready) return 'down';
  const t = sc.ready.status === 200 ? '200 ready' : `${sc.ready.status} ${sc.ready.reason || ''}`.trim();
  return t.length > width ? t.slice(0, width - 1) + '~' : t;
}

function row(cells, widths, aligns) {
  return cells
    .map((c, i) => {
      const s = String(c);
      return aligns[i] === 'r' ? s.padStart(widths[i]) : s.padEnd(widths[i]);
    })
    .join(' ')
    .trimEnd();
}

const COLS = {
  titles: ['SIDECAR', 'PID', '/ready', 'LEASES', 'SHARDS', 'REC/S', 'DELIVERED', 'LAT ms'],
  widths: [11, 8, 14, 6, 8, 6, 11, 7],
  aligns: ['l', 'r', 'l', 'r', 'l', 'r', 'r', 'r'],
};

/** The full-screen frame (array of lines, each at most `columns` wide). */
export function frameLines(s, columns = 80) {
  const out = [];
  const right = fmtElapsed(s.elapsedS) + (s.duration ? ` / ${fmtElapsed(s.duration)}` : '');
  const title = `kinesis-sidecar demo: stream "${s.stream}" (${s.shards} shards)`;
  out.push(title + ' '.repeat(Math.max(1, Math.min(columns, 80) - title.length - right.length)) + right);
  const p = s.producer;
  out.push(
    `producer: ${n(p.rate)} rec/s target, ${n(Math.round(p.perS))} rec/s now, ${n(p.put)} put` +
      (p.errors ? `, ${n(p.errors)} put errors` : ''),
  );
  out.push(`lease table ${s.table} (rebalance 2s, lease 10s)`);
  out.push('');
  out.push(row(COLS.titles, COLS.widths, COLS.aligns));
  let leases = 0;
  let perS = 0;
  let delivered = 0;
  for (const sc of s.sidecars) {
    leases += sc.leases || 0;
    perS += sc.perS;
    delivered += sc.delivered;
    out.push(
      row(
        [
          sc.name,
          sc.pid,
          readyText(sc),
          sc.leases == null ? '-' : sc.leases,
          (sc.shardIds || []).map(shortShard).join(' ') || '-',
          n(Math.round(sc.perS)),
          n(sc.delivered),
          sc.latAvg == null ? '-' : n(Math.round(sc.latAvg)),
        ],
        COLS.widths,
        COLS.aligns,
      ),
    );
  }
  out.push(
    row(['total', '', '', `${leases}/${s.shards}`, '', n(Math.round(perS)), n(delivered), ''], COLS.widths, COLS.aligns),
  );
  out.push('');
  if (s.owners) {
    const owners = s.owners.map(([id, who]) => `${shortShard(id)}:${who || 'free'}`).join('  ');
    out.push(`lease table owners  ${owners}`);
  }
  for (const sc of s.sidecars) out.push(`${(sc.name + ' reader').padEnd(19)} ${sc.reader}`);
  out.push(`not yet delivered   ${n(s.backlog)}      delivered twice  ${n(s.redelivered)}`);
  out.push('');
  out.push(s.stopping ? `stopping: ${s.stopping}` : 'Ctrl-C stops everything (sidecars get SIGTERM and hand over).');
  return out.map((l) => (l.length > columns ? l.slice(0, columns) : l));
}

/** One line for a log: "[ 12s] put 2400 | fifo 2 leases ready 101/s 1200 | ws ..." */
export function statusLine(s) {
  const parts = [`[${String(Math.floor(s.elapsedS)).padStart(3)}s] put ${s.producer.put}`];
  for (const sc of s.sidecars) {
    const ready = !sc.running ? sc.exit || 'stopped' : !sc.ready ? 'down' : sc.ready.status === 200 ? 'ready' : String(sc.ready.status);
    const leases = sc.leases == null ? '?' : sc.leases;
    parts.push(`${sc.name} ${leases} lease${leases === 1 ? '' : 's'} ${ready} ${Math.round(sc.perS)}/s ${sc.delivered}`);
  }
  return parts.join(' | ');
}
