/**
 * Several nodes on one PostgreSQL store: each node's caches and in-memory tables hear the others'
 * writes through `ClusterChanges` (an in-memory pair here, delivered when the test says, so it can
 * prove a cached read is stale until the announcement and exact after), the trigger feed carries
 * other nodes' changes, and checks-then-writes hold when nodes race (bootstrap, quotas).
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { type ClusterChanges, type TriggerChange, type TriggerInput } from '../../src/core/index.js'
import type { Store } from '../../src/store/index.js'
import { freshPgSchema } from '../helpers/cluster-services.js'
import { tmpDir } from '../helpers/strato.js'
import { openPgNode } from './pg-backend.js'
import { createFunction } from './store-harness.js'

/** Announcements between in-memory nodes, held until `deliver()` (NATS core's role in production). */
class ChangesBus {
  readonly #nodes: Array<{
    listeners: Map<string, Array<(key: string | undefined) => void>>
    resync: Array<() => void>
  }> = []
  #pending: Array<() => void> = []

  node(): ClusterChanges {
    const me = {
      listeners: new Map<string, Array<(key: string | undefined) => void>>(),
      resync: [] as Array<() => void>,
    }
    this.#nodes.push(me)
    return {
      publish: (topic, key) => {
        for (const other of this.#nodes) {
          if (other !== me) {
            for (const listener of other.listeners.get(topic) ?? []) {
              this.#pending.push(() => listener(key))
            }
          }
        }
      },
      subscribe: (topic, listener) => {
        me.listeners.set(topic, [...(me.listeners.get(topic) ?? []), listener])
      },
      onResync: (listener) => {
        me.resync.push(listener)
      },
    }
  }

  /** Hands every announcement made so far to its listeners; resolves once reloads had a turn. */
  async deliver(): Promise<void> {
    const pending = this.#pending
    this.#pending = []
    for (const deliver of pending) {
      deliver()
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  resyncAll(): void {
    for (const node of this.#nodes) {
      for (const listener of node.resync) {
        listener()
      }
    }
  }
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup()
  }
})

/** `count` nodes on one fresh schema, sharing a master key and a changes bus. */
async function cluster(count: number, quotas = {}): Promise<{ nodes: Store[]; bus: ChangesBus }> {
  const fresh = freshPgSchema()
  const bus = new ChangesBus()
  const keyDir = tmpDir('strato-pg-key-')
  const masterKeyFile = path.join(keyDir, 'master.key')
  cleanups.push(async () => {
    await fresh.drop()
    fs.rmSync(keyDir, { recursive: true, force: true })
  })
  const dirs = Array.from({ length: count }, () => tmpDir('strato-pg-node-'))
  // The first node makes the key; the others read the same file (a cluster shares it).
  const first = await openPgNode(fresh.schema, dirs[0] ?? '', {
    quotas,
    changes: bus.node(),
    masterKeyFile,
  })
  const rest = await Promise.all(
    dirs
      .slice(1)
      .map((dir) => openPgNode(fresh.schema, dir, { quotas, changes: bus.node(), masterKeyFile })),
  )
  const nodes = [first, ...rest]
  for (const [i, node] of nodes.entries()) {
    cleanups.push(async () => {
      await node.close()
      fs.rmSync(dirs[i] ?? '', { recursive: true, force: true })
    })
  }
  return { nodes, bus }
}

function timer(name: string): TriggerInput {
  return {
    typeCode: 'TIMER',
    status: 'ACTIVE',
    eventTypeCode: '',
    eventData: { name, schedule_type: 'Rate', schedule: '3m' },
  }
}

test("a node's cached function, alias, async config and tracing switch are stale until another node's write is announced, exact after", async () => {
  const { nodes, bus } = await cluster(2)
  const [a, b] = nodes as [Store, Store]
  const fn = await createFunction(a, 'shared')
  await bus.deliver()
  // B reads (and caches) everything once.
  expect((await b.functions.get('p1', 'default', 'shared'))?.memorySizeMb).toBe(128)
  const v1 = await a.versions.publish(fn, 'v1', '')
  const v2 = await a.versions.publish(
    await a.functions.updateConfig(fn, { ...fn, memorySizeMb: 256 }),
    'v2',
    '',
  )
  await a.versions.putAlias(fn, aliasTo('live', v1.fn.version), 'create')
  await bus.deliver()
  expect((await b.versions.getAlias(fn, 'live'))?.version).toBe('v1')
  expect(await b.asyncConfigs.get(fn.id, 'latest')).toBeUndefined()
  expect(await b.tracing.isOn(fn.id)).toBe(false)
  expect((await b.functions.get('p1', 'default', 'shared'))?.memorySizeMb).toBe(256)

  // A writes; nothing announced yet: B answers from its cache (the cache is what serves it).
  await a.functions.updateConfig((await a.functions.get('p1', 'default', 'shared')) ?? fn, {
    ...fn,
    memorySizeMb: 512,
  })
  await a.versions.putAlias(fn, aliasTo('live', v2.fn.version), 'update')
  await a.asyncConfigs.put(fn.id, 'latest', {
    maxAsyncEventAgeS: 60,
    maxAsyncRetryAttempts: 1,
    onSuccess: undefined,
    onFailure: undefined,
    targetUrns: [],
    enableAsyncStatusLog: false,
  })
  await a.tracing.put(fn.id, 'ak', 'sk')
  expect((await b.functions.get('p1', 'default', 'shared'))?.memorySizeMb).toBe(256)
  expect((await b.versions.getAlias(fn, 'live'))?.version).toBe('v1')
  expect(await b.asyncConfigs.get(fn.id, 'latest')).toBeUndefined()
  expect(b.tracing.isOn(fn.id)).toBe(false)

  // Announced: B reads the rows again.
  await bus.deliver()
  expect((await b.functions.get('p1', 'default', 'shared'))?.memorySizeMb).toBe(512)
  expect((await b.versions.getAlias(fn, 'live'))?.version).toBe('v2')
  expect((await b.asyncConfigs.get(fn.id, 'latest'))?.maxAsyncEventAgeS).toBe(60)
  expect(await b.tracing.isOn(fn.id)).toBe(true)

  // A function deleted on A (one transaction, the cascade) leaves B's caches once announced.
  await a.cascade.deleteFunction((await a.functions.get('p1', 'default', 'shared')) ?? fn)
  expect(await b.functions.get('p1', 'default', 'shared')).toBeDefined()
  await bus.deliver()
  expect(await b.functions.get('p1', 'default', 'shared')).toBeUndefined()
  expect(await b.versions.getAlias(fn, 'live')).toBeUndefined()
  expect(await b.asyncConfigs.get(fn.id, 'latest')).toBeUndefined()
})

test('key pairs and log switches another node writes reach this node; a resync drops what was missed', async () => {
  const { nodes, bus } = await cluster(2)
  const [a, b] = nodes as [Store, Store]
  await a.tenants.addTenantKey({ projectId: 'p2', accessKey: 'AK2', secretKey: 'SK2' }, 'p2')
  await a.logSettings.setAsyncStatusLog('p2', true)
  expect(b.tenants.lookup('AK2')).toBeUndefined()
  expect(b.logSettings.asyncStatusLogEnabled('p2')).toBe(false)
  await bus.deliver()
  expect(b.tenants.lookup('AK2')).toEqual({ projectId: 'p2', accessKey: 'AK2', secretKey: 'SK2' })
  expect(b.logSettings.asyncStatusLogEnabled('p2')).toBe(true)

  // Missed announcements (a reconnect): the resync reloads and empties the caches.
  const fn = await createFunction(a, 'missed')
  expect((await b.functions.get('p1', 'default', 'missed'))?.memorySizeMb).toBe(128)
  await a.functions.updateConfig(fn, { ...fn, memorySizeMb: 384 })
  await a.logSettings.setAsyncStatusLog('p2', false)
  bus.resyncAll()
  await new Promise((resolve) => setTimeout(resolve, 100))
  expect((await b.functions.get('p1', 'default', 'missed'))?.memorySizeMb).toBe(384)
  expect(b.logSettings.asyncStatusLogEnabled('p2')).toBe(false)
})

test("the trigger feed carries another node's creates, updates and deletes (cascade included)", async () => {
  const { nodes, bus } = await cluster(2)
  const [a, b] = nodes as [Store, Store]
  const heard: Array<Pick<TriggerChange, 'kind'> & { id: string; status: string }> = []
  b.triggers.onChange((change) =>
    heard.push({ kind: change.kind, id: change.trigger.id, status: change.trigger.status }),
  )
  const fn = await createFunction(a, 'triggered')
  const target = {
    projectId: 'p1',
    functionId: fn.id,
    qualifier: 'latest',
    functionUrn: `urn:fss:r1:p1:function:default:${fn.name}:latest`,
  }
  const t1 = await a.triggers.create(target, timer('t1'))
  const t2 = await a.triggers.create(target, timer('t2'))
  await a.triggers.setStatus(fn.id, 'TIMER', t1.id, 'DISABLED')
  expect(heard).toEqual([])
  await bus.deliver()
  expect(heard).toEqual([
    { kind: 'created', id: t1.id, status: 'DISABLED' },
    { kind: 'created', id: t2.id, status: 'ACTIVE' },
    { kind: 'updated', id: t1.id, status: 'DISABLED' },
  ])
  heard.length = 0
  await a.triggers.delete(fn.id, 'TIMER', t1.id)
  await a.cascade.deleteFunction(fn)
  await bus.deliver()
  expect(heard).toEqual([
    { kind: 'deleted', id: t1.id, status: 'DISABLED' },
    { kind: 'deleted', id: t2.id, status: 'ACTIVE' },
  ])
})

test('three nodes bootstrapping an empty store together make one root tenant; a given key joins it', async () => {
  const { nodes } = await cluster(3)
  const none = { projectId: undefined, accessKey: undefined, secretKey: undefined }
  const outcomes = await Promise.all([
    nodes[0]?.tenants.ensureBootstrap(none),
    nodes[1]?.tenants.ensureBootstrap(none),
    nodes[2]?.tenants.ensureBootstrap({ projectId: undefined, accessKey: 'GIVEN', secretKey: 's' }),
  ])
  const created = outcomes.filter((o) => o?.created === true)
  expect(created).toHaveLength(1)
  const roots = await Promise.all(nodes.map((n) => n.tenants.rootProjectId()))
  expect(new Set(roots).size).toBe(1)
  const root = roots[0]
  expect(outcomes.every((o) => o === undefined || o.keys.projectId === root)).toBe(true)
  await nodes[0]?.tenants.load()
  expect(nodes[0]?.tenants.lookup('GIVEN')?.projectId).toBe(root)
})

test('nodes creating at once keep the quotas and the uniqueness of names', async () => {
  const { nodes } = await cluster(3, { functionsPerProject: 2, aliasesPerFunction: 2 })
  const results = await Promise.allSettled(
    ['f1', 'f2', 'f3', 'f1', 'f2', 'f3'].map((name, i) =>
      createFunction(nodes[i % 3] as Store, name),
    ),
  )
  const made = results.filter((r) => r.status === 'fulfilled')
  expect(made).toHaveLength(2)
  const codes = results.flatMap((r) =>
    r.status === 'rejected' ? [(r.reason as { code?: string }).code] : [],
  )
  expect(new Set(codes)).toEqual(new Set(['FUNCTION_EXISTS', 'FUNCTION_QUOTA_EXCEEDED']))
  const page = await nodes[0]?.functions.list('p1', { marker: 0, maxItems: 10 })
  expect(page?.count).toBe(2)

  // Aliases of one function, on three nodes at once, past the quota of 2.
  const [a, b, c] = nodes as [Store, Store, Store]
  let fn = await a.functions.get('p1', 'default', 'f1')
  fn ??= await a.functions.get('p1', 'default', 'f2')
  if (fn === undefined) {
    throw new Error('no function made')
  }
  for (const [i, memorySizeMb] of [128, 256, 512].entries()) {
    fn = await a.functions.updateConfig(fn, { ...fn, memorySizeMb })
    await a.versions.publish(fn, `v${i}`, '')
  }
  const aliases = await Promise.allSettled(
    [a, b, c].map((node, i) => node.versions.putAlias(fn, aliasTo(`x${i}`, `v${i}`), 'create')),
  )
  expect(aliases.filter((r) => r.status === 'fulfilled')).toHaveLength(2)
  expect(aliases.find((r) => r.status === 'rejected')?.reason).toMatchObject({
    code: 'ALIAS_QUOTA_EXCEEDED',
  })
})

function aliasTo(name: string, version: string) {
  return { name, version, description: '', weights: {}, strategy: {} }
}
