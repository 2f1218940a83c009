/**
 * The log search on a million rows: builds a logs.db with 1,000,000 invocation entries of one
 * function (the worst case: every search is scoped to a function) through the store's own append
 * path (the writer thread computes each row's levels), then times each kind of search.
 *
 *   node --import tsx bench/logs-query.ts            (ROWS=200000 for a quicker run)
 *
 * Not part of `npm test` or `npm run bench`; it never fails on timing.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import SQLite from 'better-sqlite3'
import { Limits, type InvocationLogSearch, type InvocationRecord } from '../src/core/index.js'
import { openStore } from '../src/store/index.js'

const ROWS = Number(process.env.ROWS ?? 1_000_000)
const RUNS = 15
const T0 = Date.UTC(2026, 0, 1)
/** One entry a second; every 1,000th fails, every 100th warns, every 5,000th says "needle". */
function record(i: number): InvocationRecord {
  const level = i % 1000 === 0 ? 'ERROR' : i % 100 === 0 ? 'WARN' : 'INFO'
  return {
    requestId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    attempt: 1,
    version: 'latest',
    startedAtMs: T0 + i * 1000,
    durationMs: 3.2,
    billedDurationMs: 4,
    memorySizeMb: 128,
    memoryUsedMb: 31.5,
    errorType: i % 1000 === 0 ? 'Error' : undefined,
    errorMessage: i % 1000 === 0 ? 'boom' : undefined,
    output: `2026-01-01T00:00:00.000Z req-${i} ${level} handled order ${i}${i % 5000 === 0 ? ' needle' : ''}\n`,
  }
}

function quantiles(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b)
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN
  return `p50 ${at(0.5).toFixed(2)} ms, max ${at(1).toFixed(2)} ms`
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strato-logs-bench-'))
  const open = () =>
    openStore({
      dataDir: dir,
      quotas: Limits.DEFAULT_QUOTAS,
      onBackgroundError: (err) => console.error(err),
      asyncQueue: { leaseGraceMs: 1_000, fsync: false },
    })
  try {
    let store = await open()
    const building = Date.now()
    for (let i = 1; i <= ROWS; i++) {
      store.logs.append(record(i), 'p1', 'fa')
      if (i % 50_000 === 0) {
        await store.logs.whenWritten()
      }
    }
    for (let i = 1; i <= 1000; i++) {
      store.logs.append({ ...record(i), requestId: `other-${i}` }, 'p1', 'fb')
    }
    await store.logs.whenWritten()
    console.log(
      `built ${ROWS} rows of one function in ${((Date.now() - building) / 1000).toFixed(1)} s`,
    )
    // Reopened: the searches read a cold file as a restarted Strato would.
    await store.close()
    const size = fs.statSync(path.join(dir, 'logs.db')).size
    console.log(`logs.db: ${(size / 1024 / 1024).toFixed(0)} MiB`)
    store = await open()

    const last = T0 + ROWS * 1000
    const mid = T0 + (ROWS / 2) * 1000
    const shapes: Array<[string, Partial<InvocationLogSearch>]> = [
      ['newest 20 (the unchanged answer)', {}],
      ['time range in the middle, 20', { fromMs: mid, toMs: mid + 3_600_000 }],
      ['request id of an old entry', { requestId: record(7).requestId }],
      ['level ERROR (1 in 1,000)', { minLevel: 'ERROR' }],
      ['level WARN (1 in 100)', { minLevel: 'WARN' }],
      ['status error', { status: 'error' }],
      ['contains "needle" (1 in 5,000)', { contains: 'needle' }],
      ['contains text found nowhere (a full budget)', { contains: 'absent' }],
      ['follow from now (asc, start_time)', { order: 'asc', fromMs: last - 5_000 }],
      ['asc from the table start, level ERROR', { order: 'asc', minLevel: 'ERROR' }],
    ]
    // One untimed pass first: the timed ones then read a warm page cache, as a running Strato does.
    for (const [, q] of shapes) {
      await store.logs.search({ functionId: 'fa', order: 'desc', limit: 20, ...q })
    }
    for (const [name, q] of shapes) {
      const times: number[] = []
      let found = 0
      let next: string | undefined
      for (let r = 0; r < RUNS; r++) {
        const t = process.hrtime.bigint()
        const page = await store.logs.search({ functionId: 'fa', order: 'desc', limit: 20, ...q })
        times.push(Number(process.hrtime.bigint() - t) / 1e6)
        found = page.entries.length
        next = page.next
      }
      console.log(`${name}: ${found} entries, next ${next ?? '-'}; ${quantiles(times)}`)
    }
    // Paging deep: 50 pages of 100, newest first, each from the previous cursor.
    let cursor: string | undefined
    const pages: number[] = []
    for (let p = 0; p < 50; p++) {
      const t = process.hrtime.bigint()
      const page = await store.logs.search({ functionId: 'fa', order: 'desc', limit: 100, cursor })
      pages.push(Number(process.hrtime.bigint() - t) / 1e6)
      cursor = page.next
    }
    console.log(`50 pages of 100 in a row: ${quantiles(pages)}`)
    await store.close()

    // The plans behind those numbers.
    const db = new SQLite(path.join(dir, 'logs.db'), { readonly: true })
    const plan = (sql: string, ...params: unknown[]): string =>
      (db.prepare(`explain query plan ${sql}`).all(...params) as Array<{ detail: string }>)
        .map((r) => r.detail)
        .join('; ')
    console.log(
      'plan desc:',
      plan(
        'select rowid, * from invocation_logs where function_id = ? and started_at >= ? and (started_at, rowid) < (?, ?) order by started_at desc, rowid desc limit 5000',
        'fa',
        0,
        mid,
        1,
      ),
    )
    console.log(
      'plan asc:',
      plan(
        'select rowid, * from invocation_logs where function_id = ? and rowid > ? order by rowid asc limit 5000',
        'fa',
        1,
      ),
    )
    console.log(
      'plan request id:',
      plan(
        'select rowid, * from invocation_logs where +function_id = ? and request_id = ? order by started_at desc, rowid desc limit 5000',
        'fa',
        'x',
      ),
    )
    db.close()
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

// The store's writer thread and its timers never keep a process alive (Strato's server does):
// this one holds the bench open until it is done.
const keepAlive = setInterval(() => undefined, 60_000)
await main().finally(() => clearInterval(keepAlive))
