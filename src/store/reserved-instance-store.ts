/**
 * @module Reserved-instance configs (reference §4.6) in SQLite, one row per function version or
 * alias; a function's rows go with it (foreign key). Read at start and by the API only: no cache.
 */
import type { Kysely, Selectable } from 'kysely'
import type {
  ReservedCronPolicy,
  ReservedInstanceConfig,
  ReservedInstanceInput,
  ReservedInstanceRepository,
  ReservedMetricPolicy,
  ReservedTarget,
} from '../core/index.js'
import type { Database, ReservedInstanceConfigsTable } from './database.js'

function fromRow(r: Selectable<ReservedInstanceConfigsTable>): ReservedInstanceConfig {
  return {
    projectId: r.project_id,
    functionId: r.function_id,
    qualifierType: r.qualifier_type,
    qualifier: r.qualifier,
    count: r.count,
    idleMode: r.idle_mode === 1,
    cronPolicies: JSON.parse(r.cron_policies_json) as ReservedCronPolicy[],
    metricPolicies: JSON.parse(r.metric_policies_json) as ReservedMetricPolicy[],
    updatedAt: new Date(r.updated_at),
  }
}

export class ReservedInstanceStore implements ReservedInstanceRepository {
  readonly #db: Kysely<Database>

  constructor(db: Kysely<Database>) {
    this.#db = db
  }

  async get(functionId: string, qualifier: string): Promise<ReservedInstanceConfig | undefined> {
    const row = await this.#db
      .selectFrom('reserved_instance_configs')
      .selectAll()
      .where('function_id', '=', functionId)
      .where('qualifier', '=', qualifier)
      .executeTakeFirst()
    return row === undefined ? undefined : fromRow(row)
  }

  async put(target: ReservedTarget, input: ReservedInstanceInput): Promise<ReservedInstanceConfig> {
    const row = {
      function_id: target.functionId,
      qualifier: target.qualifier,
      qualifier_type: target.qualifierType,
      project_id: target.projectId,
      count: input.count,
      idle_mode: input.idleMode ? 1 : 0,
      cron_policies_json: JSON.stringify(input.cronPolicies),
      metric_policies_json: JSON.stringify(input.metricPolicies),
      updated_at: Date.now(),
    }
    await this.#db
      .insertInto('reserved_instance_configs')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['function_id', 'qualifier']).doUpdateSet({
          qualifier_type: row.qualifier_type,
          count: row.count,
          idle_mode: row.idle_mode,
          cron_policies_json: row.cron_policies_json,
          metric_policies_json: row.metric_policies_json,
          updated_at: row.updated_at,
        }),
      )
      .execute()
    return fromRow(row)
  }

  async delete(functionId: string, qualifier: string): Promise<boolean> {
    const r = await this.#db
      .deleteFrom('reserved_instance_configs')
      .where('function_id', '=', functionId)
      .where('qualifier', '=', qualifier)
      .executeTakeFirst()
    return r.numDeletedRows > 0n
  }

  async listOf(projectId: string): Promise<ReservedInstanceConfig[]> {
    const rows = await this.#db
      .selectFrom('reserved_instance_configs')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('function_id')
      .orderBy('qualifier')
      .execute()
    return rows.map(fromRow)
  }

  async listAll(): Promise<ReservedInstanceConfig[]> {
    const rows = await this.#db
      .selectFrom('reserved_instance_configs')
      .selectAll()
      .orderBy('project_id')
      .orderBy('function_id')
      .orderBy('qualifier')
      .execute()
    return rows.map(fromRow)
  }

  async deleteAllOf(functionId: string): Promise<void> {
    await this.#db
      .deleteFrom('reserved_instance_configs')
      .where('function_id', '=', functionId)
      .execute()
  }
}
