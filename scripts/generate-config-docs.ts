/**
 * Writes docs/config.md, the `modelops.yaml` reference, from server/engine/config/schema.ts —
 * the same source the JSON Schema, the validator, completion and hover come from.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configSchema, defaultText, type SchemaNode } from '../server/engine/config/schema';

export const CONFIG_DOCS_PATH = join(__dirname, '..', 'docs', 'config.md');

function typeOf(node: SchemaNode): string {
  switch (node.kind) {
    case 'string':
      return node.enum ? node.enum.map((v) => `\`${v}\``).join(' \\| ') : 'string';
    case 'number':
    case 'integer': {
      const range: string[] = [];
      if (node.enum) return node.enum.map((v) => `\`${v}\``).join(' \\| ');
      if (node.minimum !== undefined) range.push(`≥ ${node.minimum}`);
      if (node.exclusiveMinimum !== undefined) range.push(`> ${node.exclusiveMinimum}`);
      if (node.maximum !== undefined) range.push(`≤ ${node.maximum}`);
      if (node.exclusiveMaximum !== undefined) range.push(`< ${node.exclusiveMaximum}`);
      return `${node.kind}${range.length ? ` (${range.join(', ')})` : ''}`;
    }
    case 'boolean':
      return 'boolean';
    case 'array':
      return `list of ${typeOf(node.items)}`;
    case 'object':
      return node.additionalProperties
        ? `map of ${node.keyDoc ?? 'name'} → ${typeOf(node.additionalProperties)}`
        : 'object';
    case 'tagged':
      return `object, by \`${node.tag}\`: ${Object.keys(node.variants)
        .map((v) => `\`${v}\``)
        .join(', ')}`;
    case 'union':
      return node.anyOf.map(typeOf).join(' or ');
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

function section(path: string, node: SchemaNode, required: boolean, out: string[]): void {
  const heading = '#'.repeat(Math.min(4, 2 + path.split('.').length - 1));
  out.push(`${heading} \`${path}\`${required ? ' (required)' : ''}`, '');
  const def = defaultText(node);
  out.push(`Type: ${typeOf(node)}${def !== undefined ? ` · default: ${def}` : ''}`, '');
  out.push(oneLine(node.doc), '');
  out.push('```yaml', node.example, '```', '');
  const children = (n: SchemaNode, prefix: string): void => {
    if (n.kind === 'object') {
      for (const [key, child] of Object.entries(n.properties))
        section(`${prefix}.${key}`, child, n.required?.includes(key) ?? false, out);
      if (n.additionalProperties && n.additionalProperties.kind === 'object')
        children(n.additionalProperties, `${prefix}.<${n.keyDoc ?? 'name'}>`);
    } else if (n.kind === 'array') {
      children(n.items, n.items.kind === 'tagged' ? prefix : `${prefix}[]`);
    } else if (n.kind === 'tagged') {
      for (const [tag, variant] of Object.entries(n.variants)) children(variant, `${prefix}[${n.tag}: ${tag}]`);
    }
  };
  children(node, path);
}

export function configDocsText(): string {
  const out: string[] = [
    '# `modelops.yaml` reference',
    '',
    '<!-- Generated from server/engine/config/schema.ts by `npx tsx scripts/generate-config-docs.ts`; do not edit by hand. -->',
    '',
    'Schema version 1. The editor checks the file as you type (syntax, schema and meaning: files, columns,',
    'layers against classes, metrics against the task, gate expressions, inline secrets); hover any key for',
    'the text below. The JSON Schema for other tools is `schemas/modelops.schema.json`.',
    '',
  ];
  for (const [key, node] of Object.entries(configSchema.properties))
    section(key, node, configSchema.required?.includes(key) ?? false, out);
  return out.join('\n').replace(/\n{3,}/g, '\n\n');
}

if (process.argv[1] && /generate-config-docs\.ts$/.test(process.argv[1])) {
  writeFileSync(CONFIG_DOCS_PATH, configDocsText());
  process.stdout.write(`wrote ${CONFIG_DOCS_PATH}\n`);
}
