import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { SCHEMA_PATH, schemaText } from '../../../scripts/generate-schema';
import { REPO, BASE } from './helpers';
import { join } from 'node:path';

test('schemas/modelops.schema.json is exactly what schema.ts generates (run `npx tsx scripts/generate-schema.ts`)', () => {
  assert.equal(readFileSync(SCHEMA_PATH, 'utf8'), schemaText());
});

test('the published JSON Schema accepts the sample and rejects the broken example', () => {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object);
  assert.equal(
    validate(parse(readFileSync(join(REPO, 'examples', 'sample', 'modelops.yaml'), 'utf8'))),
    true,
    JSON.stringify(validate.errors),
  );
  assert.equal(validate(parse(BASE)), true, JSON.stringify(validate.errors));
  assert.equal(validate(parse(readFileSync(join(REPO, 'examples', 'broken', 'modelops.yaml'), 'utf8'))), false);
  const paths = (validate.errors ?? []).map((e) => e.instancePath);
  assert.ok(paths.includes('/train') && paths.includes('/deploy/targets/staging'), JSON.stringify(paths));
  assert.equal(validate(parse(BASE.replace('learningRate: 0.01', 'learningRate: 0'))), false);
  assert.equal(
    validate(parse(BASE.replace('{ type: dense, units: 16', '{ type: dense, rate: 0.5, units: 16'))),
    false,
    'layer variants are closed',
  );
});
