/**
 * The shared PostgreSQL store's logs, audit trail and flows against their repository contracts,
 * on the machine's PostgreSQL (a fresh database per backend, dropped after; a restart reopens the
 * same database). Plus what only a cluster has: two nodes (two pools, two stores) on one execution
 * fence each other. PostgreSQL unreachable fails these tests, never skips them.
 */
import { afterEach, describe, expect, test } from 'vitest'
import type { ExecutionRecord, InvocationRecord, NewFlowEvent } from '../../src/core/index.js'
import { openPgDatabase, type PgDatabase } from '../../src/store/pg/pg-database.js'
import { PgAuditTrailStore } from '../../src/store/pg/pg-audit-trail-store.js'
import { PgFlowStore } from '../../src/store/pg/pg-flow-store.js'
import { PgInvocationLogStore } from '../../src/store/pg/pg-invocation-log-store.js'
import { freshPgDatabase } from '../helpers/cluster-services.js'
import { describeAuditTrailRepositoryContract } from './audit-trail-repository.contract.js'
import { describeFlowRepositoryContract } from './flow-repository.contract.js'
import { describeInvocationLogRepositoryContract } from './invocation-log-repository.contract.js'
import type { OpenBackend, Repositories } from './store-harness.js'

interface PgNode {
  readonly repos: Repositories
  readonly flows: PgFlowStore
  close(): Promise<void>
}

/** One node's stores on `url`: what the suites touch (logs, audit, flows), nothing else. */
/** Steps run after each test of the calling describe, the last pushed first. */
function cleanupAfterEach(): Array<() => Promise<void>> {
  const steps: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const step of steps.splice(0).reverse()) {
      await step()
    }
  })
  return steps
}

async function openNode(url: string): Promise<PgNode> {
  const database: PgDatabase = await openPgDatabase({ url, maxConnections: 4 })
  const onError = (err: unknown): void => {
    throw err
  }
  const logs = new PgInvocationLogStore(database.db, database.pool, onError)
  const audit = new PgAuditTrailStore(database.pool, onError)
  const flows = new PgFlowStore(database.db)
  // Only these three are used by the suites run here; the rest of Repositories is not opened.
  const repos = { logs, audit, flows } as unknown as Repositories
  return {
    repos,
    flows,
    async close() {
      await logs.close()
      await audit.close()
      await database.close()
    },
  }
}

const openPgBackend: OpenBackend = async () => {
  const fresh = await freshPgDatabase()
  let node = await openNode(fresh.url)
  return {
    repos: node.repos,
    async reopen() {
      await node.close()
      node = await openNode(fresh.url)
      return node.repos
    },
    async close() {
      await node.close()
      await fresh.drop()
    },
  }
}

describeInvocationLogRepositoryContract('PostgreSQL', openPgBackend)
describeAuditTrailRepositoryContract('PostgreSQL', openPgBackend)
describeFlowRepositoryContract('PostgreSQL', openPgBackend)

function execution(id: string): ExecutionRecord {
  return {
    id,
    workflowId: 'wf-1',
    projectId: 'p1',
    workflowUrn: 'urn:fss:r:p1:workflow:default:one:latest',
    workflowName: 'one',
    mode: 'NORMAL',
    status: 'running',
    inputJson: '{}',
    outputJson: undefined,
    error: undefined,
    headersJson: '{}',
    irJson: '{}',
    createdBy: 'user',
    beginAt: new Date(1_000),
    endAt: undefined,
    updatedAt: new Date(1_000),
    redriveCount: 0,
    eventCount: 0,
  }
}

function event(type: NewFlowEvent['type'], path = ''): NewFlowEvent {
  return {
    type,
    path,
    stateName: path,
    nodeId: '',
    nodeName: '',
    attempt: 1,
    at: 1_000,
    payloadJson: '{}',
    requestId: undefined,
  }
}

describe('PgFlowStore across two nodes', () => {
  const cleanup = cleanupAfterEach()

  async function twoNodes(): Promise<[PgNode, PgNode]> {
    const fresh = await freshPgDatabase()
    const a = await openNode(fresh.url)
    const b = await openNode(fresh.url)
    cleanup.push(
      () => fresh.drop(),
      () => a.close(),
      () => b.close(),
    )
    await a.flows.createWorkflow({
      id: 'wf-1',
      projectId: 'p1',
      name: 'one',
      description: '',
      mode: 'NORMAL',
      urn: 'urn:fss:r:p1:workflow:default:one:latest',
      language: 'asl',
      definitionJson: '{}',
      irJson: '{}',
      enableStreamResponse: false,
      createdBy: 'user',
      createdAt: new Date(1_000),
      updatedAt: new Date(1_000),
    })
    return [a, b]
  }

  test('the node whose lease was taken cannot append; the taker goes on from the same seq', async () => {
    const [a, b] = await twoNodes()
    const created = await a.flows.createExecution(execution('e1'), [event('ExecutionStarted')], {
      owner: 'node-a',
      until: 10_000,
    })
    const leaseA = created.lease
    expect(leaseA).toBeDefined()
    if (leaseA === undefined) {
      return
    }
    expect(await a.flows.appendEvents(leaseA, [event('StateEntered', 'A')])).toBe(2)
    // Node b sees a live lease of a's: it does not take it.
    expect(await b.flows.claim('e1', 'node-b', 9_000, 30_000)).toBeUndefined()
    // Node a stopped renewing (it died, or is partitioned away): b takes the expired lease.
    expect(await b.flows.orphaned(11_000, 10)).toEqual(['e1'])
    const leaseB = await b.flows.claim('e1', 'node-b', 11_000, 30_000)
    expect(leaseB?.token).toBeGreaterThan(leaseA.token)
    await expect(a.flows.appendEvents(leaseA, [event('StateExited', 'A')])).rejects.toMatchObject({
      code: 'FLOW_LEASE_LOST',
    })
    expect(await a.flows.renew(leaseA, 50_000)).toBe(false)
    if (leaseB === undefined) {
      return
    }
    expect(await b.flows.appendEvents(leaseB, [event('StateExited', 'A')])).toBe(3)
    expect((await a.flows.events('e1')).map((e) => [e.seq, e.type])).toEqual([
      [1, 'ExecutionStarted'],
      [2, 'StateEntered'],
      [3, 'StateExited'],
    ])
  })

  test('a claim racing an append: the append commits before the claim or is fenced out, never both', async () => {
    const [a, b] = await twoNodes()
    for (let i = 0; i < 20; i++) {
      const id = `race-${i}`
      const { lease } = await a.flows.createExecution(execution(id), [event('ExecutionStarted')], {
        owner: 'node-a',
        until: 1_000,
      })
      if (lease === undefined) {
        throw new Error('no lease')
      }
      const [appended, claimed] = await Promise.allSettled([
        a.flows.appendEvents(lease, [event('StateEntered', 'A')]),
        b.flows.claim(id, 'node-b', 5_000, 60_000),
      ])
      expect(claimed.status).toBe('fulfilled')
      const history = await b.flows.events(id)
      if (appended.status === 'fulfilled') {
        expect(history.map((e) => e.seq)).toEqual([1, 2])
      } else {
        expect(appended.reason).toMatchObject({ code: 'FLOW_LEASE_LOST' })
        expect(history.map((e) => e.seq)).toEqual([1])
      }
      // Either way the old lease is fenced out now.
      await expect(a.flows.appendEvents(lease, [event('StateExited', 'A')])).rejects.toMatchObject({
        code: 'FLOW_LEASE_LOST',
      })
    }
  })

  test('callbacks arriving on both nodes at once number the history without gaps', async () => {
    const [a, b] = await twoNodes()
    await a.flows.createExecution(execution('e1'), [event('ExecutionStarted')], {
      owner: 'node-a',
      until: 10_000,
    })
    const seqs = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 === 0 ? a : b).flows.recordEvent('e1', event('CallbackReceived', `W${i}`)),
      ),
    )
    expect([...seqs].sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 2),
    )
    const history = await b.flows.events('e1')
    expect(history.map((e) => e.seq)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1))
    expect((await a.flows.getExecution('e1'))?.eventCount).toBe(31)
  })

  test('two nodes creating one workflow name at once: one wins, the other is told the name exists', async () => {
    const [a, b] = await twoNodes()
    const wf = (id: string) => ({
      id,
      projectId: 'p1',
      name: 'same',
      description: '',
      mode: 'NORMAL' as const,
      urn: `urn:fss:r:p1:workflow:default:same:${id}`,
      language: 'asl' as const,
      definitionJson: '{}',
      irJson: '{}',
      enableStreamResponse: false,
      createdBy: 'user',
      createdAt: new Date(1_000),
      updatedAt: new Date(1_000),
    })
    const results = await Promise.allSettled([
      a.flows.createWorkflow(wf('x')),
      b.flows.createWorkflow(wf('y')),
    ])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({
      reason: { code: 'FLOW_NAME_EXISTS' },
    })
  })
})

describe('PgInvocationLogStore and PgAuditTrailStore across two nodes', () => {
  const cleanup = cleanupAfterEach()

  test('a follow on one node sees every entry both nodes write, once, while they write', async () => {
    const fresh = await freshPgDatabase()
    const a = await openNode(fresh.url)
    const b = await openNode(fresh.url)
    // The follower is a third node: its reads wait for no queue of its own.
    const c = await openNode(fresh.url)
    cleanup.push(
      () => fresh.drop(),
      () => a.close(),
      () => b.close(),
      () => c.close(),
    )
    const seen = new Map<string, number>()
    let position: string | undefined
    let auditPosition: string | undefined
    const auditSeen = new Set<string>()
    const follow = async (): Promise<number> => {
      const page = await c.repos.logs.readAfter('fa', position, 0, 300)
      for (const f of page) {
        seen.set(f.entry.requestId, (seen.get(f.entry.requestId) ?? 0) + 1)
        position = f.position
      }
      const audit = await c.repos.audit.readAfter('p1', auditPosition, 0, 300)
      for (const f of audit) {
        expect(auditSeen.has(f.record.traceId)).toBe(false)
        auditSeen.add(f.record.traceId)
        auditPosition = f.position
      }
      return page.length + audit.length
    }
    const perNode = 1_500
    const writing = (async () => {
      for (let i = 0; i < perNode; i++) {
        for (const [name, node] of [
          ['a', a],
          ['b', b],
        ] as const) {
          node.repos.logs.append(
            {
              requestId: `${name}-${i}`,
              attempt: 1,
              version: 'latest',
              startedAtMs: 1_700_000_000_000 + i,
              durationMs: 1,
              billedDurationMs: 1,
              memorySizeMb: 128,
              memoryUsedMb: 1,
              errorType: undefined,
              errorMessage: undefined,
              output: `x ${name}-${i} INFO hi\n`,
            },
            'p1',
            'fa',
          )
          if (i % 10 === 0) {
            node.repos.audit.append({
              traceId: `${name}-${i}`,
              projectId: 'p1',
              timeMs: 1_700_000_000_000 + i,
              traceName: 'createFunction',
              resourceType: 'function',
              resourceName: 'fa',
              resourceId: 'urn',
              functionUrn: 'urn',
              code: 200,
              errorCode: '',
              sourceIp: '127.0.0.1',
              accessKey: 'ak',
              requestId: `${name}-${i}`,
              traceType: 'ApiCall',
            })
          }
        }
        if (i % 25 === 24) {
          // Requests arrive over time: batches of both nodes go out while the follower reads.
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
      }
      await Promise.all([a.repos.logs.whenWritten(), b.repos.logs.whenWritten()])
      // Reads write the node's own queue first.
      await a.repos.audit.readAfter('p1', undefined, 0, 1)
      await b.repos.audit.readAfter('p1', undefined, 0, 1)
    })()
    let done = false
    void writing.then(() => {
      done = true
    })
    while (!done) {
      await follow()
    }
    await writing
    while ((await follow()) > 0) {
      // Drain what the last batches committed.
    }
    expect(seen.size).toBe(2 * perNode)
    expect([...seen.values()].every((n) => n === 1)).toBe(true)
    expect(auditSeen.size).toBe(2 * (perNode / 10))
  })
})

describe('PgInvocationLogStore when PostgreSQL refuses a batch', () => {
  test('the failure is reported, whenWritten still resolves, and the batch is written on retry', async () => {
    const fresh = await freshPgDatabase()
    const database = await openPgDatabase({ url: fresh.url, maxConnections: 4 })
    const errors: unknown[] = []
    const logs = new PgInvocationLogStore(database.db, database.pool, (err) => errors.push(err))
    try {
      // The table is away (a failover, a lock timeout): inserts fail until it is back.
      await database.pool.query('alter table invocation_logs rename to away')
      logs.append(
        {
          requestId: 'r1',
          attempt: 1,
          version: 'latest',
          startedAtMs: 1_700_000_000_000,
          durationMs: 1,
          billedDurationMs: 1,
          memorySizeMb: 128,
          memoryUsedMb: 1,
          errorType: 'Error',
          errorMessage: 'boom',
          output: 'x r1 WARN low\n',
        },
        'p1',
        'fa',
      )
      await logs.whenWritten()
      expect(errors).toHaveLength(1)
      await database.pool.query('alter table away rename to invocation_logs')
      // Kept and retried (about a second later), not dropped.
      await expect
        .poll(async () => (await logs.list({ functionId: 'fa', limit: 10 })).length, {
          timeout: 5_000,
        })
        .toBe(1)
      const page = await logs.search({
        functionId: 'fa',
        order: 'desc',
        minLevel: 'WARN',
        limit: 5,
      })
      expect(page.entries.map((e) => e.entry.requestId)).toEqual(['r1'])
    } finally {
      await logs.close()
      await database.close()
      await fresh.drop()
    }
  })
})

function logRecord(requestId: string, extra: Partial<InvocationRecord> = {}): InvocationRecord {
  return {
    requestId,
    attempt: 1,
    version: 'latest',
    startedAtMs: 1_700_000_000_000,
    durationMs: 1,
    billedDurationMs: 1,
    memorySizeMb: 128,
    memoryUsedMb: 1,
    errorType: undefined,
    errorMessage: undefined,
    output: `x ${requestId} INFO hi\n`,
    ...extra,
  }
}

describe('PgInvocationLogStore and PgAuditTrailStore with text PostgreSQL cannot hold', () => {
  const cleanup = cleanupAfterEach()

  async function open(): Promise<{
    logs: PgInvocationLogStore
    audit: PgAuditTrailStore
    errors: unknown[]
  }> {
    const fresh = await freshPgDatabase()
    const database = await openPgDatabase({ url: fresh.url, maxConnections: 4 })
    const errors: unknown[] = []
    const logs = new PgInvocationLogStore(database.db, database.pool, (err) => errors.push(err))
    const audit = new PgAuditTrailStore(database.pool, (err) => errors.push(err))
    cleanup.push(
      () => fresh.drop(),
      () => database.close(),
      () => audit.close(),
      () => logs.close(),
    )
    return { logs, audit, errors }
  }

  test('a NUL a function printed or threw is stored as U+FFFD, and later batches are written', async () => {
    const { logs, audit, errors } = await open()
    logs.append(
      logRecord('r1', { output: 'x r1 INFO a\0b\n', errorType: 'Error', errorMessage: 'c\0d' }),
      'p1',
      'fa',
    )
    logs.appendAsyncStatus({
      projectId: 'p1',
      functionId: 'fa',
      functionUrn: 'urn',
      requestId: 'r1',
      status: 'FAIL',
      attempts: 1,
      atMs: 1_700_000_000_000,
      errorCode: 500,
      message: 'Error: c\0d',
    })
    audit.append({
      traceId: 't1',
      projectId: 'p1',
      timeMs: 1_700_000_000_000,
      traceName: 'createFunction',
      resourceType: 'function',
      resourceName: 'f\0',
      resourceId: 'urn',
      functionUrn: 'urn',
      code: 200,
      errorCode: '',
      sourceIp: '127.0.0.1',
      accessKey: 'ak',
      requestId: 'r1',
      traceType: 'ApiCall',
    })
    await logs.whenWritten()
    logs.append(logRecord('r2'), 'p1', 'fa')
    await logs.whenWritten()
    expect(errors).toEqual([])
    const stored = await logs.list({ functionId: 'fa', limit: 10 })
    expect(stored.map((e) => e.requestId).sort()).toEqual(['r1', 'r2'])
    expect(stored.find((e) => e.requestId === 'r1')).toMatchObject({
      output: 'x r1 INFO a\uFFFDb\n',
      errorMessage: 'c\uFFFDd',
    })
    // A search for a NUL finds what was stored in its place (and does not fail).
    const found = await logs.search({ functionId: 'fa', order: 'desc', contains: 'a\0b', limit: 5 })
    expect(found.entries.map((e) => e.entry.requestId)).toEqual(['r1'])
    const status = await logs.searchAsyncStatus({ projectId: 'p1', order: 'asc', limit: 5 })
    expect(status.entries.map((e) => e.entry.message)).toEqual(['Error: c\uFFFDd'])
    const traces = await audit.list({ projectId: 'p1', resourceName: 'f\0', limit: 5 })
    expect(traces.records.map((r) => r.resourceName)).toEqual(['f\uFFFD'])
    expect(errors).toEqual([])
  })

  test('a row PostgreSQL refuses is dropped and reported; the rest of its batch and later ones are written', async () => {
    const { logs, errors } = await open()
    // bigint refuses a fraction: the whole batch's insert fails, at every retry.
    logs.append(logRecord('bad', { billedDurationMs: 1.5 }), 'p1', 'fa')
    logs.append(logRecord('good'), 'p1', 'fa')
    await logs.whenWritten()
    expect(errors).toHaveLength(1)
    expect(String(errors[0])).toContain('refused 1 log entries')
    logs.append(logRecord('later'), 'p1', 'fa')
    await logs.whenWritten()
    const stored = await logs.list({ functionId: 'fa', limit: 10 })
    expect(stored.map((e) => e.requestId).sort()).toEqual(['good', 'later'])
    expect(errors).toHaveLength(1)
  })
})
