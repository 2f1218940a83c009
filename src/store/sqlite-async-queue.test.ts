/**
 * The embedded queue shares its SQLite connection with Kysely, whose transactions stay open across
 * awaits: a queue write made meanwhile would become part of that transaction and vanish with its
 * rollback, after the queue had already answered for it.
 */
import path from 'node:path'
import SQLite from 'better-sqlite3'
import { afterEach, expect, test } from 'vitest'
import type { NewAsyncEvent } from '../core/index.js'
import { useTempStores } from '../../test/helpers/temp-stores.js'
import { SqliteAsyncQueue } from './sqlite-async-queue.js'

const temp = useTempStores('strato-queue-tx-')
const dbs: SQLite.Database[] = []

afterEach(() => {
  for (const db of dbs.splice(0)) {
    db.close()
  }
})

/** A migrated strato.db opened on its own, with a queue on that one connection. */
async function queueOnOwnConnection(): Promise<{ db: SQLite.Database; queue: SqliteAsyncQueue }> {
  const { store, dir } = await temp.open()
  await temp.close(store)
  const db = new SQLite(path.join(dir, 'strato.db'))
  dbs.push(db)
  const queue = new SqliteAsyncQueue(db, {
    leaseGraceMs: 1_000,
    fsync: false,
    onError: (err) => {
      throw err
    },
  })
  return { db, queue }
}

function eventOf(requestId: string): NewAsyncEvent {
  return {
    requestId,
    projectId: 'p',
    functionId: 'f',
    functionUrn: 'urn:fss:local-1:p:function:default:f:latest',
    qualifier: 'latest',
    payload: Buffer.from('{}'),
    acceptedAtMs: Date.now(),
    timeoutMs: 3_000,
  }
}

const turns = (n: number): Promise<void> =>
  n === 0 ? Promise.resolve() : new Promise((r) => setImmediate(() => void turns(n - 1).then(r)))

test('an accepted event survives the rollback of another transaction open on the connection', async () => {
  const { db, queue } = await queueOnOwnConnection()
  db.exec('BEGIN') // another store's transaction, open across its awaits
  let accepted = false
  const enqueued = queue.enqueue(eventOf('r1')).then(() => (accepted = true))
  await turns(5)
  // Not answered while it could still be rolled back with someone else's work.
  expect(accepted).toBe(false)
  db.exec('ROLLBACK')
  await enqueued
  const count = db
    .prepare(`select count(*) as n from async_invocations where request_id = ?`)
    .get('r1') as { n: number }
  expect(count.n).toBe(1)
  queue.close()
})

test('nothing is leased inside another transaction; the event is leased once it ends', async () => {
  const { db, queue } = await queueOnOwnConnection()
  await queue.enqueue(eventOf('r2'))
  const request = { max: 10, nowMs: Date.now() + 1, room: () => 10 }
  db.exec('BEGIN')
  expect(await queue.lease(request)).toEqual([])
  db.exec('ROLLBACK')
  const leased = await queue.lease(request)
  expect(leased.map((e) => e.requestId)).toEqual(['r2'])
  queue.close()
})
