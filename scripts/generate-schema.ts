/** Writes schemas/modelops.schema.json from server/engine/config/schema.ts (the one source of truth). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonSchemaDocument } from '../server/engine/config/schema';

export function schemaText(): string {
  return `${JSON.stringify(jsonSchemaDocument(), null, 2)}\n`;
}

export const SCHEMA_PATH = join(__dirname, '..', 'schemas', 'modelops.schema.json');

if (process.argv[1] && /generate-schema\.ts$/.test(process.argv[1])) {
  writeFileSync(SCHEMA_PATH, schemaText());
  process.stdout.write(`wrote ${SCHEMA_PATH}\n`);
}
