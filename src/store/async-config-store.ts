/**
 * @module Async invoke configs (reference §4.7), one per function version or alias, cached in
 * memory: the dispatcher reads one for every attempt.
 */
import type { Kysely, Selectable } from 'kysely'
import {
  SINGLE_NODE_CHANGES,
  type ClusterChanges,
  type AsyncConfigRepository,
  type AsyncDestination,
  type AsyncInvokeConfig,
  type AsyncInvokeConfigInput,
} from '../core/index.js'
import type { AsyncInvokeConfigsTable, Database } from './database.js'
import { CACHE_TOPICS, linkCache, type Announce } from './cluster-cache.js'
import { ReadThroughCache } from './read-through-cache.js'
import type { StoreTransaction, TxWork } from './store-transaction.js'

function destinationOf(json: string | null): AsyncDestination | undefined {
  if (json === null) {
    return undefined
  }
  const d = JSON.parse(json) as AsyncDestination
  return { destination: d.destination, param: d.param }
}

function fromRow(r: Selectable<AsyncInvokeConfigsTable>): AsyncInvokeConfig {
  return {
    functionId: r.function_id,
    qualifier: r.qualifier,
    maxAsyncEventAgeS: r.max_event_age_s,
    maxAsyncRetryAttempts: r.max_retry_attempts,
    onSuccess: destinationOf(r.on_success_json),
    onFailure: destinationOf(r.on_failure_json),
    enableAsyncStatusLog: r.enable_status_log === 1,
    createdAt: new Date(r.created_at),
    lastModified: new Date(r.last_modified),
  }
}

const key = (functionId: string, qualifier: string): string => `${functionId}\u0000${qualifier}`

export class AsyncConfigStore implements AsyncConfigRepository {
  readonly #db: Kysely<Database>
  /**
   * Hits and misses (`null`): exact, since this node invalidates what it writes and what other
   * nodes announce (`linkCache`).
   */
  readonly #cache = new ReadThroughCache<string, AsyncInvokeConfig | null>()

  readonly #announce: Announce

  constructor(db: Kysely<Database>, changes: ClusterChanges = SINGLE_NODE_CHANGES) {
    this.#db = db
    this.#announce = linkCache(this.#cache, changes, CACHE_TOPICS.asyncConfigs)
  }

  async get(functionId: string, qualifier: string): Promise<AsyncInvokeConfig | undefined> {
    const k = key(functionId, qualifier)
    const cached = this.#cache.peek(k)
    const config = cached !== undefined ? cached : await this.#cache.get(k, this.#load)
    return config ?? undefined
  }

  readonly #load = async (k: string): Promise<AsyncInvokeConfig | null> => {
    const at = k.indexOf('\u0000')
    const row = await this.#db
      .selectFrom('async_invoke_configs')
      .selectAll()
      .where('function_id', '=', k.slice(0, at))
      .where('qualifier', '=', k.slice(at + 1))
      .executeTakeFirst()
    return row === undefined ? null : fromRow(row)
  }

  async put(
    functionId: string,
    qualifier: string,
    input: AsyncInvokeConfigInput,
  ): Promise<AsyncInvokeConfig> {
    const now = new Date().toISOString()
    const previous = await this.get(functionId, qualifier)
    const row = {
      function_id: functionId,
      qualifier,
      max_event_age_s: input.maxAsyncEventAgeS,
      max_retry_attempts: input.maxAsyncRetryAttempts,
      on_success_json: input.onSuccess === undefined ? null : JSON.stringify(input.onSuccess),
      on_failure_json: input.onFailure === undefined ? null : JSON.stringify(input.onFailure),
      enable_status_log: input.enableAsyncStatusLog ? 1 : 0,
      created_at: previous?.createdAt.toISOString() ?? now,
      last_modified: now,
    }
    await this.#db
      .insertInto('async_invoke_configs')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['function_id', 'qualifier']).doUpdateSet({
          max_event_age_s: row.max_event_age_s,
          max_retry_attempts: row.max_retry_attempts,
          on_success_json: row.on_success_json,
          on_failure_json: row.on_failure_json,
          enable_status_log: row.enable_status_log,
          last_modified: row.last_modified,
        }),
      )
      .execute()
    const config = fromRow(row)
    // Invalidated, not written through: another node's write to the same key may have been
    // announced (and heard) before this one's answer came back; the next read asks the store.
    this.#cache.invalidate(key(functionId, qualifier))
    this.#announce(key(functionId, qualifier))
    return config
  }

  /** True when there was one to delete. */
  async delete(functionId: string, qualifier: string): Promise<boolean> {
    const r = await this.#db
      .deleteFrom('async_invoke_configs')
      .where('function_id', '=', functionId)
      .where('qualifier', '=', qualifier)
      .executeTakeFirst()
    this.#cache.invalidate(key(functionId, qualifier))
    this.#announce(key(functionId, qualifier))
    return r.numDeletedRows > 0n
  }

  /** The configs of all versions and aliases of a function, by qualifier. */
  async listOf(functionId: string): Promise<AsyncInvokeConfig[]> {
    const rows = await this.#db
      .selectFrom('async_invoke_configs')
      .selectAll()
      .where('function_id', '=', functionId)
      .orderBy('qualifier')
      .execute()
    return rows.map(fromRow)
  }

  async deleteAllOf(functionId: string): Promise<void> {
    await this.#db
      .deleteFrom('async_invoke_configs')
      .where('function_id', '=', functionId)
      .execute()
    const prefix = key(functionId, '')
    this.#cache.invalidateWhere((k) => k.startsWith(prefix))
    this.#announce(prefix)
  }

  /** Deletes one qualifier's config within `tx` (its version or alias went); cached once it commits. */
  *deleteWithin(tx: StoreTransaction, functionId: string, qualifier: string): TxWork<void> {
    yield* tx.run(
      this.#db
        .deleteFrom('async_invoke_configs')
        .where('function_id', '=', functionId)
        .where('qualifier', '=', qualifier),
    )
    tx.afterCommit(() => {
      this.#cache.invalidate(key(functionId, qualifier))
      this.#announce(key(functionId, qualifier))
    })
  }

  /** Deletes every config of a function within `tx`; they leave the cache once `tx` commits. */
  *deleteAllOfWithin(tx: StoreTransaction, functionId: string): TxWork<void> {
    yield* tx.run(this.#db.deleteFrom('async_invoke_configs').where('function_id', '=', functionId))
    const prefix = key(functionId, '')
    tx.afterCommit(() => {
      this.#cache.invalidateWhere((k) => k.startsWith(prefix))
      this.#announce(prefix)
    })
  }
}
