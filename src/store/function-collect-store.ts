/**
 * @module Collected (favourite) functions: a row per collected function, gone with the function
 * (foreign key, on delete cascade).
 */
import type { Kysely } from 'kysely'
import type { FunctionCollectRepository } from '../core/index.js'
import type { Database } from './database.js'

export class FunctionCollectStore implements FunctionCollectRepository {
  readonly #db: Kysely<Database>

  constructor(db: Kysely<Database>) {
    this.#db = db
  }

  async set(functionId: string, collected: boolean): Promise<void> {
    if (collected) {
      await this.#db
        .insertInto('function_collect')
        .values({ function_id: functionId, collected_at: Date.now() })
        .onConflict((oc) => oc.column('function_id').doNothing())
        .execute()
    } else {
      await this.#db.deleteFrom('function_collect').where('function_id', '=', functionId).execute()
    }
  }

  async collectedOf(functionIds: readonly string[]): Promise<Set<string>> {
    if (functionIds.length === 0) {
      return new Set()
    }
    const rows = await this.#db
      .selectFrom('function_collect')
      .select('function_id')
      .where('function_id', 'in', functionIds)
      .execute()
    return new Set(rows.map((r) => r.function_id))
  }
}
