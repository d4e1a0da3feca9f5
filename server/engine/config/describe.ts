/** What hover and completion say about a schema node: its type and its default, for this file's task. */
import { childSchema, configSchema, type SchemaNode } from './schema';

/** The schema of the key at `path` (`[]` steps into list items), or undefined off the schema. */
export function schemaAt(path: string[], tag?: string): SchemaNode | undefined {
  let s: SchemaNode | undefined = configSchema;
  for (let i = 0; i < path.length && s; i++) s = childSchema(s, path[i], i === path.length - 1 ? tag : undefined);
  return s;
}

export function typeText(s: SchemaNode): string {
  switch (s.kind) {
    case 'string':
      return s.enum ? s.enum.join(' | ') : 'string';
    case 'array':
      return `list of ${typeText(s.items)}`;
    case 'tagged':
      return Object.keys(s.variants).join(' | ');
    case 'union':
      return s.anyOf.map(typeText).join(' | ');
    case 'object':
      return 'map';
    default:
      return s.kind;
  }
}

const isTask = (s: SchemaNode, task: string | undefined): task is string =>
  task !== undefined && s.defaultByTask !== undefined && Object.hasOwn(s.defaultByTask, task);

/** The default the normalised config gets for this node when the file's task is `task`. */
export function defaultOf(s: SchemaNode, task?: string): unknown {
  if (isTask(s, task)) return s.defaultByTask?.[task as keyof typeof s.defaultByTask];
  return s.default;
}

/**
 * The default as hover shows it: the task's own when the file names one, every task's otherwise,
 * and the condition for defaults that apply only beside some sibling value (`port` for `type: local`).
 */
export function defaultText(s: SchemaNode, task?: string): string | undefined {
  const code = (v: unknown) => `\`${JSON.stringify(v)}\``;
  if (s.defaultByTask) {
    if (isTask(s, task)) return `default ${code(defaultOf(s, task))} (${task})`;
    return `default ${Object.entries(s.defaultByTask)
      .map(([t, v]) => `${code(v)} (${t})`)
      .join(', ')}`;
  }
  if (s.default === undefined) return undefined;
  const when = s.defaultWhen
    ? ` when ${Object.entries(s.defaultWhen)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')}`
    : '';
  return `default ${code(s.default)}${when}`;
}
