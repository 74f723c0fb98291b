#!/usr/bin/env node
// `make demo`: local emulators, a producer, two sidecars (FIFO and websocket output) sharing
// one stream through one lease table, a reader each, and a live view. See README.md here.
//
// This file is only a launcher. It runs main.mjs in a process group of its own, so that a
// Ctrl-C in the terminal (SIGINT to the whole foreground group) reaches the demo alone and
// not the emulators and sidecars it started: the demo then stops those by PID, in order
// (sidecars first, with SIGTERM, while DynamoDB is still there for their hand-over).
// The launcher relays the demo's output, forwards SIGINT/SIGTERM/SIGHUP to it by PID and
// exits with its status. If the launcher dies, the demo sees its IPC channel close and stops.
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const tty = Boolean(process.stdout.isTTY);

const child = spawn(process.execPath, [path.join(here, 'main.mjs'), ...process.argv.slice(2)], {
  stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  detached: true, // own process group: the terminal's Ctrl-C does not reach it
  env: {
    ...process.env,
    KS_DEMO_TTY: tty ? '1' : '0',
    KS_DEMO_COLUMNS: String(process.stdout.columns || 80),
    // The SDK's "node >= 22 from 2027" notice would land in the middle of the live view.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  },
});
child.stdout.pipe(process.stdout);

if (tty) {
  process.stdout.on('resize', () => {
    if (child.connected) child.send({ columns: process.stdout.columns });
  });
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    try {
      process.kill(child.pid, sig === 'SIGHUP' ? 'SIGTERM' : sig);
    } catch {
      /* already gone */
    }
  });
}

child.on('error', (err) => {
  process.stderr.write(`demo: cannot start ${process.execPath}: ${err.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  const finish = () => {
    if (tty) process.stdout.write('\x1b[?25h'); // cursor back, even if the demo was killed
    process.exit(code ?? 128 + (os.constants.signals[signal] || 9));
  };
  // Let the relayed output drain first.
  if (child.stdout.readableEnded) finish();
  else child.stdout.once('end', finish);
});
