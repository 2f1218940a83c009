/**
 * Cluster coordination on the machine's real NATS (JetStream): changes between nodes, membership,
 * leadership with failover and fencing, cluster-wide instance slots. Fresh prefix per test.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { pino } from 'pino'
import { afterEach, describe, expect, test } from 'vitest'
import { NATS_TEST_URL, uniqueName } from '../../test/helpers/cluster-services.js'
import type { Cluster } from './cluster-types.js'
import { FAST_TIMINGS, clusterKit, eventually, type ClusterKit } from './cluster-test-kit.js'
import { KvInstanceSlots } from './instance-slots.js'
import { clusterBuckets } from './open-cluster.js'
import { singleNodeCluster } from './single-node.js'

let kit: ClusterKit

afterEach(async () => {
  await kit.cleanup()
})

function fresh(): ClusterKit {
  kit = clusterKit(NATS_TEST_URL, uniqueName('c'))
  return kit
}

/** Simulates a node whose process died: no heartbeat, no renewal, nothing given back. */
async function kill(cluster: Cluster): Promise<void> {
  await cluster.nats?.close()
}

describe('cluster changes', () => {
  test('another node hears a change; the publisher never hears its own', async () => {
    const k = fresh()
    const a = await k.open('a')
    const b = await k.open('b')
    const heardA: Array<string | undefined> = []
    const heardB: Array<string | undefined> = []
    a.changes.subscribe('functions', (key) => heardA.push(key))
    b.changes.subscribe('functions', (key) => heardB.push(key))
    await a.nats?.flush()
    await b.nats?.flush()
    a.changes.publish('functions', 'f1')
    a.changes.publish('functions')
    await eventually(() => (heardB.length === 2 ? true : undefined))
    expect(heardB).toEqual(['f1', undefined])
    await b.nats?.flush()
    await a.nats?.flush()
    expect(heardA).toEqual([])
  })
})

describe('membership', () => {
  test('three nodes see each other; one that stops heartbeating drops out', async () => {
    const k = fresh()
    const [a, b, c] = [await k.open('a'), await k.open('b'), await k.open('c')]
    const ids = async (): Promise<string[]> => (await a.members()).map((m) => m.nodeId)
    expect(await ids()).toEqual(['a', 'b', 'c'])
    await b.setDraining()
    const drained = (await a.members()).find((m) => m.nodeId === 'b')
    expect(drained?.draining).toBe(true)
    await kill(c)
    await eventually(async () => ((await ids()).length === 2 ? true : undefined))
    expect(await ids()).toEqual(['a', 'b'])
    // A node that closes leaves at once.
    await b.close()
    expect(await ids()).toEqual(['a'])
  })
})

describe('leadership', () => {
  test('exactly one leader among three; it fails over when the leader dies; the token grows', async () => {
    const k = fresh()
    const nodes = [await k.open('a'), await k.open('b'), await k.open('c')]
    const leases = nodes.map((n) => n.leadership('timers'))
    const leaderOf = (): number | undefined => {
      const leaders = leases.flatMap((l, i) => (l.isLeader() ? [i] : []))
      expect(leaders.length).toBeLessThanOrEqual(1)
      return leaders.length === 1 ? leaders[0] : undefined
    }
    const first = await eventually(leaderOf)
    const firstToken = leases[first]?.token() ?? 0
    expect(firstToken).toBeGreaterThan(0)
    expect((await leases[(first + 1) % 3]?.holder())?.nodeId).toBe(nodes[first]?.nodeId)
    const changes: boolean[] = []
    leases[first]?.onChange((v) => changes.push(v))

    // The leader's process stops renewing: it steps down on its own before the key expires, and
    // another node takes over only after that.
    const stepDownSeen = eventually(() => (changes.includes(false) ? Date.now() : undefined))
    await kill(nodes[first] as Cluster)
    const steppedDownAt = await stepDownSeen
    const second = await eventually(() => {
      const i = leaseIndexLeading(leases, first)
      return i
    })
    const takenAt = Date.now()
    expect(takenAt).toBeGreaterThanOrEqual(steppedDownAt)
    expect(second).not.toBe(first)
    expect(leases[second]?.token() ?? 0).toBeGreaterThan(firstToken)

    // A leader that closes gives the lease up: the last one takes it without waiting for expiry.
    const third = [0, 1, 2].find((i) => i !== first && i !== second) as number
    const before = Date.now()
    await nodes[second]?.close()
    await eventually(() => (leases[third]?.isLeader() === true ? true : undefined))
    expect(Date.now() - before).toBeLessThan(1_500)
  })
})

test('leadership: a leader process killed with SIGKILL loses the lease to a live node only after its expiry', async () => {
  const k = fresh()
  const prefix = k.prefix
  // `node --import tsx`, not the tsx binary: that one runs node as a child, which SIGKILL would miss.
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.resolve(import.meta.dirname, 'lease-holder-child.ts'),
      NATS_TEST_URL,
      prefix,
      'child',
      'duty',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  try {
    const childToken = await eventually(() => {
      const m = /leader (\d+)/.exec(out)
      return m === null ? undefined : Number(m[1])
    }, 20_000)
    const a = await k.open('a')
    const lease = a.leadership('duty')
    // The child renews: a stays a follower.
    await new Promise((r) => setTimeout(r, 800))
    expect(lease.isLeader()).toBe(false)
    expect((await lease.holder())?.nodeId).toBe('child')
    const killedAt = Date.now()
    child.kill('SIGKILL')
    await eventually(() => (lease.isLeader() ? true : undefined))
    // Not before the child's last write could expire (the bucket's ttl after its last renewal).
    expect(Date.now() - killedAt).toBeGreaterThan(
      FAST_TIMINGS.lease.ttlMs - FAST_TIMINGS.lease.renewMs - 100,
    )
    expect(lease.token()).toBeGreaterThan(childToken)
  } finally {
    child.kill('SIGKILL')
  }
}, 30_000)

function leaseIndexLeading(
  leases: ReadonlyArray<{ isLeader(): boolean }>,
  except: number,
): number | undefined {
  const i = leases.findIndex((l, j) => j !== except && l.isLeader())
  return i === -1 ? undefined : i
}

describe('instance slots', () => {
  test('max 2 across three nodes: the third claim fails until one is released or its holder dies', async () => {
    const k = fresh()
    const [a, b, c] = [await k.open('a'), await k.open('b'), await k.open('c')]
    const slotsOf = (n: Cluster) => {
      if (n.instanceSlots === undefined) {
        throw new Error('cluster mode has slots')
      }
      return n.instanceSlots
    }
    const fid = 'f0d1a2b3-c4d5-4e6f-8a9b-0c1d2e3f4a5b'
    const onA = await slotsOf(a).claim(fid, 2)
    const onB = await slotsOf(b).claim(fid, 2)
    expect(onA).toBeDefined()
    expect(onB).toBeDefined()
    expect(onA?.key).not.toBe(onB?.key)
    expect(await slotsOf(c).claim(fid, 2)).toBeUndefined()
    // Another function has slots of its own.
    const other = await slotsOf(c).claim('f-other', 2)
    expect(other).toBeDefined()
    await other?.release()

    await onA?.release()
    const onC = await slotsOf(c).claim(fid, 2)
    expect(onC?.key).toBe(onA?.key)
    expect(await slotsOf(a).claim(fid, 2)).toBeUndefined()

    // B dies holding its slot: once it is out of membership, its slot is taken over.
    await kill(b)
    const taken = await eventually(() => slotsOf(a).claim(fid, 2))
    expect(taken.key).toBe(onB?.key)
    // Both slots are held by live nodes again.
    expect(await slotsOf(c).claim(fid, 2)).toBeUndefined()
  })

  test('a release whose delete fails is retried; an orphan key of this node is swept', async () => {
    const k = fresh()
    const [a, b] = [await k.open('a'), await k.open('b')]
    if (a.nats === undefined || b.instanceSlots === undefined) {
      throw new Error('cluster mode')
    }
    const kv = await a.nats.jetstream().views.kv(clusterBuckets(k.prefix).slots)
    // A second slots object of node A whose next delete fails as a NATS timeout would.
    let failDeletes = 1
    const slots = new KvInstanceSlots(
      kv,
      'a',
      () => Promise.resolve(new Set(['a', 'b'])),
      pino({ level: 'silent' }),
      {
        writes: {
          create: (bucket, key, value) => bucket.create(key, value),
          delete: (bucket, key, revision) => {
            if (failDeletes > 0) {
              failDeletes--
              return Promise.reject(new Error('TIMEOUT'))
            }
            return bucket.delete(key, { previousSeq: revision })
          },
        },
      },
    )
    const hold = await slots.claim('f', 1)
    expect(hold).toBeDefined()
    await hold?.release()
    expect(slots.held()).toBe(0)
    expect(slots.unreleased()).toBe(1)
    // Still A's: B (A is alive) cannot have it.
    expect(await b.instanceSlots.claim('f', 1)).toBeUndefined()
    await slots.retryReleases()
    expect(slots.unreleased()).toBe(0)
    const onB = await b.instanceSlots.claim('f', 1)
    expect(onB).toBeDefined()
    await onB?.release()

    // A key naming A that A does not hold (a create whose reply was lost): the sweep removes it,
    // and leaves the slots A holds and other nodes' slots alone.
    await kv.put('g.0', 'a')
    const heldByA = await slots.claim('h', 1)
    const heldByB = await b.instanceSlots.claim('g', 2)
    expect(await slots.sweep()).toBe(1)
    expect((await kv.get('g.0'))?.operation).not.toBe('PUT')
    expect((await kv.get(heldByA?.key ?? ''))?.string()).toBe('a')
    expect((await kv.get(heldByB?.key ?? ''))?.string()).toBe('b')
    expect(await b.instanceSlots.claim('g', 2)).toBeDefined()
  })

  test('a restarted node gives back the slots its previous run held', async () => {
    const k = fresh()
    const a = await k.open('a')
    expect(await a.instanceSlots?.claim('f', 1)).toBeDefined()
    await kill(a)
    const again = await k.open('a')
    expect(await again.instanceSlots?.claim('f', 1)).toBeDefined()
  })
})

test('single-node mode: always leader, members = [self], no slots, no NATS', async () => {
  const one = singleNodeCluster('solo')
  expect(one.mode).toBe('single')
  expect(one.leadership('x').isLeader()).toBe(true)
  expect((await one.members()).map((m) => m.nodeId)).toEqual(['solo'])
  expect(one.instanceSlots).toBeUndefined()
  expect(one.nats).toBeUndefined()
  await one.close()
  expect(one.leadership('x').isLeader()).toBe(false)
})
