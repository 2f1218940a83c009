/**
 * @module Per-project log switches (FunctionGraph's `enable-async-status-logs`), all held in
 * memory: every async status change asks, and a project has one row at most.
 */
import type { Kysely } from 'kysely'
import type { ProjectLogSettingsRepository } from '../core/index.js'
import type { Database } from './database.js'

export class ProjectLogSettingsStore implements ProjectLogSettingsRepository {
  readonly #db: Kysely<Database>
  /** Projects whose async status log is on (this process is the only writer: exact). */
  readonly #asyncStatusOn = new Set<string>()

  constructor(db: Kysely<Database>) {
    this.#db = db
  }

  /** Reads every switch; `openStore` calls it before handing the store out. */
  async load(): Promise<void> {
    const rows = await this.#db
      .selectFrom('project_log_settings')
      .select('project_id')
      .where('async_status_log', '=', 1)
      .execute()
    this.#asyncStatusOn.clear()
    for (const r of rows) {
      this.#asyncStatusOn.add(r.project_id)
    }
  }

  asyncStatusLogEnabled(projectId: string): boolean {
    return this.#asyncStatusOn.has(projectId)
  }

  async setAsyncStatusLog(projectId: string, enabled: boolean): Promise<void> {
    const row = {
      project_id: projectId,
      async_status_log: enabled ? 1 : 0,
      updated_at: new Date().toISOString(),
    }
    await this.#db
      .insertInto('project_log_settings')
      .values(row)
      .onConflict((oc) =>
        oc.column('project_id').doUpdateSet({
          async_status_log: row.async_status_log,
          updated_at: row.updated_at,
        }),
      )
      .execute()
    if (enabled) {
      this.#asyncStatusOn.add(projectId)
    } else {
      this.#asyncStatusOn.delete(projectId)
    }
  }
}
