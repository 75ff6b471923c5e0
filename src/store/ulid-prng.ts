import { randomFillSync } from 'node:crypto';

/**
 * The randomness of record ids: crypto-random bytes drawn 256 at a time. The ulid package's default
 * asks crypto for one byte per character (16 calls, ~30 µs per id), a cost paid on every commit;
 * this gives the same distribution (a random byte / 256) for a fraction of it.
 */
export function bufferedCryptoPrng(): () => number {
  const bytes = Buffer.alloc(256);
  let next = bytes.length;
  return () => {
    if (next === bytes.length) {
      randomFillSync(bytes);
      next = 0;
    }
    return bytes[next++]! / 256;
  };
}
