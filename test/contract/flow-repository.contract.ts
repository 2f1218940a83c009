/**
 * The FlowRepository contract: workflows (unique names, pages), executions created once per id,
 * histories appended without gaps and only under the current lease (fencing), leases claimed,
 * renewed, taken over when expired, redrive and stop, statistics, and the delete cascade.
 */
import { describe, expect, test } from 'vitest'
import {
  FLOW_HISTORY_LIMIT,
  type ExecutionLease,
  type ExecutionRecord,
  type NewFlowEvent,
  type WorkflowRecord,
} from '../../src/core/index.js'
import { backendPerTest, type OpenBackend, type Repositories } from './store-harness.js'

function workflow(name: string, overrides: Partial<WorkflowRecord> = {}): WorkflowRecord {
  const at = new Date(1_700_000_000_000)
  return {
    id: `wf-${name}`,
    projectId: 'p1',
    name,
    description: '',
    mode: 'NORMAL',
    urn: `urn:fss:r:p1:workflow:default:${name}:latest`,
    language: 'asl',
    definitionJson: '{}',
    irJson: '{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}',
    enableStreamResponse: false,
    createdBy: 'user',
    createdAt: at,
    updatedAt: at,
    ...overrides,
  }
}

function execution(id: string, wf: WorkflowRecord, beginAt: number): ExecutionRecord {
  return {
    id,
    workflowId: wf.id,
    projectId: wf.projectId,
    workflowUrn: wf.urn,
    workflowName: wf.name,
    mode: wf.mode,
    status: 'running',
    inputJson: '{"a":1}',
    outputJson: undefined,
    error: undefined,
    headersJson: '{}',
    irJson: wf.irJson,
    createdBy: 'user',
    beginAt: new Date(beginAt),
    endAt: undefined,
    updatedAt: new Date(beginAt),
    redriveCount: 0,
    eventCount: 0,
  }
}

function event(type: NewFlowEvent['type'], path = '', payload: unknown = {}): NewFlowEvent {
  return {
    type,
    path,
    stateName: path.split('#')[0] ?? '',
    nodeId: '',
    nodeName: '',
    attempt: 1,
    at: 1_700_000_000_000,
    payloadJson: JSON.stringify(payload),
    requestId: type === 'TaskScheduled' ? `req-${path}` : undefined,
  }
}

const OWNER = { owner: 'engine-a', until: 2_000_000_000_000 }

function assertLease(lease: ExecutionLease | undefined): asserts lease is ExecutionLease {
  if (lease === undefined) {
    throw new Error('no lease')
  }
}

/** Creates workflow `name` with one execution 'e1' (begun at 1000) and returns its lease. */
async function startedExecution(
  repos: Repositories,
  name: string,
  owner: { readonly owner: string; readonly until: number } = OWNER,
): Promise<ExecutionLease> {
  const wf = workflow(name)
  await repos.flows.createWorkflow(wf)
  const { lease } = await repos.flows.createExecution(
    execution('e1', wf, 1000),
    [event('ExecutionStarted')],
    owner,
  )
  assertLease(lease)
  return lease
}

export function describeFlowRepositoryContract(name: string, openBackend: OpenBackend): void {
  describe(`FlowRepository contract: ${name}`, () => {
    const open = backendPerTest(openBackend)

    test('workflow names are unique per project; lists page newest first and filter', async () => {
      const { repos } = await open()
      await repos.flows.createWorkflow(workflow('alpha'))
      await repos.flows.createWorkflow(workflow('beta', { mode: 'EXPRESS' }))
      await repos.flows.createWorkflow(workflow('alphabet'))
      await repos.flows.createWorkflow(workflow('alpha', { id: 'other', projectId: 'p2' }))
      await expect(
        repos.flows.createWorkflow(workflow('alpha', { id: 'x' })),
      ).rejects.toMatchObject({ code: 'FLOW_NAME_EXISTS' })
      const page = await repos.flows.listWorkflows({ projectId: 'p1', offset: 0, limit: 2 })
      expect(page.total).toBe(3)
      expect(page.workflows.map((w) => w.name)).toEqual(['alphabet', 'beta'])
      const next = await repos.flows.listWorkflows({ projectId: 'p1', offset: 2, limit: 2 })
      expect(next.workflows.map((w) => w.name)).toEqual(['alpha'])
      const named = await repos.flows.listWorkflows({
        projectId: 'p1',
        name: 'alpha',
        offset: 0,
        limit: 10,
      })
      expect(named.workflows.map((w) => w.name).sort()).toEqual(['alpha', 'alphabet'])
      const express = await repos.flows.listWorkflows({
        projectId: 'p1',
        mode: 'EXPRESS',
        offset: 0,
        limit: 10,
      })
      expect(express.workflows.map((w) => w.name)).toEqual(['beta'])
      expect(await repos.flows.countWorkflows('p1')).toBe(3)
      const stored = await repos.flows.getWorkflowByUrn('p1', workflow('beta').urn)
      expect(stored).toEqual(workflow('beta', { mode: 'EXPRESS' }))
      expect(await repos.flows.getWorkflow('p2', 'wf-alpha')).toBeUndefined()
      await repos.flows.updateWorkflow({ ...workflow('alpha'), description: 'changed' })
      expect((await repos.flows.getWorkflow('p1', 'wf-alpha'))?.description).toBe('changed')
      await expect(
        repos.flows.updateWorkflow({ ...workflow('alpha'), name: 'beta' }),
      ).rejects.toMatchObject({ code: 'FLOW_NAME_EXISTS' })
    })

    test('an execution is created once per id, with its first events and a lease', async () => {
      const { repos } = await open()
      const wf = workflow('once')
      await repos.flows.createWorkflow(wf)
      const first = await repos.flows.createExecution(
        execution('e1', wf, 1000),
        [event('ExecutionStarted')],
        OWNER,
      )
      expect(first.created).toBe(true)
      expect(first.lease).toMatchObject({ executionId: 'e1', owner: 'engine-a' })
      const again = await repos.flows.createExecution(
        { ...execution('e1', wf, 2000), inputJson: '{"b":2}' },
        [event('ExecutionStarted')],
        OWNER,
      )
      expect(again).toEqual({ created: false, lease: undefined })
      const stored = await repos.flows.getExecution('e1')
      expect(stored).toMatchObject({ inputJson: '{"a":1}', status: 'running', eventCount: 1 })
      expect((await repos.flows.events('e1')).map((e) => [e.seq, e.type])).toEqual([
        [1, 'ExecutionStarted'],
      ])
    })

    test('appends number events without gaps and commit the end of the run with them', async () => {
      const backend = await open()
      const lease = await startedExecution(backend.repos, 'seq')
      expect(
        await backend.repos.flows.appendEvents(lease, [
          event('StateEntered', 'A#1', { input: 1 }),
          event('TaskScheduled', 'A#1'),
        ]),
      ).toBe(3)
      expect(
        await backend.repos.flows.appendEvents(
          lease,
          [event('TaskSucceeded', 'A#1', { output: 2 }), event('ExecutionSucceeded')],
          { status: 'success', outputJson: '2', endAt: 5000 },
        ),
      ).toBe(5)
      const repos = await backend.reopen()
      const events = await repos.flows.events('e1')
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5])
      expect(events[2]).toMatchObject({ type: 'TaskScheduled', requestId: 'req-A#1', path: 'A#1' })
      expect((await repos.flows.events('e1', 3)).map((e) => e.type)).toEqual([
        'TaskSucceeded',
        'ExecutionSucceeded',
      ])
      expect(await repos.flows.getExecution('e1')).toMatchObject({
        status: 'success',
        outputJson: '2',
        eventCount: 5,
      })
      expect((await repos.flows.getExecution('e1'))?.endAt?.getTime()).toBe(5000)
    })

    test('a claim fences the older lease out; a live lease of another owner is not taken', async () => {
      const { repos } = await open()
      const a = await startedExecution(repos, 'fence', { owner: 'engine-a', until: 10_000 })
      expect(await repos.flows.claim('e1', 'engine-b', 9_000, 20_000)).toBeUndefined()
      expect(await repos.flows.orphaned(9_000, 10)).toEqual([])
      expect(await repos.flows.renew(a, 15_000)).toBe(true)
      expect(await repos.flows.orphaned(16_000, 10)).toEqual(['e1'])
      const b = await repos.flows.claim('e1', 'engine-b', 16_000, 30_000)
      expect(b?.token).toBeGreaterThan(a.token)
      await expect(
        repos.flows.appendEvents(a, [event('StateEntered', 'A#1')]),
      ).rejects.toMatchObject({ code: 'FLOW_LEASE_LOST' })
      expect(await repos.flows.renew(a, 40_000)).toBe(false)
      assertLease(b)
      expect(await repos.flows.appendEvents(b, [event('StateEntered', 'A#1')])).toBe(2)
      expect((await repos.flows.events('e1')).map((e) => e.seq)).toEqual([1, 2])
    })

    test('an owner takes back its own leases at once; a released lease is free', async () => {
      const { repos } = await open()
      const lease = await startedExecution(repos, 'own', { owner: 'engine-a', until: 10_000 })
      expect(await repos.flows.orphaned(5_000, 10)).toEqual([])
      expect(await repos.flows.orphaned(5_000, 10, 'engine-a')).toEqual(['e1'])
      const again = await repos.flows.claim('e1', 'engine-a', 5_000, 20_000)
      expect(again?.token).toBeGreaterThan(lease.token)
      assertLease(again)
      await repos.flows.release(again)
      expect(await repos.flows.orphaned(5_000, 10)).toEqual(['e1'])
      expect(await repos.flows.claim('e1', 'engine-b', 5_000, 20_000)).toBeDefined()
    })

    test('an ended execution takes no more events, even under the lease that ended it', async () => {
      const { repos } = await open()
      const lease = await startedExecution(repos, 'ended')
      await repos.flows.appendEvents(lease, [event('ExecutionSucceeded')], {
        status: 'success',
        outputJson: '1',
        endAt: 5000,
      })
      await expect(
        repos.flows.appendEvents(lease, [event('TaskSucceeded', 'Late#1')]),
      ).rejects.toMatchObject({ code: 'FLOW_LEASE_LOST' })
      expect((await repos.flows.events('e1')).map((e) => e.type)).toEqual([
        'ExecutionStarted',
        'ExecutionSucceeded',
      ])
    })

    test('orphaned executions page by begin time then id, after the last id of a page', async () => {
      const { repos } = await open()
      const wf = workflow('paged')
      await repos.flows.createWorkflow(wf)
      const expired = { owner: 'engine-a', until: 2_000 }
      for (const [id, beginAt] of [
        ['e3', 1000],
        ['e1', 1000],
        ['e0', 500],
        ['e2', 1000],
        ['e4', 3000],
      ] as const) {
        await repos.flows.createExecution(
          execution(id, wf, beginAt),
          [event('ExecutionStarted')],
          expired,
        )
      }
      expect(await repos.flows.orphaned(5_000, 2)).toEqual(['e0', 'e1'])
      expect(await repos.flows.orphaned(5_000, 2, undefined, 'e1')).toEqual(['e2', 'e3'])
      expect(await repos.flows.orphaned(5_000, 2, undefined, 'e3')).toEqual(['e4'])
      expect(await repos.flows.orphaned(5_000, 2, undefined, 'e4')).toEqual([])
    })

    test('a finished execution is neither claimed nor orphaned; redrive reopens it', async () => {
      const { repos } = await open()
      const lease = await startedExecution(repos, 'redrive')
      expect(await repos.flows.redrive('e1', event('ExecutionRedriven'), OWNER)).toBeUndefined()
      await repos.flows.appendEvents(lease, [event('ExecutionFailed')], {
        status: 'fail',
        error: { error: 'States.TaskFailed', cause: '{}', nodeId: 'n1' },
        endAt: 3000,
      })
      expect(await repos.flows.getExecution('e1')).toMatchObject({
        status: 'fail',
        error: { error: 'States.TaskFailed', cause: '{}', nodeId: 'n1' },
      })
      expect(await repos.flows.claim('e1', 'engine-b', 4_000_000_000_000, 1)).toBeUndefined()
      expect(await repos.flows.orphaned(4_000_000_000_000, 10)).toEqual([])
      const reopened = await repos.flows.redrive('e1', event('ExecutionRedriven'), OWNER)
      expect(reopened?.token).toBeGreaterThan(lease.token)
      const record = await repos.flows.getExecution('e1')
      expect(record).toMatchObject({ status: 'running', redriveCount: 1, eventCount: 3 })
      expect(record?.error).toBeUndefined()
      expect(record?.endAt).toBeUndefined()
      await expect(repos.flows.appendEvents(lease, [event('StateEntered')])).rejects.toMatchObject({
        code: 'FLOW_LEASE_LOST',
      })
    })

    test('a stop ends a running execution whoever drives it, and fences its driver', async () => {
      const { repos } = await open()
      const lease = await startedExecution(repos, 'stop')
      expect(await repos.flows.stopExecution('e1', event('ExecutionStopped'), 2000)).toBe(true)
      expect(await repos.flows.stopExecution('e1', event('ExecutionStopped'), 3000)).toBe(false)
      await expect(repos.flows.appendEvents(lease, [event('StateEntered')])).rejects.toMatchObject({
        code: 'FLOW_LEASE_LOST',
      })
      const record = await repos.flows.getExecution('e1')
      expect(record?.status).toBe('cancel')
      expect(record?.endAt?.getTime()).toBe(2000)
      expect(await repos.flows.recordEvent('e1', event('CallbackReceived'))).toBeUndefined()
    })

    test('events from outside the driver append without a lease, in the same sequence', async () => {
      const { repos } = await open()
      const lease = await startedExecution(repos, 'callback')
      expect(await repos.flows.recordEvent('e1', event('CallbackReceived', 'W#1'))).toBe(2)
      expect(await repos.flows.appendEvents(lease, [event('TaskSucceeded', 'W#1')])).toBe(3)
      expect((await repos.flows.events('e1')).map((e) => e.type)).toEqual([
        'ExecutionStarted',
        'CallbackReceived',
        'TaskSucceeded',
      ])
    })

    test('the history is bounded', async () => {
      const { repos } = await open()
      const lease = await startedExecution(repos, 'bounded')
      const many = Array.from({ length: FLOW_HISTORY_LIMIT - 1 }, (_, i) =>
        event('StateEntered', `S#${i + 1}`),
      )
      expect(await repos.flows.appendEvents(lease, many)).toBe(FLOW_HISTORY_LIMIT)
      await expect(repos.flows.appendEvents(lease, [event('StateEntered')])).rejects.toThrow()
      expect((await repos.flows.getExecution('e1'))?.eventCount).toBe(FLOW_HISTORY_LIMIT)
    })

    test('callbacks and redrives keep the last slot for the final event; an ending append always fits', async () => {
      const { repos } = await open()
      const lease = await startedExecution(repos, 'last-slot')
      const many = Array.from({ length: FLOW_HISTORY_LIMIT - 2 }, (_, i) =>
        event('StateEntered', `S#${i + 1}`),
      )
      expect(await repos.flows.appendEvents(lease, many)).toBe(FLOW_HISTORY_LIMIT - 1)
      expect(await repos.flows.recordEvent('e1', event('CallbackReceived', 'T#1'))).toBeUndefined()
      await expect(
        repos.flows.appendEvents(lease, [
          event('StateEntered', 'X#1'),
          event('StateExited', 'X#1'),
        ]),
      ).rejects.toThrow()
      const ended = await repos.flows.appendEvents(
        lease,
        [event('StateFailed', 'X#1'), event('ExecutionFailed')],
        { status: 'fail', endAt: 5000 },
      )
      expect(ended).toBe(FLOW_HISTORY_LIMIT + 1)
      expect(
        await repos.flows.redrive('e1', event('ExecutionRedriven'), { owner: 'x', until: 9_000 }),
      ).toBeUndefined()
      expect((await repos.flows.getExecution('e1'))?.status).toBe('fail')
    })

    test('executions page newest first, filter by status and time; statistics count them', async () => {
      const { repos } = await open()
      const wf = workflow('stats')
      const other = workflow('other')
      await repos.flows.createWorkflow(wf)
      await repos.flows.createWorkflow(other)
      const outcomes = [
        { status: 'success', endAt: 1_100 },
        { status: 'fail', endAt: 2_300 },
        { status: 'running' },
        { status: 'timeout', endAt: 4_600 },
      ] as const
      for (const [i, o] of outcomes.entries()) {
        const begin = (i + 1) * 1000
        const { lease } = await repos.flows.createExecution(
          execution(`e${i + 1}`, wf, begin),
          [event('ExecutionStarted')],
          OWNER,
        )
        if (lease !== undefined && o.status !== 'running') {
          await repos.flows.appendEvents(lease, [event('ExecutionSucceeded')], {
            status: o.status,
            endAt: o.endAt,
          })
        }
      }
      await repos.flows.createExecution(execution('x1', other, 1500), [], OWNER)
      const page = await repos.flows.listExecutions({ workflowId: wf.id, offset: 1, limit: 2 })
      expect(page.total).toBe(4)
      expect(page.executions.map((e) => e.id)).toEqual(['e3', 'e2'])
      const failed = await repos.flows.listExecutions({
        workflowId: wf.id,
        status: 'fail',
        offset: 0,
        limit: 10,
      })
      expect(failed.executions.map((e) => e.id)).toEqual(['e2'])
      const window = await repos.flows.listExecutions({
        workflowId: wf.id,
        from: 2000,
        to: 4000,
        offset: 0,
        limit: 10,
      })
      expect(window.executions.map((e) => e.id)).toEqual(['e3', 'e2'])
      expect(await repos.flows.statistics('p1', wf.id, 0, 10_000)).toEqual({
        count: 4,
        durationMs: Math.round((100 + 300 + 600) / 3),
        failCount: 2,
        runningCount: 1,
      })
      expect((await repos.flows.statistics('p1', undefined, 0, 10_000)).count).toBe(5)
      expect((await repos.flows.statistics('p1', wf.id, 2000, 3000)).count).toBe(1)
    })

    test('deleting a workflow deletes its executions and their histories', async () => {
      const { repos } = await open()
      const wf = workflow('gone')
      const kept = workflow('kept')
      await repos.flows.createWorkflow(wf)
      await repos.flows.createWorkflow(kept)
      await repos.flows.createExecution(
        execution('e1', wf, 1000),
        [event('ExecutionStarted')],
        OWNER,
      )
      await repos.flows.createExecution(
        execution('k1', kept, 1000),
        [event('ExecutionStarted')],
        OWNER,
      )
      expect(await repos.flows.deleteWorkflow('p2', wf.id)).toBe(false)
      expect(await repos.flows.deleteWorkflow('p1', wf.id)).toBe(true)
      expect(await repos.flows.deleteWorkflow('p1', wf.id)).toBe(false)
      expect(await repos.flows.getWorkflow('p1', wf.id)).toBeUndefined()
      expect(await repos.flows.getExecution('e1')).toBeUndefined()
      expect(await repos.flows.events('e1')).toEqual([])
      expect(await repos.flows.getExecution('k1')).toBeDefined()
      expect(await repos.flows.events('k1')).toHaveLength(1)
    })
  })
}
