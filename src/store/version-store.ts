/**
 * @module Published versions (immutable snapshots of a function) and aliases that route to them.
 */
import type { Kysely, Selectable } from 'kysely'
import {
  SINGLE_NODE_CHANGES,
  type ClusterChanges,
  StratoError,
  type Alias,
  type AliasRepository,
  type FunctionRecord,
  type Limits,
  type PublishedVersion,
  type VersionRepository,
  type VersionStrategy,
} from '../core/index.js'
import type { Database, FunctionAliasesTable } from './database.js'
import { CACHE_TOPICS, linkCache, type Announce } from './cluster-cache.js'
import { lockWithin } from './dialect.js'
import { ReadThroughCache } from './read-through-cache.js'
import type { StoreTransaction, TxWork } from './store-transaction.js'

/** What a snapshot keeps: the record as published, dates as ISO strings. */
type Snapshot = Omit<FunctionRecord, 'createdAt' | 'lastModified' | 'version'> & {
  readonly createdAt: string
  readonly lastModified: string
}

/** Cache keys: the function's id, then the version or alias name. */
const keyOf = (fn: Pick<FunctionRecord, 'id'>, name: string): string => `${fn.id}\u0000${name}`

function splitKey(key: string): [functionId: string, name: string] {
  const at = key.indexOf('\u0000')
  return [key.slice(0, at), key.slice(at + 1)]
}

/**
 * The fields that make two states of a function different enough to publish again: code and
 * everything an instance runs with. Identity, timestamps and the revision counter do not count.
 */
const NOT_PUBLISHED: ReadonlySet<string> = new Set([
  'id',
  'projectId',
  'packageName',
  'name',
  'revision',
  'version',
  'createdAt',
  'lastModified',
])

function publishFingerprint(fn: FunctionRecord): string {
  const kept = Object.entries(fn)
    .filter(([k]) => !NOT_PUBLISHED.has(k))
    .sort(([a], [b]) => a.localeCompare(b))
  return JSON.stringify(kept)
}

function fromSnapshot(json: string, version: string): FunctionRecord {
  const s = JSON.parse(json) as Snapshot
  return { ...s, version, createdAt: new Date(s.createdAt), lastModified: new Date(s.lastModified) }
}

function toAlias(row: Selectable<FunctionAliasesTable>): Alias {
  return {
    name: row.name,
    version: row.version,
    description: row.description,
    weights: JSON.parse(row.weights_json) as Record<string, number>,
    strategy: JSON.parse(row.strategy_json) as Record<string, VersionStrategy>,
    lastModified: new Date(row.last_modified),
  }
}

/** Throws FSS.1094 when one of `aliases` routes to `version` in any way. */
function refuseIfRouted(aliases: readonly Alias[], version: string): void {
  const users = aliases.filter(
    (a) => a.version === version || version in a.weights || version in a.strategy,
  )
  if (users.length > 0) {
    throw new StratoError(
      'VERSION_REFERENCED',
      `The version '${version}' cannot be deleted: the alias '${users[0]?.name ?? ''}' routes to it.`,
    )
  }
}

/**
 * Versions and aliases of functions. Published snapshots never change, so reads are cached; alias
 * reads too (invalidated on this node's writes and on other nodes' announcements).
 */
export class VersionStore implements VersionRepository, AliasRepository {
  readonly #db: Kysely<Database>
  readonly #versions = new ReadThroughCache<string, PublishedVersion>()
  readonly #aliases = new ReadThroughCache<string, Alias>()
  readonly #announceVersion: Announce
  readonly #announceAlias: Announce
  readonly #quotas: Pick<Limits.Quotas, 'versionsPerFunction' | 'aliasesPerFunction'>

  constructor(
    db: Kysely<Database>,
    quotas: Pick<Limits.Quotas, 'versionsPerFunction' | 'aliasesPerFunction'>,
    changes: ClusterChanges = SINGLE_NODE_CHANGES,
  ) {
    this.#db = db
    this.#quotas = quotas
    this.#announceVersion = linkCache(this.#versions, changes, CACHE_TOPICS.versions)
    this.#announceAlias = linkCache(this.#aliases, changes, CACHE_TOPICS.aliases)
  }

  /** After a committed write: drops the version here and on the other nodes. */
  #forgetVersion(key: string): void {
    this.#versions.invalidate(key)
    this.#announceVersion(key)
  }

  #forgetAlias(key: string): void {
    this.#aliases.invalidate(key)
    this.#announceAlias(key)
  }

  /**
   * Publishes `latest` as version `name` (auto-named `vYYYYMMDD-HHMMSS` when not given). Refused when
   * nothing changed since the last publication (FSS.1016), when the name exists (FSS.1062) and
   * past 20 versions including latest.
   */
  async publish(
    latest: FunctionRecord,
    name: string | undefined,
    description: string,
  ): Promise<PublishedVersion> {
    const now = new Date()
    const version =
      name ??
      `v${now.toISOString().slice(0, 19).replace(/-/g, '').replace('T', '-').replace(/:/g, '')}`
    await this.#db.transaction().execute(async (tx) => {
      // Nodes publishing the same function at once take turns (name, fingerprint and quota checks).
      await lockWithin(tx, `versions:${latest.id}`)
      const rows = await tx
        .selectFrom('function_versions')
        .select(['version', 'snapshot_json'])
        .where('function_id', '=', latest.id)
        .orderBy('seq', 'desc')
        .execute()
      if (rows.some((r) => r.version === version)) {
        throw new StratoError('VERSION_EXISTS', `The version '${version}' already exists.`)
      }
      const last = rows[0]
      if (
        last !== undefined &&
        publishFingerprint(fromSnapshot(last.snapshot_json, last.version)) ===
          publishFingerprint(latest)
      ) {
        throw new StratoError(
          'NOTHING_TO_PUBLISH',
          `Nothing changed since version '${last.version}' was published.`,
        )
      }
      if (rows.length + 1 >= this.#quotas.versionsPerFunction) {
        throw new StratoError(
          'VERSION_QUOTA_EXCEEDED',
          `The function has ${rows.length} published versions; the limit is ${this.#quotas.versionsPerFunction} including latest.`,
        )
      }
      // The snapshot is the record without its `latest` label; reading it back names the version.
      const snapshot = Object.fromEntries(Object.entries(latest).filter(([k]) => k !== 'version'))
      await tx
        .insertInto('function_versions')
        .values({
          function_id: latest.id,
          version,
          description,
          snapshot_json: JSON.stringify(snapshot),
          created_at: now.toISOString(),
        })
        .execute()
    })
    const published = await this.get(latest, version)
    if (published === undefined) {
      throw new StratoError('INTERNAL', 'A published version could not be read back.')
    }
    return published
  }

  async get(
    fn: Pick<FunctionRecord, 'id'>,
    version: string,
  ): Promise<PublishedVersion | undefined> {
    return this.#versions.get(keyOf(fn, version), this.#loadVersion)
  }

  readonly #loadVersion = async (key: string): Promise<PublishedVersion | undefined> => {
    const [functionId, version] = splitKey(key)
    const row = await this.#db
      .selectFrom('function_versions')
      .selectAll()
      .where('function_id', '=', functionId)
      .where('version', '=', version)
      .executeTakeFirst()
    if (row === undefined) {
      return undefined
    }
    return {
      fn: fromSnapshot(row.snapshot_json, row.version),
      description: row.description,
      publishedAt: new Date(row.created_at),
    }
  }

  /** Published versions in publication order. */
  async list(fn: Pick<FunctionRecord, 'id'>): Promise<PublishedVersion[]> {
    const rows = await this.#db
      .selectFrom('function_versions')
      .selectAll()
      .where('function_id', '=', fn.id)
      .orderBy('seq')
      .execute()
    return rows.map((row) => ({
      fn: fromSnapshot(row.snapshot_json, row.version),
      description: row.description,
      publishedAt: new Date(row.created_at),
    }))
  }

  /** Deletes a version; refused while an alias routes to it (FSS.1094). */
  async deleteVersion(fn: Pick<FunctionRecord, 'id'>, version: string): Promise<void> {
    refuseIfRouted(await this.listAliases(fn), version)
    await this.#db
      .deleteFrom('function_versions')
      .where('function_id', '=', fn.id)
      .where('version', '=', version)
      .execute()
    this.#forgetVersion(keyOf(fn, version))
  }

  async getAlias(fn: Pick<FunctionRecord, 'id'>, name: string): Promise<Alias | undefined> {
    return this.#aliases.get(keyOf(fn, name), this.#loadAlias)
  }

  readonly #loadAlias = async (key: string): Promise<Alias | undefined> => {
    const [functionId, name] = splitKey(key)
    const row = await this.#db
      .selectFrom('function_aliases')
      .selectAll()
      .where('function_id', '=', functionId)
      .where('name', '=', name)
      .executeTakeFirst()
    return row === undefined ? undefined : toAlias(row)
  }

  async listAliases(fn: Pick<FunctionRecord, 'id'>): Promise<Alias[]> {
    const rows = await this.#db
      .selectFrom('function_aliases')
      .selectAll()
      .where('function_id', '=', fn.id)
      .orderBy('created_at')
      .execute()
    return rows.map(toAlias)
  }

  /**
   * Creates (`existing` undefined) or replaces an alias. The caller has validated versions and
   * weights; this enforces the per-function rules: 10 aliases, and one alias per version.
   */
  async putAlias(
    fn: Pick<FunctionRecord, 'id'>,
    alias: Omit<Alias, 'lastModified'>,
    mode: 'create' | 'update',
  ): Promise<Alias> {
    await this.#db.transaction().execute(async (tx) => {
      // Nodes writing one function's aliases at once take turns: the checks hold until commit.
      await lockWithin(tx, `aliases:${fn.id}`)
      const rows = await tx
        .selectFrom('function_aliases')
        .selectAll()
        .where('function_id', '=', fn.id)
        .execute()
      await this.#writeAlias(tx, fn, alias, mode, rows.map(toAlias))
    })
    this.#forgetAlias(keyOf(fn, alias.name))
    const stored = await this.getAlias(fn, alias.name)
    if (stored === undefined) {
      throw new StratoError('INTERNAL', 'A stored alias could not be read back.')
    }
    return stored
  }

  async #writeAlias(
    tx: Kysely<Database>,
    fn: Pick<FunctionRecord, 'id'>,
    alias: Omit<Alias, 'lastModified'>,
    mode: 'create' | 'update',
    all: readonly Alias[],
  ): Promise<void> {
    const now = new Date().toISOString()
    const others = all.filter((a) => a.name !== alias.name)
    const exists = others.length < all.length
    if (mode === 'create' && exists) {
      throw new StratoError('ALIAS_EXISTS', `The alias '${alias.name}' already exists.`)
    }
    if (mode === 'update' && !exists) {
      throw new StratoError('ALIAS_NOT_FOUND', `The alias '${alias.name}' does not exist.`)
    }
    if (mode === 'create' && others.length >= this.#quotas.aliasesPerFunction) {
      throw new StratoError(
        'ALIAS_QUOTA_EXCEEDED',
        `The function has ${others.length} aliases; the limit is ${this.#quotas.aliasesPerFunction}.`,
      )
    }
    const taken = others.find((a) => a.version === alias.version)
    if (taken !== undefined) {
      throw new StratoError(
        'VERSION_HAS_ALIAS',
        `The version '${alias.version}' is already bound to the alias '${taken.name}'.`,
      )
    }
    const values = {
      version: alias.version,
      description: alias.description,
      weights_json: JSON.stringify(alias.weights),
      strategy_json: JSON.stringify(alias.strategy),
      last_modified: now,
    }
    if (mode === 'create') {
      await tx
        .insertInto('function_aliases')
        .values({ function_id: fn.id, name: alias.name, created_at: now, ...values })
        .execute()
    } else {
      await tx
        .updateTable('function_aliases')
        .set(values)
        .where('function_id', '=', fn.id)
        .where('name', '=', alias.name)
        .execute()
    }
  }

  async deleteAlias(fn: Pick<FunctionRecord, 'id'>, name: string): Promise<void> {
    await this.#db
      .deleteFrom('function_aliases')
      .where('function_id', '=', fn.id)
      .where('name', '=', name)
      .execute()
    this.#forgetAlias(keyOf(fn, name))
  }

  /** Removes every version and alias of a deleted function. */
  async deleteAllOf(fn: Pick<FunctionRecord, 'id'>): Promise<void> {
    await this.#db.deleteFrom('function_versions').where('function_id', '=', fn.id).execute()
    await this.#db.deleteFrom('function_aliases').where('function_id', '=', fn.id).execute()
    this.#forgetAllOf(fn)
  }

  #forgetAllOf(fn: Pick<FunctionRecord, 'id'>): void {
    const prefix = keyOf(fn, '')
    this.#versions.invalidateWhere((key) => key.startsWith(prefix))
    this.#aliases.invalidateWhere((key) => key.startsWith(prefix))
    this.#announceVersion(prefix)
    this.#announceAlias(prefix)
  }

  /**
   * Within `tx`: deletes a version, refused while an alias routes to it (FSS.1094, checked in the
   * same transaction). It leaves the cache once `tx` commits.
   */
  *deleteVersionWithin(
    tx: StoreTransaction,
    fn: Pick<FunctionRecord, 'id'>,
    version: string,
  ): TxWork<void> {
    const aliases = yield* tx.rows(
      this.#db.selectFrom('function_aliases').selectAll().where('function_id', '=', fn.id),
    )
    refuseIfRouted(aliases.map(toAlias), version)
    yield* tx.run(
      this.#db
        .deleteFrom('function_versions')
        .where('function_id', '=', fn.id)
        .where('version', '=', version),
    )
    tx.afterCommit(() => this.#forgetVersion(keyOf(fn, version)))
  }

  /** Within `tx`: deletes an alias; it leaves the cache once `tx` commits. */
  *deleteAliasWithin(
    tx: StoreTransaction,
    fn: Pick<FunctionRecord, 'id'>,
    name: string,
  ): TxWork<void> {
    yield* tx.run(
      this.#db
        .deleteFrom('function_aliases')
        .where('function_id', '=', fn.id)
        .where('name', '=', name),
    )
    tx.afterCommit(() => this.#forgetAlias(keyOf(fn, name)))
  }

  /** Within `tx`: deletes every version and alias of a function (its delete cascade). */
  *deleteAllOfWithin(tx: StoreTransaction, fn: Pick<FunctionRecord, 'id'>): TxWork<void> {
    yield* tx.run(this.#db.deleteFrom('function_versions').where('function_id', '=', fn.id))
    yield* tx.run(this.#db.deleteFrom('function_aliases').where('function_id', '=', fn.id))
    tx.afterCommit(() => this.#forgetAllOf(fn))
  }

  /** Every digest a published version runs, for code garbage collection. */
  async referencedDigests(): Promise<Set<string>> {
    const rows = await this.#db.selectFrom('function_versions').select('snapshot_json').execute()
    return new Set(rows.map((r) => (JSON.parse(r.snapshot_json) as Snapshot).digest))
  }
}
