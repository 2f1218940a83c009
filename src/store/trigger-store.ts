/**
 * @module Triggers of every type in one table (reference §4.4); the type's settings are JSON. Trigger
 * sources read the active ones of their types through `listActive` and hear every change through
 * `onChange` (the `TriggerChangeFeed` port), so an API route or a schedule appears or goes the
 * moment its trigger does. In cluster mode the feed also carries other nodes' changes (announced on
 * `ClusterChanges` once committed, re-read here before delivery).
 */
import { randomBytes, randomUUID } from 'node:crypto'
import type { Kysely, Selectable } from 'kysely'
import {
  APIG_TRIGGER_TYPES,
  SINGLE_NODE_CHANGES,
  SECRET_EVENT_DATA_FIELDS,
  StratoError,
  TRIGGERS_PER_FUNCTION_VERSION,
  isApigTrigger,
  isApigTriggerType,
  triggerErrorCodes,
  type ApigEventData,
  type ClusterChanges,
  type TriggerChange,
  type TriggerEventData,
  type TriggerInput,
  type TriggerRecord,
  type TriggerRepository,
  type TriggerStatus,
  type TriggerTarget,
  type TriggerTypeCode,
} from '../core/index.js'
import type { Database, FunctionTriggersTable } from './database.js'
import { CACHE_TOPICS } from './cluster-cache.js'
import { lockWithin } from './dialect.js'
import type { SecretBox } from './secret-box.js'
import type { StoreTransaction, TxWork } from './store-transaction.js'

/**
 * What a node announces of a trigger change (`ClusterChanges` key, JSON): the id of a created or
 * updated trigger, the deleted row itself (its secrets stay sealed under the cluster's master key).
 */
type RemoteChange =
  | { readonly kind: 'created' | 'updated'; readonly id: string }
  | { readonly kind: 'deleted'; readonly row: Selectable<FunctionTriggersTable> }

function toRecord(row: Selectable<FunctionTriggersTable>, secrets: SecretBox): TriggerRecord {
  const common = {
    id: row.id,
    projectId: row.project_id,
    functionId: row.function_id,
    qualifier: row.qualifier,
    functionUrn: row.function_urn,
    status: row.status as TriggerStatus,
    eventTypeCode: row.event_type_code,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  }
  // The row's type decides its settings' shape: they were checked by that type's source.
  const eventData = withSecrets(JSON.parse(row.event_data_json) as TriggerEventData, (v) =>
    secrets.open(v),
  )
  if (isApigTriggerType(row.type_code)) {
    return {
      ...common,
      typeCode: row.type_code,
      eventData: eventData as ApigEventData,
      appKey: row.app_key,
      appSecret: row.app_secret_sealed === '' ? '' : secrets.open(row.app_secret_sealed),
    }
  }
  return { ...common, typeCode: row.type_code, eventData } as TriggerRecord
}

/** The settings with each non-empty secret field (broker passwords) sealed, or opened. */
function withSecrets(data: TriggerEventData, change: (value: string) => string): TriggerEventData {
  const out: Record<string, unknown> = { ...data }
  for (const field of SECRET_EVENT_DATA_FIELDS) {
    const value = out[field]
    if (typeof value === 'string' && value !== '') {
      out[field] = change(value)
    }
  }
  return out
}

/** The `name` a type's settings carry, if its type has one (SMN, LTS and brokers have none). */
function nameOf(eventData: TriggerEventData): string | undefined {
  const name = (eventData as { readonly name?: unknown }).name
  return typeof name === 'string' ? name : undefined
}

/** The two ways one API route can collide with another. */
function sameRoute(a: ApigEventData, b: ApigEventData): boolean {
  const methodsOverlap =
    a.req_method === b.req_method || a.req_method === 'ANY' || b.req_method === 'ANY'
  return methodsOverlap && a.path === b.path && a.env_name === b.env_name
}

export class TriggerStore implements TriggerRepository {
  readonly #db: Kysely<Database>
  readonly #secrets: SecretBox
  readonly #listeners = new Set<(change: TriggerChange) => void>()

  readonly #changes: ClusterChanges
  readonly #onBackgroundError: (err: unknown) => void
  /** Other nodes' changes, delivered one after another in the order heard. */
  #heard: Promise<void> = Promise.resolve()

  constructor(
    db: Kysely<Database>,
    secrets: SecretBox,
    changes: ClusterChanges = SINGLE_NODE_CHANGES,
    onBackgroundError: (err: unknown) => void = () => undefined,
  ) {
    this.#db = db
    this.#secrets = secrets
    this.#changes = changes
    this.#onBackgroundError = onBackgroundError
    changes.subscribe(CACHE_TOPICS.triggers, (key) => {
      if (key !== undefined) {
        this.#heard = this.#heard
          .then(() => this.#deliverRemote(key))
          .catch(this.#onBackgroundError)
      }
    })
  }

  /**
   * Another node's change: a create or update is read again (the row as it is now; gone means a
   * delete is on its way); a delete carries the row as it was (secrets sealed, as stored).
   */
  async #deliverRemote(key: string): Promise<void> {
    const heard = JSON.parse(key) as RemoteChange
    if (heard.kind === 'deleted') {
      this.#tell('deleted', toRecord(heard.row, this.#secrets))
      return
    }
    const row = await this.#db
      .selectFrom('function_triggers')
      .selectAll()
      .where('id', '=', heard.id)
      .executeTakeFirst()
    if (row !== undefined) {
      this.#tell(heard.kind, toRecord(row, this.#secrets))
    }
  }

  /** Called after every change (create, status update, delete), once per trigger, in order. */
  onChange(listener: (change: TriggerChange) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** After a committed write: this node's sources hear of it now, the other nodes' once told. */
  #changed(
    kind: TriggerChange['kind'],
    trigger: TriggerRecord,
    row?: Selectable<FunctionTriggersTable>,
  ): void {
    this.#tell(kind, trigger)
    // A delete whose row another writer took first announces nothing to deliver (read: gone).
    const announced: RemoteChange =
      kind !== 'deleted'
        ? { kind, id: trigger.id }
        : row !== undefined
          ? { kind, row }
          : { kind: 'updated', id: trigger.id }
    this.#changes.publish(CACHE_TOPICS.triggers, JSON.stringify(announced))
  }

  #tell(kind: TriggerChange['kind'], trigger: TriggerRecord): void {
    for (const listener of this.#listeners) {
      listener({ kind, trigger })
    }
  }

  async create(target: TriggerTarget, input: TriggerInput): Promise<TriggerRecord> {
    const created = await this.#db.transaction().execute(async (tx) => {
      // Nodes creating at once take turns, so the quota and the checks below hold until commit:
      // per function version, and across all functions for API routes (always in this order).
      await lockWithin(tx, `triggers:${target.functionId}`)
      if (isApigTriggerType(input.typeCode)) {
        await lockWithin(tx, 'triggers:apig-routes')
      }
      return this.#create(tx, target, input)
    })
    this.#changed('created', created)
    return created
  }

  async #create(
    tx: Kysely<Database>,
    target: TriggerTarget,
    input: TriggerInput,
  ): Promise<TriggerRecord> {
    const mine = await this.#list(tx, target.functionId, target.qualifier)
    if (mine.length >= TRIGGERS_PER_FUNCTION_VERSION) {
      throw new StratoError(
        'TRIGGER_QUOTA_EXCEEDED',
        `This function version has ${mine.length} triggers; the limit is ${TRIGGERS_PER_FUNCTION_VERSION}.`,
      )
    }
    const name = nameOf(input.eventData)
    if (
      name !== undefined &&
      mine.some((t) => t.typeCode === input.typeCode && nameOf(t.eventData) === name)
    ) {
      throw new StratoError(
        triggerErrorCodes(input.typeCode).exists,
        `The function already has an ${input.typeCode} trigger named '${name}'.`,
      )
    }
    const apig = isApigTriggerType(input.typeCode) ? (input.eventData as ApigEventData) : undefined
    if (apig !== undefined) {
      // An API route is global to the gateway: no two triggers may answer the same request.
      for (const other of await this.#listActive(tx, APIG_TRIGGER_TYPES, true)) {
        if (isApigTrigger(other) && sameRoute(other.eventData, apig)) {
          throw new StratoError(
            'APIG_PATH_EXISTS',
            `${apig.req_method} ${apig.path} is already served by the trigger '${other.eventData.name}'.`,
          )
        }
      }
    }
    const now = Date.now()
    const app = apig?.auth === 'APP'
    const appKey = app ? randomBytes(16).toString('hex') : ''
    const appSecret = app ? randomBytes(24).toString('base64url') : ''
    const row: Selectable<FunctionTriggersTable> = {
      // FunctionGraph's APIG trigger ids are 32 hex characters.
      id: randomUUID().replaceAll('-', ''),
      project_id: target.projectId,
      function_id: target.functionId,
      qualifier: target.qualifier,
      function_urn: target.functionUrn,
      type_code: input.typeCode,
      status: input.status,
      event_type_code: input.eventTypeCode,
      event_data_json: JSON.stringify(withSecrets(input.eventData, (v) => this.#secrets.seal(v))),
      app_key: appKey,
      app_secret_sealed: appSecret === '' ? '' : this.#secrets.seal(appSecret),
      created_at: now,
      updated_at: now,
      source_cursor: '',
    }
    await tx.insertInto('function_triggers').values(row).execute()
    return toRecord(row, this.#secrets)
  }

  list(functionId: string, qualifier?: string): Promise<TriggerRecord[]> {
    return this.#list(this.#db, functionId, qualifier)
  }

  async #list(
    db: Kysely<Database>,
    functionId: string,
    qualifier?: string,
  ): Promise<TriggerRecord[]> {
    let q = db.selectFrom('function_triggers').selectAll().where('function_id', '=', functionId)
    if (qualifier !== undefined) {
      q = q.where('qualifier', '=', qualifier)
    }
    const rows = await q.orderBy('created_at').execute()
    return rows.map((r) => toRecord(r, this.#secrets))
  }

  async get(functionId: string, typeCode: string, id: string): Promise<TriggerRecord> {
    const row = await this.#db
      .selectFrom('function_triggers')
      .selectAll()
      .where('function_id', '=', functionId)
      .where('id', '=', id)
      .executeTakeFirst()
    if (row === undefined || row.type_code !== typeCode) {
      throw new StratoError(
        triggerErrorCodes(typeCode).notFound,
        `The ${typeCode} trigger '${id}' does not exist for this function.`,
      )
    }
    return toRecord(row, this.#secrets)
  }

  async setStatus(
    functionId: string,
    typeCode: string,
    id: string,
    status: TriggerStatus,
  ): Promise<TriggerRecord> {
    const trigger = await this.get(functionId, typeCode, id)
    const updated = Date.now()
    await this.#db
      .updateTable('function_triggers')
      .set({ status, updated_at: updated })
      .where('id', '=', id)
      .execute()
    const changed = { ...trigger, status, updatedAt: new Date(updated) }
    this.#changed('updated', changed)
    return changed
  }

  async update(
    functionId: string,
    typeCode: string,
    id: string,
    change: { readonly status: TriggerStatus; readonly eventData: TriggerEventData },
  ): Promise<TriggerRecord> {
    const trigger = await this.get(functionId, typeCode, id)
    const updated = Date.now()
    await this.#db
      .updateTable('function_triggers')
      .set({
        status: change.status,
        // `change.eventData` is plaintext (the route merges into the opened record): sealed at
        // rest as `create` seals it, or every later read of the row fails to open it.
        event_data_json: JSON.stringify(
          withSecrets(change.eventData, (v) => this.#secrets.seal(v)),
        ),
        updated_at: updated,
      })
      .where('id', '=', id)
      .execute()
    // The type is unchanged, so the settings are that type's (its source checked them).
    const changed = {
      ...trigger,
      status: change.status,
      eventData: change.eventData,
      updatedAt: new Date(updated),
    } as TriggerRecord
    this.#changed('updated', changed)
    return changed
  }

  async cursorOf(id: string): Promise<string | undefined> {
    const row = await this.#db
      .selectFrom('function_triggers')
      .select('source_cursor')
      .where('id', '=', id)
      .executeTakeFirst()
    return row === undefined || row.source_cursor === '' ? undefined : row.source_cursor
  }

  async saveCursor(id: string, cursor: string): Promise<void> {
    await this.#db
      .updateTable('function_triggers')
      .set({ source_cursor: cursor })
      .where('id', '=', id)
      .execute()
  }

  async delete(functionId: string, typeCode: string, id: string): Promise<void> {
    const trigger = await this.get(functionId, typeCode, id)
    const row = await this.#db
      .deleteFrom('function_triggers')
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst()
    this.#changed('deleted', trigger, row)
  }

  /** Deletes the triggers of one qualifier, or of the whole function when none is given. */
  async deleteAll(functionId: string, qualifier?: string): Promise<void> {
    let q = this.#db.deleteFrom('function_triggers').where('function_id', '=', functionId)
    if (qualifier !== undefined) {
      q = q.where('qualifier', '=', qualifier)
    }
    // One statement: what it deleted is what the sources hear of, nothing created meanwhile.
    const rows = await q.returningAll().execute()
    for (const row of rows) {
      this.#changed('deleted', toRecord(row, this.#secrets), row)
    }
  }

  /**
   * Within `tx`: deletes the triggers of one qualifier, or of the whole function when none is
   * given. The sources hear of each once `tx` commits, never of a delete rolled back.
   */
  *deleteAllWithin(tx: StoreTransaction, functionId: string, qualifier?: string): TxWork<void> {
    let q = this.#db.deleteFrom('function_triggers').where('function_id', '=', functionId)
    if (qualifier !== undefined) {
      q = q.where('qualifier', '=', qualifier)
    }
    const deleted = yield* tx.rows(q.returningAll())
    tx.afterCommit(() => {
      for (const row of deleted) {
        this.#changed('deleted', toRecord(row, this.#secrets), row)
      }
    })
  }

  /** Triggers of these types across all functions, active ones only unless `all`. */
  listActive(types: readonly TriggerTypeCode[], all = false): Promise<TriggerRecord[]> {
    return this.#listActive(this.#db, types, all)
  }

  async #listActive(
    db: Kysely<Database>,
    types: readonly TriggerTypeCode[],
    all: boolean,
  ): Promise<TriggerRecord[]> {
    let q = db.selectFrom('function_triggers').selectAll().where('type_code', 'in', types)
    if (!all) {
      q = q.where('status', '=', 'ACTIVE')
    }
    const rows = await q.orderBy('created_at').execute()
    return rows.map((r) => toRecord(r, this.#secrets))
  }
}
