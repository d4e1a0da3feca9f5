/** Reading a log from a time on: the `--since` / `monitor.since` forms, shared by monitoring and retraining from traffic. */
import { ModelOpsError } from '../errors';
import type { Registry } from '../registry/types';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * An ISO time (`2024-05-01`, `2024-05-01T12:00:00Z`) or a duration back from `now` (`90m`, `12h`,
 * `7d`, `2w`; s/m/h/d/w), in ms since the epoch. `what` names the flag or key in the error.
 */
export function parseSince(text: string, now: Date = new Date(), what = '--since'): number {
  const d = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(text.trim());
  if (d) return now.getTime() - Number(d[1]) * UNIT_MS[d[2]];
  const t = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : NaN;
  if (Number.isNaN(t)) {
    throw new ModelOpsError(
      'bad-since',
      `${what} '${text}' is neither an ISO time nor a duration.`,
      'Write an ISO time (2024-05-01 or 2024-05-01T12:00:00Z) or a duration back from now: 90m, 12h, 7d, 2w.',
    );
  }
  return t;
}

/**
 * `deploy` (when the target's active deployment of `model` went out; refused when there is
 * none) or one of parseSince's forms, in ms since the epoch.
 */
export function resolveSince(
  text: string,
  at: { registry: Pick<Registry, 'activeDeployment'>; target: string; model: string },
  now: Date = new Date(),
  what = '--since',
): number {
  if (text.trim() !== 'deploy') return parseSince(text, now, what);
  const active = at.registry.activeDeployment(at.target, at.model);
  if (!active)
    throw new ModelOpsError(
      'no-deployment',
      `${what} deploy: ${at.model} has no active deployment on '${at.target}'.`,
      'Deploy a version first, or start from an ISO time or a duration (7d).',
    );
  return Date.parse(active.at);
}
