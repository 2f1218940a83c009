/**
 * @module FlowStore: the embedded FlowRepository. Workflows, their executions and each execution's
 * append-only history (`flow_events`, PK (execution_id, seq)). Every write that touches an
 * execution is one `StoreTransactions` transaction, so the lease check (fencing), the events and
 * the execution's new state commit together or not at all.
 */
import type SQLite from 'better-sqlite3'
import { sql, type Kysely, type Selectable, type Updateable } from 'kysely'
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
} from '../core/index.js'
import type { Database, FlowExecutionsTable } from './database.js'
import { FlowStoreReads } from './flow-store-reads.js'
import { executionRow, updateRow, workflowRow } from './flow-store-rows.js'
import type {
  SqliteTransaction as StoreTransaction,
  SqliteStoreTransactions,
} from './store-transaction.js'

type ExecutionRow = Selectable<FlowExecutionsTable>

type LeaseRow = Pick<
  ExecutionRow,
  'status' | 'event_count' | 'lease_owner' | 'lease_token' | 'lease_until' | 'redrive_count'
>

/** The statements every step of every execution runs, prepared once. */
interface HotStatements {
  readonly lease: SQLite.Statement<[string]>
  readonly insert: SQLite.Statement<unknown[]>
  readonly count: SQLite.Statement<[number, number, string]>
  readonly renew: SQLite.Statement<[number, string, number]>
}

export class FlowStore extends FlowStoreReads implements FlowRepository {
  readonly #db: Kysely<Database>
  readonly #tx: SqliteStoreTransactions
  readonly #sqlite: SQLite.Database
  #statements: HotStatements | undefined

  constructor(
    db: Kysely<Database>,
    transactions: SqliteStoreTransactions,
    sqlite: SQLite.Database,
  ) {
    super(db, (part) => sql<boolean>`instr(name, ${part}) > 0`)
    this.#db = db
    this.#tx = transactions
    this.#sqlite = sqlite
  }

  // Appends and renewals are most of the store's work while flows run: prepared statements on the
  // shared connection skip Kysely's compile and SQLite's prepare (a few hundred µs per append).
  get #hot(): HotStatements {
    this.#statements ??= {
      lease: this.#sqlite.prepare(
        `SELECT status, event_count, lease_owner, lease_token, lease_until, redrive_count
         FROM flow_executions WHERE id = ?`,
      ),
      insert: this.#sqlite.prepare(
        `INSERT INTO flow_events (execution_id, seq, type, path, state_name, node_id, node_name,
         attempt, at, payload_json, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      count: this.#sqlite.prepare(
        'UPDATE flow_executions SET event_count = ?, updated_at = ? WHERE id = ?',
      ),
      renew: this.#sqlite.prepare(
        'UPDATE flow_executions SET lease_until = ? WHERE id = ? AND lease_token = ?',
      ),
    }
    return this.#statements
  }

  async createWorkflow(record: WorkflowRecord): Promise<void> {
    await this.#tx.runSync((tx) => {
      this.#assertNameFree(tx, record)
      const [last] = tx.rows(
        this.#db.selectFrom('workflows').select((eb) => eb.fn.max('seq').as('seq')),
      )
      tx.run(
        this.#db
          .insertInto('workflows')
          .values({ ...workflowRow(record), seq: Number(last?.seq ?? 0) + 1 }),
      )
    })
  }

  async updateWorkflow(record: WorkflowRecord): Promise<void> {
    await this.#tx.runSync((tx) => {
      this.#assertNameFree(tx, record, record.id)
      const changed = tx.run(
        this.#db
          .updateTable('workflows')
          .set(workflowRow(record))
          .where('project_id', '=', record.projectId)
          .where('id', '=', record.id),
      )
      if (changed === 0) {
        throw new StratoError('FLOW_NOT_FOUND')
      }
    })
  }

  async deleteWorkflow(projectId: string, id: string): Promise<boolean> {
    // Executions and their events go by ON DELETE CASCADE, in this same statement.
    return this.#tx.runSync(
      (tx) =>
        tx.run(
          this.#db.deleteFrom('workflows').where('project_id', '=', projectId).where('id', '=', id),
        ) > 0,
    )
  }

  async createExecution(
    record: ExecutionRecord,
    events: readonly NewFlowEvent[],
    lease: { readonly owner: string; readonly until: number },
  ): Promise<{ readonly created: boolean; readonly lease: ExecutionLease | undefined }> {
    return this.#tx.runSync((tx) => {
      const existing = tx.rows(
        this.#db.selectFrom('flow_executions').select('id').where('id', '=', record.id),
      )
      if (existing.length > 0) {
        return { created: false, lease: undefined }
      }
      tx.run(
        this.#db.insertInto('flow_executions').values({
          ...executionRow(record),
          event_count: 0,
          lease_owner: lease.owner,
          lease_token: 1,
          lease_until: lease.until,
        }),
      )
      this.#insertEvents(tx, record.id, 0, events)
      tx.run(
        this.#db
          .updateTable('flow_executions')
          .set({ event_count: events.length })
          .where('id', '=', record.id),
      )
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
    return this.#tx.runSync((tx) => {
      const row = this.#leaseRow(tx, lease.executionId)
      // An ended execution takes no more events, even from the lease that ended it.
      if (row === undefined || row.lease_token !== lease.token || row.status !== 'running') {
        throw new StratoError('FLOW_LEASE_LOST', `Execution ${lease.executionId}.`)
      }
      const count = row.event_count + events.length
      // The end of an execution always fits: the final event must never be refused (callbacks
      // and redrives keep a slot for it, but the driver's count of them can be behind).
      const ends = update !== undefined && update.status !== 'running'
      if (count > FLOW_HISTORY_LIMIT && !ends) {
        throw new StratoError(
          'FLOW_INVALID_EXECUTION',
          `The history of execution ${lease.executionId} is full (${FLOW_HISTORY_LIMIT} events).`,
        )
      }
      this.#insertEvents(tx, lease.executionId, row.event_count, events)
      if (update === undefined) {
        this.#hot.count.run(count, Date.now(), lease.executionId)
      } else {
        tx.run(
          this.#db
            .updateTable('flow_executions')
            .set({ event_count: count, updated_at: Date.now(), ...updateRow(update) })
            .where('id', '=', lease.executionId),
        )
      }
      return count
    })
  }

  async claim(
    executionId: string,
    owner: string,
    now: number,
    until: number,
  ): Promise<ExecutionLease | undefined> {
    return this.#tx.runSync((tx) => {
      const row = this.#leaseRow(tx, executionId)
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
    return this.#tx.runSync(
      () => this.#hot.renew.run(until, lease.executionId, lease.token).changes > 0,
    )
  }

  async release(lease: ExecutionLease): Promise<void> {
    await this.#tx.runSync((tx) =>
      tx.run(
        this.#db
          .updateTable('flow_executions')
          .set({ lease_owner: '', lease_until: 0 })
          .where('id', '=', lease.executionId)
          .where('lease_token', '=', lease.token),
      ),
    )
  }

  async redrive(
    executionId: string,
    event: NewFlowEvent,
    lease: { readonly owner: string; readonly until: number },
  ): Promise<ExecutionLease | undefined> {
    return this.#tx.runSync((tx) => {
      const row = this.#leaseRow(tx, executionId)
      if (row === undefined || (row.status !== 'fail' && row.status !== 'timeout')) {
        return undefined
      }
      // The redrive's event and, at least, the final one.
      if (row.event_count + 2 > FLOW_HISTORY_LIMIT) {
        return undefined
      }
      this.#appendOne(tx, executionId, row.event_count, event, {
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
    return this.#tx.runSync((tx) => {
      const row = this.#leaseRow(tx, executionId)
      if (row?.status !== 'running') {
        return false
      }
      // The stop event is written even into a full history: it is the last one.
      this.#appendOne(tx, executionId, row.event_count, event, {
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
    return this.#tx.runSync((tx) => {
      const row = this.#leaseRow(tx, executionId)
      // The last slot stays free for the final event.
      if (row?.status !== 'running' || row.event_count + 2 > FLOW_HISTORY_LIMIT) {
        return undefined
      }
      this.#appendOne(tx, executionId, row.event_count, event, { updated_at: Date.now() })
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
    const rows = await q.select(['status', 'begin_at', 'end_at']).execute()
    let finished = 0
    let total = 0
    let failCount = 0
    let runningCount = 0
    for (const r of rows) {
      if (r.end_at !== null) {
        finished += 1
        total += r.end_at - r.begin_at
      }
      if (r.status === 'fail' || r.status === 'timeout') {
        failCount += 1
      } else if (r.status === 'running') {
        runningCount += 1
      }
    }
    return {
      count: rows.length,
      durationMs: finished === 0 ? 0 : Math.round(total / finished),
      failCount,
      runningCount,
    }
  }

  /** Throws FLOW_NAME_EXISTS when a workflow of the project other than `exceptId` has that name. */
  #assertNameFree(tx: StoreTransaction, record: WorkflowRecord, exceptId?: string): void {
    let q = this.#db
      .selectFrom('workflows')
      .select('id')
      .where('project_id', '=', record.projectId)
      .where('name', '=', record.name)
    if (exceptId !== undefined) {
      q = q.where('id', '!=', exceptId)
    }
    if (tx.rows(q).length > 0) {
      throw new StratoError('FLOW_NAME_EXISTS', `A workflow named ${record.name} exists.`)
    }
  }

  /** Appends one event after the execution's `eventCount` and updates its row with `changes`. */
  #appendOne(
    tx: StoreTransaction,
    executionId: string,
    eventCount: number,
    event: NewFlowEvent,
    changes: Updateable<FlowExecutionsTable>,
  ): void {
    this.#insertEvents(tx, executionId, eventCount, [event])
    tx.run(
      this.#db
        .updateTable('flow_executions')
        .set({ ...changes, event_count: eventCount + 1 })
        .where('id', '=', executionId),
    )
  }

  #leaseRow(_tx: StoreTransaction, executionId: string): LeaseRow | undefined {
    // Read inside the caller's transaction (`_tx`): the statement runs on the same connection.
    return this.#hot.lease.get(executionId) as LeaseRow | undefined
  }

  #setLease(
    tx: StoreTransaction,
    executionId: string,
    owner: string,
    token: number,
    until: number,
  ): ExecutionLease {
    tx.run(
      this.#db
        .updateTable('flow_executions')
        .set({ lease_owner: owner, lease_token: token, lease_until: until })
        .where('id', '=', executionId),
    )
    return { executionId, token, owner, until }
  }

  #insertEvents(
    _tx: StoreTransaction,
    executionId: string,
    lastSeq: number,
    events: readonly NewFlowEvent[],
  ): void {
    events.forEach((e, i) => {
      this.#hot.insert.run(
        executionId,
        lastSeq + i + 1,
        e.type,
        e.path,
        e.stateName,
        e.nodeId,
        e.nodeName,
        e.attempt,
        e.at,
        e.payloadJson,
        e.requestId ?? null,
      )
    })
  }
}
