/**
 * @module The audit trail in SQLite (`audit_traces`): appends queue in memory and are written in
 * one transaction per batch, off the request's path; reads write what is queued first, so a
 * record is readable as soon as its answer went out.
 */
import type BetterSqlite3 from 'better-sqlite3'
import {
  StratoError,
  type AuditRecord,
  type AuditResourceType,
  type AuditTraceQuery,
  type AuditTrailRepository,
  type FedAuditRecord,
} from '../core/index.js'

interface Row {
  seq: number
  trace_id: string
  project_id: string
  time_ms: number
  trace_name: string
  resource_type: string
  resource_name: string
  resource_id: string
  function_urn: string
  code: number
  error_code: string
  source_ip: string
  access_key: string
  request_id: string
  trace_type: string
}

const COLUMNS =
  'seq, trace_id, project_id, time_ms, trace_name, resource_type, resource_name, resource_id, function_urn, code, error_code, source_ip, access_key, request_id, trace_type'

/** Written once this many wait, or after FLUSH_AFTER_MS. */
const BATCH_RECORDS = 256
const FLUSH_AFTER_MS = 200

function recordOf(r: Row): AuditRecord {
  return {
    traceId: r.trace_id,
    projectId: r.project_id,
    timeMs: r.time_ms,
    traceName: r.trace_name,
    resourceType: r.resource_type as AuditResourceType,
    resourceName: r.resource_name,
    resourceId: r.resource_id,
    functionUrn: r.function_urn,
    code: r.code,
    errorCode: r.error_code,
    sourceIp: r.source_ip,
    accessKey: r.access_key,
    requestId: r.request_id,
    traceType: r.trace_type === 'SystemAction' ? 'SystemAction' : 'ApiCall',
  }
}

/** A feed position as written by `readAfter`; anything else reads from the start. */
function positionOf(after: string | undefined): number {
  const n = after === undefined ? 0 : Number(after)
  return Number.isSafeInteger(n) && n > 0 ? n : 0
}

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
    if (this.#queued.length >= BATCH_RECORDS) {
      setImmediate(() => this.#flushInBackground())
    } else {
      this.#timer ??= setTimeout(() => this.#flushInBackground(), FLUSH_AFTER_MS)
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
      where.push(
        query.traceRating === 'normal'
          ? 'code < 400'
          : query.traceRating === 'warning'
            ? 'code >= 400 AND code < 500'
            : 'code >= 500',
      )
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
        `SELECT ${COLUMNS} FROM audit_traces WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT @limit`,
      )
      .all(params) as Row[]
    const more = rows.length > query.limit
    return Promise.resolve({ records: rows.slice(0, query.limit).map(recordOf), more })
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
        `SELECT ${COLUMNS} FROM audit_traces
         WHERE project_id = ? AND seq > ? AND time_ms >= ? ORDER BY seq LIMIT ?`,
      )
      .all(projectId, positionOf(after), sinceMs, limit) as Row[]
    return Promise.resolve(rows.map((r) => ({ position: String(r.seq), record: recordOf(r) })))
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
