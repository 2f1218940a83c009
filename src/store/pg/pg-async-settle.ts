/**
 * @module How the cluster async queue writes settlements inside a commit: plain terminal ones
 * together, the others (destination events, dead letter, retry, a trigger's own run) one
 * statement each, so each one's outbox commits with it.
 */
import type pg from 'pg'
import type { AsyncSettlement, LeasedEvent, NewAsyncEvent } from '../../core/index.js'
import {
  eventArrays,
  INSERT_RAN,
  SETTLE_DONE,
  SETTLE_DONE_MANY,
  SETTLE_RETRY,
} from './pg-async-sql.js'
import { pgText } from './pg-text.js'

export type Queryable = Pick<pg.PoolClient, 'query'>

export interface Settling {
  readonly event: LeasedEvent
  readonly settlement: AsyncSettlement
  /** Set for an event its trigger source ran itself (`record`): inserted, then settled. */
  readonly ran?: { readonly startedAtMs: number }
}

/**
 * The event with its text NUL-free (`pgText`; the same object when it has none). The context
 * headers need nothing: they are bound as JSON, where a NUL is the escape `\u0000`.
 */
export function pgEvent<T extends NewAsyncEvent>(e: T): T {
  const texts = [
    e.requestId,
    e.projectId,
    e.functionId,
    e.functionUrn,
    e.qualifier,
    e.triggerId ?? '',
    e.traceparent ?? '',
  ]
  if (!texts.some((t) => t.includes('\u0000'))) {
    return e
  }
  return {
    ...e,
    requestId: pgText(e.requestId),
    projectId: pgText(e.projectId),
    functionId: pgText(e.functionId),
    functionUrn: pgText(e.functionUrn),
    qualifier: pgText(e.qualifier),
    ...(e.triggerId === undefined ? {} : { triggerId: pgText(e.triggerId) }),
    ...(e.traceparent === undefined ? {} : { traceparent: pgText(e.traceparent) }),
  }
}

/**
 * The settlement with its text NUL-free: a function's error message is its own (`new
 * Error("a\0b")`), and one NUL would roll back the whole group commit it joined, every time.
 */
function pgSettling(s: Settling): Settling {
  const t = s.settlement
  const d = t.kind === 'done' ? t.deadLetter : undefined
  const settlement: AsyncSettlement =
    t.kind === 'retry'
      ? { ...t, errorMessage: pgText(t.errorMessage) }
      : {
          ...t,
          errorMessage: pgText(t.errorMessage),
          enqueue: t.enqueue.map(pgEvent),
          deadLetter:
            d === undefined
              ? undefined
              : {
                  ...d,
                  projectId: pgText(d.projectId),
                  functionId: pgText(d.functionId),
                  requestId: pgText(d.requestId),
                  record: pgText(d.record),
                },
        }
  return { ...s, event: pgEvent(s.event), settlement }
}

/**
 * Plain terminal settlements (most of them: no destination, no dead letter) go in one
 * statement; the others one statement each, after.
 */
export async function applySettlements(
  client: Queryable,
  settles: readonly Settling[],
  nodeId: string,
): Promise<boolean[]> {
  settles = settles.map(pgSettling)
  const plain = new Map<string, number>()
  settles.forEach((s, i) => {
    const t = s.settlement
    if (
      s.ran === undefined &&
      t.kind === 'done' &&
      t.enqueue.length === 0 &&
      t.deadLetter === undefined &&
      !plain.has(s.event.requestId)
    ) {
      plain.set(s.event.requestId, i)
    }
  })
  const out = settles.map(() => false)
  if (plain.size > 0) {
    const batch = [...plain.values()].map((i) => settles[i] as Settling)
    const done = (s: Settling): Extract<AsyncSettlement, { kind: 'done' }> =>
      s.settlement as Extract<AsyncSettlement, { kind: 'done' }>
    const { rows } = await client.query<{ request_id: string }>(SETTLE_DONE_MANY, [
      batch.map((s) => s.event.requestId),
      batch.map((s) => s.event.leaseToken),
      batch.map((s) => done(s).status),
      batch.map((s) => done(s).errorCode),
      batch.map((s) => done(s).errorMessage),
      batch.map((s) => done(s).endedAtMs),
    ])
    for (const r of rows) {
      const i = plain.get(r.request_id)
      if (i !== undefined) {
        out[i] = true
      }
    }
  }
  const inPlain = new Set(plain.values())
  for (let i = 0; i < settles.length; i++) {
    if (!inPlain.has(i)) {
      out[i] = await applySettlement(client, settles[i] as Settling, nodeId)
    }
  }
  return out
}

async function applySettlement(client: Queryable, s: Settling, nodeId: string): Promise<boolean> {
  const { event, settlement } = s
  if (s.ran !== undefined) {
    await client.query(INSERT_RAN, [
      ...eventArrays([event]),
      event.leaseToken,
      event.attempt,
      s.ran.startedAtMs,
      nodeId,
    ])
  }
  if (settlement.kind === 'retry') {
    const r = await client.query(SETTLE_RETRY, [
      settlement.notBeforeMs,
      settlement.functionError ? 1 : 0,
      settlement.functionError ? 0 : 1,
      settlement.errorMessage,
      event.requestId,
      event.leaseToken,
    ])
    return r.rowCount === 1
  }
  const d = settlement.deadLetter
  const r = await client.query<{ settled: number }>(SETTLE_DONE, [
    settlement.status,
    settlement.errorCode,
    settlement.errorMessage,
    settlement.endedAtMs,
    event.requestId,
    event.leaseToken,
    d !== undefined,
    d?.projectId ?? '',
    d?.functionId ?? '',
    d?.requestId ?? '',
    d?.createdAtMs ?? 0,
    d?.record ?? '',
    ...eventArrays(settlement.enqueue),
  ])
  // 0: the lease was lost; whoever holds it now settles the event.
  return r.rows[0]?.settled === 1
}
