/**
 * @module FlowStoreReads: the FlowRepository reads both flow stores share (embedded SQLite FlowStore
 * and cluster PgFlowStore). They are plain Kysely over the same tables, so one copy serves both
 * dialects; the only dialect-specific piece, the workflow name filter, is passed in. Each store
 * keeps its own writes, leases and fencing (and `statistics`, counted differently per dialect).
 */
import type { Expression, Kysely, SqlBool } from 'kysely'
import type {
  ExecutionQuery,
  ExecutionRecord,
  FlowEvent,
  FlowRepository,
  WorkflowQuery,
  WorkflowRecord,
} from '../core/index.js'
import type { Database } from './database.js'
import { eventOf, executionOf, workflowOf } from './flow-store-rows.js'

/** The dialect's "workflow name contains `part`" condition (SQLite `instr`, PostgreSQL `strpos`). */
export type NameContains = (part: string) => Expression<SqlBool>

type SharedReads =
  | 'getWorkflow'
  | 'getWorkflowByUrn'
  | 'listWorkflows'
  | 'countWorkflows'
  | 'getExecution'
  | 'listExecutions'
  | 'events'
  | 'orphaned'

export abstract class FlowStoreReads implements Pick<FlowRepository, SharedReads> {
  readonly #db: Kysely<Database>
  readonly #nameContains: NameContains

  protected constructor(db: Kysely<Database>, nameContains: NameContains) {
    this.#db = db
    this.#nameContains = nameContains
  }

  getWorkflow(projectId: string, id: string): Promise<WorkflowRecord | undefined> {
    return this.#findWorkflow(projectId, 'id', id)
  }

  getWorkflowByUrn(projectId: string, urn: string): Promise<WorkflowRecord | undefined> {
    return this.#findWorkflow(projectId, 'urn', urn)
  }

  async listWorkflows(
    query: WorkflowQuery,
  ): Promise<{ workflows: WorkflowRecord[]; total: number }> {
    let q = this.#db.selectFrom('workflows').where('project_id', '=', query.projectId)
    if (query.name !== undefined && query.name !== '') {
      q = q.where(this.#nameContains(query.name))
    }
    if (query.mode !== undefined) {
      q = q.where('mode', '=', query.mode)
    }
    const [rows, count] = await Promise.all([
      q.selectAll().orderBy('seq', 'desc').offset(query.offset).limit(query.limit).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ])
    return { workflows: rows.map(workflowOf), total: Number(count.n) }
  }

  async countWorkflows(projectId: string): Promise<number> {
    const row = await this.#db
      .selectFrom('workflows')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }

  async getExecution(executionId: string): Promise<ExecutionRecord | undefined> {
    const row = await this.#db
      .selectFrom('flow_executions')
      .selectAll()
      .where('id', '=', executionId)
      .executeTakeFirst()
    return row === undefined ? undefined : executionOf(row)
  }

  async listExecutions(
    query: ExecutionQuery,
  ): Promise<{ executions: ExecutionRecord[]; total: number }> {
    let q = this.#db.selectFrom('flow_executions').where('workflow_id', '=', query.workflowId)
    if (query.status !== undefined) {
      q = q.where('status', '=', query.status)
    }
    if (query.from !== undefined) {
      q = q.where('begin_at', '>=', query.from)
    }
    if (query.to !== undefined) {
      q = q.where('begin_at', '<', query.to)
    }
    const [rows, count] = await Promise.all([
      q
        .selectAll()
        .orderBy('begin_at', 'desc')
        .orderBy('id')
        .offset(query.offset)
        .limit(query.limit)
        .execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ])
    return { executions: rows.map(executionOf), total: Number(count.n) }
  }

  async events(executionId: string, afterSeq = 0): Promise<FlowEvent[]> {
    const rows = await this.#db
      .selectFrom('flow_events')
      .selectAll()
      .where('execution_id', '=', executionId)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .execute()
    return rows.map(eventOf)
  }

  async orphaned(now: number, limit: number, owner?: string, after?: string): Promise<string[]> {
    const cursor =
      after === undefined
        ? undefined
        : await this.#db
            .selectFrom('flow_executions')
            .select('begin_at')
            .where('id', '=', after)
            .executeTakeFirst()
    let q = this.#db
      .selectFrom('flow_executions')
      .select('id')
      .where('status', '=', 'running')
      .where((eb) =>
        eb.or([
          eb('lease_until', '<=', now),
          eb('lease_owner', '=', ''),
          ...(owner === undefined ? [] : [eb('lease_owner', '=', owner)]),
        ]),
      )
    if (after !== undefined && cursor !== undefined) {
      const at = cursor.begin_at
      q = q.where((eb) =>
        eb.or([eb('begin_at', '>', at), eb.and([eb('begin_at', '=', at), eb('id', '>', after)])]),
      )
    }
    const rows = await q.orderBy('begin_at').orderBy('id').limit(limit).execute()
    return rows.map((r) => r.id)
  }

  async #findWorkflow(
    projectId: string,
    column: 'id' | 'urn',
    value: string,
  ): Promise<WorkflowRecord | undefined> {
    const row = await this.#db
      .selectFrom('workflows')
      .selectAll()
      .where('project_id', '=', projectId)
      .where(column, '=', value)
      .executeTakeFirst()
    return row === undefined ? undefined : workflowOf(row)
  }
}
