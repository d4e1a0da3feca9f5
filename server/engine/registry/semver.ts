/** Semantic versions (MAJOR.MINOR.PATCH only) and the bump rules of the registry. */
import { ModelOpsError } from '../errors';

const SEMVER = /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/;

export type SemverTuple = [number, number, number];

export function parseSemver(v: string): SemverTuple | null {
  const m = SEMVER.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

export function isValidSemver(v: string): boolean {
  return parseSemver(v) !== null;
}

/** Validates a user-given version and returns its parts. */
export function requireSemver(v: string, what = 'version'): SemverTuple {
  const t = typeof v === 'string' ? parseSemver(v.trim().replace(/^v(?=\d)/, '')) : null;
  if (!t) {
    throw new ModelOpsError(
      'invalid-version',
      `Invalid ${what} '${String(v)}'.`,
      'Use MAJOR.MINOR.PATCH with plain numbers, e.g. 1.2.0.',
    );
  }
  return t;
}

export function compareSemver(a: string, b: string): number {
  const x = parseSemver(a);
  const y = parseSemver(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

export type BumpKind = 'major' | 'minor' | 'patch';

export interface BumpBasis {
  version: string;
  /** Canonical JSON of the signature, or null when unknown. */
  signature: string | null;
  artifactDigest: string;
}

/**
 * What changed relative to the latest version: the signature (when both are known) → major;
 * the artifact → minor; neither (metadata only) → patch.
 */
export function bumpKind(latest: BumpBasis, next: { signature: string | null; artifactDigest: string }): BumpKind {
  if (latest.signature !== null && next.signature !== null && latest.signature !== next.signature) return 'major';
  if (latest.artifactDigest !== next.artifactDigest) return 'minor';
  return 'patch';
}

export function bump(version: string, kind: BumpKind): string {
  const [ma, mi, pa] = requireSemver(version);
  if (kind === 'major') return `${ma + 1}.0.0`;
  if (kind === 'minor') return `${ma}.${mi + 1}.0`;
  return `${ma}.${mi}.${pa + 1}`;
}

/** The first version of a model. */
export const FIRST_VERSION = '1.0.0';

/** The version a new registration gets when none was given. */
export function nextVersion(
  latest: BumpBasis | null,
  next: { signature: string | null; artifactDigest: string },
): string {
  return latest ? bump(latest.version, bumpKind(latest, next)) : FIRST_VERSION;
}

/** JSON with sorted keys, so equal values compare equal as strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value as Record<string, unknown>).sort())
      out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}
