/**
 * Max instances across two nodes' pools with the real slot bucket on NATS: the second node's request
 * waits while the first node's instance holds the only slot, and starts once that instance ends.
 * (Instances are the pool's test fakes: no processes.)
 */
import { afterEach, expect, test } from 'vitest'
import { pino } from 'pino'
import type { FunctionRecord, InvocationRequest } from '../core/index.js'
import { InstancePool } from '../scheduler/index.js'
import { FakeLauncher, functionRecordOf, track } from '../../test/helpers/fakes.js'
import { NATS_TEST_URL, uniqueName } from '../../test/helpers/cluster-services.js'
import type { Cluster } from './cluster-types.js'
import { clusterKit, eventually, type ClusterKit } from './cluster-test-kit.js'

let kit: ClusterKit
const pools: InstancePool[] = []

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()))
  await kit.cleanup()
})

function poolOn(cluster: Cluster, launcher: FakeLauncher, queueWaitMs: number): InstancePool {
  const pool = new InstancePool({
    launcher,
    code: { verify: (digest) => Promise.resolve(`/code/${digest}`) },
    logs: { append: () => undefined },
    logger: pino({ level: 'silent' }),
    region: 'r1',
    idleTtlMs: 60_000,
    queueWaitMs,
    maxInstancesPerFunction: 10,
    openSecret: (sealed) => sealed,
    dependencyDirs: () => Promise.resolve([]),
    ...(cluster.instanceSlots === undefined ? {} : { slots: cluster.instanceSlots }),
  })
  pools.push(pool)
  return pool
}

const requestOf = (requestId: string, fn: FunctionRecord): InvocationRequest => ({
  fn,
  version: fn.version,
  alias: '',
  requestId,
  payload: Buffer.from('{}'),
  invokeType: 'sync',
})

test('max 1 across two nodes: the other node waits for the slot, 429 if it stays held', async () => {
  kit = clusterKit(NATS_TEST_URL, uniqueName('p'))
  const [a, b] = [await kit.open('a'), await kit.open('b')]
  const [la, lb] = [new FakeLauncher(), new FakeLauncher()]
  const [pa, pb] = [poolOn(a, la, 5_000), poolOn(b, lb, 5_000)]
  const fn = functionRecordOf({ maxInstances: 1 })

  const first = track(pa.invoke(requestOf('r1', fn)))
  await eventually(() => (la.instances.length === 1 ? true : undefined))
  const second = track(pb.invoke(requestOf('r2', fn)))
  await new Promise((r) => setTimeout(r, 600))
  expect(lb.instances).toHaveLength(0) // no slot: waiting, as at the local max
  expect(second.settled).toBe(false)

  la.serving('r1').finish('r1')
  await eventually(() => (first.settled ? true : undefined))
  // A's instance is idle (still holding its slot) until it ends.
  await la.instances[0]?.stop()
  await eventually(() => (lb.instances.length === 1 ? true : undefined))
  lb.serving('r2').finish('r2')
  await eventually(() => (second.settled ? true : undefined))
  expect(second.value?.kind).toBe('success')

  // Now B holds the slot; A's next cold request gets 429 after its queue wait.
  const pShort = poolOn(a, new FakeLauncher(), 700)
  const third = track(pShort.invoke(requestOf('r3', fn)))
  await eventually(() => (third.settled ? true : undefined))
  expect(third.error).toMatchObject({ code: 'TOO_MANY_REQUESTS' })
}, 30_000)
