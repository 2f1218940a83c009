/**
 * @module Deterministic random streams: a replayed execution must draw the same UUIDs, random
 * numbers and jitter as the first run, so every draw derives from the run's seed and the effect
 * path of the state visit that draws it (host.ts, "random values").
 */
import { createHash } from 'node:crypto'

/** A stream of numbers in [0,1), the same for the same seed and path. */
export function seededRandom(seed: string, path: string): () => number {
  let counter = 0
  return () => {
    const digest = createHash('sha256').update(`${seed}\u0000${path}\u0000${counter}`).digest()
    counter += 1
    // 48 bits are enough for a double in [0,1) and stay exact in a JS number.
    return digest.readUIntBE(0, 6) / 2 ** 48
  }
}
