/** Small text helpers: did-you-mean, secret detection and editor positions. */
import type { Position } from './types';

/** The lines of a text, read one at a time (without their line breaks). */
export interface LineSource {
  readonly count: number;
  at(line: number): string;
}

/**
 * `pos` moved onto the document: a client may send a line past the end, a negative, fractional
 * or missing number; the editor features answer for the nearest real place instead of failing.
 */
export function clampPosition(lines: LineSource, pos: Position | undefined): Position {
  const whole = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) ? Math.max(0, Math.floor(n)) : 0);
  const line = Math.min(whole(pos?.line), Math.max(0, lines.count - 1));
  return { line, character: Math.min(whole(pos?.character), lines.count > 0 ? lines.at(line).length : 0) };
}

export function levenshtein(a: string, b: string, max = 64): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < best) best = v;
    }
    if (best > max) return max + 1;
    prev = cur;
  }
  return prev[b.length];
}

/** The closest candidate within a distance that still reads as a typo, or undefined. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > 100) return undefined;
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (c.toLowerCase() === lower) return c;
    const limit = Math.max(1, Math.floor(Math.max(c.length, word.length) / 3));
    const d = levenshtein(lower, c.toLowerCase(), limit);
    if (d <= limit && d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** Keys that hold a credential (tokenSecret names one, which is fine). */
export function isSecretKey(key: string): boolean {
  if (key === 'tokenSecret' || key === 'webhookSecret') return false; // they hold a secret's name
  return /(^|[_-]|[a-z])(token|password|passwd|pwd|api[_-]?key|apikey|secret|credentials?|bearer|authorization|private[_-]?key)$/i.test(
    key,
  );
}

const SECRET_VALUE_PATTERNS: RegExp[] = [
  /^bearer\s+\S{8,}/i,
  /\b(ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}/,
  /\bsk-[A-Za-z0-9_-]{20,}/,
  /\bAKIA[0-9A-Z]{16}\b/,
  /\bxox[abprs]-[A-Za-z0-9-]{10,}/,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}/,
];

/** Whether a string value looks like a credential (known token shapes or long random text). */
export function looksLikeSecret(value: string, allowRandom: boolean): boolean {
  if (value.length < 16 || value.length > 4096) return false;
  if (SECRET_VALUE_PATTERNS.some((re) => re.test(value))) return true;
  if (!allowRandom) return false;
  if (!/^[A-Za-z0-9+_=-]{32,}$/.test(value)) return false;
  if (!/[0-9]/.test(value) || !/[A-Za-z]/.test(value)) return false;
  return entropy(value) > 3.5;
}

function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Whether a URL carries a credential (user:password@ or a token-like query parameter). */
export function urlCarriesSecret(u: URL): boolean {
  if (u.password || u.username) return true;
  for (const k of u.searchParams.keys())
    if (isSecretKey(k) || /^(key|sig|signature|access_token|code)$/i.test(k)) return true;
  return false;
}
