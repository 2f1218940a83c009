/**
 * @module Functions with snapshot start on: a row each, gone with the function (foreign key, on
 * delete cascade).
 */
import type { Kysely } from 'kysely'
import type { FunctionSnapshotRepository, SnapshotTarget } from '../core/index.js'
import type { Database } from './database.js'

export class FunctionSnapshotStore implements FunctionSnapshotRepository {
  readonly #db: Kysely<Database>

  constructor(db: Kysely<Database>) {
    this.#db = db
  }

  async set(target: SnapshotTarget, enabled: boolean): Promise<void> {
    if (enabled) {
      await this.#db
        .insertInto('function_snapshots')
        .values({
          function_id: target.functionId,
          project_id: target.projectId,
          enabled_at: Date.now(),
        })
        .onConflict((oc) => oc.column('function_id').doNothing())
        .execute()
    } else {
      await this.#db
        .deleteFrom('function_snapshots')
        .where('function_id', '=', target.functionId)
        .execute()
    }
  }

  async isEnabled(functionId: string): Promise<boolean> {
    const row = await this.#db
      .selectFrom('function_snapshots')
      .select('function_id')
      .where('function_id', '=', functionId)
      .executeTakeFirst()
    return row !== undefined
  }

  async listEnabled(): Promise<SnapshotTarget[]> {
    const rows = await this.#db
      .selectFrom('function_snapshots')
      .select(['function_id', 'project_id'])
      .execute()
    return rows.map((r) => ({ functionId: r.function_id, projectId: r.project_id }))
  }
}
