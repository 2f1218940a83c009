/**
 * @module Per-project log switches (FunctionGraph's `enable-async-status-logs`), all held in
 * memory: every async status change asks, and a project has one row at most.
 */
import type { Kysely } from 'kysely'
import {
  SINGLE_NODE_CHANGES,
  type ClusterChanges,
  type ProjectLogSettingsRepository,
} from '../core/index.js'
import { CACHE_TOPICS, reloadOnChange, type Announce } from './cluster-cache.js'
import type { Database } from './database.js'

export class ProjectLogSettingsStore implements ProjectLogSettingsRepository {
  readonly #db: Kysely<Database>
  /** Projects whose async status log is on: read again whenever another node changes one. */
  readonly #asyncStatusOn = new Set<string>()
  readonly #announce: Announce
  /** Bumped by every load: a load overtaken by a newer one must not install its older rows. */
  #loads = 0
  #loading = 0
  readonly #onBackgroundError: (err: unknown) => void

  constructor(
    db: Kysely<Database>,
    changes: ClusterChanges = SINGLE_NODE_CHANGES,
    onBackgroundError: (err: unknown) => void = () => undefined,
  ) {
    this.#db = db
    this.#onBackgroundError = onBackgroundError
    this.#announce = reloadOnChange(
      changes,
      CACHE_TOPICS.logSettings,
      () => this.load(),
      onBackgroundError,
    )
  }

  /** Reads every switch; `openStore` calls it before handing the store out. */
  async load(): Promise<void> {
    const load = ++this.#loads
    this.#loading++
    const rows = await this.#db
      .selectFrom('project_log_settings')
      .select('project_id')
      .where('async_status_log', '=', 1)
      .execute()
      .finally(() => this.#loading--)
    if (load !== this.#loads) {
      return
    }
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
    this.#announce(projectId)
    // A load in flight may have read before this write and would undo it: drop it, load again.
    this.#loads++
    if (this.#loading > 0) {
      this.load().catch(this.#onBackgroundError)
    }
  }
}
