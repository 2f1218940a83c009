/**
 * Strato nodes in cluster mode (the machine's NATS and a fresh PostgreSQL database, one master key):
 * readiness, `/strato/info`'s cluster view with one leader, and a drained node giving its
 * leadership to the other. A NATS URL without a shared store is refused.
 */
import { afterEach, expect, test } from 'vitest'
import { connect } from 'nats'
import path from 'node:path'
import { loadConfig } from '../../src/config/index.js'
import { NATS_TEST_URL, freshPgDatabase, uniqueName } from '../helpers/cluster-services.js'
import { startTestStrato, tmpDir, type TestStrato } from '../helpers/strato.js'

const nodes: TestStrato[] = []
const cleanups: Array<() => Promise<void>> = []
let prefix = ''

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close().catch(() => undefined)))
  if (prefix !== '') {
    const nc = await connect({ servers: NATS_TEST_URL })
    const jsm = await nc.jetstreamManager()
    for await (const info of jsm.streams.list()) {
      if (info.config.name.includes(prefix)) {
        await jsm.streams.delete(info.config.name).catch(() => undefined)
      }
    }
    await nc.close()
    prefix = ''
  }
  for (const cleanup of cleanups.splice(0)) {
    await cleanup()
  }
})

interface ClusterView {
  nodeId: string
  mode: string
  members: Array<{ nodeId: string; draining: boolean }>
  leader: { nodeId: string; token: number; self: boolean } | null
}

async function clusterOf(node: TestStrato): Promise<ClusterView> {
  const info = (await (await fetch(`${node.url}/strato/info`)).json()) as { cluster: ClusterView }
  return info.cluster
}

async function until<T>(f: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined) {
      return v
    }
    if (Date.now() > end) {
      throw new Error('not in time')
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}

test('cluster mode: two nodes, ready, one leader; closing the leader hands leadership over', async () => {
  prefix = uniqueName('n')
  const database = await freshPgDatabase()
  cleanups.push(() => database.drop())
  const keyFile = path.join(tmpDir('strato-key-'), 'master.key')
  const env = (id: string): Record<string, string> => ({
    STRATO_STORE_URL: database.url,
    STRATO_MASTER_KEY_FILE: keyFile,
    STRATO_NATS_URL: NATS_TEST_URL,
    STRATO_NATS_PREFIX: prefix,
    STRATO_NODE_ID: id,
  })
  nodes.push(await startTestStrato(env('node-a')), await startTestStrato(env('node-b')))
  const [a, b] = nodes as [TestStrato, TestStrato]

  const live = await fetch(`${a.url}/strato/health`)
  expect(live.status).toBe(200)
  const ready = await fetch(`${a.url}/strato/health/ready`)
  expect(ready.status).toBe(200)
  expect((await fetch(`${b.url}/strato/health?ready`)).status).toBe(200)

  const view = await until(async () => {
    const v = await clusterOf(a)
    return v.members.length === 2 && v.leader !== null ? v : undefined
  })
  expect(view.mode).toBe('cluster')
  expect(view.members.map((m) => m.nodeId)).toEqual(['node-a', 'node-b'])

  // A second process on node-a's data dir is refused before it joins: node-a stays a member.
  await expect(startTestStrato(env('node-a'), a.dataDir)).rejects.toMatchObject({
    code: 'DATA_DIR_IN_USE',
  })
  await new Promise((r) => setTimeout(r, 300))
  expect((await clusterOf(b)).members.map((m) => m.nodeId)).toEqual(['node-a', 'node-b'])
  const leaderNode = view.leader?.nodeId === 'node-a' ? a : b
  const other = leaderNode === a ? b : a
  // (A lease renewal can lag while two Stratos start in one process: allow it to settle.)
  await until(async () => ((await clusterOf(leaderNode)).leader?.self === true ? true : undefined))
  expect((await clusterOf(other)).leader?.self).toBe(false)

  // Shutting the leader down gives its lease up at once: the other takes over within a renewal.
  nodes.splice(nodes.indexOf(leaderNode), 1)
  await leaderNode.close()
  const after = await until(async () => {
    const v = await clusterOf(other)
    return v.leader?.self === true && v.members.length === 1 ? v : undefined
  }, 5_000)
  expect(after.leader?.token).toBeGreaterThan(view.leader?.token ?? 0)
})

test('single-node mode: /strato/info says so; readiness is 200 once started', async () => {
  prefix = uniqueName('n')
  nodes.push(await startTestStrato({ STRATO_NODE_ID: 'solo' }))
  const view = await clusterOf(nodes[0] as TestStrato)
  expect(view).toMatchObject({
    nodeId: 'solo',
    mode: 'single',
    leader: { nodeId: 'solo', self: true },
  })
  expect(view.members.map((m) => m.nodeId)).toEqual(['solo'])
  expect((await fetch(`${(nodes[0] as TestStrato).url}/strato/health/ready`)).status).toBe(200)
})

test('a NATS URL without a shared store is refused: each node would lead its own SQLite alone', () => {
  expect(() => loadConfig({ STRATO_NATS_URL: NATS_TEST_URL })).toThrow('STRATO_STORE_URL')
})
