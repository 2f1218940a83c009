/**
 * @module Saved test events of a function (reference §4.5): named JSON payloads, base64 on the wire.
 */
import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { Limits, StratoError, type TestEvent, type TestEventRepository } from '../core/index.js'
import type { Database } from './database.js'
import type { StoreTransaction, TxWork } from './store-transaction.js'

export class TestEventStore implements TestEventRepository {
  readonly #db: Kysely<Database>

  constructor(db: Kysely<Database>) {
    this.#db = db
  }

  async create(functionId: string, name: string, content: string): Promise<TestEvent> {
    const existing = await this.list(functionId)
    if (existing.some((e) => e.name === name)) {
      throw new StratoError('RESOURCE_EXISTS', `The test event '${name}' already exists.`)
    }
    if (existing.length >= Limits.TEST_EVENTS_PER_FUNCTION) {
      throw new StratoError(
        'TEST_EVENT_QUOTA_EXCEEDED',
        `The function has ${existing.length} test events; the limit is ${Limits.TEST_EVENTS_PER_FUNCTION}.`,
      )
    }
    const event = {
      id: randomUUID(),
      function_id: functionId,
      name,
      content,
      last_modified: Math.floor(Date.now() / 1000),
    }
    await this.#db.insertInto('function_events').values(event).execute()
    return event
  }

  list(functionId: string): Promise<TestEvent[]> {
    return this.#db
      .selectFrom('function_events')
      .selectAll()
      .where('function_id', '=', functionId)
      .orderBy('last_modified')
      .orderBy('name')
      .execute()
  }

  async get(functionId: string, id: string): Promise<TestEvent> {
    const event = await this.#db
      .selectFrom('function_events')
      .selectAll()
      .where('function_id', '=', functionId)
      .where('id', '=', id)
      .executeTakeFirst()
    if (event === undefined) {
      throw new StratoError('TEST_EVENT_NOT_FOUND', `The test event '${id}' does not exist.`)
    }
    return event
  }

  async update(functionId: string, id: string, content: string): Promise<TestEvent> {
    const event = await this.get(functionId, id)
    const last_modified = Math.floor(Date.now() / 1000)
    await this.#db
      .updateTable('function_events')
      .set({ content, last_modified })
      .where('id', '=', id)
      .execute()
    return { ...event, content, last_modified }
  }

  async delete(functionId: string, id: string): Promise<void> {
    await this.get(functionId, id)
    await this.#db.deleteFrom('function_events').where('id', '=', id).execute()
  }

  async deleteAllOf(functionId: string): Promise<void> {
    await this.#db.deleteFrom('function_events').where('function_id', '=', functionId).execute()
  }

  /** Deletes every test event of a function within `tx` (its delete cascade). */
  *deleteAllOfWithin(tx: StoreTransaction, functionId: string): TxWork<void> {
    yield* tx.run(this.#db.deleteFrom('function_events').where('function_id', '=', functionId))
  }
}
