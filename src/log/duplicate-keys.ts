/**
 * Duplicate keys in JSON text. JSON.parse keeps the last of two equal keys without a word, so a
 * spec saying `"max_retries": 0` and later `"max_retries": 5` would mean whichever came last;
 * cairn refuses such text instead of guessing. Pure: it reads a string.
 */

interface Frame {
  kind: 'object' | 'array';
  /** Where this value sits in its parent (nothing for the top value). */
  seg: string | number | undefined;
  keys: Set<string>;
  key: string | null;
  expectKey: boolean;
  index: number;
}

/** Every repeated key of valid JSON `text`: the path of the object holding it (as segments) and the key, in text order. */
export function duplicateKeys(text: string): { path: (string | number)[]; key: string }[] {
  const out: { path: (string | number)[]; key: string }[] = [];
  // Each frame keeps only its own segment, and a path is built only for a repeated key: copying the
  // path into every frame made text nested 200,000 deep cost quadratic memory.
  const stack: Frame[] = [];
  const childSeg = (): string | number | undefined => {
    const top = stack[stack.length - 1];
    if (!top) return undefined;
    return top.kind === 'object' ? top.key ?? '' : top.index;
  };
  const pathOf = (): (string | number)[] => stack.slice(1).map((f) => f.seg!);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.kind === 'object' && top.expectKey) {
        // Decoded, so "a" and "\u0061" are the same key, as JSON.parse sees them.
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) out.push({ path: pathOf(), key });
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      stack.push({ kind: c === 0x7b ? 'object' : 'array', seg: childSeg(), keys: new Set(), key: null, expectKey: c === 0x7b, index: 0 });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.kind === 'object') top.expectKey = true;
      else if (top) top.index++;
    }
  }
  return out;
}
