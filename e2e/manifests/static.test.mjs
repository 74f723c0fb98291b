// Static checks: yamllint on plain YAML, shellcheck on the image and tool scripts, the
// Dockerfile against scripts/install-deps.sh and the libraries the binary links.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readRepo, repo, run } from './lib.mjs';

function have(cmd) {
  return run('sh', ['-c', `command -v ${cmd}`]).status === 0;
}
// Missing tools are installed by scripts/install-deps.sh; under CI their absence fails.
function need(t, cmd) {
  if (have(cmd)) return true;
  if (process.env.CI === 'true') assert.fail(`${cmd} not installed (scripts/install-deps.sh installs it)`);
  t.skip(`${cmd} not installed: run scripts/install-deps.sh`);
  return false;
}

test('yamllint: k8s/, chart values and Chart.yaml, values files', (t) => {
  if (!need(t, 'yamllint')) return;
  const r = run('yamllint', ['-s', '-f', 'parsable', '-c', '.yamllint', 'k8s', 'charts/kinesis-sidecar/values.yaml',
    'charts/kinesis-sidecar/Chart.yaml', 'e2e/manifests/values', 'e2e/manifests/values-invalid', '.yamllint'], { cwd: repo });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('shellcheck: scripts/image.sh and e2e/manifests/tools.sh', (t) => {
  if (!need(t, 'shellcheck')) return;
  const r = run('shellcheck', ['-x', 'scripts/image.sh', 'e2e/manifests/tools.sh'], { cwd: repo });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

// Dockerfile: instructions with continuation lines joined.
function dockerfile() {
  const text = readRepo('Dockerfile').replace(/\\\n/g, ' ');
  const stages = [];
  for (const line of text.split('\n')) {
    const m = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === 'FROM') stages.push({ from: m[2], ins: [] });
    stages.at(-1).ins.push({ op: m[1], arg: m[2] });
  }
  return stages;
}
const aptPackages = (stage) =>
  stage.ins.filter((i) => i.op === 'RUN' && /apt-get install/.test(i.arg))
    .flatMap((i) => i.arg.split('apt-get install')[1].split('&&')[0].split(/\s+/))
    .filter((w) => w && !w.startsWith('-'));

test('Dockerfile: two stages on bookworm-slim, numeric non-root user, entrypoint and cmd', () => {
  const stages = dockerfile();
  assert.equal(stages.length, 2);
  for (const s of stages) assert.match(s.from, /^debian:bookworm-slim\b/);
  const rt = stages[1];
  const user = rt.ins.filter((i) => i.op === 'USER').at(-1).arg;
  assert.match(user, /^[1-9][0-9]*(:[1-9][0-9]*)?$/, 'numeric, not root');
  assert.deepEqual(JSON.parse(rt.ins.find((i) => i.op === 'ENTRYPOINT').arg), ['kinesis-sidecar']);
  assert.deepEqual(JSON.parse(rt.ins.find((i) => i.op === 'CMD').arg), ['run', '-c', '/etc/kinesis-sidecar/config.yaml']);
  assert.ok(stages[0].ins.some((i) => i.op === 'RUN' && /make .*bin\/kinesis-sidecar/.test(i.arg)));
  assert.ok(rt.ins.some((i) => i.op === 'COPY' && /--from=build .*bin\/kinesis-sidecar/.test(i.arg)));
  // Nothing but the binary comes from the build context into the runtime stage.
  assert.ok(!rt.ins.some((i) => (i.op === 'COPY' || i.op === 'ADD') && !/--from=/.test(i.arg)));
});

test('Dockerfile builder installs the -dev packages of scripts/install-deps.sh', () => {
  const deps = readRepo('scripts/install-deps.sh');
  const list = /APT_PKGS=\(([\s\S]*?)\)/.exec(deps)[1].split(/\s+/).filter(Boolean);
  // Test-only: cmocka (unit tests) and clang's runtime (libFuzzer targets) are not built into the image.
  const testOnly = new Set(['libcmocka-dev', 'libclang-rt-dev']);
  const wanted = list.filter((p) => p.endsWith('-dev') && !testOnly.has(p));
  wanted.push(...list.filter((p) => p.startsWith('libwebsockets-evlib')));
  const builder = aptPackages(dockerfile()[0]);
  assert.deepEqual(wanted.filter((p) => !builder.includes(p)), [], 'missing in the builder stage');
  assert.deepEqual(builder.filter((p) => p.endsWith('-dev') && !wanted.includes(p)), [], 'not in install-deps.sh');
});

test('Dockerfile runtime stage has the package of every library the binary links', (t) => {
  const runtime = aptPackages(dockerfile()[1]);
  for (const p of ['libcurl4', 'libuv1', 'libyaml-0-2', 'libcjson1', 'libwebsockets17', 'libwebsockets-evlib-uv',
    'libxml2', 'libssl3', 'zlib1g', 'ca-certificates']) {
    assert.ok(runtime.includes(p), p);
  }
  const bin = ['bin/kinesis-sidecar', 'build/san/kinesis-sidecar'].map((b) => path.join(repo, b)).find(fs.existsSync);
  if (!bin || !have('objdump') || !have('dpkg-query')) {
    if (process.env.CI === 'true') assert.fail('no built binary, objdump or dpkg-query (make test builds and installs them)');
    t.skip('no built binary or no objdump/dpkg here');
    return;
  }
  const needed = run('objdump', ['-p', bin]).stdout.split('\n')
    .map((l) => /NEEDED\s+(\S+)/.exec(l)?.[1]).filter(Boolean)
    .filter((l) => !/^lib(asan|ubsan)\b/.test(l));
  const ldd = run('ldd', [bin]).stdout;
  const depends = (p) => run('dpkg-query', ['-W', '-f=${Depends}', p]).stdout
    .split(/[,|]/).map((d) => d.trim().split(/[\s:]/)[0]).filter(Boolean);
  const allowed = new Set(['libc6', 'libgcc-s1', ...runtime, ...runtime.flatMap(depends)]);
  const missing = [];
  for (const lib of needed) {
    const file = new RegExp(`${lib.replace(/[.+]/g, '\\$&')} => (\\S+)`).exec(ldd)?.[1];
    if (!file) continue;
    const owner = run('dpkg-query', ['-S', fs.realpathSync(file)]);
    const pkg = owner.status === 0 ? owner.stdout.split(':')[0] : null;
    if (pkg && !allowed.has(pkg)) missing.push(`${lib} (${pkg})`);
  }
  assert.deepEqual(missing, [], 'shared libraries whose package the runtime stage lacks');
});

test('.dockerignore lets in only what the builder copies', () => {
  const lines = readRepo('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  assert.equal(lines[0], '*');
  for (const p of ['!Makefile', '!VERSION', '!pkg/', '!cmd/']) assert.ok(lines.includes(p), p);
});
