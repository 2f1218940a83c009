/**
 * @module Function applications: a row per application, its members as JSON.
 */
import type { Kysely, Selectable } from 'kysely'
import {
  StratoError,
  type FunctionApp,
  type FunctionAppMember,
  type FunctionAppRepository,
} from '../core/index.js'
import type { Database, FunctionAppsTable } from './database.js'

function appOf(row: Selectable<FunctionAppsTable>): FunctionApp {
  return {
    id: row.id,
    projectId: row.project_id,
    name: row.name,
    templateId: row.template_id,
    description: row.description,
    params: JSON.parse(row.params_json) as Record<string, string>,
    status: row.status,
    members: JSON.parse(row.members_json) as FunctionAppMember[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export class FunctionAppStore implements FunctionAppRepository {
  readonly #db: Kysely<Database>

  constructor(db: Kysely<Database>) {
    this.#db = db
  }

  async create(app: FunctionApp): Promise<void> {
    const inserted = await this.#db
      .insertInto('function_apps')
      .values({
        id: app.id,
        project_id: app.projectId,
        name: app.name,
        template_id: app.templateId,
        description: app.description,
        params_json: JSON.stringify(app.params),
        status: app.status,
        members_json: JSON.stringify(app.members),
        created_at: app.createdAt,
        updated_at: app.updatedAt,
      })
      .onConflict((oc) => oc.columns(['project_id', 'name']).doNothing())
      .executeTakeFirst()
    if (inserted.numInsertedOrUpdatedRows === 0n) {
      throw new StratoError('APP_EXISTS', `The application '${app.name}' already exists.`)
    }
  }

  async update(app: FunctionApp): Promise<void> {
    await this.#db
      .updateTable('function_apps')
      .set({
        status: app.status,
        members_json: JSON.stringify(app.members),
        updated_at: app.updatedAt,
      })
      .where('id', '=', app.id)
      .execute()
  }

  async get(projectId: string, id: string): Promise<FunctionApp | undefined> {
    const row = await this.#db
      .selectFrom('function_apps')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst()
    return row === undefined ? undefined : appOf(row)
  }

  async list(
    projectId: string,
    page: { readonly marker: number; readonly limit: number },
  ): Promise<{ apps: FunctionApp[]; count: number }> {
    const rows = await this.#db
      .selectFrom('function_apps')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('created_at')
      .orderBy('id')
      .limit(page.limit)
      .offset(page.marker)
      .execute()
    const total = await this.#db
      .selectFrom('function_apps')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirstOrThrow()
    return { apps: rows.map(appOf), count: Number(total.n) }
  }

  async delete(projectId: string, id: string): Promise<void> {
    await this.#db
      .deleteFrom('function_apps')
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .execute()
  }

  async countByTemplate(projectId: string, templateId: string): Promise<number> {
    const r = await this.#db
      .selectFrom('function_apps')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('project_id', '=', projectId)
      .where('template_id', '=', templateId)
      .executeTakeFirstOrThrow()
    return Number(r.n)
  }
}
