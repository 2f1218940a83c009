/**
 * @module Triggers of every type in one table (reference §4.4); the type's settings are JSON. The
 * API gateway reads the active APIG triggers through `listActive` and hears of changes through
 * `onChange`, so a route appears or goes the moment its trigger does.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import type { Kysely, Selectable } from 'kysely'
import {
  StratoError,
  TRIGGERS_PER_FUNCTION_VERSION,
  type ApigEventData,
  type TriggerInput,
  type TriggerRecord,
  type TriggerStatus,
  type TriggerTypeCode,
} from '../core/index.js'
import type { Database, FunctionTriggersTable } from './database.js'
import type { SecretBox } from './secret-box.js'

function toRecord(row: Selectable<FunctionTriggersTable>, secrets: SecretBox): TriggerRecord {
  return {
    id: row.id,
    projectId: row.project_id,
    functionId: row.function_id,
    qualifier: row.qualifier,
    functionUrn: row.function_urn,
    typeCode: row.type_code as TriggerTypeCode,
    status: row.status as TriggerStatus,
    eventTypeCode: row.event_type_code,
    eventData: JSON.parse(row.event_data_json) as ApigEventData,
    appKey: row.app_key,
    appSecret: row.app_secret_sealed === '' ? '' : secrets.open(row.app_secret_sealed),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  }
}

/** The two ways one API route can collide with another. */
function sameRoute(a: ApigEventData, b: ApigEventData): boolean {
  const methodsOverlap =
    a.req_method === b.req_method || a.req_method === 'ANY' || b.req_method === 'ANY'
  return methodsOverlap && a.path === b.path && a.env_name === b.env_name
}

export class TriggerStore {
  readonly #db: Kysely<Database>
  readonly #secrets: SecretBox
  readonly #listeners = new Set<() => void>()

  constructor(db: Kysely<Database>, secrets: SecretBox) {
    this.#db = db
    this.#secrets = secrets
  }

  /** Called after every change (create, update, delete). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #changed(): void {
    for (const listener of this.#listeners) {
      listener()
    }
  }

  async create(
    target: { projectId: string; functionId: string; qualifier: string; functionUrn: string },
    input: TriggerInput,
  ): Promise<TriggerRecord> {
    const mine = await this.list(target.functionId, target.qualifier)
    if (mine.length >= TRIGGERS_PER_FUNCTION_VERSION) {
      throw new StratoError(
        'TRIGGER_QUOTA_EXCEEDED',
        `This function version has ${mine.length} triggers; the limit is ${TRIGGERS_PER_FUNCTION_VERSION}.`,
      )
    }
    if (
      mine.some((t) => t.typeCode === input.typeCode && t.eventData.name === input.eventData.name)
    ) {
      throw new StratoError(
        'APIG_TRIGGER_EXISTS',
        `The function already has an ${input.typeCode} trigger named '${input.eventData.name}'.`,
      )
    }
    // An API route is global to the gateway: no two triggers may answer the same request.
    for (const other of await this.listActive(['APIG', 'DEDICATEDGATEWAY'], true)) {
      if (sameRoute(other.eventData, input.eventData)) {
        throw new StratoError(
          'APIG_PATH_EXISTS',
          `${input.eventData.req_method} ${input.eventData.path} is already served by the trigger '${other.eventData.name}'.`,
        )
      }
    }
    const now = Date.now()
    const appKey = input.eventData.auth === 'APP' ? randomBytes(16).toString('hex') : ''
    const appSecret = input.eventData.auth === 'APP' ? randomBytes(24).toString('base64url') : ''
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
      event_data_json: JSON.stringify(input.eventData),
      app_key: appKey,
      app_secret_sealed: appSecret === '' ? '' : this.#secrets.seal(appSecret),
      created_at: now,
      updated_at: now,
    }
    await this.#db.insertInto('function_triggers').values(row).execute()
    this.#changed()
    return toRecord(row, this.#secrets)
  }

  async list(functionId: string, qualifier?: string): Promise<TriggerRecord[]> {
    let q = this.#db
      .selectFrom('function_triggers')
      .selectAll()
      .where('function_id', '=', functionId)
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
        typeCode === 'APIG' || typeCode === 'DEDICATEDGATEWAY'
          ? 'APIG_TRIGGER_NOT_FOUND'
          : 'TRIGGER_NOT_FOUND',
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
    this.#changed()
    return { ...trigger, status, updatedAt: new Date(updated) }
  }

  async delete(functionId: string, typeCode: string, id: string): Promise<void> {
    await this.get(functionId, typeCode, id)
    await this.#db.deleteFrom('function_triggers').where('id', '=', id).execute()
    this.#changed()
  }

  /** Deletes the triggers of one qualifier, or of the whole function when none is given. */
  async deleteAll(functionId: string, qualifier?: string): Promise<void> {
    let q = this.#db.deleteFrom('function_triggers').where('function_id', '=', functionId)
    if (qualifier !== undefined) {
      q = q.where('qualifier', '=', qualifier)
    }
    await q.execute()
    this.#changed()
  }

  /** Triggers of these types across all functions, active ones only unless `all`. */
  async listActive(types: readonly TriggerTypeCode[], all = false): Promise<TriggerRecord[]> {
    let q = this.#db.selectFrom('function_triggers').selectAll().where('type_code', 'in', types)
    if (!all) {
      q = q.where('status', '=', 'ACTIVE')
    }
    const rows = await q.orderBy('created_at').execute()
    return rows.map((r) => toRecord(r, this.#secrets))
  }
}
