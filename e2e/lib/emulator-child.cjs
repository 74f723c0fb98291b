// Child process that runs one emulator on loopback. Started by emulators.mjs, never by hand:
//   node emulator-child.cjs <kinesalite|dynalite> '<json options>'
// Prints one line {"port":N} on stdout once listening. Exits when its stdin closes, so an
// emulator never outlives the test process that started it (even after a SIGKILL).
'use strict';
const kind = process.argv[2];
const opts = JSON.parse(process.argv[3] || '{}');
const port = opts.port || 0;
delete opts.port;
let server;
if (kind === 'kinesalite') {
  server = require('kinesalite')({
    createStreamMs: 50, deleteStreamMs: 50, updateStreamMs: 50, shardLimit: 1000, ...opts,
  });
} else if (kind === 'dynalite') {
  server = require('dynalite')({
    createTableMs: 50, deleteTableMs: 50, updateTableMs: 50, ...opts,
  });
} else {
  process.stderr.write(`unknown emulator ${kind}\n`);
  process.exit(2);
}
server.on('error', (err) => {
  process.stderr.write(`${kind}: ${err.stack || err}\n`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
