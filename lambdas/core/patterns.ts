/**
 * Glob patterns as IAM uses them: `*` matches any run of characters, `?` exactly one.
 *
 * Rules and requests are both patterns, so besides matching a concrete string we need two set questions:
 * does pattern A only ever match strings that pattern B matches (`covers`), and can two patterns ever match
 * the same string (`overlaps`). Both are answered exactly on the pattern text, with no action catalogue.
 */

type Token = { kind: 'lit'; ch: string } | { kind: 'one' } | { kind: 'any' };

function tokenize(pattern: string, caseInsensitive: boolean): Token[] {
  const out: Token[] = [];
  for (const raw of pattern) {
    if (raw === '*') {
      if (out.at(-1)?.kind !== 'any') out.push({ kind: 'any' });
    } else if (raw === '?') {
      out.push({ kind: 'one' });
    } else {
      out.push({ kind: 'lit', ch: caseInsensitive ? raw.toLowerCase() : raw });
    }
  }
  return out;
}

/** Options shared by the pattern questions. IAM actions compare case-insensitively, ARNs do not. */
export interface PatternOptions {
  readonly caseInsensitive?: boolean;
}

/** True when `value` (a concrete string) matches `pattern`. */
export function matches(pattern: string, value: string, opts: PatternOptions = {}): boolean {
  const p = tokenize(pattern, opts.caseInsensitive ?? false);
  const v = opts.caseInsensitive ? value.toLowerCase() : value;
  // Classic two-pointer glob match with backtracking on the last star.
  let pi = 0;
  let vi = 0;
  let star = -1;
  let mark = 0;
  while (vi < v.length) {
    const t = p[pi];
    if (t && (t.kind === 'one' || (t.kind === 'lit' && t.ch === v[vi]))) {
      pi++;
      vi++;
    } else if (t?.kind === 'any') {
      star = pi++;
      mark = vi;
    } else if (star >= 0) {
      pi = star + 1;
      vi = ++mark;
    } else {
      return false;
    }
  }
  while (p[pi]?.kind === 'any') pi++;
  return pi === p.length;
}

/**
 * True when every string matched by `inner` is also matched by `outer` (inner ⊆ outer).
 * Exact for `*`/`?` globs: a star in `inner` can only be absorbed by a star in `outer`.
 */
export function covers(outer: string, inner: string, opts: PatternOptions = {}): boolean {
  const o = tokenize(outer, opts.caseInsensitive ?? false);
  const i = tokenize(inner, opts.caseInsensitive ?? false);
  const memo = new Map<number, boolean>();
  const go = (a: number, b: number): boolean => {
    const key = a * (i.length + 1) + b;
    const cached = memo.get(key);
    if (cached !== undefined) return cached;
    let result: boolean;
    const ot = o[a];
    const it = i[b];
    if (ot === undefined) {
      result = it === undefined;
    } else if (ot.kind === 'any') {
      // outer star absorbs nothing, or absorbs one more token of inner (any kind).
      result = go(a + 1, b) || (it !== undefined && go(a, b + 1));
    } else if (it === undefined) {
      result = false;
    } else if (ot.kind === 'one') {
      // `?` covers a literal or a `?`, never a `*` (which may be empty or longer).
      result = it.kind !== 'any' && go(a + 1, b + 1);
    } else {
      result = it.kind === 'lit' && it.ch === ot.ch && go(a + 1, b + 1);
    }
    memo.set(key, result);
    return result;
  };
  return go(0, 0);
}

/** True when some string is matched by both patterns (their languages intersect). */
export function overlaps(a: string, b: string, opts: PatternOptions = {}): boolean {
  const x = tokenize(a, opts.caseInsensitive ?? false);
  const y = tokenize(b, opts.caseInsensitive ?? false);
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * (y.length + 1) + j;
    const cached = memo.get(key);
    if (cached !== undefined) return cached;
    const s = x[i];
    const t = y[j];
    let result: boolean;
    if (s === undefined && t === undefined) result = true;
    else if (s?.kind === 'any') result = go(i + 1, j) || (t !== undefined && go(i, j + 1));
    else if (t?.kind === 'any') result = go(i, j + 1) || (s !== undefined && go(i + 1, j));
    else if (s === undefined || t === undefined) result = false;
    else if (s.kind === 'lit' && t.kind === 'lit') result = s.ch === t.ch && go(i + 1, j + 1);
    else result = go(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return go(0, 0);
}

/** True when the text contains a glob wildcard. */
export function hasWildcard(text: string): boolean {
  return text.includes('*') || text.includes('?');
}
