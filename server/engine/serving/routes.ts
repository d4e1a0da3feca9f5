/**
 * The model server's route matcher: a table of method + path pattern (`/v2/models/:model/infer`)
 * + access, matched against the raw request path. It knows nothing of HTTP objects, so the table
 * in server.ts is the one place that says which routes exist and which need the token, and
 * whether an unmatched request is a 404 (no such path) or a 405 (the path exists, the method
 * does not; with the methods it has, for the Allow header).
 */

/**
 * Who may call a route: `public` never needs the token (health checks, the identity proof);
 * `open` needs it only on a server that listens beyond this machine; `token` always needs it
 * (the management API).
 */
export type RouteAccess = 'public' | 'open' | 'token';

export interface Route<H> {
  method: string;
  /** Literal segments and `:name` parameters, e.g. `/v2/models/:model/versions/:version/infer`. */
  path: string;
  access: RouteAccess;
  handler: H;
}

export type RouteMatch<H> =
  | { kind: 'found'; route: Route<H>; params: Record<string, string> }
  /** The path exists for other methods: `allow` lists them (405), `access` is the strictest of those routes. */
  | { kind: 'method'; allow: string[]; access: RouteAccess }
  /** No route has this path (404); `access` is 'token' under a management prefix, else 'open'. */
  | { kind: 'none'; access: RouteAccess }
  /** A segment is not valid percent-encoding (400). */
  | { kind: 'bad-url' };

interface Compiled<H> {
  route: Route<H>;
  /** Per segment: the literal to compare, or null for a parameter. */
  literals: Array<string | null>;
  names: Array<string | null>;
}

const RANK: Record<RouteAccess, number> = { public: 0, open: 1, token: 2 };

/**
 * Splits the raw path without resolving dot segments, so "../" can never reach a name; one
 * trailing slash is ignored; each segment is percent-decoded on its own (so "%2F" stays inside
 * its segment). Null when a segment is not valid percent-encoding.
 */
export function pathSegments(rawUrl: string): string[] | null {
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const parts = path.split('/').slice(1);
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  try {
    for (let i = 0; i < parts.length; i++) if (parts[i].includes('%')) parts[i] = decodeURIComponent(parts[i]);
    return parts;
  } catch {
    return null;
  }
}

export class RouteTable<H> {
  /** Routes by segment count, in table order. */
  private readonly byLength = new Map<number, Compiled<H>[]>();
  private readonly guarded: string[][];

  /**
   * `guardedPrefixes`: paths (e.g. `/v2/repository`) below which every route must be `token`
   * (checked here, so a route cannot be added there unprotected) and an unknown path still asks
   * for the token before it is told 404.
   */
  constructor(
    readonly routes: ReadonlyArray<Route<H>>,
    guardedPrefixes: readonly string[] = [],
  ) {
    this.guarded = guardedPrefixes.map((p) => p.split('/').slice(1));
    const seen = new Set<string>();
    for (const route of routes) {
      if (!route.path.startsWith('/')) throw new Error(`Route path '${route.path}' must start with '/'.`);
      const segs = route.path === '/' ? [] : route.path.split('/').slice(1);
      const literals = segs.map((s) => (s.startsWith(':') ? null : s));
      const names = segs.map((s) => (s.startsWith(':') ? s.slice(1) : null));
      const shape = `${route.method} /${literals.map((l) => l ?? ':').join('/')}`;
      if (seen.has(shape)) throw new Error(`Route ${route.method} ${route.path} is in the table twice.`);
      seen.add(shape);
      if (route.access !== 'token' && this.underGuard(literals))
        throw new Error(`Route ${route.method} ${route.path} is under a management prefix but not token-protected.`);
      const list = this.byLength.get(segs.length) ?? [];
      list.push({ route, literals, names });
      this.byLength.set(segs.length, list);
    }
  }

  /** Whether segments (literals; null = a parameter, which matches nothing literal) start with a guarded prefix. */
  private underGuard(segs: ReadonlyArray<string | null>): boolean {
    return this.guarded.some((g) => g.length <= segs.length && g.every((s, i) => segs[i] === s));
  }

  match(method: string, rawUrl: string): RouteMatch<H> {
    const segs = pathSegments(rawUrl);
    if (!segs) return { kind: 'bad-url' };
    const candidates = this.byLength.get(segs.length);
    let allow: string[] | null = null;
    let access: RouteAccess = 'public';
    if (candidates) {
      for (const c of candidates) {
        let ok = true;
        for (let i = 0; i < segs.length; i++) {
          const lit = c.literals[i];
          if (lit !== null && lit !== segs[i]) {
            ok = false;
            break;
          }
        }
        if (!ok) continue;
        if (c.route.method === method) {
          const params: Record<string, string> = {};
          for (let i = 0; i < segs.length; i++) {
            const n = c.names[i];
            if (n !== null) params[n] = segs[i];
          }
          return { kind: 'found', route: c.route, params };
        }
        allow ??= [];
        if (!allow.includes(c.route.method)) allow.push(c.route.method);
        if (RANK[c.route.access] > RANK[access]) access = c.route.access;
      }
    }
    if (allow) return { kind: 'method', allow, access };
    return { kind: 'none', access: this.underGuard(segs) ? 'token' : 'open' };
  }
}
