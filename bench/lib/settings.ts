/**
 * Where the bench lives and how its knobs are read. `BENCH_QUICK=1` turns every default into a
 * smoke-test size (about 1 s per phase) to prove a script still works end to end; a knob set
 * explicitly still wins.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const REPO_ROOT = path.resolve(BENCH_DIR, '..')
export const RESULTS_DIR = path.join(BENCH_DIR, 'results')
export const STRATO_MAIN = path.join(REPO_ROOT, 'dist', 'main.js')

/** A smoke run, not a measurement: every phase shrinks to about a second. */
export const QUICK = process.env.BENCH_QUICK === '1'

/**
 * The non-negative integer in `name`, else `fallback` (or `quickFallback` under `BENCH_QUICK=1`).
 */
export function envInt(name: string, fallback: number, quickFallback = fallback): number {
  const raw = process.env[name]
  const n = raw === undefined || raw === '' ? (QUICK ? quickFallback : fallback) : Number(raw)
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${name} must be a non-negative integer, got '${raw ?? ''}'`)
  }
  return n
}

/** Seconds of measured load per row (`BENCH_DURATION`, 10; 1 under `BENCH_QUICK=1`). */
export const DURATION_S = envInt('BENCH_DURATION', 10, 1)
/** Seconds of unmeasured load before each row (`BENCH_LOAD_WARMUP`, 2; 1 under `BENCH_QUICK=1`). */
export const LOAD_WARMUP_S = envInt('BENCH_LOAD_WARMUP', 2, 1)
/** Cold starts per configuration (`BENCH_COLD_N`, 20; 2 under `BENCH_QUICK=1`). */
export const COLD_N = envInt('BENCH_COLD_N', 20, 2)

/** Extra node flags for Strato (`BENCH_STRATO_NODE_ARGS`, e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`). */
export function stratoNodeArgs(): string[] {
  return (process.env.BENCH_STRATO_NODE_ARGS ?? '').split(' ').filter((a) => a !== '')
}
