/**
 * @module UsageStore: hourly usage rows in SQLite (`usage_hours`), and the async backlog read for
 * `/metrics`. Both are called off the invocation path: usage in batches once a minute, the
 * backlog when Prometheus scrapes.
 */
import type SQLite from 'better-sqlite3'
import type { AsyncBacklog, UsageHour, UsageQuery, UsageRepository } from '../core/index.js'

interface UsageRow {
  project_id: string
  function_id: string
  function_name: string
  hour_start: number
  requests: number
  gb_seconds: number
}

export class UsageStore implements UsageRepository, AsyncBacklog {
  readonly #upsert: SQLite.Statement<[string, string, string, number, number, number]>
  readonly #list: SQLite.Statement<[string, number, number]>
  readonly #listOne: SQLite.Statement<[string, number, number, string]>
  readonly #backlog: SQLite.Statement<[]>
  readonly #addAll: (rows: readonly UsageHour[]) => void

  constructor(sqlite: SQLite.Database) {
    this.#upsert = sqlite.prepare(
      `insert into usage_hours (project_id, function_id, function_name, hour_start, requests, gb_seconds)
       values (?, ?, ?, ?, ?, ?)
       on conflict (project_id, hour_start, function_id) do update set
         requests = requests + excluded.requests,
         gb_seconds = gb_seconds + excluded.gb_seconds,
         function_name = excluded.function_name`,
    )
    const columns = 'project_id, function_id, function_name, hour_start, requests, gb_seconds'
    this.#list = sqlite.prepare(
      `select ${columns} from usage_hours
       where project_id = ? and hour_start >= ? and hour_start < ? order by hour_start, function_id`,
    )
    this.#listOne = sqlite.prepare(
      `select ${columns} from usage_hours
       where project_id = ? and hour_start >= ? and hour_start < ? and function_id = ?
       order by hour_start`,
    )
    this.#backlog = sqlite.prepare(
      `select count(*) as waiting, min(accepted_at) as oldest from async_invocations where status = 'WAIT'`,
    )
    this.#addAll = sqlite.transaction((rows: readonly UsageHour[]) => {
      for (const r of rows) {
        this.#upsert.run(
          r.projectId,
          r.functionId,
          r.functionName,
          r.hourStartMs,
          r.requests,
          r.gbSeconds,
        )
      }
    })
  }

  add(rows: readonly UsageHour[]): Promise<void> {
    this.#addAll(rows)
    return Promise.resolve()
  }

  list(query: UsageQuery): Promise<UsageHour[]> {
    const rows = (
      query.functionId === undefined
        ? this.#list.all(query.projectId, query.fromMs, query.toMs)
        : this.#listOne.all(query.projectId, query.fromMs, query.toMs, query.functionId)
    ) as UsageRow[]
    return Promise.resolve(
      rows.map((r) => ({
        projectId: r.project_id,
        functionId: r.function_id,
        functionName: r.function_name,
        hourStartMs: r.hour_start,
        requests: r.requests,
        gbSeconds: r.gb_seconds,
      })),
    )
  }

  backlog(): { waiting: number; oldestAcceptedAtMs: number | undefined } {
    const row = this.#backlog.get() as { waiting: number; oldest: number | null }
    return { waiting: row.waiting, oldestAcceptedAtMs: row.oldest ?? undefined }
  }
}
