import { createRequire } from 'node:module';
import type { Ajv2020, ErrorObject } from 'ajv/dist/2020.js';
import { ID_PATTERN, idProblem } from '../model/ids.js';
import { PATTERN_MESSAGES } from './common.js';

const require = createRequire(import.meta.url);

/** One problem found in an input: a JSON path like `$.tasks[1].depends_on[0]` and what was expected. */
export interface Problem {
  path: string;
  message: string;
}

/**
 * A strict draft 2020-12 validator: unknown keywords and ill-formed schemas fail at compile time.
 * Union types are allowed (a command is a string or an array); tuples need not be closed, since an
 * argv has a program and then any number of arguments.
 */
export function createAjv(): Ajv2020 {
  // Loaded on first use: most commands never validate, and loading ajv is a large part of start-up.
  const { Ajv2020: Ajv } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  return new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, strictTuples: false, verbose: true });
}

/** `$` followed by `.key`, `["odd key"]` and `[index]` segments. */
export function jsonPath(segments: readonly (string | number)[]): string {
  let out = '$';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s)) out += `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Splits an ajv instancePath (a JSON Pointer) into segments, numbers where the data is an array. */
export function pointerSegments(pointer: string, data: unknown): (string | number)[] {
  if (pointer === '') return [];
  const out: (string | number)[] = [];
  let node: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      out.push(Number(key));
      node = node[Number(key)];
    } else {
      out.push(key);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return out;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string', number: 'a number', integer: 'an integer', boolean: 'a boolean',
  array: 'an array', object: 'an object', null: 'null',
};

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number';
  return TYPE_WORDS[typeof v] ?? typeof v;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s !== undefined && s.length <= 60 ? s : `${(s ?? String(v)).slice(0, 57)}...`;
}

/** Levenshtein distance, for "did you mean" on unknown keys. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

function unknownKey(key: string, allowed: string[]): string {
  const near = allowed.filter((k) => distance(k, key) <= Math.max(2, Math.floor(k.length / 3)));
  const hint = near.length > 0 ? `did you mean '${near[0]}'? ` : '';
  return `unknown key '${key}' (${hint}allowed: ${allowed.join(', ')})`;
}

function patternMessage(pattern: string, value: unknown): string {
  const words = PATTERN_MESSAGES[pattern] ?? `must match ${pattern}`;
  if (pattern === ID_PATTERN.source) {
    const why = idProblem(value);
    return why === null ? words : `${words}: ${why}`;
  }
  return words;
}

/** One ajv error in words, or null for an error that only repeats others (propertyNames summary). */
function describeError(e: ErrorObject, data: unknown): Problem | null {
  const segs = pointerSegments(e.instancePath, data);
  const p = e.params as Record<string, unknown>;
  const value: unknown = e.data;
  if (e.propertyName !== undefined) {
    // An error about a key itself: point at the key.
    const msg = e.keyword === 'pattern' ? patternMessage(String(p.pattern), e.propertyName) : (e.message ?? 'is not allowed');
    return { path: jsonPath([...segs, e.propertyName]), message: `key ${show(e.propertyName)}: ${msg}` };
  }
  switch (e.keyword) {
    case 'propertyNames':
      return null;
    case 'additionalProperties':
    case 'unevaluatedProperties': {
      const key = String(p.additionalProperty ?? p.unevaluatedProperty);
      const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
      return { path: jsonPath([...segs, key]), message: unknownKey(key, Object.keys(props)) };
    }
    case 'required':
      return { path: jsonPath(segs), message: `missing required key '${String(p.missingProperty)}'` };
    case 'type': {
      const types = ([] as string[]).concat(p.type as string | string[]);
      const words = types.map((t) => TYPE_WORDS[t] ?? t);
      const list = words.length > 1 ? `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}` : words[0];
      return { path: jsonPath(segs), message: `must be ${list} (got ${typeOf(value)})` };
    }
    case 'enum':
      return { path: jsonPath(segs), message: `must be one of ${(p.allowedValues as unknown[]).map((v) => show(v)).join(', ')} (got ${show(value)})` };
    case 'const':
      return { path: jsonPath(segs), message: `must be ${show(p.allowedValue)} (got ${show(value)})` };
    case 'pattern':
      return { path: jsonPath(segs), message: patternMessage(String(p.pattern), value) };
    case 'minLength':
      return { path: jsonPath(segs), message: p.limit === 1 ? 'must not be empty' : `must have at least ${String(p.limit)} characters` };
    case 'minItems':
      return { path: jsonPath(segs), message: p.limit === 1 ? 'must not be empty' : `must have at least ${String(p.limit)} items` };
    case 'uniqueItems': {
      const [first, dup] = [Math.min(p.i as number, p.j as number), Math.max(p.i as number, p.j as number)];
      const item = Array.isArray(value) ? show(value[dup]) : '';
      return { path: jsonPath([...segs, dup]), message: `duplicate item ${item} (same as ${jsonPath([...segs, first])})` };
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path: jsonPath(segs), message: `must be ${String(p.comparison)} ${String(p.limit)} (got ${show(value)})` };
    default:
      return { path: jsonPath(segs), message: e.message ?? `fails ${e.keyword}` };
  }
}

/** Turns ajv's errors into problems with JSON paths and messages in words, without repeats. */
export function describeErrors(errors: readonly ErrorObject[] | null | undefined, data: unknown): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    const p = describeError(e, data);
    if (p === null) continue;
    const key = `${p.path}\0${p.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(p);
    }
  }
  return out;
}

/** Pre-order position of every path of a JSON value: the order a reader meets them in the file. */
/** The path without its last segment (`$.a[0].b` → `$.a[0]`); the root is its own parent. */
function parentPath(p: string): string {
  return p.replace(/(\.[^.[]*|\[[^\]]*\])$/, '');
}

/**
 * Pre-order rank of the nodes on the way to each of `wanted` (paths and their ancestors). Only those
 * are walked: giving every node of a deeply nested input its full path would take time and memory
 * quadratic in the depth (a 4,000-level spec took 1.4 s and 450 MB; 20,000 levels ran out of memory).
 */
function documentOrder(root: unknown, wanted: readonly string[]): Map<string, number> {
  const prefixes = new Set<string>();
  for (const w of wanted) {
    for (let p = w; !prefixes.has(p); p = parentPath(p)) {
      prefixes.add(p);
      if (parentPath(p) === p) break;
    }
  }
  const order = new Map<string, number>();
  const stack: { node: unknown; path: string }[] = [{ node: root, path: '$' }];
  const seen = new WeakSet<object>();
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    order.set(path, order.size);
    if (node === null || typeof node !== 'object' || seen.has(node)) continue;
    seen.add(node);
    const entries: [string | number, unknown][] = Array.isArray(node) ? node.map((v, i) => [i, v]) : Object.entries(node);
    for (let i = entries.length - 1; i >= 0; i--) {
      const child = path + jsonPath([entries[i]![0]]).slice(1);
      if (prefixes.has(child)) stack.push({ node: entries[i]![1], path: child });
    }
  }
  return order;
}

/**
 * Orders problems as the input reads top to bottom (a problem about a missing key sits at its
 * parent); without the input, by path with indices compared as numbers. The sort is stable.
 */
export function sortProblems(problems: Problem[], data?: unknown): Problem[] {
  if (problems.length < 2) return problems;
  if (data !== undefined) {
    const order = documentOrder(data, problems.map((p) => p.path));
    const rank = (path: string): number => {
      for (let p = path; ; ) {
        const r = order.get(p);
        if (r !== undefined) return r;
        const parent = parentPath(p);
        if (parent === p) return 0;
        p = parent;
      }
    };
    return [...problems].sort((a, b) => rank(a.path) - rank(b.path));
  }
  const split = (path: string) => path.split(/(\d+)/).map((s, i) => (i % 2 === 1 ? Number(s) : s));
  return [...problems].sort((a, b) => {
    const x = split(a.path);
    const y = split(b.path);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (x[i] === y[i]) continue;
      if (typeof x[i] === 'number' && typeof y[i] === 'number') return (x[i] as number) - (y[i] as number);
      return String(x[i]) < String(y[i]) ? -1 : 1;
    }
    return x.length - y.length;
  });
}
