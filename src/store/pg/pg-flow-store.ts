/**
 * @module PgFlowStore: the FlowRepository of the shared PostgreSQL store, so an execution started
 * on one node is recovered, stopped, called back or read on any other. Same tables and invariants
 * as the embedded FlowStore: each execution's history is append-only with seq 1, 2, 3, …; every
 * write that touches an execution is one transaction that first locks the execution's row
 * (`select … for update`), so the lease check (fencing), the events and the execution's new state
 * commit together, and two nodes touching one execution take turns.
 */
import { sql, type Kysely, type Transaction, type Updateable } from 'kysely'
import {
  FLOW_HISTORY_LIMIT,
  StratoError,
  type ExecutionLease,
  type ExecutionRecord,
  type ExecutionUpdate,
  type FlowRepository,
  type FlowStatistics,
  type NewFlowEvent,
  type WorkflowRecord,
} from '../../core/index.js'
import type { Database, FlowExecutionsTable } from '../database.js'
import { FlowStoreReads } from '../flow-store-reads.js'
import { executionRow, updateRow, workflowRow } from '../flow-store-rows.js'

type Tx = Transaction<Database>

interface LeaseRow {
  status: string
  event_count: number
  lease_owner: string
  lease_token: number
  lease_until: number
  redrive_count: number
}

/** The unique constraint on (project_id, name) (migration 0004). */
const NAME_CONSTRAINT = 'workflows_project_name'

/** A workflow name taken (by this node or another one, at the same moment) is FLOW_NAME_EXISTS. */
function nameTaken(err: unknown, record: WorkflowRecord): unknown {
  const e = err as { code?: unknown; constraint?: unknown }
  return e.code === '23505' && e.constraint === NAME_CONSTRAINT
    ? new StratoError('FLOW_NAME_EXISTS', `A workflow named ${record.name} exists.`)
    : err
}

export class PgFlowStore extends FlowStoreReads implements FlowRepository {
  readonly #db: Kysely<Database>

  /**
   * `db` is the shared store's (`openPgDatabase`); transactions take a pooled connection each
   * (int8 columns read as numbers: openPgDatabase sets the parser).
   */
  constructor(db: Kysely<Database>) {
    super(db, (part) => sql<boolean>`strpos(name, ${part}) > 0`)
    this.#db = db
  }

  async createWorkflow(record: WorkflowRecord): Promise<void> {
    try {
      // seq: the identity's next value (list pages are newest first by it).
      await this.#db
        .insertInto('workflows')
        .values({ ...workflowRow(record), seq: sql<number>`default` })
        .execute()
    } catch (err) {
      throw nameTaken(err, record)
    }
  }

  async updateWorkflow(record: WorkflowRecord): Promise<void> {
    let changed: bigint
    try {
      const result = await this.#db
        .updateTable('workflows')
        .set(workflowRow(record))
        .where('project_id', '=', record.projectId)
        .where('id', '=', record.id)
        .executeTakeFirst()
      changed = result.numUpdatedRows
    } catch (err) {
      throw nameTaken(err, record)
    }
    if (changed === 0n) {
      throw new StratoError('FLOW_NOT_FOUND')
    }
  }

  async deleteWorkflow(projectId: string, id: string): Promise<boolean> {
    // Executions and their events go by ON DELETE CASCADE, in this same statement.
    const result = await this.#db
      .deleteFrom('workflows')
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst()
    return result.numDeletedRows > 0n
  }

  async createExecution(
    record: ExecutionRecord,
    events: readonly NewFlowEvent[],
    lease: { readonly owner: string; readonly until: number },
  ): Promise<{ readonly created: boolean; readonly lease: ExecutionLease | undefined }> {
    return this.#db.transaction().execute(async (tx) => {
      // Two nodes given the same X-WorkflowRun-ID at once: the second insert does nothing.
      const inserted = await tx
        .insertInto('flow_executions')
        .values({
          ...executionRow(record),
          event_count: events.length,
          lease_owner: lease.owner,
          lease_token: 1,
          lease_until: lease.until,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .executeTakeFirst()
      if (inserted === undefined) {
        return { created: false, lease: undefined }
      }
      await this.#insertEvents(tx, record.id, 0, events)
      return {
        created: true,
        lease: { executionId: record.id, token: 1, owner: lease.owner, until: lease.until },
      }
    })
  }

  async appendEvents(
    lease: ExecutionLease,
    events: readonly NewFlowEvent[],
    update?: ExecutionUpdate,
  ): Promise<number> {
    return this.#db.transaction().execute(async (tx) => {
      const row = await this.#lockRow(tx, lease.executionId)
      // An ended execution takes no more events, even from the lease that ended it.
      if (row === undefined || row.lease_token !== lease.token || row.status !== 'running') {
        throw new StratoError('FLOW_LEASE_LOST', `Execution ${lease.executionId}.`)
      }
      const count = row.event_count + events.length
      // The end of an execution always fits: the final event must never be refused.
      const ends = update !== undefined && update.status !== 'running'
      if (count > FLOW_HISTORY_LIMIT && !ends) {
        throw new StratoError(
          'FLOW_INVALID_EXECUTION',
          `The history of execution ${lease.executionId} is full (${FLOW_HISTORY_LIMIT} events).`,
        )
      }
      await this.#insertEvents(tx, lease.executionId, row.event_count, events)
      await tx
        .updateTable('flow_executions')
        .set({ event_count: count, updated_at: Date.now(), ...updateRow(update) })
        .where('id', '=', lease.executionId)
        .execute()
      return count
    })
  }

  async claim(
    executionId: string,
    owner: string,
    now: number,
    until: number,
  ): Promise<ExecutionLease | undefined> {
    return this.#db.transaction().execute(async (tx) => {
      const row = await this.#lockRow(tx, executionId)
      if (
        row === undefined ||
        row.status !== 'running' ||
        (row.lease_owner !== '' && row.lease_owner !== owner && row.lease_until > now)
      ) {
        return undefined
      }
      return this.#setLease(tx, executionId, owner, row.lease_token + 1, until)
    })
  }

  async renew(lease: ExecutionLease, until: number): Promise<boolean> {
    const result = await this.#db
      .updateTable('flow_executions')
      .set({ lease_until: until })
      .where('id', '=', lease.executionId)
      .where('lease_token', '=', lease.token)
      .executeTakeFirst()
    return result.numUpdatedRows > 0n
  }

  async release(lease: ExecutionLease): Promise<void> {
    await this.#db
      .updateTable('flow_executions')
      .set({ lease_owner: '', lease_until: 0 })
      .where('id', '=', lease.executionId)
      .where('lease_token', '=', lease.token)
      .execute()
  }

  async redrive(
    executionId: string,
    event: NewFlowEvent,
    lease: { readonly owner: string; readonly until: number },
  ): Promise<ExecutionLease | undefined> {
    return this.#db.transaction().execute(async (tx) => {
      const row = await this.#lockRow(tx, executionId)
      if (row === undefined || (row.status !== 'fail' && row.status !== 'timeout')) {
        return undefined
      }
      // The redrive's event and, at least, the final one.
      if (row.event_count + 2 > FLOW_HISTORY_LIMIT) {
        return undefined
      }
      await this.#appendOne(tx, executionId, row.event_count, event, {
        status: 'running',
        output_json: null,
        error_json: null,
        end_at: null,
        updated_at: Date.now(),
        redrive_count: row.redrive_count + 1,
      })
      return this.#setLease(tx, executionId, lease.owner, row.lease_token + 1, lease.until)
    })
  }

  async stopExecution(executionId: string, event: NewFlowEvent, endAt: number): Promise<boolean> {
    return this.#db.transaction().execute(async (tx) => {
      const row = await this.#lockRow(tx, executionId)
      if (row?.status !== 'running') {
        return false
      }
      // The stop event is written even into a full history: it is the last one.
      await this.#appendOne(tx, executionId, row.event_count, event, {
        status: 'cancel',
        end_at: endAt,
        updated_at: Date.now(),
        lease_owner: '',
        lease_until: 0,
        lease_token: row.lease_token + 1,
      })
      return true
    })
  }

  async recordEvent(executionId: string, event: NewFlowEvent): Promise<number | undefined> {
    return this.#db.transaction().execute(async (tx) => {
      const row = await this.#lockRow(tx, executionId)
      // The last slot stays free for the final event.
      if (row?.status !== 'running' || row.event_count + 2 > FLOW_HISTORY_LIMIT) {
        return undefined
      }
      await this.#appendOne(tx, executionId, row.event_count, event, { updated_at: Date.now() })
      return row.event_count + 1
    })
  }

  async statistics(
    projectId: string,
    workflowId: string | undefined,
    from: number,
    to: number,
  ): Promise<FlowStatistics> {
    let q = this.#db
      .selectFrom('flow_executions')
      .where('project_id', '=', projectId)
      .where('begin_at', '>=', from)
      .where('begin_at', '<', to)
    if (workflowId !== undefined) {
      q = q.where('workflow_id', '=', workflowId)
    }
    // Counted in the database: a project's executions are not all read to count them.
    const row = await q
      .select([
        sql<number>`count(*)`.as('count'),
        sql<number>`count(end_at)`.as('finished'),
        sql<number>`coalesce(sum(end_at - begin_at), 0)`.as('total'),
        sql<number>`count(*) filter (where status in ('fail', 'timeout'))`.as('fail_count'),
        sql<number>`count(*) filter (where status = 'running')`.as('running_count'),
      ])
      .executeTakeFirstOrThrow()
    const finished = Number(row.finished)
    return {
      count: Number(row.count),
      durationMs: finished === 0 ? 0 : Math.round(Number(row.total) / finished),
      failCount: Number(row.fail_count),
      runningCount: Number(row.running_count),
    }
  }

  /**
   * The execution's lease state, its row locked until the transaction ends: the fence. A claim,
   * stop or append of another node waits here, then sees what this one committed.
   */
  async #lockRow(tx: Tx, executionId: string): Promise<LeaseRow | undefined> {
    return tx
      .selectFrom('flow_executions')
      .select([
        'status',
        'event_count',
        'lease_owner',
        'lease_token',
        'lease_until',
        'redrive_count',
      ])
      .where('id', '=', executionId)
      .forUpdate()
      .executeTakeFirst()
  }

  /** Appends one event after the execution's `eventCount` and updates its row with `changes`. */
  async #appendOne(
    tx: Tx,
    executionId: string,
    eventCount: number,
    event: NewFlowEvent,
    changes: Updateable<FlowExecutionsTable>,
  ): Promise<void> {
    await this.#insertEvents(tx, executionId, eventCount, [event])
    await tx
      .updateTable('flow_executions')
      .set({ ...changes, event_count: eventCount + 1 })
      .where('id', '=', executionId)
      .execute()
  }

  async #setLease(
    tx: Tx,
    executionId: string,
    owner: string,
    token: number,
    until: number,
  ): Promise<ExecutionLease> {
    await tx
      .updateTable('flow_executions')
      .set({ lease_owner: owner, lease_token: token, lease_until: until })
      .where('id', '=', executionId)
      .execute()
    return { executionId, token, owner, until }
  }

  /**
   * One insert however many events (a history takes up to FLOW_HISTORY_LIMIT at once: column
   * arrays, not a parameter per value): seq lastSeq + 1, + 2, … (the PK refuses a seq twice).
   */
  async #insertEvents(
    tx: Tx,
    executionId: string,
    lastSeq: number,
    events: readonly NewFlowEvent[],
  ): Promise<void> {
    if (events.length === 0) {
      return
    }
    const column = <T>(pick: (e: NewFlowEvent) => T): T[] => events.map(pick)
    await sql`insert into flow_events (execution_id, seq, type, path, state_name, node_id,
      node_name, attempt, at, payload_json, request_id)
      select ${executionId}, (${lastSeq}::int + r.n)::int, r.type, r.path, r.state_name, r.node_id,
        r.node_name, r.attempt, r.at, r.payload_json, r.request_id
      from unnest(${column((e) => e.type)}::text[], ${column((e) => e.path)}::text[],
        ${column((e) => e.stateName)}::text[], ${column((e) => e.nodeId)}::text[],
        ${column((e) => e.nodeName)}::text[], ${column((e) => e.attempt)}::int4[],
        ${column((e) => e.at)}::int8[], ${column((e) => e.payloadJson)}::text[],
        ${column((e) => e.requestId ?? null)}::text[])
        with ordinality as r(type, path, state_name, node_id, node_name, attempt, at,
          payload_json, request_id, n)`.execute(tx)
  }
}
