// kustomize base and examples: render with kubectl 1.33, validate (strict), and check the
// sidecar wiring the base promises.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { assertValid, durationSeconds, k8sDir, kustomize, one, parseDocs, podSpec, readRepo } from './lib.mjs';

const dirs = ['base', 'examples/fifo', 'examples/websocket'];
const rendered = Object.fromEntries(dirs.map((d) => [d, null]));
const render = (d) => (rendered[d] ??= parseDocs(kustomize(path.join(k8sDir, d))));

for (const d of dirs) {
  test(`kubectl kustomize k8s/${d} validates against the Kubernetes 1.33 schemas (strict)`, async () => {
    const objs = render(d);
    assert.ok(objs.length >= 4);
    await assertValid(objs, d);
  });

  test(`k8s/${d}: native sidecar, probes, drain, grace period, security, shared FIFO volume`, () => {
    const objs = render(d);
    const deploy = one(objs, 'Deployment');
    const spec = podSpec(deploy);
    const sc = spec.initContainers.find((c) => c.name === 'kinesis-sidecar');
    assert.ok(sc, 'sidecar in initContainers');
    assert.equal(sc.restartPolicy, 'Always');
    assert.equal(sc.startupProbe.httpGet.path, '/ready');
    assert.equal(sc.readinessProbe.httpGet.path, '/ready');
    assert.equal(sc.livenessProbe.httpGet.path, '/ping');
    const cmd = sc.lifecycle.preStop.exec.command;
    assert.deepEqual(cmd.slice(0, 2), ['kinesis-sidecar', 'drain']);
    assert.ok(sc.resources.requests && sc.resources.limits);
    for (const c of [...spec.initContainers, ...spec.containers]) {
      assert.equal(c.securityContext.readOnlyRootFilesystem, true, c.name);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false, c.name);
      assert.deepEqual(c.securityContext.capabilities.drop, ['ALL'], c.name);
    }
    assert.equal(spec.securityContext.runAsNonRoot, true);
    assert.equal(typeof spec.securityContext.runAsUser, 'number');
    assert.equal(spec.securityContext.seccompProfile.type, 'RuntimeDefault');

    // The ConfigMap the pod mounts is the generated one, and its config fits the pod.
    const cmName = spec.volumes.find((v) => v.name === 'config').configMap.name;
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === cmName);
    assert.ok(cm, `ConfigMap ${cmName} rendered`);
    assert.match(cmName, /^kinesis-sidecar-config-[a-z0-9]{10}$/, 'hash suffix: edits roll the pods');
    const cfg = YAML.parse(cm.data['config.yaml']);
    const grace = spec.terminationGracePeriodSeconds;
    const drain = durationSeconds(cmd[cmd.indexOf('--timeout') + 1]);
    assert.ok(grace > durationSeconds(cfg.shutdown_timeout) + drain, `grace ${grace}s too short`);
    const port = Number(cfg.http.address.split(':').pop());
    assert.equal(sc.ports.find((p) => p.name === 'admin').containerPort, port);
    assert.equal(cmd[cmd.indexOf('--address') + 1], `127.0.0.1:${port}`);
    if (cfg.output.fifo) {
      const mount = sc.volumeMounts.find((m) => cfg.output.fifo.path.startsWith(`${m.mountPath}/`));
      assert.ok(mount, 'FIFO on a mounted volume');
      assert.ok(spec.volumes.find((v) => v.name === mount.name).emptyDir, 'FIFO volume is an emptyDir');
      assert.ok(spec.containers[0].volumeMounts.some((m) => m.name === mount.name), 'app mounts it');
    } else {
      assert.match(cfg.output.websocket.address, /^127\.0\.0\.1:/, 'websocket on loopback');
    }

    // ServiceAccount with the IRSA placeholder; PDB and Deployment select the pods.
    const sa = one(objs, 'ServiceAccount');
    assert.equal(spec.serviceAccountName, sa.metadata.name);
    assert.match(sa.metadata.annotations['eks.amazonaws.com/role-arn'], /^arn:aws:iam::[0-9]{12}:role\//);
    const labels = deploy.spec.template.metadata.labels;
    for (const sel of [deploy.spec.selector.matchLabels, one(objs, 'PodDisruptionBudget').spec.selector.matchLabels]) {
      assert.ok(Object.keys(sel).length > 0, 'selector not empty');
      for (const [k, v] of Object.entries(sel)) assert.equal(labels[k], v);
    }
  });
}

test('examples: the FIFO reader reads the FIFO, the websocket app talks to the websocket', () => {
  const fifo = podSpec(one(render('examples/fifo'), 'Deployment')).containers[0];
  assert.match(fifo.command.join(' '), /KINESIS_FIFO/);
  const ws = render('examples/websocket');
  const cfg = YAML.parse(one(ws.filter((o) => o.data?.['config.yaml']), 'ConfigMap').data['config.yaml']);
  assert.deepEqual(Object.keys(cfg.output), ['websocket']);
  const app = podSpec(one(ws, 'Deployment')).containers[0];
  const url = app.env.find((e) => e.name === 'KINESIS_WS_URL').value;
  assert.equal(url, `ws://${cfg.output.websocket.address}${cfg.output.websocket.path}`);
  const appCm = ws.find((o) => o.kind === 'ConfigMap' && o.data?.['app.mjs']);
  assert.match(appCm.data['app.mjs'], /type: 'ack'/);
});

test('k8s/base: image tag is VERSION; its config is the chart default config', () => {
  const version = readRepo('VERSION').trim();
  const spec = podSpec(one(render('base'), 'Deployment'));
  assert.equal(spec.initContainers.find((c) => c.name === 'kinesis-sidecar').image, `kinesis-sidecar:${version}`);
  const base = YAML.parse(readRepo('k8s/base/config.yaml'));
  const chart = YAML.parse(readRepo('charts/kinesis-sidecar/values.yaml')).config;
  assert.deepEqual(base, chart);
});
