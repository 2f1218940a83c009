/**
 * @module The audit trail in SQLite (`audit_traces`): appends queue in memory and are written in
 * one transaction per batch, off the request's path; reads write what is queued first, so a
 * record is readable as soon as its answer went out.
 */
import type BetterSqlite3 from 'better-sqlite3'
import {
  StratoError,
  type AuditRecord,
  type AuditTraceQuery,
  type AuditTrailRepository,
  type FedAuditRecord,
} from '../core/index.js'
import {
  AUDIT_BATCH_RECORDS,
  AUDIT_COLUMNS,
  AUDIT_FLUSH_AFTER_MS,
  auditPositionOf,
  auditRatingCondition,
  auditRecordOf,
  type AuditRow,
} from './audit-trail-rows.js'

export class AuditTrailStore implements AuditTrailRepository {
  readonly #sqlite: BetterSqlite3.Database
  readonly #onError: (err: unknown) => void
  #queued: AuditRecord[] = []
  #timer: NodeJS.Timeout | undefined
  readonly #insert: BetterSqlite3.Statement
  readonly #writeBatch: (records: readonly AuditRecord[]) => void

  constructor(sqlite: BetterSqlite3.Database, onError: (err: unknown) => void) {
    this.#sqlite = sqlite
    this.#onError = onError
    this.#insert = sqlite.prepare(
      `INSERT OR IGNORE INTO audit_traces (trace_id, project_id, time_ms, trace_name, resource_type,
        resource_name, resource_id, function_urn, code, error_code, source_ip, access_key,
        request_id, trace_type)
       VALUES (@traceId, @projectId, @timeMs, @traceName, @resourceType, @resourceName,
        @resourceId, @functionUrn, @code, @errorCode, @sourceIp, @accessKey, @requestId,
        @traceType)`,
    )
    this.#writeBatch = sqlite.transaction((records: readonly AuditRecord[]) => {
      for (const r of records) {
        this.#insert.run(r)
      }
    })
  }

  append(record: AuditRecord): void {
    this.#queued.push(record)
    if (this.#queued.length >= AUDIT_BATCH_RECORDS) {
      setImmediate(() => this.#flushInBackground())
    } else {
      this.#timer ??= setTimeout(() => this.#flushInBackground(), AUDIT_FLUSH_AFTER_MS)
      this.#timer.unref()
    }
  }

  #flushInBackground(): void {
    try {
      this.flush()
    } catch (err) {
      this.#onError(err)
    }
  }

  flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#queued.length === 0) {
      return
    }
    const batch = this.#queued
    this.#queued = []
    try {
      this.#writeBatch(batch)
    } catch (err) {
      // Kept for the next write: an audit record is not dropped because the disk was busy.
      this.#queued = batch.concat(this.#queued)
      throw err
    }
  }

  list(query: AuditTraceQuery): Promise<{ records: AuditRecord[]; more: boolean }> {
    this.flush()
    const where: string[] = ['project_id = @projectId']
    const params: Record<string, string | number> = { projectId: query.projectId }
    const eq = (column: string, key: string, value: string | undefined): void => {
      if (value !== undefined) {
        where.push(`${column} = @${key}`)
        params[key] = value
      }
    }
    eq('resource_type', 'resourceType', query.resourceType)
    eq('resource_name', 'resourceName', query.resourceName)
    eq('resource_id', 'resourceId', query.resourceId)
    eq('trace_name', 'traceName', query.traceName)
    eq('trace_id', 'traceId', query.traceId)
    eq('access_key', 'user', query.user)
    if (query.fromMs !== undefined) {
      where.push('time_ms >= @fromMs')
      params.fromMs = query.fromMs
    }
    if (query.toMs !== undefined) {
      where.push('time_ms <= @toMs')
      params.toMs = query.toMs
    }
    if (query.traceRating !== undefined) {
      where.push(auditRatingCondition(query.traceRating))
    }
    if (query.beforeTraceId !== undefined) {
      const marker = this.#sqlite
        .prepare('SELECT seq FROM audit_traces WHERE trace_id = ? AND project_id = ?')
        .get(query.beforeTraceId, query.projectId) as { seq: number } | undefined
      if (marker === undefined) {
        return Promise.reject(
          new StratoError(
            'INVALID_PARAMETER',
            `'next' is not a marker of this project's traces: '${query.beforeTraceId}'.`,
          ),
        )
      }
      where.push('seq < @beforeSeq')
      params.beforeSeq = marker.seq
    }
    params.limit = query.limit + 1
    const rows = this.#sqlite
      .prepare(
        `SELECT ${AUDIT_COLUMNS} FROM audit_traces WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT @limit`,
      )
      .all(params) as AuditRow[]
    const more = rows.length > query.limit
    return Promise.resolve({ records: rows.slice(0, query.limit).map(auditRecordOf), more })
  }

  readAfter(
    projectId: string,
    after: string | undefined,
    sinceMs: number,
    limit: number,
  ): Promise<FedAuditRecord[]> {
    this.flush()
    const rows = this.#sqlite
      .prepare(
        `SELECT ${AUDIT_COLUMNS} FROM audit_traces
         WHERE project_id = ? AND seq > ? AND time_ms >= ? ORDER BY seq LIMIT ?`,
      )
      .all(projectId, auditPositionOf(after), sinceMs, limit) as AuditRow[]
    return Promise.resolve(rows.map((r) => ({ position: String(r.seq), record: auditRecordOf(r) })))
  }

  prune(before: Date): Promise<void> {
    this.flush()
    this.#sqlite.prepare('DELETE FROM audit_traces WHERE time_ms < ?').run(before.getTime())
    return Promise.resolve()
  }

  /** Writes what is queued; the store's close calls it before the database closes. */
  close(): void {
    this.flush()
  }
}
