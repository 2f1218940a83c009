/**
 * @module Paged searches over a log table of the shared store at a bounded cost, as `log-search.ts`
 * does over `logs.db` (ADR 0020): the rows a page may look at are chosen through an index
 * (partition, time range, cursor) and at most `SCAN_BUDGET` of them are filtered. The write order
 * is the `position` column (an identity handed out in commit order, see migration 0002), not a
 * rowid; cursors keep SQLite's shapes (`a<position>`, `d<time>.<position>`).
 */
import type pg from 'pg'
import {
  ascCursorStart,
  descCursorBefore,
  SCAN_BUDGET,
  type PagedRows,
  type PagedSearch,
  type RowFilter,
} from '../log-search.js'

/** A log table as a search sees it. */
export interface PgLogTable {
  readonly name: 'invocation_logs' | 'async_status_logs'
  /** The column a search is scoped to (a function's or a project's entries). */
  readonly partition: 'function_id' | 'project_id'
  /** The time column, epoch ms. */
  readonly time: 'started_at' | 'at'
}

/**
 * A filter on the rows in the budget: SQL over the table's columns with `?` for each parameter
 * (numbered when the statement is built).
 */
export type PgRowFilter = RowFilter
export type PgPagedSearch = PagedSearch
export type PgPagedRows<R> = PagedRows<R>

type Row = Record<string, unknown> & { position: number }

/** Builds one statement: `?` placeholders become `$n` in the order parameters are added. */
class Statement {
  readonly params: unknown[] = []

  add(filter: PgRowFilter): string {
    let i = 0
    return filter.sql.replace(/\?/g, () => {
      this.params.push(filter.params[i++])
      return `$${this.params.length}`
    })
  }

  value(v: unknown): string {
    this.params.push(v)
    return `$${this.params.length}`
  }
}

/** Runs searches over one table of the shared store. */
export class PgLogSearcher {
  readonly #pool: pg.Pool
  readonly #t: PgLogTable

  constructor(pool: pg.Pool, table: PgLogTable) {
    this.#pool = pool
    this.#t = table
  }

  run<R>(q: PgPagedSearch): Promise<PgPagedRows<R>> {
    return q.order === 'asc' ? this.#asc<R>(q) : this.#desc<R>(q)
  }

  /** The candidate rows' condition: partition, narrowing, time range and the cursor. */
  #candidates(s: Statement, q: PgPagedSearch, after: PgRowFilter | undefined): string {
    const { partition, time } = this.#t
    const where = [`${partition} = ${s.value(q.partitionValue)}`]
    if (q.narrow !== undefined) {
      where.push(s.add(q.narrow))
    }
    if (q.fromMs !== undefined) {
      where.push(`${time} >= ${s.value(q.fromMs)}`)
    }
    if (q.toMs !== undefined) {
      where.push(`${time} <= ${s.value(q.toMs)}`)
    }
    if (after !== undefined) {
      where.push(s.add(after))
    }
    return where.join(' and ')
  }

  async #page(
    q: PgPagedSearch,
    after: PgRowFilter | undefined,
    orderBy: string,
    reverse: string,
  ): Promise<{ rows: Row[]; scanned: number; boundary: Row | undefined }> {
    const { name: table, time } = this.#t
    const s = new Statement()
    const where = this.#candidates(s, q, after)
    const filters = q.filters.map((f) => `(${s.add(f)})`)
    const limit = s.value(q.limit)
    const { rows } = await this.#pool.query<Row>(
      `select * from (select * from ${table} where ${where} order by ${orderBy} limit ${SCAN_BUDGET}) c` +
        (filters.length > 0 ? ` where ${filters.join(' and ')}` : '') +
        ` order by ${orderBy} limit ${limit}`,
      s.params,
    )
    if (rows.length === q.limit) {
      return { rows, scanned: 0, boundary: undefined }
    }
    // Short page: where did the budget end? (An index-only walk over the same candidates.)
    const b = new Statement()
    const bWhere = this.#candidates(b, q, after)
    const { rows: last } = await this.#pool.query<Row & { scanned: number }>(
      `select position, ${time}, count(*) over () as scanned from (select position, ${time} from ${table} where ${bWhere} order by ${orderBy} limit ${SCAN_BUDGET}) c order by ${reverse} limit 1`,
      b.params,
    )
    const boundary = last[0]
    return { rows, scanned: Number(boundary?.scanned ?? 0), boundary }
  }

  async #asc<R>(q: PgPagedSearch): Promise<PgPagedRows<R>> {
    const { name: table, partition, time } = this.#t
    let start: number
    if (q.cursor !== undefined) {
      start = ascCursorStart(q.cursor)
    } else if (q.fromMs !== undefined) {
      // A follow from a time: start just before the first row written that started since then,
      // or past the partition's last row (later rows of it get larger positions).
      const { rows } = await this.#pool.query<{ first: number | null; last: number | null }>(
        `select (select min(position) from ${table} where ${partition} = $1 and ${time} >= $2) as first,
                (select max(position) from ${table} where ${partition} = $1) as last`,
        [q.partitionValue, q.fromMs],
      )
      const first = rows[0]?.first ?? null
      start = first !== null ? Number(first) - 1 : Number(rows[0]?.last ?? 0)
    } else {
      start = 0
    }
    const after = { sql: 'position > ?', params: [start] }
    const { rows, scanned, boundary } = await this.#page(q, after, 'position asc', 'position desc')
    const cursorOf = (position: number): string => `a${position}`
    let next: number
    const lastRow = rows.at(-1)
    if (rows.length === q.limit && lastRow !== undefined) {
      next = Number(lastRow.position)
    } else if (scanned > 0 && boundary !== undefined) {
      next = Number(boundary.position)
    } else {
      next = start
    }
    return {
      rows: rows.map((r) => ({ ...(r as R & Row), cursor: cursorOf(Number(r.position)) })),
      next: cursorOf(next),
    }
  }

  async #desc<R>(q: PgPagedSearch): Promise<PgPagedRows<R>> {
    const time = this.#t.time
    let after: PgRowFilter | undefined
    if (q.cursor !== undefined) {
      after = { sql: `(${time}, position) < (?, ?)`, params: descCursorBefore(q.cursor) }
    }
    const { rows, scanned, boundary } = await this.#page(
      q,
      after,
      `${time} desc, position desc`,
      `${time} asc, position asc`,
    )
    const cursorOf = (r: Row): string => `d${Number(r[time])}.${Number(r.position)}`
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
