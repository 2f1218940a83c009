/**
 * @module Tenants (projects) and their access keys. Secret keys are sealed at rest; the opened key
 * pairs are held in memory so request verification does no I/O.
 */
import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import {
  SINGLE_NODE_CHANGES,
  StratoError,
  type ClusterChanges,
  type BootstrapHooks,
  type BootstrapOutcome,
  type BootstrapRequest,
  type KeyPair,
  type TenantRepository,
} from '../core/index.js'
import type { Database } from './database.js'
import { CACHE_TOPICS, reloadOnChange, type Announce } from './cluster-cache.js'
import { lockWithin } from './dialect.js'
import { ReadThroughCache } from './read-through-cache.js'
import type { SecretBox } from './secret-box.js'

const ALNUM_UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

function randomString(alphabet: string, length: number): string {
  // Rejection sampling keeps the characters uniform.
  let out = ''
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 256 - (256 % alphabet.length) && out.length < length) {
        out += alphabet[b % alphabet.length]
      }
    }
  }
  return out
}

/** Key shapes as Huawei Cloud issues them: 32 hex project ids, 20-char AKs, 40-char SKs. */
export function generateKeyPair(projectId?: string): KeyPair {
  return {
    projectId: projectId ?? randomBytes(16).toString('hex'),
    accessKey: randomString(ALNUM_UPPER, 20),
    secretKey: randomString(ALNUM, 40),
  }
}

/**
 * Every key pair is held in memory (`load` at start), so `lookup` is synchronous. It is filled by
 * `load` and this store's own writes, and loaded again when another node announces a key change
 * (or a resync is due).
 */
export class TenantStore implements TenantRepository {
  readonly #db: Kysely<Database>
  readonly #box: SecretBox
  readonly #keys = new ReadThroughCache<string, KeyPair>()
  readonly #announce: Announce
  /** Bumped by every load: a load overtaken by a newer one must not install its older rows. */
  #loads = 0
  #loading = 0
  readonly #onBackgroundError: (err: unknown) => void

  constructor(
    db: Kysely<Database>,
    box: SecretBox,
    changes: ClusterChanges = SINGLE_NODE_CHANGES,
    onBackgroundError: (err: unknown) => void = () => undefined,
  ) {
    this.#db = db
    this.#box = box
    this.#onBackgroundError = onBackgroundError
    this.#announce = reloadOnChange(
      changes,
      CACHE_TOPICS.tenants,
      () => this.load(),
      onBackgroundError,
    )
  }

  /** Loads every key pair into memory; at start, and when another node changed some. */
  async load(): Promise<void> {
    const load = ++this.#loads
    this.#loading++
    const rows = await this.#db
      .selectFrom('access_keys')
      .selectAll()
      .execute()
      .finally(() => this.#loading--)
    if (load !== this.#loads) {
      return
    }
    this.#keys.invalidateAll()
    for (const r of rows) {
      this.#keys.set(r.access_key, {
        accessKey: r.access_key,
        projectId: r.project_id,
        secretKey: this.#box.open(r.secret_enc),
      })
    }
  }

  lookup(accessKey: string): KeyPair | undefined {
    return this.#keys.peek(accessKey)
  }

  /** The root tenant's project id: the first tenant named root (a data dir has one). */
  rootProjectId(): Promise<string | undefined> {
    return this.#rootProjectId(this.#db)
  }

  async #rootProjectId(db: Kysely<Database>): Promise<string | undefined> {
    const row = await db
      .selectFrom('tenants')
      .select('project_id')
      .where('name', '=', 'root')
      .orderBy('created_at')
      .orderBy('project_id')
      .limit(1)
      .executeTakeFirst()
    return row?.project_id
  }

  /** Creates a tenant with one key pair (idempotent for the tenant; the key must be new). */
  async addTenantKey(keys: KeyPair, name = 'root'): Promise<void> {
    await this.#db.transaction().execute((tx) => this.#writeKey(tx, keys, name))
    this.#keys.set(keys.accessKey, keys)
    this.#announce(keys.accessKey)
    this.#overtakeLoads()
  }

  async #writeKey(tx: Kysely<Database>, keys: KeyPair, name: string): Promise<void> {
    const now = new Date().toISOString()
    await tx
      .insertInto('tenants')
      .values({ project_id: keys.projectId, domain_id: keys.projectId, name, created_at: now })
      .onConflict((oc) => oc.column('project_id').doNothing())
      .execute()
    await tx
      .insertInto('access_keys')
      .values({
        access_key: keys.accessKey,
        project_id: keys.projectId,
        secret_enc: this.#box.seal(keys.secretKey),
        created_at: now,
      })
      .onConflict((oc) =>
        oc.column('access_key').doUpdateSet({
          project_id: keys.projectId,
          secret_enc: this.#box.seal(keys.secretKey),
        }),
      )
      .execute()
  }

  /**
   * A load in flight may have read before this node's write and would wipe it: it is dropped, and
   * one started after the write brings whatever it was loading for.
   */
  #overtakeLoads(): void {
    this.#loads++
    if (this.#loading > 0) {
      this.load().catch(this.#onBackgroundError)
    }
  }

  /**
   * On a data dir without a root tenant, creates it from the settings, generating what is missing.
   * On later starts, settings that name a key pair add it to the root tenant (or rotate its secret):
   * an operator's way to regain access; STRATO_PROJECT_ID, if given, must be the root's.
   */
  async ensureBootstrap(
    request: BootstrapRequest,
    hooks: BootstrapHooks = {},
  ): Promise<BootstrapOutcome | undefined> {
    // Nodes starting together on an empty shared store take turns: the first creates the root
    // tenant, the others find it (and add their given key to it).
    const outcome = await this.#db.transaction().execute(async (tx) => {
      await lockWithin(tx, 'tenants:bootstrap')
      return this.#bootstrap(tx, request, hooks)
    })
    if (outcome?.written === true) {
      this.#keys.set(outcome.keys.accessKey, outcome.keys)
      this.#announce(outcome.keys.accessKey)
      this.#overtakeLoads()
    }
    return outcome?.outcome
  }

  async #bootstrap(
    tx: Kysely<Database>,
    request: BootstrapRequest,
    hooks: BootstrapHooks,
  ): Promise<{ outcome: BootstrapOutcome; keys: KeyPair; written: boolean } | undefined> {
    const rootProjectId = await this.#rootProjectId(tx)
    if (rootProjectId === undefined) {
      const generated = generateKeyPair(request.projectId)
      const given = request.accessKey !== undefined && request.secretKey !== undefined
      const outcome: BootstrapOutcome = {
        keys: given
          ? { ...generated, accessKey: request.accessKey, secretKey: request.secretKey }
          : generated,
        created: true,
        generated: !given,
        projectIdGenerated: request.projectId === undefined,
      }
      hooks.beforeCreate?.(outcome)
      await this.#writeKey(tx, outcome.keys, 'root')
      return { outcome, keys: outcome.keys, written: true }
    }
    // A second root tenant would hold the key and leave the first one's functions unreachable.
    if (request.projectId !== undefined && request.projectId !== rootProjectId) {
      throw new StratoError(
        'INVALID_PARAMETER',
        `Setting STRATO_PROJECT_ID=${request.projectId} is not the project id of this data dir's root tenant, ${rootProjectId}: set it to that or leave it unset.`,
      )
    }
    if (request.accessKey === undefined || request.secretKey === undefined) {
      return undefined
    }
    // Read from the store, not memory: another node may have added it a moment ago.
    const row = await tx
      .selectFrom('access_keys')
      .selectAll()
      .where('access_key', '=', request.accessKey)
      .executeTakeFirst()
    const existing =
      row === undefined
        ? undefined
        : { projectId: row.project_id, secretKey: this.#box.open(row.secret_enc) }
    if (existing !== undefined && existing.projectId !== rootProjectId) {
      throw new StratoError(
        'INVALID_PARAMETER',
        `Setting STRATO_ACCESS_KEY=${request.accessKey} is a key of project ${existing.projectId}, not of the root tenant ${rootProjectId}: choose another access key.`,
      )
    }
    const keys = {
      projectId: rootProjectId,
      accessKey: request.accessKey,
      secretKey: request.secretKey,
    }
    const written = existing?.secretKey !== keys.secretKey
    if (written) {
      await this.#writeKey(tx, keys, 'root')
    }
    return {
      outcome: { keys, created: false, generated: false, projectIdGenerated: false },
      keys,
      written,
    }
  }
}
