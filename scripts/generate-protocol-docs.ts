/**
 * Writes docs/protocol.md — every custom request and notification between the extension and the
 * sidecar, with its direction, whether it needs a trusted workspace, and the shape of its params
 * and result — from server/protocol/ itself, through the TypeScript checker. A test fails when the
 * file is stale, so a change to the wire shows up in review (`npm run generate`).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import * as protocol from '../server/protocol';

const ROOT = join(__dirname, '..');
export const PROTOCOL_DOCS_PATH = join(ROOT, 'docs', 'protocol.md');
const DOMAINS = ['core', 'workspace', 'registry', 'training', 'deploy'] as const;

const FLAGS =
  ts.TypeFormatFlags.NoTruncation |
  ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType |
  ts.TypeFormatFlags.WriteArrayAsGenericType;

/** Type text without machine-specific `import("/abs/path").` qualifiers, escaped for a table cell. */
function typeText(checker: ts.TypeChecker, type: ts.Type, at: ts.Node): string {
  return checker.typeToString(type, at, FLAGS).replace(/import\("[^"]*"\)\./g, '');
}

const cell = (text: string) => `\`${text.replace(/\|/g, '\\|')}\``;

/** The type text of a phantom field (`_params` / `_result`), one level of properties expanded. */
function shape(checker: ts.TypeChecker, type: ts.Type, at: ts.Node): string {
  const name = typeText(checker, type, at);
  const props = type.isUnion() || type.getCallSignatures().length ? [] : checker.getPropertiesOfType(type);
  const isArray = checker.isArrayType(type);
  if (props.length === 0 || isArray || /^(string|number|boolean|null|void|unknown)$/.test(name)) return cell(name);
  const fields = props.map((p) => {
    const t = checker.getTypeOfSymbolAtLocation(p, at);
    const optional = (p.flags & ts.SymbolFlags.Optional) !== 0;
    return cell(`${p.name}${optional ? '?' : ''}: ${typeText(checker, t, at).replace(/ \| undefined$/, '')}`);
  });
  return `${cell(name)}<br>${fields.join('<br>')}`;
}

export function protocolDocsText(): string {
  const files = DOMAINS.map((d) => join(ROOT, 'server', 'protocol', `${d}.ts`));
  const program = ts.createProgram(files, {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const out: string[] = [
    '# The extension ↔ sidecar protocol',
    '',
    'Generated from `server/protocol/` by `scripts/generate-protocol-docs.ts` (`npm run generate`); a test',
    'fails when this file is stale, so every change to the wire shows up in review. Methods are',
    '`modelops/<domain>/<name>`, one domain per file of `server/protocol/`. Requests marked *trusted* are',
    'refused by the sidecar in an untrusted workspace (declared on the request, enforced in one place).',
    'Standard LSP messages (diagnostics, completion, hover, code actions, symbols, definition,',
    '`$/progress`, cancellation) are not listed.',
    '',
  ];
  for (const [i, domain] of DOMAINS.entries()) {
    const source = program.getSourceFile(files[i]);
    if (!source) throw new Error(`cannot read ${files[i]}`);
    const module = checker.getSymbolAtLocation(source);
    const exports = module ? checker.getExportsOfModule(module) : [];
    const runtime = protocol[domain] as Record<string, unknown>;
    const rows: string[] = [];
    for (const sym of exports) {
      const value = runtime[sym.name] as
        { kind?: string; method?: string; requiresTrust?: boolean; direction?: string } | undefined;
      if (!value || (value.kind !== 'request' && value.kind !== 'notification')) continue;
      const decl = sym.valueDeclaration ?? sym.declarations?.[0];
      if (!decl) continue;
      const type = checker.getTypeOfSymbolAtLocation(sym, decl);
      const field = (n: string) => {
        const p = type.getProperty(n);
        return p ? shape(checker, checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(p, decl)), decl) : '—';
      };
      const kind =
        value.kind === 'request'
          ? `request${value.requiresTrust ? ' · *trusted*' : ''}`
          : value.direction === 'toServer'
            ? 'notification → sidecar'
            : 'notification → extension';
      rows.push(
        `| \`${value.method}\` | ${kind} | ${field('_params')} | ${value.kind === 'request' ? field('_result') : '—'} |`,
      );
    }
    out.push(
      `## ${domain}`,
      '',
      '| method | kind | params | result |',
      '| --- | --- | --- | --- |',
      ...rows.sort(),
      '',
    );
  }
  return out.join('\n');
}

if (require.main === module) {
  writeFileSync(PROTOCOL_DOCS_PATH, protocolDocsText());
  console.log(`wrote ${PROTOCOL_DOCS_PATH}`);
}
