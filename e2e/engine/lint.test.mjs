// Every config example of the seed document (aws_kinesis-input.md: the Common and Advanced
// blocks, verbatim with their `inputs:` header, and the field examples of batching, check,
// period, processors and streams, each wrapped into a minimal config) passes
// `kinesis-sidecar lint -c`; broken configs fail with FILE:LINE: key.path on stderr.
// The examples are copied into fixtures/lint/ (the seed is not read at test time).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sidecarBin } from '../lib/sidecar.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = path.join(here, 'fixtures', 'lint');

function lint(file) {
  const r = spawnSync(sidecarBin(), ['lint', '-c', file], { encoding: 'utf8', timeout: 30000 });
  if (r.error) throw new Error(`cannot run ${sidecarBin()}: ${r.error.message}`);
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

function yamlFiles(dir) {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => path.join(dir, f));
}

test('every config example of the seed document passes lint', () => {
  const files = yamlFiles(FIXTURES);
  // Common + Advanced, 3 batching, 1 check, 3 period, 3 processors, 1 streams.
  assert.equal(files.length, 13, `fixtures: ${files.map((f) => path.basename(f)).join(', ')}`);
  const failures = [];
  for (const file of files) {
    const r = lint(file);
    if (r.code !== 0) failures.push(`${path.basename(file)}: exit ${r.code} (${r.signal ?? ''})\n${r.err}${r.out}`);
    // Warnings are allowed (the `inputs:` spelling), errors are not.
    else assert.doesNotMatch(r.err, /^(?!.*: warning: ).*\.yaml:\d+: /m, `${path.basename(file)}: ${r.err}`);
  }
  assert.deepEqual(failures, []);
});

test("the seed's `inputs:` header is read as `input:` with a warning naming it", () => {
  for (const name of ['seed-common.yaml', 'seed-advanced.yaml']) {
    const file = path.join(FIXTURES, name);
    const text = fs.readFileSync(file, 'utf8');
    const line = text.split('\n').findIndex((l) => l.startsWith('inputs:')) + 1;
    assert.ok(line > 0, `${name} lost its inputs: header`);
    const r = lint(file);
    assert.equal(r.code, 0, r.err);
    assert.ok(r.err.includes(`${name}:${line}: inputs: warning: `), r.err);
  }
});

// Each invalid fixture: the FILE:LINE: key.path it must be reported as.
const INVALID = {
  'bad-billing-mode.yaml': '6: input.aws_kinesis.dynamodb.billing_mode: must be one of',
  'bad-codec.yaml': '8: output.fifo.codec: must be one of',
  'bad-duration.yaml': '6: input.aws_kinesis.commit_period: expected a duration',
  'checkpoint-limit-zero.yaml': '6: input.aws_kinesis.checkpoint_limit: must be >= 1',
  'empty-table.yaml': '5: input.aws_kinesis.dynamodb.table: must not be empty',
  'input-and-inputs.yaml': '6: duplicate key "inputs"',
  'processors-without-trigger.yaml': '7: input.aws_kinesis.batching.processors: needs at least one trigger',
  'unknown-key.yaml': '6: input.aws_kinesis.comit_period: unknown key',
  'unsupported-check.yaml': "7: input.aws_kinesis.batching.check: unsupported function 'now()'",
};

test('invalid configs fail lint with FILE:LINE: key.path', () => {
  const dir = path.join(FIXTURES, 'invalid');
  const files = yamlFiles(dir).map((f) => path.basename(f));
  assert.deepEqual(files, Object.keys(INVALID).sort(), 'every invalid fixture has an expectation');
  for (const [name, want] of Object.entries(INVALID)) {
    const file = path.join(dir, name);
    const r = lint(file);
    assert.ok(r.code !== 0 && r.code !== null, `${name}: lint exited ${r.code} (${r.signal ?? ''})\n${r.err}`);
    // Printed with the path as given on the command line.
    assert.ok(r.err.includes(`${file}:${want}`), `${name}: want "${file}:${want}" in:\n${r.err}`);
  }
});
