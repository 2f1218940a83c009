/**
 * PgUsageStore on the machine's PostgreSQL (a fresh database, dropped after): rows add up per
 * project, function and hour, also when two nodes add to the same hour at the same moment.
 */
import { afterEach, expect, test } from 'vitest'
import { freshPgDatabase } from '../../../test/helpers/cluster-services.js'
import { openPgDatabase, type PgDatabase } from './pg-database.js'
import { PgUsageStore } from './pg-usage-store.js'

const HOUR = 3_600_000
const T0 = Date.UTC(2026, 11, 6, 10)

let cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const step of cleanup.reverse()) {
    await step()
  }
  cleanup = []
})

/** `count` nodes' usage stores on one fresh database. */
async function nodes(count: number): Promise<PgUsageStore[]> {
  const fresh = await freshPgDatabase()
  cleanup.push(() => fresh.drop())
  const stores: PgUsageStore[] = []
  for (let i = 0; i < count; i++) {
    const database: PgDatabase = await openPgDatabase({ url: fresh.url, maxConnections: 4 })
    cleanup.push(() => database.close())
    stores.push(new PgUsageStore(database.pool))
  }
  return stores
}

test('usage rows add up per project, function and hour, and read back in hour order', async () => {
  const [usage] = await nodes(1)
  if (usage === undefined) {
    throw new Error('no store')
  }
  const row = { projectId: 'p1', functionId: 'f1', functionName: 'default/a', hourStartMs: T0 }
  await usage.add([
    { ...row, requests: 2, gbSeconds: 0.25 },
    { ...row, hourStartMs: T0 + HOUR, requests: 1, gbSeconds: 1 },
    { ...row, functionId: 'f2', functionName: 'default/b', requests: 5, gbSeconds: 2 },
    { ...row, projectId: 'p2', requests: 9, gbSeconds: 9 },
  ])
  await usage.add([{ ...row, functionName: 'default/a2', requests: 3, gbSeconds: 0.5 }])
  // One batch may hold one key twice (two flushes of a node's counter): both count.
  await usage.add([
    { ...row, hourStartMs: T0 + HOUR, requests: 1, gbSeconds: 1 },
    { ...row, hourStartMs: T0 + HOUR, requests: 1, gbSeconds: 1 },
  ])
  await usage.add([])
  const all = await usage.list({ projectId: 'p1', fromMs: T0, toMs: T0 + 2 * HOUR })
  expect(
    all.map((r) => [r.functionId, r.functionName, r.hourStartMs, r.requests, r.gbSeconds]),
  ).toEqual([
    ['f1', 'default/a2', T0, 5, 0.75],
    ['f2', 'default/b', T0, 5, 2],
    ['f1', 'default/a', T0 + HOUR, 3, 3],
  ])
  const one = await usage.list({
    projectId: 'p1',
    fromMs: T0 + HOUR,
    toMs: T0 + 2 * HOUR,
    functionId: 'f1',
  })
  expect(one.map((r) => r.requests)).toEqual([3])
})

test('two nodes adding to the same hours at once: every request counts', async () => {
  const [one, two] = await nodes(2)
  if (one === undefined || two === undefined) {
    throw new Error('no stores')
  }
  const row = { projectId: 'p1', functionName: 'default/a', requests: 1, gbSeconds: 0.5 }
  await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      (i % 2 === 0 ? one : two).add([
        { ...row, functionId: 'f1', hourStartMs: T0 },
        { ...row, functionId: 'f2', hourStartMs: T0 + HOUR },
      ]),
    ),
  )
  const all = await one.list({ projectId: 'p1', fromMs: T0, toMs: T0 + 2 * HOUR })
  expect(all.map((r) => [r.functionId, r.requests, r.gbSeconds])).toEqual([
    ['f1', 40, 20],
    ['f2', 40, 20],
  ])
})
