/**
 * @module The audit trail in the shared PostgreSQL store (`audit_traces`): appends queue in memory
 * and are written as one multi-row insert per batch, off the request's path; reads write this
 * node's queue first, so a record is readable on it as soon as its answer went out (on other
 * nodes once its batch committed, ≤ 200 ms later).
 */
import type pg from 'pg'
import {
  StratoError,
  type AuditRecord,
  type AuditTraceQuery,
  type AuditTrailRepository,
  type FedAuditRecord,
} from '../../core/index.js'
import {
  AUDIT_BATCH_RECORDS as BATCH_RECORDS,
  AUDIT_COLUMNS as COLUMNS,
  AUDIT_FLUSH_AFTER_MS as FLUSH_AFTER_MS,
  auditPositionOf,
  auditRatingCondition,
  auditRecordOf,
  type AuditRow,
} from '../audit-trail-rows.js'
import { pgText } from './pg-text.js'

/** After a failed write, its records are tried again this much later. */
const RETRY_DELAY_MS = 1_000
/** Records kept for a store that cannot be reached; past this the oldest are dropped (said so). */
const MAX_QUEUED_RECORDS = 20_000
/**
 * Batches of every node insert under this transaction-scoped advisory lock, so `seq` is handed
 * out in commit order: the CTS feed reading after seq n never misses a record another node
 * commits later with a smaller one.
 */
const WRITE_LOCK_KEY = 0x5354524155 // "STRAU"

/** One insert per batch; the same trace id is kept once (a batch retried after a lost commit). */
const INSERT_SQL = `insert into audit_traces (trace_id, project_id, time_ms, trace_name,
  resource_type, resource_name, resource_id, function_urn, code, error_code, source_ip,
  access_key, request_id, trace_type)
  select r.trace_id, r.project_id, r.time_ms, r.trace_name, r.resource_type, r.resource_name,
    r.resource_id, r.function_urn, r.code, r.error_code, r.source_ip, r.access_key, r.request_id,
    r.trace_type
  from unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::text[], $9::int4[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
    with ordinality as r(trace_id, project_id, time_ms, trace_name, resource_type, resource_name,
      resource_id, function_urn, code, error_code, source_ip, access_key, request_id, trace_type, n)
  order by r.n
  on conflict (trace_id) do nothing`

function columnsOf(batch: readonly AuditRecord[]): unknown[][] {
  const columns: unknown[][] = Array.from({ length: 14 }, () => [])
  for (const r of batch) {
    // Names come from requests (a resource name, a header): pgText on every text.
    const values = [
      pgText(r.traceId),
      pgText(r.projectId),
      r.timeMs,
      pgText(r.traceName),
      pgText(r.resourceType),
      pgText(r.resourceName),
      pgText(r.resourceId),
      pgText(r.functionUrn),
      r.code,
      pgText(r.errorCode),
      pgText(r.sourceIp),
      pgText(r.accessKey),
      pgText(r.requestId),
      pgText(r.traceType),
    ]
    values.forEach((v, i) => columns[i]?.push(v))
  }
  return columns
}

export class PgAuditTrailStore implements AuditTrailRepository {
  readonly #pool: pg.Pool
  readonly #onError: (err: unknown) => void
  #queued: AuditRecord[] = []
  #timer: NodeJS.Timeout | undefined
  /** The last write handed over; writes run one after another, in append order. */
  #writes: Promise<void> = Promise.resolve()
  #closed = false

  /** `pool` is the shared store's (`openPgDatabase`); closing this leaves it open. */
  constructor(pool: pg.Pool, onError: (err: unknown) => void) {
    this.#pool = pool
    this.#onError = onError
  }

  append(record: AuditRecord): void {
    if (this.#closed) {
      return
    }
    this.#queued.push(record)
    if (this.#queued.length >= BATCH_RECORDS) {
      this.#handOver()
    } else {
      this.#schedule(FLUSH_AFTER_MS)
    }
  }

  #schedule(delayMs: number): void {
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        this.#handOver()
      }, delayMs)
      this.#timer.unref()
    }
  }

  /** Starts writing what is queued, after the writes already handed over. */
  #handOver(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    while (this.#queued.length > 0) {
      const batch = this.#queued.splice(0, BATCH_RECORDS)
      this.#writes = this.#writes.then(() => this.#write(batch))
    }
  }

  async #write(batch: AuditRecord[]): Promise<void> {
    let client: pg.PoolClient | undefined
    try {
      client = await this.#pool.connect()
      await client.query('begin')
      await client.query('select pg_advisory_xact_lock($1)', [WRITE_LOCK_KEY])
      await client.query(INSERT_SQL, columnsOf(batch))
      await client.query('commit')
    } catch (err) {
      await client?.query('rollback').catch(() => undefined)
      this.#report(new Error('writing audit traces to PostgreSQL failed', { cause: err }))
      // Kept for the next write: an audit record is not dropped because the store was away.
      if (!this.#closed) {
        this.#queued = batch.concat(this.#queued)
        const excess = this.#queued.length - MAX_QUEUED_RECORDS
        if (excess > 0) {
          this.#queued = this.#queued.slice(excess)
          this.#report(new Error(`PostgreSQL unreachable: ${excess} audit traces dropped`))
        }
        this.#schedule(RETRY_DELAY_MS)
      }
    } finally {
      client?.release()
    }
  }

  /** Resolves once everything appended so far was written (or its write failed, reported). */
  #settled(): Promise<void> {
    this.#handOver()
    return this.#writes
  }

  /** Starts writing what is queued; `close()` is what waits for it (PostgreSQL is not synchronous). */
  flush(): void {
    this.#handOver()
  }

  async list(query: AuditTraceQuery): Promise<{ records: AuditRecord[]; more: boolean }> {
    await this.#settled()
    const params: unknown[] = [pgText(query.projectId)]
    const where: string[] = ['project_id = $1']
    const eq = (column: string, value: string | undefined): void => {
      if (value !== undefined) {
        // A filter with a NUL finds what was stored in its place (and does not fail the query).
        params.push(pgText(value))
        where.push(`${column} = $${params.length}`)
      }
    }
    eq('resource_type', query.resourceType)
    eq('resource_name', query.resourceName)
    eq('resource_id', query.resourceId)
    eq('trace_name', query.traceName)
    eq('trace_id', query.traceId)
    eq('access_key', query.user)
    if (query.fromMs !== undefined) {
      params.push(query.fromMs)
      where.push(`time_ms >= $${params.length}`)
    }
    if (query.toMs !== undefined) {
      params.push(query.toMs)
      where.push(`time_ms <= $${params.length}`)
    }
    if (query.traceRating !== undefined) {
      where.push(auditRatingCondition(query.traceRating))
    }
    if (query.beforeTraceId !== undefined) {
      const { rows } = await this.#pool.query<{ seq: number }>(
        'select seq from audit_traces where trace_id = $1 and project_id = $2',
        [pgText(query.beforeTraceId), pgText(query.projectId)],
      )
      const marker = rows[0]
      if (marker === undefined) {
        throw new StratoError(
          'INVALID_PARAMETER',
          `'next' is not a marker of this project's traces: '${query.beforeTraceId}'.`,
        )
      }
      params.push(marker.seq)
      where.push(`seq < $${params.length}`)
    }
    params.push(query.limit + 1)
    const { rows } = await this.#pool.query<AuditRow>(
      `select ${COLUMNS} from audit_traces where ${where.join(' and ')} order by seq desc limit $${params.length}`,
      params,
    )
    const more = rows.length > query.limit
    return { records: rows.slice(0, query.limit).map(auditRecordOf), more }
  }

  async readAfter(
    projectId: string,
    after: string | undefined,
    sinceMs: number,
    limit: number,
  ): Promise<FedAuditRecord[]> {
    await this.#settled()
    const { rows } = await this.#pool.query<AuditRow>(
      `select ${COLUMNS} from audit_traces
       where project_id = $1 and seq > $2 and time_ms >= $3 order by seq limit $4`,
      [projectId, auditPositionOf(after), sinceMs, limit],
    )
    return rows.map((r) => ({ position: String(r.seq), record: auditRecordOf(r) }))
  }

  async prune(before: Date): Promise<void> {
    await this.#settled()
    await this.#pool.query('delete from audit_traces where time_ms < $1', [before.getTime()])
  }

  /** A reporter that throws must not break the chain of writes (every later read waits on it). */
  #report(err: Error): void {
    try {
      this.#onError(err)
    } catch {
      // Reported as far as it could be.
    }
  }

  /** Writes what is queued; the pool stays open (the shared store closes it). */
  async close(): Promise<void> {
    if (this.#closed) {
      return
    }
    await this.#settled()
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#queued.length > 0) {
      // Their write failed just now (reported): nobody is left to retry them.
      this.#report(new Error(`${this.#queued.length} audit traces not written before close`))
    }
  }
}
