/**
 * @module Tenants (projects) and their access keys. Secret keys are sealed at rest; the opened key
 * pairs are held in memory so request verification does no I/O.
 */
import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database } from './database.js'
import type { SecretBox } from './secret-box.js'

export interface KeyPair {
  readonly accessKey: string
  readonly secretKey: string
  readonly projectId: string
}

export interface BootstrapRequest {
  readonly projectId: string | undefined
  readonly accessKey: string | undefined
  readonly secretKey: string | undefined
}

/** What ensureBootstrap did: `generated` is true when the keys were made up and must be shown. */
export interface BootstrapOutcome {
  readonly keys: KeyPair
  readonly created: boolean
  readonly generated: boolean
}

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

export class TenantStore {
  readonly #db: Kysely<Database>
  readonly #box: SecretBox
  readonly #keys = new Map<string, KeyPair>()

  constructor(db: Kysely<Database>, box: SecretBox) {
    this.#db = db
    this.#box = box
  }

  /** Loads every key pair into memory; call once at start. */
  async load(): Promise<void> {
    const rows = await this.#db.selectFrom('access_keys').selectAll().execute()
    this.#keys.clear()
    for (const r of rows) {
      this.#keys.set(r.access_key, {
        accessKey: r.access_key,
        projectId: r.project_id,
        secretKey: this.#box.open(r.secret_enc),
      })
    }
  }

  lookup(accessKey: string): KeyPair | undefined {
    return this.#keys.get(accessKey)
  }

  async hasAnyTenant(): Promise<boolean> {
    const row = await this.#db
      .selectFrom('tenants')
      .select('project_id')
      .limit(1)
      .executeTakeFirst()
    return row !== undefined
  }

  /** Creates a tenant with one key pair (idempotent for the tenant; the key must be new). */
  async addTenantKey(keys: KeyPair, name = 'root'): Promise<void> {
    const now = new Date().toISOString()
    await this.#db.transaction().execute(async (tx) => {
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
    })
    this.#keys.set(keys.accessKey, keys)
  }

  /**
   * On an empty data dir, creates the root tenant from the settings, generating what is missing.
   * On later starts, settings that name a key pair make sure it exists (an operator's way to add or
   * rotate the bootstrap key); otherwise nothing changes.
   */
  async ensureBootstrap(request: BootstrapRequest): Promise<BootstrapOutcome | undefined> {
    const empty = !(await this.hasAnyTenant())
    if (request.accessKey !== undefined && request.secretKey !== undefined) {
      const existing = this.#keys.get(request.accessKey)
      const projectId = request.projectId ?? existing?.projectId
      const keys = {
        ...generateKeyPair(projectId),
        accessKey: request.accessKey,
        secretKey: request.secretKey,
      }
      if (
        existing === undefined ||
        existing.secretKey !== keys.secretKey ||
        existing.projectId !== keys.projectId
      ) {
        await this.addTenantKey(keys)
        return { keys, created: true, generated: false }
      }
      return { keys: existing, created: false, generated: false }
    }
    if (!empty) {
      return undefined
    }
    const keys = generateKeyPair(request.projectId)
    await this.addTenantKey(keys)
    return { keys, created: true, generated: true }
  }
}
