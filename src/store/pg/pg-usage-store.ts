/**
 * @module Hourly usage rows in the shared PostgreSQL store (`usage_hours`). Every node adds its
 * own counts to the same rows: an upsert that adds in the database (`x = x + excluded.x`), so two
 * nodes writing one hour at once both count, whatever the order.
 */
import type pg from 'pg'
import type { UsageHour, UsageQuery, UsageRepository } from '../../core/index.js'

interface UsageRow {
  project_id: string
  function_id: string
  function_name: string
  hour_start: number
  requests: number
  gb_seconds: number
}

const COLUMNS = 'project_id, function_id, function_name, hour_start, requests, gb_seconds'

/**
 * One statement per batch. Rows of one key are summed first: `on conflict do update` may not
 * touch the same row twice in one statement. The last name given wins (`package/name` when
 * written), as in the embedded store. Rows go in key order, so two nodes' batches lock the rows
 * they share in the same order (no deadlock).
 */
const UPSERT_SQL = `insert into usage_hours (${COLUMNS})
  select project_id, function_id, (array_agg(function_name order by n desc))[1], hour_start,
    sum(requests), sum(gb_seconds)
  from unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::float8[])
    with ordinality as r(project_id, function_id, function_name, hour_start, requests, gb_seconds, n)
  group by project_id, hour_start, function_id
  order by project_id, hour_start, function_id
  on conflict (project_id, hour_start, function_id) do update set
    requests = usage_hours.requests + excluded.requests,
    gb_seconds = usage_hours.gb_seconds + excluded.gb_seconds,
    function_name = excluded.function_name`

export class PgUsageStore implements UsageRepository {
  readonly #pool: pg.Pool

  /** `pool` is the shared store's (`openPgDatabase`). */
  constructor(pool: pg.Pool) {
    this.#pool = pool
  }

  async add(rows: readonly UsageHour[]): Promise<void> {
    if (rows.length === 0) {
      return
    }
    await this.#pool.query(UPSERT_SQL, [
      rows.map((r) => r.projectId),
      rows.map((r) => r.functionId),
      rows.map((r) => r.functionName),
      rows.map((r) => r.hourStartMs),
      rows.map((r) => r.requests),
      rows.map((r) => r.gbSeconds),
    ])
  }

  async list(query: UsageQuery): Promise<UsageHour[]> {
    const { rows } =
      query.functionId === undefined
        ? await this.#pool.query<UsageRow>(
            `select ${COLUMNS} from usage_hours
             where project_id = $1 and hour_start >= $2 and hour_start < $3
             order by hour_start, function_id`,
            [query.projectId, query.fromMs, query.toMs],
          )
        : await this.#pool.query<UsageRow>(
            `select ${COLUMNS} from usage_hours
             where project_id = $1 and hour_start >= $2 and hour_start < $3 and function_id = $4
             order by hour_start`,
            [query.projectId, query.fromMs, query.toMs, query.functionId],
          )
    return rows.map((r) => ({
      projectId: r.project_id,
      functionId: r.function_id,
      functionName: r.function_name,
      hourStartMs: Number(r.hour_start),
      requests: Number(r.requests),
      gbSeconds: r.gb_seconds,
    }))
  }
}
