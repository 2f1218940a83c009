/**
 * @module The pool of pre-started stem cells (ADR 0005, ADR 0029): which runtime keys get cells,
 * how many (a depth learned from its bursts of launches, decaying while cells sit unused), and
 * when they are booted (once launches pause, a few at once, a key with none coming first). It boots
 * nothing itself: `InstanceLauncher` hands it the boot.
 */
import type { RuntimeFamily } from '../core/index.js'
import type { Instance } from './instance.js'

/** What cells are kept by: the family, and the memory size where the family's boot depends on it. */
export interface CellKey {
  readonly family: RuntimeFamily
  readonly memorySizeMb: number
}

export interface StemCellPoolOptions {
  /** The most cells kept per key; 0 turns the pool off. */
  readonly maxDepth: number
  /** Background boots at most at once (at least 1). */
  readonly maxBoots: number
  /** How often depths decay (`decay`); 0 leaves it to the caller. */
  readonly decayMs: number
  /** Boots one cell of `key`; `spare` when the key still has one ready (it may yield the CPU). */
  readonly boot: (key: CellKey, spare: boolean) => Promise<Instance>
  /** A background boot failed (the next launch of the key boots its own cell). */
  readonly onBootError?: (err: unknown) => void
}

/** Launches must pause this long before the pool refills... */
const REFILL_AFTER_LAUNCHES_MS = 50
/** ...but the refill waits no longer than this after the first launch it waited for. */
const REFILL_MAX_DEFERRAL_MS = 1_000
/** A key whose background boot failed is not booted in the background again for this long. */
const FAILED_BOOT_BACKOFF_MS = 30_000
/** A runtime nobody launched for this long loses its pre-started cells. */
const CELL_DEMAND_TTL_MS = 10 * 60_000
/** How often a runtime's cells that sat unused the whole time halve its depth, by default. */
export const CELL_DEPTH_DECAY_MS = 120_000
/**
 * Launches less than this apart are one burst; those of them that find the key's pool short of
 * its depth (the refill did not catch up) count, as the pool must hold a cell for each beforehand.
 * A decay step leaves a key launched this recently for the next step (a burst is in progress).
 */
const BURST_GAP_MS = 1_000

/** A key the pool keeps cells for: launched or prewarmed lately. */
interface CellDemand {
  readonly key: CellKey
  /** Its last launch (or prewarm): the key is dropped `CELL_DEMAND_TTL_MS` after. */
  at: number
  /** How many cells are kept ready for it: learned (`take`), decaying (`decay`). */
  depth: number
  /** The fewest cells it had ready after a launch since the last decay (undefined: no launch). */
  lowWater: number | undefined
  /** The same of the step before (undefined: none yet). */
  previousLowWater: number | undefined
  /** Launches in its current burst (`BURST_GAP_MS`), and when the last came. */
  burst: number
  lastLaunchAt: number
}

const keyName = (key: CellKey): string => `${key.family}:${key.memorySizeMb}`

export class StemCellPool {
  readonly #options: StemCellPoolOptions
  /** Pre-started cells by key name, oldest first. */
  readonly #cells = new Map<string, Instance[]>()
  /** Keys launched (or prewarmed) recently, each with its depth: only these are refilled. */
  readonly #demand = new Map<string, CellDemand>()
  /** When a background boot of each key last failed (that key waits `FAILED_BOOT_BACKOFF_MS`). */
  readonly #bootFailedAt = new Map<string, number>()
  /** Background boots in flight (close() waits for them), and how many per key. */
  readonly #boots = new Set<Promise<void>>()
  readonly #bootingByKey = new Map<string, number>()
  /** The refill waiting for launches to pause (`launched`), and since when. */
  #refillTimer: NodeJS.Timeout | undefined
  #refillDeferredSince: number | undefined
  #decayTimer: NodeJS.Timeout | undefined
  #closed = false

  constructor(options: StemCellPoolOptions) {
    this.#options = options
    if (options.maxDepth > 0 && options.decayMs > 0) {
      this.#decayTimer = setInterval(() => this.decay(), options.decayMs)
      this.#decayTimer.unref()
    }
  }

  /** Starts keeping a cell for `key` before the first launch asks for one. */
  prewarm(key: CellKey): void {
    if (this.#options.maxDepth <= 0) {
      return
    }
    this.#demandOf(key, 1)
    this.#refill()
  }

  /**
   * A ready cell of `key` for a launch, or undefined: then the launch boots its own. Call
   * `launched` once the launch has its cell.
   *
   * The key's depth grows to the number of launches in its current burst (up to `maxDepth`), so
   * the next burst like it finds a cell for each launch. A launch that finds the pool at its depth
   * does not count, and does not end the burst: a steady stream the refill keeps up with needs no
   * more cells, and a burst whose first launches the refill followed still counts the rest.
   * Measured with a burst of 20: ending the burst there taught a depth of 18, and counting only
   * the launches that found no cell taught ~10 (refills between the slower launches served the
   * rest, late and beside the cold starts).
   */
  take(key: CellKey): Instance | undefined {
    if (this.#options.maxDepth <= 0) {
      return undefined
    }
    const name = keyName(key)
    const demand = this.#demandOf(key, 0)
    const readyBefore = this.#ready(name)
    let taken: Instance | undefined
    const cells = this.#cells.get(name)
    while (taken === undefined && cells !== undefined && cells.length > 0) {
      const cell = cells.shift()
      if (cell?.state === 'cell') {
        taken = cell
      }
    }
    const now = Date.now()
    if (now - demand.lastLaunchAt >= BURST_GAP_MS) {
      demand.burst = 1
    } else if (readyBefore < demand.depth) {
      demand.burst++
    }
    demand.lastLaunchAt = now
    demand.depth = Math.max(demand.depth, Math.min(this.#options.maxDepth, demand.burst))
    const ready = taken === undefined ? readyBefore : readyBefore - 1
    demand.lowWater = Math.min(demand.lowWater ?? ready, ready)
    return taken
  }

  /**
   * A launch has its cell: refill once no launch has come for `REFILL_AFTER_LAUNCHES_MS`. A boot
   * started right when a cell is taken forks Strato (a synchronous spawn on the event loop) and
   * then takes the CPU the specialisation needs: measured on 2 cores, 20 back-to-back cold starts
   * with a pool deep enough for all of them still took p50 35–40 ms, against ~10 ms for one alone.
   * A burst now drains the pool at full speed and the pool refills behind it.
   */
  launched(): void {
    if (this.#options.maxDepth <= 0) {
      return
    }
    const now = Date.now()
    this.#refillDeferredSince ??= now
    if (this.#refillTimer !== undefined) {
      clearTimeout(this.#refillTimer)
      this.#refillTimer = undefined
    }
    // Bounded: a long ramp of launches (one function scaling out) does not keep the pool empty.
    if (now - this.#refillDeferredSince >= REFILL_MAX_DEFERRAL_MS) {
      this.#refillDeferredSince = undefined
      this.#refill()
      return
    }
    this.#refillTimer = setTimeout(() => {
      this.#refillTimer = undefined
      this.#refillDeferredSince = undefined
      this.#refill()
    }, REFILL_AFTER_LAUNCHES_MS)
    this.#refillTimer.unref()
  }

  /**
   * One step of the depths' decay (a timer runs it every `decayMs`): a key whose launches left
   * cells unused all along over the last two steps (the lower of their low-water marks; a step
   * without launches counts its whole depth, ready or not) loses half of those from its depth, at
   * least down to one, and the cells past the new depth stop. A key launched in the last
   * `BURST_GAP_MS` is left for the next step (a step amid a burst would stop the cells its rest is
   * about to take). So bursts a few minutes apart keep their depth, and the memory comes back
   * within minutes once they stop: a fixed 20 cost ~800 MiB per Node.js key. Keys not launched for
   * `CELL_DEMAND_TTL_MS` go.
   */
  decay(): void {
    const now = Date.now()
    this.#dropStale(now)
    for (const [name, d] of this.#demand) {
      if (now - d.lastLaunchAt < BURST_GAP_MS) {
        continue
      }
      const mark = d.lowWater ?? d.depth
      const unused = Math.min(mark, d.previousLowWater ?? mark)
      d.previousLowWater = mark
      d.lowWater = undefined
      if (unused === 0) {
        continue
      }
      d.depth = Math.max(1, d.depth - Math.ceil(unused / 2))
      const cells = this.#cells.get(name) ?? []
      while (this.#ready(name) > d.depth) {
        void cells.pop()?.stop()
      }
    }
  }

  /** Cells ready now, over all keys. */
  count(): number {
    let n = 0
    for (const name of this.#cells.keys()) {
      n += this.#ready(name)
    }
    return n
  }

  /** Each key's learned depth (`node:128` → 4). */
  depths(): Record<string, number> {
    return Object.fromEntries([...this.#demand].map(([name, d]) => [name, d.depth]))
  }

  /** Stops the ready cells and waits for the boots in flight (whose cells stop too). */
  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#refillTimer)
    clearInterval(this.#decayTimer)
    const cells = [...this.#cells.values()].flat()
    this.#cells.clear()
    await Promise.all([...cells.map((c) => c.stop()), ...this.#boots])
  }

  /** The key's demand, made (at `depth`) if new, its time now. */
  #demandOf(key: CellKey, depth: number): CellDemand {
    const name = keyName(key)
    const known = this.#demand.get(name)
    if (known !== undefined) {
      known.at = Date.now()
      return known
    }
    const made: CellDemand = {
      key,
      at: Date.now(),
      depth,
      lowWater: undefined,
      previousLowWater: undefined,
      burst: 0,
      lastLaunchAt: -Infinity,
    }
    this.#demand.set(name, made)
    return made
  }

  /** Keys not launched for `CELL_DEMAND_TTL_MS` lose their demand and their cells. */
  #dropStale(now: number): void {
    for (const [name, d] of this.#demand) {
      if (now - d.at > CELL_DEMAND_TTL_MS) {
        this.#demand.delete(name)
        for (const cell of this.#cells.get(name) ?? []) {
          void cell.stop()
        }
        this.#cells.delete(name)
      }
    }
  }

  #ready(name: string): number {
    let n = 0
    for (const cell of this.#cells.get(name) ?? []) {
      if (cell.state === 'cell') {
        n++
      }
    }
    return n
  }

  /**
   * Brings each key launched lately up to its depth. Boots run side by side, up to `maxBoots` at
   * once: a burst of new functions drains the pool faster than one boot at a time refills it (a
   * boot is ~10x a specialisation), and each cold start that finds the pool empty pays for a
   * whole boot.
   */
  #refill(): void {
    if (this.#closed || this.#options.maxDepth <= 0) {
      return
    }
    const now = Date.now()
    this.#dropStale(now)
    while (this.#boots.size < Math.max(1, this.#options.maxBoots)) {
      // A key with no cell ready or booting first (its next launch would boot its own), then the
      // one missing the most: a burst that deepens one key by 20 does not leave another drained key waiting for
      // all 20 boots.
      let next: CellKey | undefined
      let best = 0
      for (const [name, d] of this.#demand) {
        const failedAt = this.#bootFailedAt.get(name)
        if (failedAt !== undefined && now - failedAt < FAILED_BOOT_BACKOFF_MS) {
          // A runtime that cannot boot here would otherwise win every round and starve the rest.
          continue
        }
        const coming = this.#ready(name) + (this.#bootingByKey.get(name) ?? 0)
        const missing = d.depth - coming
        const rank = missing <= 0 ? 0 : missing + (coming === 0 ? this.#options.maxDepth : 0)
        if (rank > best) {
          best = rank
          next = d.key
        }
      }
      if (next === undefined) {
        return
      }
      this.#bootInBackground(next)
    }
  }

  #bootInBackground(key: CellKey): void {
    const name = keyName(key)
    this.#bootingByKey.set(name, (this.#bootingByKey.get(name) ?? 0) + 1)
    const boot: Promise<void> = this.#options
      .boot(key, this.#ready(name) > 0)
      .then(
        async (cell) => {
          // A boot that outlived its key's demand, or a depth since decayed, is not kept.
          const depth = this.#demand.get(name)?.depth ?? 0
          if (this.#closed || this.#ready(name) >= depth) {
            await cell.stop()
            return
          }
          this.#bootFailedAt.delete(name)
          const cells = this.#cells.get(name) ?? []
          cells.push(cell)
          this.#cells.set(name, cells)
        },
        (err: unknown) => {
          this.#bootFailedAt.set(name, Date.now())
          this.#options.onBootError?.(err)
        },
      )
      .finally(() => {
        this.#boots.delete(boot)
        const left = (this.#bootingByKey.get(name) ?? 1) - 1
        if (left > 0) {
          this.#bootingByKey.set(name, left)
        } else {
          this.#bootingByKey.delete(name)
        }
        this.#refill()
      })
    this.#boots.add(boot)
  }
}
