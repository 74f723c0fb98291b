// Image test: builds the container image (scripts/image.sh), runs it against the local
// emulators on the host network, as uid 65532 with a read-only root filesystem and no
// capabilities, and checks that /ready turns 200 and that the records arrive in the FIFO
// on a mounted volume, then that SIGTERM stops it cleanly.
//
// Opt-in: KS_IMAGE_TEST=1 (needs root, docker.io and debootstrap, or a Docker engine;
// the first build takes about a minute and a half here). Skipped otherwise.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readRepo, repo, run } from './lib.mjs';

const enabled = process.env.KS_IMAGE_TEST === '1';
const skip = enabled ? false : 'image test is opt-in: set KS_IMAGE_TEST=1 (builds the image with scripts/image.sh and runs it)';

test('the image serves /ready and delivers records to a FIFO on a mounted volume', { skip, timeout: 20 * 60_000 }, async (t) => {
  // The e2e harness (emulators, FIFO reader) lives in e2e/lib with its own node_modules.
  const emu = await import('../lib/emulators.mjs');
  const sc = await import('../lib/sidecar.mjs');
  const { spawnTracked, killAndWait } = await import('../lib/procs.mjs');
  const image = `${process.env.KS_IMAGE ?? 'kinesis-sidecar'}:${readRepo('VERSION').trim()}`;

  // 1. Build (cached layers after the first time).
  const build = run(path.join(repo, 'scripts/image.sh'), [], { cwd: repo, timeout: 15 * 60_000 });
  assert.equal(build.status, 0, `scripts/image.sh failed:\n${build.stderr.slice(-4000)}`);

  // 2. Emulators with a stream of 2 shards and some records.
  const env = await emu.startEmulators(t);
  const stream = 'image-test';
  await emu.createStream(env.kc, stream, 2);
  const sent = Array.from({ length: 50 }, (_, i) => ({ data: `record-${i}`, partitionKey: `pk-${i}` }));
  await emu.putRecords(env.kc, stream, sent);

  // 3. Config and records volumes; the container runs as 65532.
  const dir = await sc.makeTempDir(t, 'ks-image-');
  const cfgDir = path.join(dir, 'config');
  const recDir = path.join(dir, 'records');
  fs.mkdirSync(cfgDir);
  fs.mkdirSync(recDir);
  fs.chmodSync(recDir, 0o777);
  const port = await emu.freePort();
  const config = sc.buildConfig({
    streams: [stream],
    kinesisEndpoint: env.kinesis.endpoint,
    dynamoEndpoint: env.dynamo.endpoint,
    fifoPath: '/var/run/kinesis/records',
    httpAddress: `127.0.0.1:${port}`,
    logLevel: 'INFO',
  });
  fs.writeFileSync(path.join(cfgDir, 'config.yaml'), `${sc.toYaml(config)}\n`);
  fs.chmodSync(path.join(cfgDir, 'config.yaml'), 0o644);

  // 4. Run the image with its default CMD (run -c /etc/kinesis-sidecar/config.yaml).
  const name = `ks-image-test-${process.pid}`;
  const child = spawnTracked('docker run', path.join(repo, 'scripts/image.sh'), [
    'exec', 'docker', 'run', '--rm', '--name', name, '--network', 'host',
    '--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--user', '65532:65532',
    '-v', `${cfgDir}:/etc/kinesis-sidecar:ro`, '-v', `${recDir}:/var/run/kinesis`, image,
  ], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  child.stdout.on('data', (d) => { logs = (logs + d).slice(-20000); });
  child.stderr.on('data', (d) => { logs = (logs + d).slice(-20000); });
  t.after(() => killAndWait(child, { timeoutMs: 30_000 }));

  try {
    // 5. /ready turns 200.
    await emu.waitFor(async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200;
      } catch {
        return false;
      }
    }, { timeoutMs: 180_000, intervalMs: 500, what: '/ready 200 from the container' });

    // 6. Every record arrives in the FIFO on the mounted volume.
    const reader = await sc.openFifoReader(path.join(recDir, 'records'), { waitMs: 30_000 });
    t.after(() => reader.close());
    await reader.waitForRecords(sent.length, 60_000);
    // json_lines carries data base64-encoded (as AWS sends it) or as text.
    const got = new Set(reader.records.flatMap((r) => [r.data, Buffer.from(r.data, 'base64').toString('utf8')]));
    for (const r of sent) assert.ok(got.has(r.data), `missing ${r.data}`);
  } catch (err) {
    err.message += `\n--- container and dockerd output ---\n${logs}`;
    throw err;
  }

  // 7. SIGTERM (docker run proxies it to the container): a clean exit.
  const exit = await killAndWait(child, { signal: 'SIGTERM', timeoutMs: 60_000 });
  assert.equal(exit.code, 0, `container exit ${JSON.stringify(exit)}\n${logs}`);
});
