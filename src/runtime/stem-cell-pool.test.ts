/**
 * The rules of StemCellPool's depth, with cells that are only state (the pool reads a cell's
 * `state` and calls `stop`) and fake timers: what deepens a key, how the depth decays, what a
 * key's demand outlives. src/runtime/launcher.test.ts runs the pool with real guests.
 */
import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import type { Instance } from './instance.js'
import { StemCellPool, type CellKey, type StemCellPoolOptions } from './stem-cell-pool.js'

const NODE: CellKey = { family: 'node', memorySizeMb: 128 }

/** A cell as the pool sees one: ready until stopped. */
class Cell {
  state: 'cell' | 'stopped' = 'cell'
  stop(): Promise<void> {
    this.state = 'stopped'
    return Promise.resolve()
  }
}

let booted: Cell[]
/** Boots held until released, when `holdBoots` is on. */
let held: (() => void)[]
let holdBoots: boolean

beforeEach(() => {
  vi.useFakeTimers()
  booted = []
  held = []
  holdBoots = false
})

afterEach(() => {
  vi.useRealTimers()
})

function poolWith(maxDepth: number, options: Partial<StemCellPoolOptions> = {}): StemCellPool {
  return new StemCellPool({
    maxDepth,
    maxBoots: 4,
    decayMs: 0,
    boot: async () => {
      if (holdBoots) {
        await new Promise<void>((resolve) => held.push(resolve))
      }
      const cell = new Cell()
      booted.push(cell)
      return cell as unknown as Instance
    },
    onBootError: (err) => {
      throw err
    },
    ...options,
  })
}

/** Lets the refill's timer fire and the boots it started finish. */
async function settle(): Promise<void> {
  await vi.advanceTimersByTimeAsync(100)
}

const depth = (pool: StemCellPool): number | undefined => pool.depths()['node:128']

test('launches less than 1 s apart that find the pool short are a burst: the depth grows to its launches, up to maxDepth', async () => {
  const pool = poolWith(4)
  pool.prewarm(NODE)
  await settle()
  expect([pool.count(), depth(pool)]).toEqual([1, 1])
  // A burst of three: one from the pool, two booting their own.
  expect(pool.take(NODE)).toBeDefined()
  expect(pool.take(NODE)).toBeUndefined()
  pool.take(NODE)
  expect(depth(pool)).toBe(3)
  pool.launched()
  await settle()
  expect(pool.count()).toBe(3)
  // Launches 2 s apart are bursts of one: the depth stays.
  await vi.advanceTimersByTimeAsync(2_000)
  pool.take(NODE)
  await vi.advanceTimersByTimeAsync(2_000)
  pool.take(NODE)
  expect(depth(pool)).toBe(3)
  pool.launched()
  await settle()
  // 900 ms apart, each finding the pool refilled to its depth: bursts of one too.
  for (let i = 0; i < 5; i++) {
    await vi.advanceTimersByTimeAsync(800)
    pool.take(NODE)
    pool.launched()
    await settle()
  }
  expect([pool.count(), depth(pool)]).toEqual([3, 3])
  // Five at once: one burst, at most four cells.
  for (let i = 0; i < 5; i++) {
    pool.take(NODE)
  }
  expect(depth(pool)).toBe(4)
  await pool.close()
})

test('cells unused over two decay steps halve the depth, down to one; a step after a drain keeps it', async () => {
  const pool = poolWith(4)
  for (let i = 0; i < 4; i++) {
    pool.take(NODE)
  }
  pool.launched()
  await settle()
  expect([pool.count(), depth(pool)]).toEqual([4, 4])
  await vi.advanceTimersByTimeAsync(11_000)
  // The launches drained the key in this step, and a step later that still counts.
  pool.decay()
  pool.decay()
  expect([pool.count(), depth(pool)]).toEqual([4, 4])
  // Two steps with four unused: two go.
  pool.decay()
  expect([pool.count(), depth(pool)]).toEqual([2, 2])
  expect(booted.filter((c) => c.state === 'stopped')).toHaveLength(2)
  // One launch left one cell unused (the step before: four).
  pool.take(NODE)
  pool.launched()
  await vi.advanceTimersByTimeAsync(11_000)
  expect(pool.count()).toBe(2)
  pool.decay()
  expect([pool.count(), depth(pool)]).toEqual([1, 1])
  pool.decay()
  expect([pool.count(), depth(pool)]).toEqual([1, 1])
  await pool.close()
})

test('a decay step leaves a key launched in the last second alone: a burst keeps the cells it is about to take', async () => {
  const pool = poolWith(4)
  for (let i = 0; i < 4; i++) {
    pool.take(NODE)
  }
  pool.launched()
  await settle()
  await vi.advanceTimersByTimeAsync(11_000)
  pool.decay()
  pool.decay()
  // A burst begins: one cell taken, three about to be.
  pool.take(NODE)
  pool.decay()
  expect([pool.count(), depth(pool)]).toEqual([3, 4])
  await pool.close()
})

test('a steady trickle of launches after a burst lets the depth decay', async () => {
  const pool = poolWith(4, { decayMs: 120_000 })
  for (let i = 0; i < 4; i++) {
    pool.take(NODE)
  }
  pool.launched()
  await settle()
  expect(depth(pool)).toBe(4)
  // One launch every 5 s for 10 minutes, the refill keeping up: most cells are never needed.
  for (let t = 0; t < 10 * 60_000; t += 5_000) {
    await vi.advanceTimersByTimeAsync(4_900)
    pool.take(NODE)
    pool.launched()
    await settle()
  }
  expect(depth(pool)).toBeLessThanOrEqual(2)
  expect(pool.count()).toBeLessThanOrEqual(2)
  await pool.close()
})

test('a key not launched for 10 minutes goes with its cells, on a server that does nothing else', async () => {
  const pool = poolWith(4, { decayMs: 120_000 })
  pool.take(NODE)
  pool.take(NODE)
  pool.launched()
  await settle()
  expect(pool.count()).toBe(2)
  // Checked at each decay step: the first after 10 minutes is at 12.
  await vi.advanceTimersByTimeAsync(10 * 60_000)
  expect(pool.count()).toBe(1)
  await vi.advanceTimersByTimeAsync(2 * 60_000)
  expect([pool.count(), pool.depths()]).toEqual([0, {}])
  expect(booted.every((c) => c.state === 'stopped')).toBe(true)
  await pool.close()
})

test('a boot that finishes after its key has gone is stopped, not kept', async () => {
  const pool = poolWith(4)
  holdBoots = true
  pool.take(NODE)
  pool.launched()
  await settle()
  expect(held).toHaveLength(1)
  await vi.advanceTimersByTimeAsync(11 * 60_000)
  pool.decay()
  expect(pool.depths()).toEqual({})
  held.forEach((release) => release())
  await settle()
  expect(booted).toHaveLength(1)
  expect([booted[0]?.state, pool.count()]).toEqual(['stopped', 0])
  await pool.close()
})

test('with maxDepth 0 the pool keeps nothing, boots nothing and reports no depths', async () => {
  const pool = poolWith(0)
  pool.prewarm(NODE)
  expect(pool.take(NODE)).toBeUndefined()
  pool.launched()
  await settle()
  expect([pool.count(), pool.depths(), booted.length]).toEqual([0, {}, 0])
  await pool.close()
})
