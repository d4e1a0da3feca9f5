import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CONFIG_DOCS_PATH, configDocsText } from '../../../scripts/generate-config-docs';
import { configSchema } from '../../../server/engine/config/schema';

test('docs/config.md is exactly what schema.ts generates (run `npx tsx scripts/generate-config-docs.ts`)', () => {
  assert.equal(readFileSync(CONFIG_DOCS_PATH, 'utf8'), configDocsText());
});

test('the reference documents every top-level section of the schema', () => {
  const text = configDocsText();
  for (const key of Object.keys(configSchema.properties)) assert.match(text, new RegExp(`^## \`${key}\``, 'm'));
  assert.match(text, /#### `deploy\.targets\.<target name>\.tokenSecret`/);
});
