/**
 * @module Dependency packages (reference §4.6): named zips in versions, per project and runtime,
 * stored in the content-addressed code store and attached to functions by version id.
 */
import { createHash, randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import {
  StratoError,
  type CodeRepository,
  type DependencyRepository,
  type DependencyVersion,
  type NewDependencyVersion,
} from '../core/index.js'
import type { Database } from './database.js'
import { lockWithin } from './dialect.js'

export class DependencyStore implements DependencyRepository {
  readonly #db: Kysely<Database>
  readonly #code: Pick<CodeRepository, 'ingestArchive' | 'release'>

  constructor(db: Kysely<Database>, code: Pick<CodeRepository, 'ingestArchive' | 'release'>) {
    this.#db = db
    this.#code = code
  }

  #select() {
    return this.#db
      .selectFrom('dependency_versions as v')
      .innerJoin('dependencies as d', 'd.dep_id', 'v.dep_id')
      .select([
        'v.id as id',
        'v.dep_id as depId',
        'd.project_id as projectId',
        'd.name as name',
        'd.runtime as runtime',
        'v.version as version',
        'v.digest as digest',
        'v.size as size',
        'v.etag as etag',
        'v.file_name as fileName',
        'v.description as description',
        'v.last_modified as lastModified',
      ])
  }

  /** Stores the zip and adds it as the next version of the dependency `name` for `runtime`. */
  async createVersion(input: NewDependencyVersion): Promise<DependencyVersion> {
    const { digest, size } = await this.#code.ingestArchive(input.zip)
    const id = randomUUID()
    try {
      await this.#insertVersion(input, id, digest, size)
    } finally {
      // The row exists (or never will): the ingest's pin has done its job.
      this.#code.release(digest)
    }
    return this.getById(input.projectId, id)
  }

  async #insertVersion(
    input: NewDependencyVersion,
    id: string,
    digest: string,
    size: number,
  ): Promise<void> {
    await this.#db.transaction().execute(async (tx) => {
      // Nodes adding versions of one dependency at once take turns (its row, the next number).
      await lockWithin(tx, `dependencies:${input.projectId}:${input.name}:${input.runtime}`)
      let dep = await tx
        .selectFrom('dependencies')
        .select('dep_id')
        .where('project_id', '=', input.projectId)
        .where('name', '=', input.name)
        .where('runtime', '=', input.runtime)
        .executeTakeFirst()
      if (dep === undefined) {
        dep = { dep_id: randomUUID() }
        await tx
          .insertInto('dependencies')
          .values({
            dep_id: dep.dep_id,
            project_id: input.projectId,
            name: input.name,
            runtime: input.runtime,
            created_at: new Date().toISOString(),
          })
          .execute()
      }
      const last = await tx
        .selectFrom('dependency_versions')
        .select((eb) => eb.fn.max<number>('version').as('max'))
        .where('dep_id', '=', dep.dep_id)
        .executeTakeFirst()
      await tx
        .insertInto('dependency_versions')
        .values({
          id,
          dep_id: dep.dep_id,
          version: Number(last?.max ?? 0) + 1,
          digest,
          size,
          etag: createHash('md5').update(input.zip).digest('hex'),
          file_name: input.fileName,
          description: input.description,
          last_modified: Math.floor(Date.now() / 1000),
        })
        .execute()
    })
  }

  /** The newest version of each of the project's dependencies. */
  async listLatest(
    projectId: string,
    filter: { name?: string; runtime?: string },
  ): Promise<DependencyVersion[]> {
    let q = this.#select().where('d.project_id', '=', projectId)
    if (filter.name !== undefined) {
      q = q.where('d.name', '=', filter.name)
    }
    if (filter.runtime !== undefined) {
      q = q.where('d.runtime', '=', filter.runtime)
    }
    const all = await q.orderBy('d.created_at').orderBy('v.version', 'desc').execute()
    const seen = new Set<string>()
    return all.filter((v) => !seen.has(v.depId) && seen.add(v.depId) !== undefined)
  }

  async listVersions(projectId: string, depId: string): Promise<DependencyVersion[]> {
    const rows = await this.#select()
      .where('d.project_id', '=', projectId)
      .where('v.dep_id', '=', depId)
      .orderBy('v.version')
      .execute()
    if (rows.length === 0) {
      throw new StratoError('DEPENDENCY_NOT_FOUND', `The dependency '${depId}' does not exist.`)
    }
    return rows
  }

  async getVersion(projectId: string, depId: string, version: number): Promise<DependencyVersion> {
    const row = await this.#select()
      .where('d.project_id', '=', projectId)
      .where('v.dep_id', '=', depId)
      .where('v.version', '=', version)
      .executeTakeFirst()
    if (row === undefined) {
      throw new StratoError(
        'DEPENDENCY_NOT_FOUND',
        `The dependency '${depId}' has no version ${version}.`,
      )
    }
    return row
  }

  /** A version by its id within the project (how functions name their dependencies). */
  async getById(projectId: string, id: string): Promise<DependencyVersion> {
    const row = await this.#select()
      .where('d.project_id', '=', projectId)
      .where('v.id', '=', id)
      .executeTakeFirst()
    if (row === undefined) {
      throw new StratoError(
        'DEPENDENCY_NOT_FOUND',
        `The dependency version '${id}' does not exist.`,
      )
    }
    return row
  }

  /**
   * Deletes a version unless a function, or a published version of one, attaches it (412
   * FSS.1033). The dependency goes with its last version.
   */
  async deleteVersion(projectId: string, depId: string, version: number): Promise<void> {
    const v = await this.getVersion(projectId, depId, version)
    const needle = `%${JSON.stringify(v.id)}%`
    const user =
      (await this.#db
        .selectFrom('functions')
        .select('name')
        .where('depend_version_list', 'like', needle)
        .executeTakeFirst()) ??
      (await this.#db
        .selectFrom('function_versions')
        .select('version as name')
        .where('snapshot_json', 'like', needle)
        .executeTakeFirst())
    if (user !== undefined) {
      throw new StratoError(
        'DEPENDENCY_IN_USE',
        `The dependency version ${v.name} ${v.version} is attached to '${user.name}'; detach it first.`,
      )
    }
    await this.#db.deleteFrom('dependency_versions').where('id', '=', v.id).execute()
    const left = await this.#db
      .selectFrom('dependency_versions')
      .select('id')
      .where('dep_id', '=', depId)
      .executeTakeFirst()
    if (left === undefined) {
      await this.#db.deleteFrom('dependencies').where('dep_id', '=', depId).execute()
    }
  }

  /** Every digest a dependency version stores, for code garbage collection. */
  async referencedDigests(): Promise<Set<string>> {
    const rows = await this.#db.selectFrom('dependency_versions').select('digest').execute()
    return new Set(rows.map((r) => r.digest))
  }
}
