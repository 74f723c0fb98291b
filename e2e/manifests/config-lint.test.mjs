// The sidecar config rendered by the chart (every values file) and by kustomize (base and
// examples) passes `kinesis-sidecar lint -c`. Skipped, with a message, while the binary
// answers `lint` with a usage error (the subcommand is not there yet).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { here, k8sDir, kustomize, parseDocs, renderChart, repo, run } from './lib.mjs';

const candidates = [process.env.KS_SIDECAR_BIN, 'build/san/kinesis-sidecar', 'bin/kinesis-sidecar']
  .filter(Boolean).map((p) => path.resolve(repo, p));
const bin = candidates.find((p) => fs.existsSync(p));

function configs() {
  const out = [];
  const valuesDir = path.join(here, 'values');
  const chartCfg = (objs) => objs.find((o) => o.kind === 'ConfigMap' && o.data?.['config.yaml']).data['config.yaml'];
  out.push(['chart defaults', chartCfg(renderChart())]);
  for (const f of fs.readdirSync(valuesDir).filter((x) => x.endsWith('.yaml')).sort()) {
    out.push([`chart -f ${f}`, chartCfg(renderChart({ values: [path.join(valuesDir, f)] }))]);
  }
  for (const d of ['base', 'examples/fifo', 'examples/websocket']) {
    const objs = parseDocs(kustomize(path.join(k8sDir, d)));
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.data?.['config.yaml']);
    out.push([`kustomize k8s/${d}`, cm.data['config.yaml']]);
  }
  return out;
}

test('rendered configs pass kinesis-sidecar lint -c', (t) => {
  if (!bin) {
    if (process.env.CI === 'true') assert.fail(`no kinesis-sidecar binary (${candidates.join(', ')})`);
    t.skip('no kinesis-sidecar binary built (make bin/kinesis-sidecar)');
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ks-lint-'));
  try {
    const all = configs();
    const failures = [];
    for (const [name, text] of all) {
      const file = path.join(tmp, `${name.replace(/[^a-z0-9.-]+/gi, '_')}.yaml`);
      fs.writeFileSync(file, text);
      const r = run(bin, ['lint', '-c', file]);
      if (r.status !== 0) failures.push(`${name}: exit ${r.status}\n${r.stderr}${r.stdout}`);
    }
    assert.deepEqual(failures, []);
    // And lint does reject a broken one, with FILE:LINE: key.path.
    const bad = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(bad, all[0][1].replace(/codec: json_lines/, 'codec: csv'));
    const r = run(bin, ['lint', '-c', bad]);
    assert.notEqual(r.status, 0, 'a bad codec passed lint');
    assert.match(r.stderr + r.stdout, /bad\.yaml:\d+: output\.fifo\.codec: /);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
