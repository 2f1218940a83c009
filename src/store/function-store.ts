/**
 * @module The function repository, with an in-memory read cache so invocations do no database I/O.
 */
import { randomUUID } from 'node:crypto'
import { sql, type Kysely, type Selectable } from 'kysely'
import {
  SINGLE_NODE_CHANGES,
  type ClusterChanges,
  StratoError,
  isRuntimeName,
  type CodeRepository,
  type FunctionConfig,
  type FunctionPage,
  type FunctionRecord,
  type FunctionRepository,
  type ListFunctionsQuery,
  type NewFunction,
  type StoredCode,
} from '../core/index.js'
import type { Database, FunctionsTable } from './database.js'
import { CACHE_TOPICS, linkCache, type Announce } from './cluster-cache.js'
import { isUniqueViolation, lockWithin } from './dialect.js'
import { ReadThroughCache } from './read-through-cache.js'
import type { StoreTransaction, TxWork } from './store-transaction.js'

function toRecord(row: Selectable<FunctionsTable>): FunctionRecord {
  if (!isRuntimeName(row.runtime)) {
    throw new StratoError('INTERNAL', `Stored function ${row.id} has an unknown runtime.`)
  }
  return {
    id: row.id,
    projectId: row.project_id,
    packageName: row.package,
    name: row.name,
    runtime: row.runtime,
    handler: row.handler,
    memorySizeMb: row.memory_size,
    timeoutS: row.timeout,
    userData: row.user_data,
    encryptedUserData: row.encrypted_user_data,
    dependVersionList: JSON.parse(row.depend_version_list) as string[],
    description: row.description,
    initializerHandler: row.initializer_handler,
    initializerTimeoutS: row.initializer_timeout,
    maxInstances: row.max_instances,
    concurrentNum: row.concurrent_num,
    extra: JSON.parse(row.extra_json) as Record<string, unknown>,
    codeType: row.code_type as FunctionRecord['codeType'],
    codeFilename: row.code_filename,
    codeSize: row.code_size,
    digest: row.digest,
    revision: row.revision,
    version: 'latest',
    createdAt: new Date(row.created_at),
    lastModified: new Date(row.last_modified),
  }
}

function configColumns(config: FunctionConfig) {
  return {
    runtime: config.runtime,
    handler: config.handler,
    memory_size: config.memorySizeMb,
    timeout: config.timeoutS,
    user_data: config.userData,
    encrypted_user_data: config.encryptedUserData,
    depend_version_list: JSON.stringify(config.dependVersionList),
    description: config.description,
    initializer_handler: config.initializerHandler,
    initializer_timeout: config.initializerTimeoutS,
    max_instances: config.maxInstances,
    concurrent_num: config.concurrentNum,
    extra_json: JSON.stringify(config.extra),
  }
}

function codeColumns(code: StoredCode) {
  return {
    code_type: code.codeType,
    code_filename: code.codeFilename,
    code_size: code.codeSize,
    digest: code.digest,
  }
}

const cacheKey = (projectId: string, packageName: string, name: string): string =>
  `${projectId}\u0000${packageName}\u0000${name}`

/**
 * Functions by project, package and name. The cache stays exact: this node invalidates what it
 * writes, and in cluster mode what other nodes announce (`linkCache`).
 */
export class FunctionStore implements FunctionRepository {
  readonly #db: Kysely<Database>
  readonly #quotaPerProject: number
  readonly #code: Pick<CodeRepository, 'release' | 'unzippedSize'>
  /** Hits only: lookups of made-up names must not grow memory. */
  readonly #cache = new ReadThroughCache<string, FunctionRecord>()
  readonly #announce: Announce

  constructor(
    db: Kysely<Database>,
    quotaPerProject: number,
    code: Pick<CodeRepository, 'release' | 'unzippedSize'>,
    changes: ClusterChanges = SINGLE_NODE_CHANGES,
  ) {
    this.#db = db
    this.#quotaPerProject = quotaPerProject
    this.#code = code
    this.#announce = linkCache(this.#cache, changes, CACHE_TOPICS.functions)
  }

  /** After a committed write: drops the entry here and on the other nodes. */
  #forget(key: string): void {
    this.#cache.invalidate(key)
    this.#announce(key)
  }

  /** Writes the function; its code's ingest pin ends once the row exists (or the write failed). */
  async create(input: NewFunction): Promise<FunctionRecord> {
    try {
      return await this.#create(input)
    } finally {
      this.#code.release(input.code.digest)
    }
  }

  async #create(input: NewFunction): Promise<FunctionRecord> {
    const now = new Date().toISOString()
    const id = randomUUID()
    await this.#db
      .transaction()
      .execute(async (tx) => {
        // Nodes creating in one project at once take turns: the count below stays true until commit.
        await lockWithin(tx, `functions:${input.projectId}`)
        const existing = await tx
          .selectFrom('functions')
          .select('id')
          .where('project_id', '=', input.projectId)
          .where('package', '=', input.packageName)
          .where('name', '=', input.name)
          .executeTakeFirst()
        if (existing !== undefined) {
          throw new StratoError(
            'FUNCTION_EXISTS',
            `The function '${input.packageName}:${input.name}' already exists.`,
          )
        }
        const { count } = await tx
          .selectFrom('functions')
          .select((eb) => eb.fn.countAll<number>().as('count'))
          .where('project_id', '=', input.projectId)
          .executeTakeFirstOrThrow()
        if (Number(count) >= this.#quotaPerProject) {
          throw new StratoError(
            'FUNCTION_QUOTA_EXCEEDED',
            `The project has ${count} functions; the limit is ${this.#quotaPerProject}.`,
          )
        }
        await tx
          .insertInto('functions')
          .values({
            id,
            project_id: input.projectId,
            package: input.packageName,
            name: input.name,
            ...configColumns(input.config),
            ...codeColumns(input.code),
            revision: 1,
            created_at: now,
            last_modified: now,
          })
          .execute()
      })
      .catch((err: unknown) => {
        // The unique index has the last word (a writer that took no lock, or a different one).
        throw isUniqueViolation(err)
          ? new StratoError(
              'FUNCTION_EXISTS',
              `The function '${input.packageName}:${input.name}' already exists.`,
            )
          : err
      })
    this.#forget(cacheKey(input.projectId, input.packageName, input.name))
    const created = await this.get(input.projectId, input.packageName, input.name)
    if (created === undefined) {
      throw new StratoError('INTERNAL', 'A created function could not be read back.')
    }
    return created
  }

  /** The function, or undefined. Served from memory after the first read. */
  async get(
    projectId: string,
    packageName: string,
    name: string,
  ): Promise<FunctionRecord | undefined> {
    return this.#cache.get(cacheKey(projectId, packageName, name), this.#load)
  }

  /** Reads a function by its cache key; made once, so a cache hit allocates nothing. */
  readonly #load = async (key: string): Promise<FunctionRecord | undefined> => {
    const [projectId = '', packageName = '', name = ''] = key.split('\u0000')
    const row = await this.#db
      .selectFrom('functions')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('package', '=', packageName)
      .where('name', '=', name)
      .executeTakeFirst()
    return row === undefined ? undefined : toRecord(row)
  }

  /**
   * Bytes the code of the project's functions takes: each function's zip plus its unzipped files
   * (what the project's code quota counts).
   */
  async totalCodeSize(projectId: string): Promise<number> {
    const rows = await this.#db
      .selectFrom('functions')
      .select(['digest', 'code_size'])
      .where('project_id', '=', projectId)
      .execute()
    let total = 0
    for (const row of rows) {
      total += row.code_size + (await this.#code.unzippedSize(row.digest))
    }
    return total
  }

  /** Bytes one function's code takes: its zip plus its unzipped files. */
  async storedCodeSize(fn: Pick<FunctionRecord, 'codeSize' | 'digest'>): Promise<number> {
    return fn.codeSize + (await this.#code.unzippedSize(fn.digest))
  }

  /** How many functions the project has. */
  async count(projectId: string): Promise<number> {
    const row = await this.#db
      .selectFrom('functions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirst()
    return Number(row?.n ?? 0)
  }

  /** The function with this `func_id` in the project, or undefined. */
  async getById(projectId: string, id: string): Promise<FunctionRecord | undefined> {
    const row = await this.#db
      .selectFrom('functions')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst()
    return row === undefined ? undefined : toRecord(row)
  }

  async list(projectId: string, query: ListFunctionsQuery): Promise<FunctionPage> {
    let base = this.#db.selectFrom('functions').where('project_id', '=', projectId)
    if (query.packageName !== undefined) {
      base = base.where('package', '=', query.packageName)
    }
    if (query.nameContains !== undefined) {
      const escaped = query.nameContains.replace(/[\\%_]/g, (c) => `\\${c}`)
      // lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
      base = base.where(sql<boolean>`lower(name) like lower(${`%${escaped}%`}) escape '\\'`)
    }
    const { count } = await base
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow()
    const rows = await base
      .selectAll()
      .orderBy('seq')
      .offset(query.marker)
      .limit(query.maxItems)
      .execute()
    const nextMarker = query.marker + rows.length
    return { functions: rows.map(toRecord), nextMarker, count: Number(count) }
  }

  async updateConfig(fn: FunctionRecord, config: FunctionConfig): Promise<FunctionRecord> {
    return this.#update(fn, configColumns(config))
  }

  /** Writes the new code; its ingest pin ends once the row is written (or the write failed). */
  async updateCode(fn: FunctionRecord, code: StoredCode): Promise<FunctionRecord> {
    try {
      return await this.#update(fn, codeColumns(code))
    } finally {
      this.#code.release(code.digest)
    }
  }

  async #update(
    fn: FunctionRecord,
    columns: Partial<Omit<FunctionsTable, 'seq'>>,
  ): Promise<FunctionRecord> {
    const row = await this.#db
      .updateTable('functions')
      // In SQL, not from the caller's copy: two updates from one read must not share a revision.
      .set({
        ...columns,
        revision: sql<number>`revision + 1`,
        last_modified: new Date().toISOString(),
      })
      .where('id', '=', fn.id)
      .returningAll()
      .executeTakeFirst()
    this.#forget(cacheKey(fn.projectId, fn.packageName, fn.name))
    if (row === undefined) {
      throw new StratoError(
        'FUNCTION_NOT_FOUND',
        `The function '${fn.name}' was deleted meanwhile.`,
      )
    }
    // The row as this update left it (a later one may already have changed it again).
    return toRecord(row)
  }

  async delete(fn: FunctionRecord): Promise<void> {
    await this.#db.deleteFrom('functions').where('id', '=', fn.id).execute()
    this.#forget(cacheKey(fn.projectId, fn.packageName, fn.name))
  }

  /** Deletes the function's row within `tx`; it leaves the cache once `tx` commits. */
  *deleteWithin(tx: StoreTransaction, fn: FunctionRecord): TxWork<void> {
    yield* tx.run(this.#db.deleteFrom('functions').where('id', '=', fn.id))
    tx.afterCommit(() => this.#forget(cacheKey(fn.projectId, fn.packageName, fn.name)))
  }

  /** Every digest some function references, for code garbage collection. */
  async referencedDigests(): Promise<Set<string>> {
    const rows = await this.#db.selectFrom('functions').select('digest').distinct().execute()
    return new Set(rows.map((r) => r.digest))
  }

  async runtimesInUse(): Promise<Set<string>> {
    const rows = await this.#db.selectFrom('functions').select('runtime').distinct().execute()
    return new Set(rows.map((r) => r.runtime))
  }
}
