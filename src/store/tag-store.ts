/**
 * @module Resource tags of functions (reference §4.6): key/value pairs, at most 20 per function.
 */
import type { Kysely } from 'kysely'
import { Limits, StratoError, type Tag, type TagRepository } from '../core/index.js'
import type { Database } from './database.js'
import { lockWithin } from './dialect.js'
import type { StoreTransaction, TxWork } from './store-transaction.js'

export class TagStore implements TagRepository {
  readonly #db: Kysely<Database>

  constructor(db: Kysely<Database>) {
    this.#db = db
  }

  async list(functionId: string): Promise<Tag[]> {
    const rows = await this.#db
      .selectFrom('function_tags')
      .select(['key', 'value'])
      .where('function_id', '=', functionId)
      .orderBy('key')
      .execute()
    return rows
  }

  /** Every key of the project's functions with the values it has (GET /functions/tags). */
  async keysOf(functionIds: readonly string[]): Promise<Array<{ key: string; values: string[] }>> {
    if (functionIds.length === 0) {
      return []
    }
    const rows = await this.#db
      .selectFrom('function_tags')
      .select(['key', 'value'])
      .where('function_id', 'in', functionIds)
      .orderBy('key')
      .execute()
    const byKey = new Map<string, Set<string>>()
    for (const r of rows) {
      const values = byKey.get(r.key) ?? new Set<string>()
      values.add(r.value)
      byKey.set(r.key, values)
    }
    return [...byKey].map(([key, values]) => ({ key, values: [...values].sort() }))
  }

  /** Adds or overwrites tags; refused past 20 tags on the function. */
  async put(functionId: string, tags: readonly Tag[]): Promise<void> {
    await this.#db.transaction().execute(async (tx) => {
      // Nodes tagging one function at once take turns: the count stays true until commit.
      await lockWithin(tx, `tags:${functionId}`)
      const existing = await tx
        .selectFrom('function_tags')
        .select('key')
        .where('function_id', '=', functionId)
        .execute()
      const keys = new Set([...existing.map((e) => e.key), ...tags.map((t) => t.key)])
      if (keys.size > Limits.TAGS_PER_FUNCTION) {
        throw new StratoError(
          'TAG_QUOTA_EXCEEDED',
          `The function would have ${keys.size} tags; the limit is ${Limits.TAGS_PER_FUNCTION}.`,
        )
      }
      for (const t of tags) {
        await tx
          .insertInto('function_tags')
          .values({ function_id: functionId, key: t.key, value: t.value })
          .onConflict((oc) => oc.columns(['function_id', 'key']).doUpdateSet({ value: t.value }))
          .execute()
      }
    })
  }

  async delete(functionId: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) {
      return
    }
    await this.#db
      .deleteFrom('function_tags')
      .where('function_id', '=', functionId)
      .where('key', 'in', keys)
      .execute()
  }

  async deleteAllOf(functionId: string): Promise<void> {
    await this.#db.deleteFrom('function_tags').where('function_id', '=', functionId).execute()
  }

  /** Deletes every tag of a function within `tx` (its delete cascade). */
  *deleteAllOfWithin(tx: StoreTransaction, functionId: string): TxWork<void> {
    yield* tx.run(this.#db.deleteFrom('function_tags').where('function_id', '=', functionId))
  }
}
