// The benchmark peer: lifion-kinesis (npm, 1.3.3) consuming one stream from TRIM_HORIZON,
// counting records and discarding them. Started by bench.mjs, never by hand:
//   node peer.cjs '<json options>'
// options: {kinesisEndpoint, dynamoEndpoint, region, accessKeyId, secretAccessKey, stream,
//           stateTable, consumerGroup, expected}
// Writes JSON lines on stdout: {"ev":"loaded"} once the module is loaded and the client built
// (node start-up and require() are done), then waits for a line "go" on stdin before
// startConsumer(); {"ev":"started"} once startConsumer resolved, {"ev":"first","n":N} on the
// first delivered records, {"ev":"done","count":N} once at least `expected` records came. The
// parent samples this process's CPU and RSS from /proc on "loaded", "first" and "done", then
// kills it. Exits when its stdin closes, so it never outlives bench.mjs.
'use strict';
const Kinesis = require('lifion-kinesis');

const o = JSON.parse(process.argv[2] || '{}');
const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const aws = {
  region: o.region,
  accessKeyId: o.accessKeyId,
  secretAccessKey: o.secretAccessKey,
};

const kinesis = new Kinesis({
  ...aws,
  endpoint: o.kinesisEndpoint,
  streamName: o.stream,
  consumerGroup: o.consumerGroup,
  createStreamIfNeeded: false,
  initialPositionInStream: 'TRIM_HORIZON',
  useAutoCheckpoints: true,
  useAutoShardAssignment: true,
  useEnhancedFanOut: false,
  limit: 10000,
  statsInterval: 3600000,
  dynamoDb: { ...aws, endpoint: o.dynamoEndpoint, tableName: o.stateTable },
  logger: {
    debug() {},
    warn: (...a) => process.stderr.write(`peer warn: ${a.map(String).join(' ')}\n`),
    error: (...a) => process.stderr.write(`peer error: ${a.map((x) => (x && x.stack) || String(x)).join(' ')}\n`),
  },
});

let count = 0;
let done = false;
kinesis.on('data', (chunk) => {
  const n = chunk.records.length;
  if (count === 0 && n > 0) say({ ev: 'first', n });
  count += n;
  if (!done && count >= o.expected) {
    done = true;
    say({ ev: 'done', count });
  }
});
kinesis.on('error', (err) => process.stderr.write(`peer stream error: ${err.stack || err}\n`));

let input = '';
let going = false;
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  input += d;
  if (going || !input.includes('go\n')) return;
  going = true;
  kinesis
    .startConsumer()
    .then(() => say({ ev: 'started' }))
    .catch((err) => {
      process.stderr.write(`peer: startConsumer failed: ${err.stack || err}\n`);
      process.exit(1);
    });
});
say({ ev: 'loaded' });

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
