/**
 * @module The delete cascades of a function, a version and an alias: every row each owns goes in
 * one transaction, so a failure half-way leaves all of them as they were.
 */
import type { FunctionRecord } from '../core/index.js'
import type { AsyncConfigStore } from './async-config-store.js'
import type { FunctionStore } from './function-store.js'
import type { StoreTransactions } from './store-transaction.js'
import type { TagStore } from './tag-store.js'
import type { TestEventStore } from './test-event-store.js'
import type { TriggerStore } from './trigger-store.js'
import type { VersionStore } from './version-store.js'

/** The repositories whose rows hang off a function. */
export interface FunctionCascadeParts {
  readonly functions: FunctionStore
  readonly versions: VersionStore
  readonly triggers: TriggerStore
  readonly testEvents: TestEventStore
  readonly tags: TagStore
  readonly asyncConfigs: AsyncConfigStore
}

/**
 * Deletes in one transaction each. Once it commits, caches drop what went and the trigger change
 * feed announces each deleted trigger (so the gateway drops its route) before the promise
 * resolves. Rows kept elsewhere (the async queue, which may be a broker, and the invocation logs
 * in `logs.db`) are the caller's to remove after.
 */
export class FunctionCascade {
  readonly #transactions: StoreTransactions
  readonly #parts: FunctionCascadeParts

  constructor(transactions: StoreTransactions, parts: FunctionCascadeParts) {
    this.#transactions = transactions
    this.#parts = parts
  }

  /** The function with its triggers, versions, aliases, test events, tags and async configs. */
  deleteFunction(fn: FunctionRecord): Promise<void> {
    const p = this.#parts
    return this.#transactions.run(function* (tx) {
      // Triggers first: their deletes are what the sources hear of (the foreign key's own
      // cascade would remove them silently).
      yield* p.triggers.deleteAllWithin(tx, fn.id)
      yield* p.functions.deleteWithin(tx, fn)
      yield* p.versions.deleteAllOfWithin(tx, fn)
      yield* p.testEvents.deleteAllOfWithin(tx, fn.id)
      yield* p.tags.deleteAllOfWithin(tx, fn.id)
      yield* p.asyncConfigs.deleteAllOfWithin(tx, fn.id)
    })
  }

  /** A published version with its triggers and async config; refused while an alias routes to it (FSS.1094). */
  deleteVersion(fn: FunctionRecord, version: string): Promise<void> {
    const p = this.#parts
    return this.#transactions.run(function* (tx) {
      yield* p.versions.deleteVersionWithin(tx, fn, version)
      yield* p.triggers.deleteAllWithin(tx, fn.id, version)
      // A version published again under the name must not inherit the old one's config.
      yield* p.asyncConfigs.deleteWithin(tx, fn.id, version)
    })
  }

  /** An alias with its triggers and async config (stored under the qualifier `!alias`). */
  deleteAlias(fn: FunctionRecord, name: string): Promise<void> {
    const p = this.#parts
    return this.#transactions.run(function* (tx) {
      yield* p.versions.deleteAliasWithin(tx, fn, name)
      yield* p.triggers.deleteAllWithin(tx, fn.id, `!${name}`)
      yield* p.asyncConfigs.deleteWithin(tx, fn.id, `!${name}`)
    })
  }
}
