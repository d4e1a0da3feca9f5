/**
 * docs/protocol.md is generated from server/protocol/ through the TypeScript checker (several
 * seconds, hence a slow test): any change to the wire shows up in review as a change of that file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PROTOCOL_DOCS_PATH, protocolDocsText } from '../../../scripts/generate-protocol-docs';

test('docs/protocol.md is what server/protocol/ generates (run `npm run generate`)', () => {
  assert.equal(readFileSync(PROTOCOL_DOCS_PATH, 'utf8'), protocolDocsText());
});
