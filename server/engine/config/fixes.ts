/** Quick fixes for diagnostics that carry `data`: did-you-mean, add a required key, move a secret out, nearest data file. */
import { LineIndex } from './source';
import type { LineSource } from './text';
import type { ConfigDiagnostic, Position, Range } from './types';

export interface TextEdit {
  range: Range;
  newText: string;
}

export interface CodeAction {
  title: string;
  kind: 'quickfix';
  diagnostic: ConfigDiagnostic;
  edits: TextEdit[];
  isPreferred?: boolean;
}

/** Diagnostics and ranges come back from the client: use only well-formed ones. */
function isRange(r: unknown): r is Range {
  const isPos = (p: unknown): boolean => {
    const q = p as Partial<Position> | null | undefined;
    return (
      typeof q === 'object' &&
      q !== null &&
      Number.isInteger(q.line) &&
      Number.isInteger(q.character) &&
      (q.line as number) >= 0 &&
      (q.character as number) >= 0
    );
  };
  const x = r as Partial<Range> | null | undefined;
  return typeof x === 'object' && x !== null && isPos(x.start) && isPos(x.end);
}

function overlaps(a: Range, b: Range): boolean {
  const before = (p: Position, q: Position) => p.line < q.line || (p.line === q.line && p.character <= q.character);
  return before(a.start, b.end) && before(b.start, a.end);
}

/** Whether a sibling `tokenSecret:` already exists in the block holding line `line`. */
function hasSiblingTokenSecret(lines: LineSource, line: number, indent: number): boolean {
  for (const dir of [-1, 1]) {
    for (let i = line + dir; i >= 0 && i < lines.count; i += dir) {
      const l = lines.at(i);
      if (/^\s*(#.*)?$/.test(l)) continue;
      const ind = /^\s*/.exec(l)?.[0].length ?? 0;
      if (ind < indent) break;
      if (ind === indent && /^\s*tokenSecret\s*:/.test(l)) return true;
    }
  }
  return false;
}

/** The lines of `text` split at LF only (a CR before it stays), each sliced when read. */
function rawLines(text: string): LineSource {
  const starts = LineIndex.of(text).lineStarts;
  return {
    count: starts.length,
    at: (i) => text.slice(starts[i], i + 1 < starts.length ? starts[i + 1] - 1 : text.length),
  };
}

/** Code actions for the diagnostics that overlap `range`. */
export function codeActions(text: string, range: Range, diagnostics: ConfigDiagnostic[]): CodeAction[] {
  const out: CodeAction[] = [];
  let lines: LineSource | undefined;
  if (!isRange(range)) return out;
  for (const d of diagnostics) {
    if (!d || !isRange(d.range) || !overlaps(d.range, range) || !d.data || typeof d.data !== 'object') continue;
    const data = d.data;
    const suggestion = typeof data.suggestion === 'string' ? data.suggestion : undefined;
    if (suggestion !== undefined) {
      const title =
        d.code === 'unknown-key'
          ? `Rename '${String(data.key)}' to '${suggestion}'`
          : `Change to ${suggestion.startsWith('"') ? suggestion : `'${suggestion}'`}`;
      out.push({
        title,
        kind: 'quickfix',
        diagnostic: d,
        edits: [{ range: d.range, newText: suggestion }],
        isPreferred: true,
      });
      continue;
    }
    switch (d.code) {
      case 'missing-key': {
        const ins = data.insert as { position?: Position; text?: unknown } | undefined;
        if (!ins || typeof ins.text !== 'string' || !isRange({ start: ins.position, end: ins.position })) break;
        out.push({
          title: `Add required key '${String(data.key)}'`,
          kind: 'quickfix',
          diagnostic: d,
          edits: [{ range: { start: ins.position as Position, end: ins.position as Position }, newText: ins.text }],
          isPreferred: true,
        });
        break;
      }
      case 'inline-secret': {
        if (data.replace !== true) break;
        const name = typeof data.secretName === 'string' ? data.secretName : 'default';
        const title = `Move the secret out: use tokenSecret: ${name} (then run ModelOps: Set Endpoint Token)`;
        if (data.key === 'tokenSecret') {
          out.push({
            title,
            kind: 'quickfix',
            diagnostic: d,
            edits: [{ range: d.range, newText: name }],
            isPreferred: true,
          });
          break;
        }
        lines ??= rawLines(text);
        const line = d.range.start.line;
        // A stale diagnostic (from an older version of the text) may point past the end.
        if (line >= lines.count) break;
        if (hasSiblingTokenSecret(lines, line, d.range.start.character) && d.range.end.line === line) {
          // The name is already there: drop the secret's line entirely.
          const end: Position =
            line + 1 < lines.count ? { line: line + 1, character: 0 } : { line, character: lines.at(line).length };
          out.push({
            title: 'Remove the inline secret (tokenSecret is already set)',
            kind: 'quickfix',
            diagnostic: d,
            edits: [{ range: { start: { line, character: 0 }, end }, newText: '' }],
            isPreferred: true,
          });
        } else
          out.push({
            title,
            kind: 'quickfix',
            diagnostic: d,
            edits: [{ range: d.range, newText: `tokenSecret: ${name}` }],
            isPreferred: true,
          });
        break;
      }
      case 'webhook-secret': {
        const from = data.replaceFrom as Position | undefined;
        if (!from || typeof data.secretName !== 'string') break;
        const name = data.secretName;
        out.push({
          title: `Move the URL out: use webhookSecret: ${name} (the URL goes in MODELOPS_WEBHOOK_${name.toUpperCase()})`,
          kind: 'quickfix',
          diagnostic: d,
          edits: [{ range: { start: from, end: d.range.end }, newText: `webhookSecret: ${name}` }],
          isPreferred: true,
        });
        break;
      }
      case 'file-not-found': {
        // One fix per nearest existing data file; the first is preferred. Quoted when plain YAML would misread it.
        const candidates = Array.isArray(data.candidates)
          ? data.candidates.filter((c): c is string => typeof c === 'string').slice(0, 5)
          : [];
        candidates.forEach((c, i) =>
          out.push({
            title: `Change to '${c}'`,
            kind: 'quickfix',
            diagnostic: d,
            edits: [{ range: d.range, newText: /^[\w./-]+$/.test(c) ? c : JSON.stringify(c) }],
            isPreferred: i === 0,
          }),
        );
        break;
      }
      case 'last-layer-units':
        if (typeof data.expected === 'number')
          out.push({
            title: `Set units to ${data.expected}`,
            kind: 'quickfix',
            diagnostic: d,
            edits: [{ range: d.range, newText: String(data.expected) }],
            isPreferred: true,
          });
        break;
      case 'last-layer-activation':
        if (typeof data.expected === 'string' && data.hasActivation === true)
          out.push({
            title: `Set activation to ${data.expected}`,
            kind: 'quickfix',
            diagnostic: d,
            edits: [{ range: d.range, newText: data.expected }],
            isPreferred: true,
          });
        break;
    }
  }
  return out;
}
