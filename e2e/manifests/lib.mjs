// Helpers for the offline manifest checks: helm/kubectl from the pinned npm package,
// rendering, YAML parsing and validation against the Kubernetes 1.33 schemas.
//
// Validation is two-fold:
//  - kubernetes-models@4.5.1 (generated from the Kubernetes 1.33 OpenAPI; PodMonitor from
//    @kubernetes-models/prometheus-operator): types, required fields, enums, formats;
//  - strict field check: every key of every object must be a field of its type, walked
//    with the attribute maps of @kubernetes/client-node@1.3.0 (OpenAPI spec v1.33.0), the
//    check `kubectl apply --validate=strict` does against a server.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
export const chartDir = path.join(repo, 'charts/kinesis-sidecar');
export const k8sDir = path.join(repo, 'k8s');

let toolsDir;
/** Folder with helm and kubectl (extracted once by tools.sh). */
export function tools() {
  if (!toolsDir) {
    toolsDir = execFileSync(path.join(here, 'tools.sh'), { encoding: 'utf8' }).trim();
  }
  return toolsDir;
}

/** Runs a program; returns {status, stdout, stderr}. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 60_000, ...opts });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a program that must succeed; returns stdout. */
export function runOk(cmd, args, opts = {}) {
  const r = run(cmd, args, opts);
  if (r.status !== 0) {
    throw new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}

export const helm = (args, opts) => run(path.join(tools(), 'helm'), args, opts);
export const helmOk = (args, opts) => runOk(path.join(tools(), 'helm'), args, opts);
export const kustomize = (dir) => runOk(path.join(tools(), 'kubectl'), ['kustomize', dir]);

/** Parses a multi-document YAML stream into objects (empty documents dropped). */
export function parseDocs(text) {
  const docs = YAML.parseAllDocuments(text, { uniqueKeys: true });
  const out = [];
  for (const d of docs) {
    if (d.errors.length) throw new Error(`YAML: ${d.errors.map((e) => e.message).join('; ')}`);
    const v = d.toJS();
    if (v != null) out.push(v);
  }
  return out;
}

/** helm template with the given values files and extra args; returns parsed objects. */
export function renderChart({ values = [], args = [], release = 'ks', dir = chartDir } = {}) {
  const a = ['template', release, dir, '--namespace', 'ks-test', '--kube-version', '1.33.0'];
  for (const v of values) a.push('-f', v);
  return parseDocs(helmOk([...a, ...args]));
}

// --- validation -----------------------------------------------------------------------

const modelCache = new Map();
async function modelFor(apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  if (!modelCache.has(key)) {
    let mod;
    if (apiVersion === 'monitoring.coreos.com/v1') {
      mod = `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`;
    } else {
      mod = `kubernetes-models/${apiVersion}/${kind}`;
    }
    let cls = null;
    try {
      cls = (await import(mod))[kind] ?? null;
    } catch {
      cls = null;
    }
    modelCache.set(key, cls);
  }
  return modelCache.get(key);
}

let serializer;
async function clientModels() {
  serializer ??= await import(
    path.join(here, 'node_modules/@kubernetes/client-node/dist/gen/models/ObjectSerializer.js')
  );
  return serializer;
}

function clientTypeName(apiVersion, kind) {
  const version = apiVersion.split('/').pop();
  return `${version[0].toUpperCase()}${version.slice(1)}${kind}`;
}

const SCALARS = new Set(['string', 'number', 'boolean', 'Date', 'IntOrString']);

/** Unknown-field errors of `value` against client-node type `type` (strict decoding). */
function unknownFields(models, type, value, at, errors) {
  if (value == null) return;
  let m;
  if ((m = /^Array<(.+)>$/.exec(type))) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(models, m[1], v, `${at}[${i}]`, errors));
    return;
  }
  if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(type))) {
    if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) unknownFields(models, m[1], v, `${at}.${k}`, errors);
    }
    return;
  }
  if (SCALARS.has(type) || type === 'any' || type === 'object') return;
  const cls = models[type];
  if (!cls || typeof cls.getAttributeTypeMap !== 'function') {
    errors.push(`${at}: no schema for type ${type}`);
    return;
  }
  if (typeof value !== 'object' || Array.isArray(value)) return; // type errors: kubernetes-models
  const attrs = new Map(cls.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    if (!attrs.has(k)) {
      errors.push(`${at}.${k}: unknown field (not in ${type})`);
      continue;
    }
    unknownFields(models, attrs.get(k), v, `${at}.${k}`, errors);
  }
}

// PodMonitor is a CRD: its fields as the Prometheus Operator CRD declares them (the part
// this chart renders); client-node has no CRD types.
const PODMONITOR_FIELDS = {
  '': ['apiVersion', 'kind', 'metadata', 'spec'],
  spec: ['selector', 'podMetricsEndpoints', 'namespaceSelector', 'jobLabel', 'podTargetLabels',
    'sampleLimit', 'targetLimit', 'attachMetadata', 'scrapeProtocols', 'labelLimit',
    'labelNameLengthLimit', 'labelValueLengthLimit', 'keepDroppedTargets', 'scrapeClass', 'bodySizeLimit'],
  'spec.selector': ['matchLabels', 'matchExpressions'],
  'spec.podMetricsEndpoints[]': ['port', 'portNumber', 'targetPort', 'path', 'scheme', 'params',
    'interval', 'scrapeTimeout', 'honorLabels', 'honorTimestamps', 'trackTimestampsStaleness',
    'metricRelabelings', 'relabelings', 'proxyUrl', 'followRedirects', 'enableHttp2',
    'filterRunning', 'basicAuth', 'oauth2', 'authorization', 'tlsConfig', 'bearerTokenSecret'],
};

/**
 * Validates one rendered object against the Kubernetes 1.33 schema and rejects unknown
 * fields. Returns a list of error strings (empty: valid).
 */
export async function validateObject(obj) {
  const where = `${obj?.kind ?? '?'}/${obj?.metadata?.name ?? '?'}`;
  const errors = [];
  if (!obj || typeof obj !== 'object' || !obj.apiVersion || !obj.kind) {
    return [`${where}: not a Kubernetes object`];
  }
  const Model = await modelFor(obj.apiVersion, obj.kind);
  if (!Model) return [`${where}: no schema for ${obj.apiVersion} ${obj.kind}`];
  try {
    new Model(structuredClone(obj)).validate();
  } catch (e) {
    errors.push(`${where}: ${e.message}`);
  }
  if (obj.apiVersion === 'monitoring.coreos.com/v1') {
    const check = (val, key) => {
      if (!val || typeof val !== 'object') return;
      for (const k of Object.keys(val)) {
        if (!PODMONITOR_FIELDS[key].includes(k)) errors.push(`${where}: ${key || '.'}.${k}: unknown field`);
      }
    };
    check(obj, '');
    check(obj.spec, 'spec');
    check(obj.spec?.selector, 'spec.selector');
    for (const ep of obj.spec?.podMetricsEndpoints ?? []) check(ep, 'spec.podMetricsEndpoints[]');
    return errors;
  }
  const models = await clientModels();
  const type = clientTypeName(obj.apiVersion, obj.kind);
  if (!models[type]) return [...errors, `${where}: client-node has no type ${type}`];
  const unknown = [];
  unknownFields(models, type, obj, '', unknown);
  return [...errors, ...unknown.map((u) => `${where}: ${u}`)];
}

/** Validates every object; throws with all errors. */
export async function assertValid(objs, label) {
  const errors = [];
  for (const o of objs) errors.push(...(await validateObject(o)));
  if (errors.length) throw new Error(`${label}: ${errors.length} schema error(s):\n  ${errors.join('\n  ')}`);
}

/** Pod spec of a Deployment. */
export const podSpec = (deploy) => deploy.spec.template.spec;

export const byKind = (objs, kind) => objs.filter((o) => o.kind === kind);
export const one = (objs, kind) => {
  const found = byKind(objs, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, got ${found.length}`);
  return found[0];
};

/** Go-style duration ("1m30s", "500ms") to seconds. */
export function durationSeconds(d) {
  const units = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  const re = /([0-9.]+)(ns|us|µs|ms|s|m|h)/g;
  let total = 0;
  let m;
  let consumed = 0;
  while ((m = re.exec(d))) {
    total += Number(m[1]) * units[m[2]];
    consumed += m[0].length;
  }
  if (consumed !== d.length || consumed === 0) throw new Error(`bad duration ${d}`);
  return total;
}

/** Reads a file of the repo. */
export const readRepo = (p) => fs.readFileSync(path.join(repo, p), 'utf8');
