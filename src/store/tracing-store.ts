/**
 * @module Tracing settings per function (`updateTracing` / `showTracing`), cached in memory: with
 * an OTLP endpoint set, every invocation asks whether its function's switch is on.
 */
import type { Kysely, Selectable } from 'kysely'
import {
  SINGLE_NODE_CHANGES,
  type ClusterChanges,
  type TracingRepository,
  type TracingSettings,
} from '../core/index.js'
import type { Database, FunctionTracingTable } from './database.js'
import { CACHE_TOPICS, linkCache, type Announce } from './cluster-cache.js'
import { ReadThroughCache } from './read-through-cache.js'

function fromRow(r: Selectable<FunctionTracingTable>): TracingSettings {
  return {
    functionId: r.function_id,
    tracingAk: r.tracing_ak,
    tracingSkSealed: r.tracing_sk_sealed,
    lastModified: new Date(r.last_modified),
  }
}

export class TracingStore implements TracingRepository {
  readonly #db: Kysely<Database>
  /**
   * Hits and misses (`null`): exact, with other nodes' writes heard through `linkCache`. A deleted
   * function's row goes by its foreign key; its entry stays here, unread (ids are never reused).
   */
  readonly #cache = new ReadThroughCache<string, TracingSettings | null>()

  readonly #announce: Announce

  constructor(db: Kysely<Database>, changes: ClusterChanges = SINGLE_NODE_CHANGES) {
    this.#db = db
    this.#announce = linkCache(this.#cache, changes, CACHE_TOPICS.tracing)
  }

  isOn(functionId: string): boolean | Promise<boolean> {
    const cached = this.#cache.peek(functionId)
    if (cached !== undefined) {
      return cached !== null && cached.tracingAk !== ''
    }
    return this.get(functionId).then((s) => s !== undefined && s.tracingAk !== '')
  }

  async get(functionId: string): Promise<TracingSettings | undefined> {
    const cached = this.#cache.peek(functionId)
    const settings = cached !== undefined ? cached : await this.#cache.get(functionId, this.#load)
    return settings ?? undefined
  }

  readonly #load = async (functionId: string): Promise<TracingSettings | null> => {
    const row = await this.#db
      .selectFrom('function_tracing')
      .selectAll()
      .where('function_id', '=', functionId)
      .executeTakeFirst()
    return row === undefined ? null : fromRow(row)
  }

  async put(
    functionId: string,
    tracingAk: string,
    tracingSkSealed: string,
  ): Promise<TracingSettings> {
    const row = {
      function_id: functionId,
      tracing_ak: tracingAk,
      tracing_sk_sealed: tracingSkSealed,
      last_modified: new Date().toISOString(),
    }
    await this.#db
      .insertInto('function_tracing')
      .values(row)
      .onConflict((oc) =>
        oc.column('function_id').doUpdateSet({
          tracing_ak: row.tracing_ak,
          tracing_sk_sealed: row.tracing_sk_sealed,
          last_modified: row.last_modified,
        }),
      )
      .execute()
    const settings = fromRow(row)
    this.#cache.set(functionId, settings)
    this.#announce(functionId)
    return settings
  }
}
