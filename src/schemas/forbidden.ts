import { jsonPath, type Problem } from './ajv.js';

/**
 * Keys that could reach an object's prototype when input is copied or merged. State content is data,
 * never code (DESIGN §8): input carrying them MUST be refused as a whole, never cleaned up.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** A path as a chain of parents, so pushing a child costs O(1) however deep the input is. */
interface PathLink {
  key: string | number;
  parent: PathLink | null;
}

function pathOf(link: PathLink | null): (string | number)[] {
  const out: (string | number)[] = [];
  for (let l = link; l; l = l.parent) out.push(l.key);
  return out.reverse();
}

/** Every forbidden key anywhere in a JSON value, with its path. Iterative and linear, so deep input neither overflows the stack nor takes quadratic time. */
export function findForbiddenKeys(root: unknown): Problem[] {
  const out: Problem[] = [];
  const stack: { node: unknown; at: PathLink | null }[] = [{ node: root, at: null }];
  const seen = new WeakSet<object>();
  while (stack.length > 0) {
    const { node, at } = stack.pop()!;
    if (node !== null && typeof node === 'object') {
      if (seen.has(node)) continue; // not JSON, but a caller's object graph may share or loop
      seen.add(node);
    }
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push({ node: node[i], at: { key: i, parent: at } });
    } else if (node !== null && typeof node === 'object') {
      const keys = Object.keys(node);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i]!;
        if (FORBIDDEN_KEYS.has(k)) {
          out.push({ path: jsonPath([...pathOf(at), k]), message: `key '${k}' is not allowed anywhere (it could reach an object prototype)` });
        } else {
          stack.push({ node: (node as Record<string, unknown>)[k], at: { key: k, parent: at } });
        }
      }
    }
  }
  return out;
}
