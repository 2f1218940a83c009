/**
 * @module Paged searches over a log table of `logs.db` at a bounded cost: the rows a page may look
 * at are chosen through an index (partition, time range, cursor) and at most `SCAN_BUDGET` of them
 * are filtered, whatever the table holds. A page that ran out of budget is short (or empty) and
 * carries the cursor to go on from.
 */
import type SQLite from 'better-sqlite3'
import { StratoError } from '../core/index.js'

/** Rows one page filters at most (measured in bench/logs-query.ts: a few ms on a million rows). */
export const SCAN_BUDGET = 5_000

/** A log table as a search sees it. */
export interface LogTable {
  readonly name: string
  /** The column a search is scoped to (a function's or a project's entries). */
  readonly partition: string
  /** The time column, epoch ms. */
  readonly time: string
}

/** A filter on the rows in the budget: SQL over the table's columns and its parameters. */
export interface RowFilter {
  readonly sql: string
  readonly params: readonly unknown[]
}

export interface PagedSearch {
  readonly partitionValue: string
  readonly fromMs?: number | undefined
  readonly toMs?: number | undefined
  readonly filters: readonly RowFilter[]
  /**
   * An indexed condition more selective than the partition (a request id): rows are found
   * through its index, so the budget does not hide an old match.
   */
  readonly narrow?: RowFilter | undefined
  readonly order: 'asc' | 'desc'
  readonly cursor?: string | undefined
  readonly limit: number
}

export interface PagedRows<R> {
  readonly rows: Array<R & { position: number; cursor: string }>
  readonly next: string | undefined
}

/**
 * Cursors: `a<rowid>` in write order (rowids grow as rows are inserted), `d<time>.<rowid>` for
 * newest first (the index's order: time, then rowid).
 */
const ASC_CURSOR = /^a(\d{1,16})$/
const DESC_CURSOR = /^d(\d{1,16})\.(\d{1,16})$/

function badCursor(cursor: string): StratoError {
  return new StratoError(
    'INVALID_QUERY',
    `Invalid query parameter 'marker' (${JSON.stringify(cursor.slice(0, 40))}): pass a next_marker of an earlier page of the same order.`,
  )
}

/** The position an `a<position>` cursor goes on after; INVALID_QUERY for any other cursor. */
export function ascCursorStart(cursor: string): number {
  const m = ASC_CURSOR.exec(cursor)
  if (m === null) {
    throw badCursor(cursor)
  }
  return Number(m[1])
}

/** The (time, position) a `d<time>.<position>` cursor goes on before; INVALID_QUERY otherwise. */
export function descCursorBefore(cursor: string): [number, number] {
  const m = DESC_CURSOR.exec(cursor)
  if (m === null) {
    throw badCursor(cursor)
  }
  return [Number(m[1]), Number(m[2])]
}

type Row = Record<string, unknown> & { position: number }

/** Runs searches over one table, with its statements prepared once per shape. */
export class LogSearcher {
  readonly #db: SQLite.Database
  readonly #t: LogTable
  readonly #statements = new Map<string, SQLite.Statement>()

  constructor(db: SQLite.Database, table: LogTable) {
    this.#db = db
    this.#t = table
  }

  #prepare(sql: string): SQLite.Statement {
    let s = this.#statements.get(sql)
    if (s === undefined) {
      s = this.#db.prepare(sql)
      this.#statements.set(sql, s)
    }
    return s
  }

  run<R>(q: PagedSearch): PagedRows<R> {
    return q.order === 'asc' ? this.#asc<R>(q) : this.#desc<R>(q)
  }

  /** The candidate rows: partition and time range (both indexed) and the cursor, in page order. */
  #candidates(
    q: PagedSearch,
    after: { sql: string; params: unknown[] },
  ): { where: string; params: unknown[] } {
    const { partition, time } = this.#t
    // `+column`: SQLite then does not use the partition's index, but the narrower one.
    const where = [q.narrow === undefined ? `${partition} = ?` : `+${partition} = ?`]
    const params: unknown[] = [q.partitionValue]
    if (q.narrow !== undefined) {
      where.push(q.narrow.sql)
      params.push(...q.narrow.params)
    }
    if (q.fromMs !== undefined) {
      where.push(`${time} >= ?`)
      params.push(q.fromMs)
    }
    if (q.toMs !== undefined) {
      where.push(`${time} <= ?`)
      params.push(q.toMs)
    }
    if (after.sql !== '') {
      where.push(after.sql)
      params.push(...after.params)
    }
    return { where: where.join(' and '), params }
  }

  #page(
    q: PagedSearch,
    candidates: { where: string; params: unknown[] },
    orderBy: string,
    reverse: string,
  ): { rows: Row[]; scanned: number; boundary: Row | undefined } {
    const table = this.#t.name
    const inner = `select rowid as position, * from ${table} where ${candidates.where} order by ${orderBy} limit ${SCAN_BUDGET}`
    const filters = q.filters.map((f) => `(${f.sql})`)
    const outer =
      `select * from (${inner})` +
      (filters.length > 0 ? ` where ${filters.join(' and ')}` : '') +
      ` order by ${orderBy.replaceAll('rowid', 'position')} limit ?`
    const rows = this.#prepare(outer).all(
      ...candidates.params,
      ...q.filters.flatMap((f) => f.params),
      q.limit,
    ) as Row[]
    if (rows.length === q.limit) {
      return { rows, scanned: 0, boundary: undefined }
    }
    // Short page: where did the budget end? (An index-only walk over the same candidates.)
    const last = this.#prepare(
      `select position, ${this.#t.time}, count(*) over () as scanned from (select rowid as position, ${this.#t.time} from ${table} where ${candidates.where} order by ${orderBy} limit ${SCAN_BUDGET}) order by ${reverse.replaceAll('rowid', 'position')} limit 1`,
    ).get(...candidates.params) as (Row & { scanned: number }) | undefined
    return { rows, scanned: last?.scanned ?? 0, boundary: last }
  }

  #asc<R>(q: PagedSearch): PagedRows<R> {
    const { name: table, partition, time } = this.#t
    let start: number
    if (q.cursor !== undefined) {
      start = ascCursorStart(q.cursor)
    } else if (q.fromMs !== undefined) {
      // A follow from a time: start just before the first row written that started since then
      // (an index range over the recent rows), not at the table's beginning.
      const first = this.#prepare(
        `select min(rowid) as r from ${table} where ${partition} = ? and ${time} >= ?`,
      ).get(q.partitionValue, q.fromMs) as { r: number | null }
      start =
        first.r !== null
          ? first.r - 1
          : ((this.#prepare(`select max(rowid) as r from ${table}`).get() as { r: number | null })
              .r ?? 0)
    } else {
      start = 0
    }
    const candidates = this.#candidates(q, { sql: 'rowid > ?', params: [start] })
    const { rows, scanned, boundary } = this.#page(q, candidates, 'rowid asc', 'rowid desc')
    const cursorOf = (position: number): string => `a${position}`
    let next: number
    const lastRow = rows.at(-1)
    if (rows.length === q.limit && lastRow !== undefined) {
      next = lastRow.position
    } else if (scanned > 0 && boundary !== undefined) {
      next = boundary.position
    } else {
      next = start
    }
    return {
      rows: rows.map((r) => ({ ...(r as R & Row), cursor: cursorOf(r.position) })),
      next: cursorOf(next),
    }
  }

  #desc<R>(q: PagedSearch): PagedRows<R> {
    const time = this.#t.time
    let after = { sql: '', params: [] as unknown[] }
    if (q.cursor !== undefined) {
      after = { sql: `(${time}, rowid) < (?, ?)`, params: descCursorBefore(q.cursor) }
    }
    const candidates = this.#candidates(q, after)
    const { rows, scanned, boundary } = this.#page(
      q,
      candidates,
      `${time} desc, rowid desc`,
      `${time} asc, rowid asc`,
    )
    const cursorOf = (r: Row): string => `d${Number(r[time])}.${r.position}`
    let next: string | undefined
    const lastRow = rows.at(-1)
    if (rows.length === q.limit && lastRow !== undefined) {
      next = cursorOf(lastRow)
    } else if (scanned === SCAN_BUDGET && boundary !== undefined) {
      next = cursorOf(boundary)
    }
    return {
      rows: rows.map((r) => ({ ...(r as R & Row), cursor: cursorOf(r) })),
      next,
    }
  }
}
