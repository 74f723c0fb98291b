// Helm chart: lint, render with every values file, validate against Kubernetes 1.33
// (strict), values.schema.json rejects wrong values, behaviour of the templates.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import {
  assertValid, byKind, chartDir, durationSeconds, helm, helmOk, here, one, podSpec, readRepo,
  renderChart,
} from './lib.mjs';

const valuesDir = path.join(here, 'values');
const valuesFiles = fs.readdirSync(valuesDir).filter((f) => f.endsWith('.yaml')).sort();
const invalidDir = path.join(here, 'values-invalid');
const MON = ['--api-versions', 'monitoring.coreos.com/v1'];

test('helm lint --strict passes with the defaults and every values file', () => {
  helmOk(['lint', '--strict', chartDir]);
  for (const f of valuesFiles) helmOk(['lint', '--strict', chartDir, '-f', path.join(valuesDir, f)]);
});

test('the values files under test exist', () => {
  for (const f of ['fifo', 'websocket', 'irsa', 'pod-identity', 'podmonitor-on', 'podmonitor-off']) {
    assert.ok(valuesFiles.includes(`${f}.yaml`), `values/${f}.yaml`);
  }
});

test('every rendering validates against the Kubernetes 1.33 schemas, unknown fields rejected', async () => {
  await assertValid(renderChart(), 'defaults');
  for (const f of valuesFiles) {
    const args = f === 'podmonitor-on.yaml' ? MON : [];
    await assertValid(renderChart({ values: [path.join(valuesDir, f)], args }), f);
  }
});

test('values.schema.json rejects wrong values', () => {
  const files = fs.readdirSync(invalidDir).filter((f) => f.endsWith('.yaml')).sort();
  assert.ok(files.includes('replicas-string.yaml'));
  for (const f of files) {
    const r = helm(['template', 'ks', chartDir, '-f', path.join(invalidDir, f)]);
    assert.notEqual(r.status, 0, `${f} was accepted`);
    assert.match(r.stderr, /don't meet the specifications of the schema/, f);
  }
  const r = helm(['template', 'ks', chartDir, '-f', path.join(invalidDir, 'replicas-string.yaml')]);
  assert.match(r.stderr, /deployment\.replicas: Invalid type\. Expected: integer, given: string/);
});

test('values.schema.json covers every value of values.yaml (no free key left)', () => {
  const schema = JSON.parse(fs.readFileSync(path.join(chartDir, 'values.schema.json'), 'utf8'));
  const values = YAML.parse(fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8'));
  const missing = [];
  const walk = (v, s, at) => {
    assert.ok(s, `no schema at ${at}`);
    if (v && typeof v === 'object' && !Array.isArray(v) && s.properties) {
      for (const [k, sub] of Object.entries(v)) {
        if (!(k in s.properties)) missing.push(`${at}.${k}`);
        else walk(sub, s.properties[k], `${at}.${k}`);
      }
    }
  };
  walk(values, schema, '');
  assert.deepEqual(missing, []);
  assert.equal(schema.additionalProperties, false);
});

test('sidecar: native sidecar with probes, preStop drain and a locked-down securityContext', () => {
  const objs = renderChart();
  const spec = podSpec(one(objs, 'Deployment'));
  const [sc] = spec.initContainers;
  assert.equal(sc.name, 'kinesis-sidecar');
  assert.equal(sc.restartPolicy, 'Always');
  assert.equal(sc.image, `kinesis-sidecar:${readRepo('VERSION').trim()}`);
  assert.equal(sc.startupProbe.httpGet.path, '/ready');
  assert.equal(sc.readinessProbe.httpGet.path, '/ready');
  assert.equal(sc.livenessProbe.httpGet.path, '/ping');
  assert.equal(sc.ports[0].containerPort, 4195);
  assert.deepEqual(sc.lifecycle.preStop.exec.command.slice(0, 2), ['kinesis-sidecar', 'drain']);
  assert.equal(sc.securityContext.readOnlyRootFilesystem, true);
  assert.equal(sc.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(sc.securityContext.capabilities.drop, ['ALL']);
  assert.equal(sc.securityContext.runAsNonRoot, true);
  assert.equal(spec.securityContext.seccompProfile.type, 'RuntimeDefault');
  // The records volume is shared by the sidecar and the app.
  const app = spec.containers[0];
  const rec = spec.volumes.find((v) => v.name === 'ks-records');
  assert.ok(rec.emptyDir);
  assert.ok(sc.volumeMounts.some((m) => m.name === 'ks-records'));
  assert.ok(app.volumeMounts.some((m) => m.name === 'ks-records'));
  const cfg = YAML.parse(one(objs, 'ConfigMap').data['config.yaml']);
  const mount = sc.volumeMounts.find((m) => m.name === 'ks-records').mountPath;
  assert.ok(cfg.output.fifo.path.startsWith(`${mount}/`), 'FIFO lives on the shared volume');
  // Grace period covers drain + shutdown_timeout.
  const drain = durationSeconds(sc.lifecycle.preStop.exec.command.at(-1));
  assert.ok(spec.terminationGracePeriodSeconds > drain + durationSeconds(cfg.shutdown_timeout));
});

test('admin port follows config.http.address', () => {
  const objs = renderChart({ args: ['--set', 'config.http.address=0.0.0.0:9000'] });
  const [sc] = podSpec(one(objs, 'Deployment')).initContainers;
  assert.equal(sc.ports[0].containerPort, 9000);
  assert.ok(sc.lifecycle.preStop.exec.command.includes('127.0.0.1:9000'));
});

test('standard labels on every object; selectors match the pods and only them', () => {
  const objs = renderChart({ args: MON, values: [path.join(valuesDir, 'podmonitor-on.yaml')] });
  const version = readRepo('VERSION').trim();
  for (const o of objs) {
    const l = o.metadata.labels ?? {};
    assert.equal(l['app.kubernetes.io/instance'], 'ks', `${o.kind} instance label`);
    assert.equal(l['app.kubernetes.io/managed-by'], 'Helm', `${o.kind} managed-by`);
    assert.equal(l['app.kubernetes.io/version'], version, `${o.kind} version`);
    assert.equal(l['helm.sh/chart'], `kinesis-sidecar-${YAML.parse(readRepo('charts/kinesis-sidecar/Chart.yaml')).version}`);
    assert.ok(l['app.kubernetes.io/name'], `${o.kind} name label`);
  }
  const deploy = one(objs, 'Deployment');
  const podLabels = deploy.spec.template.metadata.labels;
  const matches = (sel, labels) => Object.entries(sel).every(([k, v]) => labels?.[k] === v);
  const selectors = [
    deploy.spec.selector.matchLabels,
    one(objs, 'PodDisruptionBudget').spec.selector.matchLabels,
    one(objs, 'Service').spec.selector,
    one(objs, 'PodMonitor').spec.selector.matchLabels,
  ];
  for (const s of selectors) {
    assert.ok(Object.keys(s).length >= 2, 'selector not empty');
    assert.ok(matches(s, podLabels), 'selector matches the pods');
    assert.ok(!matches(s, one(objs, 'Pod').metadata.labels), 'selector does not match the test pod');
  }
});

test('chart appVersion, image tag and VERSION agree', () => {
  const chart = YAML.parse(readRepo('charts/kinesis-sidecar/Chart.yaml'));
  const values = YAML.parse(readRepo('charts/kinesis-sidecar/values.yaml'));
  const version = readRepo('VERSION').trim();
  assert.equal(chart.appVersion, version);
  assert.equal(values.image.tag, version);
});

test('checksum/config changes with the config and only then', () => {
  const sum = (args) => one(renderChart({ args }), 'Deployment').spec.template.metadata.annotations['checksum/config'];
  const base = sum([]);
  assert.match(base, /^[0-9a-f]{64}$/);
  assert.equal(sum(['--set', 'deployment.replicas=5']), base);
  assert.notEqual(sum(['--set', 'config.input.aws_kinesis.commit_period=10s']), base);
});

test('PodMonitor only when enabled and the cluster has monitoring.coreos.com/v1', () => {
  const on = path.join(valuesDir, 'podmonitor-on.yaml');
  const pm = one(renderChart({ values: [on], args: MON }), 'PodMonitor');
  assert.equal(pm.spec.podMetricsEndpoints[0].path, '/metrics');
  assert.equal(pm.spec.podMetricsEndpoints[0].port, 'ks-admin');
  assert.equal(pm.metadata.labels.release, 'prometheus');
  assert.equal(byKind(renderChart({ values: [on] }), 'PodMonitor').length, 0, 'no API: no PodMonitor');
  const off = renderChart({ values: [path.join(valuesDir, 'podmonitor-off.yaml')], args: MON });
  assert.deepEqual(off.map((o) => o.kind).sort(), ['ConfigMap', 'Deployment', 'ServiceAccount']);
});

test('IRSA annotates the ServiceAccount; Pod Identity does not', () => {
  const irsa = renderChart({ values: [path.join(valuesDir, 'irsa.yaml')] });
  const sa = one(irsa, 'ServiceAccount');
  assert.equal(sa.metadata.name, 'kinesis-reader');
  assert.equal(sa.metadata.annotations['eks.amazonaws.com/role-arn'], 'arn:aws:iam::111122223333:role/kinesis-sidecar');
  assert.equal(sa.metadata.annotations.team, 'data');
  assert.equal(podSpec(one(irsa, 'Deployment')).serviceAccountName, 'kinesis-reader');
  const pi = renderChart({ values: [path.join(valuesDir, 'pod-identity.yaml')] });
  assert.equal(one(pi, 'ServiceAccount').metadata.annotations?.['eks.amazonaws.com/role-arn'], undefined);
  const env = podSpec(one(pi, 'Deployment')).initContainers[0].env;
  assert.deepEqual(env, [{ name: 'AWS_REGION', value: 'eu-central-1' }]);
  assert.equal(one(pi, 'PodDisruptionBudget').spec.minAvailable, 1);
  assert.equal(one(pi, 'PodDisruptionBudget').spec.maxUnavailable, undefined);
});

test('websocket values replace the FIFO output', () => {
  const objs = renderChart({ values: [path.join(valuesDir, 'websocket.yaml')] });
  const cfg = YAML.parse(one(objs, 'ConfigMap').data['config.yaml']);
  assert.deepEqual(Object.keys(cfg.output), ['websocket']);
  assert.equal(cfg.output.websocket.address, '127.0.0.1:4196');
  assert.equal(podSpec(one(objs, 'Deployment')).containers[0].name, 'consumer');
});

test('helm test pod checks /ready through the Service', () => {
  const objs = renderChart();
  const pod = one(objs, 'Pod');
  assert.equal(pod.metadata.annotations['helm.sh/hook'], 'test');
  const svc = one(objs, 'Service');
  assert.match(pod.spec.containers[0].command.join(' '), new RegExp(`http://${svc.metadata.name}:${svc.spec.ports[0].port}/ready`));
});

test('another chart can add the sidecar with the named templates', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ks-parent-'));
  try {
    const parent = path.join(tmp, 'parent');
    fs.mkdirSync(path.join(parent, 'templates'), { recursive: true });
    fs.cpSync(chartDir, path.join(parent, 'charts/kinesis-sidecar'), { recursive: true });
    fs.writeFileSync(path.join(parent, 'Chart.yaml'), [
      'apiVersion: v2', 'name: parent', 'version: 1.0.0', 'appVersion: "9.9.9"',
      'dependencies:', '  - name: kinesis-sidecar', '    version: 0.1.0', '',
    ].join('\n'));
    fs.writeFileSync(path.join(parent, 'values.yaml'), [
      'kinesis-sidecar:', '  deployment:', '    create: false', '',
    ].join('\n'));
    // The template as README.md documents it.
    const readme = fs.readFileSync(path.join(chartDir, 'README.md'), 'utf8');
    const m = /<!-- parent-template -->\s*```yaml\n([\s\S]*?)```/.exec(readme);
    assert.ok(m, 'README.md has the parent-template example');
    fs.writeFileSync(path.join(parent, 'templates/deployment.yaml'), m[1]);
    const objs = renderChart({ dir: parent, release: 'shop' });
    await assertValid(objs, 'parent chart');
    assert.equal(byKind(objs, 'Deployment').length, 1, 'only the parent Deployment');
    const spec = podSpec(one(objs, 'Deployment'));
    assert.equal(spec.initContainers[0].name, 'kinesis-sidecar');
    assert.equal(spec.initContainers[0].restartPolicy, 'Always');
    assert.equal(spec.initContainers[0].image, `kinesis-sidecar:${readRepo('VERSION').trim()}`);
    const cmName = spec.volumes.find((v) => v.name === 'ks-config').configMap.name;
    assert.equal(one(objs, 'ConfigMap').metadata.name, cmName);
    assert.ok(spec.containers[0].volumeMounts.some((v) => v.name === 'ks-records'));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('the chart requires Kubernetes 1.29 (native sidecars)', () => {
  const r = helm(['template', 'ks', chartDir, '--kube-version', '1.28.9']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /requires kubeVersion: >=1\.29/);
});
