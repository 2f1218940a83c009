import { expect, test } from 'vitest'
import { FLOW_HISTORY_LIMIT, StratoError, type FlowRepository } from '../../core/index.js'
import {
  asyncSideOf,
  engineOf,
  eventually,
  ScriptedInvoker,
  task,
  workflowOf,
  type AsyncSide,
} from '../../../test/helpers/flow-engine-kit.js'
import { useTempStores } from '../../../test/helpers/temp-stores.js'
import type { AslDefinition, JsonValue } from '../asl/definition.js'
import { taskRequestId } from './request-id.js'

const stores = useTempStores('strato-flow-engine-')

const START = { headers: {}, createdBy: 'tester' }

const THREE_STEPS: AslDefinition = {
  StartAt: 'One',
  States: {
    One: task('add', 'Pause', { ResultPath: '$.one' }) as never,
    Pause: { Type: 'Wait', Seconds: 0, Next: 'Two' },
    Two: task('add', 'Three', { ResultPath: '$.two' }) as never,
    Three: task('add', undefined, { ResultPath: '$.three' }) as never,
  },
}

function adder(): ScriptedInvoker {
  return new ScriptedInvoker({ add: (p) => ((p as { n: number }).n ?? 0) + 1 })
}

async function statusOf(repo: FlowRepository, id: string): Promise<string | undefined> {
  return (await repo.getExecution(id))?.status
}

test('an execution runs its steps in order, each committed before the next, with the flow context', async () => {
  const { store } = await stores.open()
  const invoker = adder()
  const engine = engineOf({ repository: store.flows, invoker })
  await store.flows.createWorkflow(workflowOf(THREE_STEPS))
  const { executionId } = await engine.start(workflowOf(THREE_STEPS), { n: 1 }, START)
  await engine.drained(executionId)
  const record = await store.flows.getExecution(executionId)
  expect(record?.status).toBe('success')
  expect(JSON.parse(record?.outputJson ?? 'null')).toEqual({ n: 1, one: 2, two: 2, three: 2 })
  const events = await store.flows.events(executionId)
  const types = events.map((e) => e.type)
  expect(types[0]).toBe('ExecutionStarted')
  expect(types.at(-1)).toBe('ExecutionSucceeded')
  // Every step's outcome comes before the next state is entered.
  const succeededOne = types.indexOf('TaskSucceeded')
  const enteredPause = events.findIndex((e) => e.type === 'StateEntered' && e.stateName === 'Pause')
  expect(succeededOne).toBeLessThan(enteredPause)
  expect(events.filter((e) => e.type === 'TimerStarted')).toHaveLength(1)
  expect(invoker.calls).toHaveLength(3)
  const first = invoker.calls[0]
  expect(first?.contextHeaders).toEqual({
    'x-cff-workflow-id': 'wf-1',
    'x-cff-workflow-run-id': executionId,
    'x-cff-workflow-state-id': 'One',
  })
  const scheduled = events.filter((e) => e.type === 'TaskScheduled')
  expect(scheduled.map((e) => e.requestId)).toEqual(invoker.calls.map((c) => c.requestId))
  expect(first?.requestId).toBe(taskRequestId(executionId, scheduled[0]?.path ?? '', 1, 0))
  await engine.close()
})

test('after a crash the run resumes from its history: completed steps are not run again', async () => {
  const { store } = await stores.open()
  let release: (value: JsonValue) => void = () => undefined
  const stuck = new ScriptedInvoker({
    add: (p, request) =>
      request.contextHeaders?.['x-cff-workflow-state-id'] === 'Two'
        ? new Promise<JsonValue>((resolve) => (release = resolve))
        : ((p as { n: number }).n ?? 0) + 1,
  })
  const crashed = engineOf({ repository: store.flows, invoker: stuck })
  await store.flows.createWorkflow(workflowOf(THREE_STEPS))
  const { executionId } = await crashed.start(workflowOf(THREE_STEPS), { n: 1 }, START)
  await eventually(() => Promise.resolve(stuck.callsOf('add').length === 2))

  // A new engine under the same owner (a restart) takes the execution back at once.
  const invoker = adder()
  const restarted = engineOf({ repository: store.flows, invoker })
  await restarted.resume()
  await eventually(async () => (await statusOf(store.flows, executionId)) === 'success')
  // The old engine's late answer is fenced out: nothing more is written for it.
  release(100)
  await crashed.drained(executionId)
  expect(invoker.calls.map((c) => c.contextHeaders?.['x-cff-workflow-state-id'])).toEqual([
    'Two',
    'Three',
  ])
  const redelivered = invoker.calls[0]
  expect(redelivered?.requestId).toBe(stuck.calls[1]?.requestId)
  expect(redelivered?.attempt).toBe(2)
  const events = await store.flows.events(executionId)
  const succeeded = events.filter((e) => e.type === 'TaskSucceeded').map((e) => e.stateName)
  expect(succeeded).toEqual(['One', 'Two', 'Three'])
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
  expect(events.filter((e) => e.type === 'ExecutionSucceeded')).toHaveLength(1)
  await crashed.close()
  await restarted.close()
})

test('function errors carry a JSON cause; a missing function is FunctionNotFound; Catch routes', async () => {
  const { store } = await stores.open()
  const invoker = new ScriptedInvoker({
    boom: () => ({ functionError: 'it broke' }),
    fallback: (p) => p,
  })
  const engine = engineOf({ repository: store.flows, invoker })
  const definition: AslDefinition = {
    StartAt: 'Boom',
    States: {
      Boom: task('boom', 'Missing', {
        Catch: [{ ErrorEquals: ['FunctionError'], Next: 'Fallback', ResultPath: '$.caught' }],
      }) as never,
      Fallback: task('fallback', 'Missing') as never,
      Missing: task('missing') as never,
    },
  }
  await store.flows.createWorkflow(workflowOf(definition))
  const { executionId } = await engine.start(workflowOf(definition), {}, START)
  await engine.drained(executionId)
  const record = await store.flows.getExecution(executionId)
  expect(record?.status).toBe('fail')
  expect(record?.error?.error).toBe('FunctionNotFound')
  expect(record?.error?.nodeId).toBe('Missing')
  expect(JSON.parse(record?.error?.cause ?? '{}')).toMatchObject({ errorType: 'FunctionNotFound' })
  const fallbackInput = JSON.parse(invoker.callsOf('fallback')[0]?.payload.toString() ?? '{}') as {
    caught: { Error: string; Cause: string }
  }
  expect(fallbackInput.caught.Error).toBe('FunctionError')
  expect(JSON.parse(fallbackInput.caught.Cause)).toEqual({
    errorMessage: 'it broke',
    errorType: 'FunctionError',
    stackTrace: ['at handler'],
  })
  await engine.close()
})

test('a retry redrives from the failed step under the same id; completed steps are not rerun', async () => {
  const { store } = await stores.open()
  let failing = true
  const invoker = new ScriptedInvoker({
    add: (p, request) =>
      failing && request.contextHeaders?.['x-cff-workflow-state-id'] === 'Two'
        ? { functionError: 'not yet' }
        : ((p as { n: number }).n ?? 0) + 1,
  })
  const engine = engineOf({ repository: store.flows, invoker })
  await store.flows.createWorkflow(workflowOf(THREE_STEPS))
  const { executionId } = await engine.start(workflowOf(THREE_STEPS), { n: 1 }, START)
  await engine.drained(executionId)
  const failed = await store.flows.getExecution(executionId)
  expect(failed?.status).toBe('fail')
  expect(failed?.error?.nodeId).toBe('Two')
  failing = false
  if (failed === undefined) {
    throw new Error('no execution')
  }
  await engine.retry(failed)
  await engine.drained(executionId)
  const record = await store.flows.getExecution(executionId)
  expect(record).toMatchObject({ status: 'success', redriveCount: 1 })
  const states = invoker.calls.map((c) => c.contextHeaders?.['x-cff-workflow-state-id'])
  expect(states).toEqual(['One', 'Two', 'Two', 'Three'])
  // The redriven attempt is a new invocation: its idempotency key differs from the failed one.
  expect(invoker.calls[2]?.requestId).not.toBe(invoker.calls[1]?.requestId)
  await expect(engine.retry(record ?? failed)).rejects.toMatchObject({
    code: 'FLOW_INVALID_EXECUTION',
  })
  await engine.close()
})

test('a stop cancels a waiting execution and its driver writes nothing more', async () => {
  const { store } = await stores.open()
  const engine = engineOf({ repository: store.flows, invoker: adder() })
  const definition: AslDefinition = {
    StartAt: 'Long',
    States: { Long: { Type: 'Wait', Seconds: 600, Next: 'After' }, After: task('add') as never },
  }
  await store.flows.createWorkflow(workflowOf(definition))
  const { executionId } = await engine.start(workflowOf(definition), { n: 1 }, START)
  await eventually(async () =>
    (await store.flows.events(executionId)).some((e) => e.type === 'TimerStarted'),
  )
  const running = await store.flows.getExecution(executionId)
  if (running === undefined) {
    throw new Error('no execution')
  }
  await engine.stop(running)
  await engine.drained(executionId)
  const record = await store.flows.getExecution(executionId)
  expect(record?.status).toBe('cancel')
  expect((await store.flows.events(executionId)).at(-1)?.type).toBe('ExecutionStopped')
  await expect(engine.stop(running)).rejects.toMatchObject({ code: 'FLOW_INVALID_EXECUTION' })
  await engine.close()
})

const APPROVAL: AslDefinition = {
  StartAt: 'Approve',
  States: {
    Approve: task('notify', 'After', {
      'Strato.Callback': true,
      ResultPath: '$.approval',
    }) as never,
    After: task('add') as never,
  },
}

async function stopped(side: AsyncSide): Promise<void> {
  side.dispatcher.stop()
  await side.dispatcher.idle()
}

test('a callback task starts its function through the async queue in the flow context, then waits for its callback (also one recorded while idle)', async () => {
  const { store } = await stores.open()
  const invoker = new ScriptedInvoker({ notify: () => 'started', add: (p) => p })
  const side = await asyncSideOf(store, invoker)
  await store.flows.createWorkflow(workflowOf(APPROVAL))
  const engine = engineOf({ repository: store.flows, invoker, asyncQueue: side.queue })
  const { executionId } = await engine.start(workflowOf(APPROVAL), { n: 1 }, START)
  const requestId = taskRequestId(executionId, 'Approve#1', 1, 0)
  await eventually(async () => (await side.statusOf('notify', requestId)) === 'SUCCESS')
  expect(invoker.callsOf('notify')).toHaveLength(1)
  expect(invoker.callsOf('notify')[0]).toMatchObject({
    requestId,
    invokeType: 'async',
    attempt: 1,
    contextHeaders: {
      'x-cff-workflow-id': 'wf-1',
      'x-cff-workflow-run-id': executionId,
      'x-cff-workflow-state-id': 'Approve',
    },
  })
  const running = await store.flows.getExecution(executionId)
  if (running === undefined) {
    throw new Error('no execution')
  }
  expect(running.status).toBe('running')
  await expect(
    engine.callback(running, 'After', { result: 'success', output: {} }),
  ).rejects.toMatchObject({ code: 'FLOW_INVALID_EXECUTION' })
  // The engine goes away (its lease is released); the callback is recorded meanwhile.
  await engine.close()
  const idle = engineOf({
    repository: store.flows,
    invoker,
    owner: 'node-b',
    asyncQueue: side.queue,
  })
  await idle.callback(running, 'Approve', { result: 'success', output: { ok: true } })
  await idle.resume()
  await eventually(async () => (await statusOf(store.flows, executionId)) === 'success')
  const record = await store.flows.getExecution(executionId)
  expect(JSON.parse(record?.outputJson ?? '{}')).toEqual({ n: 1, approval: { ok: true } })
  expect(invoker.callsOf('notify')).toHaveLength(1)
  await idle.close()
  await stopped(side)
})

test('a callback task re-dispatched after a restart finds its async event: the function is not started again', async () => {
  const { store } = await stores.open()
  const invoker = new ScriptedInvoker({ notify: () => 'started', add: (p) => p })
  const side = await asyncSideOf(store, invoker)
  await store.flows.createWorkflow(workflowOf(APPROVAL))
  const first = engineOf({ repository: store.flows, invoker, asyncQueue: side.queue })
  const { executionId } = await first.start(workflowOf(APPROVAL), { n: 1 }, START)
  const requestId = taskRequestId(executionId, 'Approve#1', 1, 0)
  await eventually(async () => (await side.statusOf('notify', requestId)) === 'SUCCESS')
  await first.close()
  const restarted = engineOf({ repository: store.flows, invoker, asyncQueue: side.queue })
  await restarted.resume()
  // The replay dispatched the waiting task again (a second TaskScheduled, same request id)...
  await eventually(async () => {
    const events = await store.flows.events(executionId)
    return events.filter((e) => e.type === 'TaskScheduled' && e.path === 'Approve#1').length === 2
  })
  const scheduled = (await store.flows.events(executionId)).filter(
    (e) => e.type === 'TaskScheduled' && e.path === 'Approve#1',
  )
  expect(scheduled.map((e) => e.requestId)).toEqual([requestId, requestId])
  // ...which found the event in the queue: one record, one invocation.
  const { total } = await store.asyncRecords.list({ functionId: 'fn-notify', offset: 0, limit: 10 })
  expect(total).toBe(1)
  expect(invoker.callsOf('notify')).toHaveLength(1)
  const running = await store.flows.getExecution(executionId)
  if (running === undefined) {
    throw new Error('no execution')
  }
  await restarted.callback(running, 'Approve', { result: 'success', output: { ok: true } })
  await eventually(async () => (await statusOf(store.flows, executionId)) === 'success')
  await restarted.close()
  await stopped(side)
})

test("a callback task fails when its async event ends FAIL, after the function's async retries", async () => {
  const { store } = await stores.open()
  const invoker = new ScriptedInvoker({ notify: () => ({ functionError: 'cannot notify' }) })
  const side = await asyncSideOf(store, invoker)
  await store.flows.createWorkflow(workflowOf(APPROVAL))
  const engine = engineOf({ repository: store.flows, invoker, asyncQueue: side.queue })
  const { executionId } = await engine.start(workflowOf(APPROVAL), { n: 1 }, START)
  await eventually(async () => (await statusOf(store.flows, executionId)) === 'fail')
  // max_async_retry_attempts defaults to 1: two attempts, both in the flow's context.
  expect(invoker.callsOf('notify').map((c) => c.attempt)).toEqual([1, 2])
  for (const call of invoker.callsOf('notify')) {
    expect(call.contextHeaders?.['x-cff-workflow-run-id']).toBe(executionId)
  }
  const requestId = taskRequestId(executionId, 'Approve#1', 1, 0)
  expect(await side.statusOf('notify', requestId)).toBe('FAIL')
  const failed = (await store.flows.events(executionId)).find((e) => e.type === 'TaskFailed')
  const payload = JSON.parse(failed?.payloadJson ?? '{}') as { error: string; cause: string }
  expect(payload.error).toBe('FunctionError')
  expect(JSON.parse(payload.cause)).toMatchObject({ errorType: 'FunctionError' })
  expect(JSON.parse(payload.cause).errorMessage).toContain('cannot notify')
  await engine.close()
  await stopped(side)
})

test('an EXPRESS callback task goes through the async queue too, and its callback ends the run', async () => {
  const { store } = await stores.open()
  const invoker = new ScriptedInvoker({ notify: () => 'started', add: (p) => p })
  const side = await asyncSideOf(store, invoker)
  const express = workflowOf(APPROVAL, 'EXPRESS')
  await store.flows.createWorkflow(express)
  const engine = engineOf({ repository: store.flows, invoker, asyncQueue: side.queue })
  const { executionId } = await engine.start(express, { n: 1 }, START)
  const requestId = taskRequestId(executionId, 'Approve#1', 1, 0)
  await eventually(async () => (await side.statusOf('notify', requestId)) === 'SUCCESS')
  expect(invoker.callsOf('notify')[0]?.contextHeaders?.['x-cff-workflow-run-id']).toBe(executionId)
  const running = await store.flows.getExecution(executionId)
  if (running === undefined) {
    throw new Error('no execution')
  }
  await engine.callback(running, 'Approve', { result: 'success', output: { ok: true } })
  await eventually(async () => (await statusOf(store.flows, executionId)) === 'success')
  await engine.close()
  await stopped(side)
})

test('a task past its TimeoutSeconds fails with States.Timeout and a JSON cause', async () => {
  const { store } = await stores.open()
  const invoker = new ScriptedInvoker({
    slow: () => new Promise((resolve) => setTimeout(() => resolve(1), 3_000)),
  })
  const engine = engineOf({ repository: store.flows, invoker })
  const definition: AslDefinition = {
    StartAt: 'Slow',
    States: { Slow: task('slow', undefined, { TimeoutSeconds: 1 }) as never },
  }
  await store.flows.createWorkflow(workflowOf(definition))
  const { executionId } = await engine.start(workflowOf(definition), {}, START)
  await engine.drained(executionId)
  const record = await store.flows.getExecution(executionId)
  expect(record?.status).toBe('fail')
  expect(record?.error?.error).toBe('States.Timeout')
  expect(JSON.parse(record?.error?.cause ?? '{}')).toMatchObject({ errorType: 'States.Timeout' })
  await engine.close()
})

test('throttling is retried with backoff, then fails as Strato.FunctionUnavailable', async () => {
  const { store } = await stores.open()
  let refusals = 2
  const invoker = new ScriptedInvoker({
    busy: () => {
      if (refusals > 0) {
        refusals -= 1
        throw new StratoError('TOO_MANY_REQUESTS')
      }
      return 'served'
    },
    never: () => {
      throw new StratoError('TOO_MANY_REQUESTS')
    },
  })
  const engine = engineOf({ repository: store.flows, invoker })
  const definition: AslDefinition = {
    StartAt: 'Busy',
    States: {
      Busy: task('busy', 'Never', { ResultPath: '$.busy' }) as never,
      Never: task('never') as never,
    },
  }
  await store.flows.createWorkflow(workflowOf(definition))
  const { executionId } = await engine.start(workflowOf(definition), {}, START)
  await engine.drained(executionId)
  const record = await store.flows.getExecution(executionId)
  expect(invoker.callsOf('busy')).toHaveLength(3)
  expect(invoker.callsOf('never')).toHaveLength(3)
  expect(record?.error?.error).toBe('Strato.FunctionUnavailable')
  await engine.close()
})

test('EXPRESS runs in memory without a history and answers a sync start; 5 min cap → timeout', async () => {
  const { store } = await stores.open()
  const engine = engineOf({ repository: store.flows, invoker: adder(), expressTimeLimitMs: 300 })
  const express = workflowOf(THREE_STEPS, 'EXPRESS')
  await store.flows.createWorkflow(express)
  const result = await engine.startSync(express, { n: 4 }, START)
  expect(result).toMatchObject({
    status: 'success',
    output: { n: 4, one: 5, two: 5, three: 5 },
    errors: [],
  })
  const events = await store.flows.events(result.executionId)
  expect(events.map((e) => e.type)).toEqual(['ExecutionStarted', 'ExecutionSucceeded'])
  const waiting = workflowOf(
    { StartAt: 'Long', States: { Long: { Type: 'Wait', Seconds: 60, End: true } } },
    'EXPRESS',
  )
  const timedOut = await engine.startSync(waiting, {}, START)
  expect(timedOut.status).toBe('timeout')
  expect((await store.flows.getExecution(timedOut.executionId))?.status).toBe('timeout')
  await engine.close()
})

test('another engine takes over an execution whose lease lapsed; the silent one is fenced out', async () => {
  const { store } = await stores.open()
  let release: (value: JsonValue) => void = () => undefined
  const frozen = new ScriptedInvoker({
    add: () => new Promise<JsonValue>((resolve) => (release = resolve)),
  })
  // The first engine stops renewing (a node that froze): its lease lapses.
  const silent = new Proxy(store.flows, {
    get(target, name): unknown {
      if (name === 'renew') {
        return () => Promise.resolve(true)
      }
      const value: unknown = Reflect.get(target, name, target)
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value
    },
  })
  const a = engineOf({ repository: silent, invoker: frozen, leaseMs: 300 })
  await store.flows.createWorkflow(workflowOf(THREE_STEPS))
  const { executionId } = await a.start(workflowOf(THREE_STEPS), { n: 1 }, START)
  await eventually(() => Promise.resolve(frozen.calls.length === 1))
  const invoker = adder()
  const b = engineOf({
    repository: store.flows,
    invoker,
    owner: 'node-b',
    leaseMs: 300,
    scanMs: 50,
  })
  await b.resume()
  expect(b.driving).toBe(0)
  await eventually(async () => (await statusOf(store.flows, executionId)) === 'success')
  release(100)
  await a.drained(executionId)
  const events = await store.flows.events(executionId)
  expect(events.filter((e) => e.type === 'TaskSucceeded').map((e) => e.stateName)).toEqual([
    'One',
    'Two',
    'Three',
  ])
  expect(invoker.calls[0]?.requestId).toBe(frozen.calls[0]?.requestId)
  await a.close()
  await b.close()
})

test('an execution past its TimeoutSeconds ends as timeout, with States.Timeout', async () => {
  const { store } = await stores.open()
  const engine = engineOf({ repository: store.flows, invoker: adder() })
  const definition: AslDefinition = {
    StartAt: 'Long',
    TimeoutSeconds: 1,
    States: { Long: { Type: 'Wait', Seconds: 30, End: true } },
  }
  await store.flows.createWorkflow(workflowOf(definition))
  const { executionId } = await engine.start(workflowOf(definition), {}, START)
  await engine.drained(executionId)
  const record = await store.flows.getExecution(executionId)
  expect(record?.status).toBe('timeout')
  expect(record?.error?.error).toBe('States.Timeout')
  expect((await store.flows.events(executionId)).at(-1)?.type).toBe('ExecutionTimedOut')
  await engine.close()
})

test('a run whose history would pass the limit fails with States.HistoryLimitExceeded', async () => {
  const { store } = await stores.open()
  const wf = workflowOf(THREE_STEPS)
  await store.flows.createWorkflow(wf)
  const now = new Date()
  // A history already almost full (timers of keys the flow never asks for replay as nothing).
  const filler = Array.from({ length: FLOW_HISTORY_LIMIT - 4 }, (_, i) => ({
    type: 'TimerStarted' as const,
    path: `$filler-${i}`,
    stateName: '',
    nodeId: '',
    nodeName: '',
    attempt: 1,
    at: now.getTime(),
    payloadJson: JSON.stringify({ until: 0 }),
    requestId: undefined,
  }))
  await store.flows.createExecution(
    {
      id: 'full',
      workflowId: wf.id,
      projectId: wf.projectId,
      workflowUrn: wf.urn,
      workflowName: wf.name,
      mode: 'NORMAL',
      status: 'running',
      inputJson: '{"n":1}',
      outputJson: undefined,
      error: undefined,
      headersJson: '{}',
      irJson: wf.irJson,
      createdBy: 'tester',
      beginAt: now,
      endAt: undefined,
      updatedAt: now,
      redriveCount: 0,
      eventCount: 0,
    },
    filler,
    { owner: 'node-a', until: now.getTime() + 60_000 },
  )
  const invoker = adder()
  const engine = engineOf({ repository: store.flows, invoker })
  await engine.resume()
  await engine.drained('full')
  const record = await store.flows.getExecution('full')
  expect(record?.status).toBe('fail')
  expect(record?.error?.error).toBe('States.HistoryLimitExceeded')
  expect(record?.eventCount).toBe(FLOW_HISTORY_LIMIT)
  await engine.close()
})

const PASS_CHOICE_LOOP: AslDefinition = {
  StartAt: 'A',
  States: {
    A: { Type: 'Pass', Next: 'B' },
    B: {
      Type: 'Choice',
      Choices: [{ Variable: '$.stop', IsPresent: true, Next: 'Done' }],
      Default: 'A',
    },
    Done: { Type: 'Succeed' },
  },
}

test('a Pass/Choice loop with no task or wait ends at the history limit, and timers fire meanwhile', async () => {
  const { store } = await stores.open()
  const engine = engineOf({ repository: store.flows, invoker: adder() })
  const wf = workflowOf(PASS_CHOICE_LOOP)
  await store.flows.createWorkflow(wf)
  let ticks = 0
  const ticker = setInterval(() => (ticks += 1), 1)
  const { executionId } = await engine.start(wf, {}, START)
  await engine.drained(executionId)
  clearInterval(ticker)
  const record = await store.flows.getExecution(executionId)
  expect(record?.status).toBe('fail')
  expect(record?.error?.error).toBe('States.HistoryLimitExceeded')
  expect(record?.eventCount).toBeLessThanOrEqual(FLOW_HISTORY_LIMIT)
  expect(ticks).toBeGreaterThan(0)
  await engine.close()
})

test('an EXPRESS Pass/Choice loop ends at its time limit', async () => {
  const { store } = await stores.open()
  const engine = engineOf({ repository: store.flows, invoker: adder(), expressTimeLimitMs: 200 })
  const wf = workflowOf(PASS_CHOICE_LOOP, 'EXPRESS')
  await store.flows.createWorkflow(wf)
  const result = await engine.startSync(wf, {}, START)
  expect(result.status).toBe('timeout')
  await engine.close()
})

test("only the first orphan scan takes back this node's own leases; later scans page past a full page", async () => {
  const { store } = await stores.open()
  const calls: { owner: string | undefined; after: string | undefined }[] = []
  const pages = [Array.from({ length: 500 }, (_, i) => `none-${i}`), ['none-last']]
  const repository: FlowRepository = Object.create(store.flows) as FlowRepository
  repository.orphaned = (now, limit, owner, after) => {
    calls.push({ owner, after })
    // Later scans: a full page of ids that cannot be claimed, then a short one.
    return Promise.resolve(calls.length === 1 ? [] : (pages[(calls.length - 2) % 2] ?? []))
  }
  repository.claim = () => Promise.resolve(undefined)
  const engine = engineOf({ repository, invoker: adder(), scanMs: 20 })
  await engine.resume()
  await eventually(() => Promise.resolve(calls.length >= 3))
  await engine.close()
  expect(calls[0]).toEqual({ owner: 'node-a', after: undefined })
  expect(calls[1]).toEqual({ owner: undefined, after: undefined })
  expect(calls[2]).toEqual({ owner: undefined, after: 'none-499' })
})

test('when a run ends, the tasks of its stopped Parallel branches are abandoned: nothing follows the final event', async () => {
  const { store } = await stores.open()
  const invoker = new ScriptedInvoker({
    slow: () => new Promise((resolve) => setTimeout(() => resolve(1), 150)),
  })
  const engine = engineOf({ repository: store.flows, invoker })
  const wf = workflowOf({
    StartAt: 'Fan',
    States: {
      Fan: {
        Type: 'Parallel',
        End: true,
        Branches: [
          { StartAt: 'Boom', States: { Boom: { Type: 'Fail', Error: 'Boom' } } },
          { StartAt: 'Slow', States: { Slow: task('slow', undefined) as never } },
        ],
      },
    },
  })
  await store.flows.createWorkflow(wf)
  const { executionId } = await engine.start(wf, {}, START)
  await engine.drained(executionId)
  expect(await statusOf(store.flows, executionId)).toBe('fail')
  await new Promise((resolve) => setTimeout(resolve, 300))
  const types = (await store.flows.events(executionId)).map((e) => e.type)
  expect(types.at(-1)).toBe('ExecutionFailed')
  expect(types).not.toContain('TaskSucceeded')
  await engine.close()
})

test('a scan during a retry does not start a second driver for the execution', async () => {
  const { store } = await stores.open()
  let failing = true
  const invoker = new ScriptedInvoker({
    add: (p, request) =>
      failing && request.contextHeaders?.['x-cff-workflow-state-id'] === 'Two'
        ? { functionError: 'not yet' }
        : ((p as { n: number }).n ?? 0) + 1,
  })
  let openGate = (): void => undefined
  const gate = new Promise<void>((resolve) => (openGate = resolve))
  const claimed: string[] = []
  const real = store.flows
  const repository = new Proxy(real, {
    get(target, property) {
      if (property === 'redrive') {
        return async (...args: Parameters<FlowRepository['redrive']>) => {
          const lease = await target.redrive(...args)
          await gate
          return lease
        }
      }
      if (property === 'claim') {
        return (...args: Parameters<FlowRepository['claim']>) => {
          claimed.push(args[0])
          return target.claim(...args)
        }
      }
      const value = Reflect.get(target, property, target) as unknown
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value
    },
  })
  const engine = engineOf({ repository, invoker })
  await real.createWorkflow(workflowOf(THREE_STEPS))
  const { executionId } = await engine.start(workflowOf(THREE_STEPS), { n: 1 }, START)
  await engine.drained(executionId)
  const failed = await real.getExecution(executionId)
  if (failed === undefined) {
    throw new Error('no execution')
  }
  failing = false
  const retried = engine.retry(failed)
  await eventually(async () => (await statusOf(real, executionId)) === 'running')
  await engine.resume()
  openGate()
  await retried
  await engine.drained(executionId)
  expect(claimed).not.toContain(executionId)
  expect(await statusOf(real, executionId)).toBe('success')
  const states = invoker.calls.map((c) => c.contextHeaders?.['x-cff-workflow-state-id'])
  expect(states).toEqual(['One', 'Two', 'Two', 'Three'])
  await engine.close()
})

test("an execution id of another workflow's or project's execution is refused; the same workflow's start is idempotent", async () => {
  const { store } = await stores.open()
  const engine = engineOf({ repository: store.flows, invoker: adder() })
  const first = workflowOf(THREE_STEPS)
  const other = { ...first, id: 'wf-2', name: 'other', urn: `${first.urn}-other` }
  const elsewhere = { ...first, projectId: 'p2' }
  await store.flows.createWorkflow(first)
  await store.flows.createWorkflow(other)
  const options = { ...START, executionId: 'run-1' }
  await engine.start(first, { n: 1 }, options)
  await engine.drained('run-1')
  await expect(engine.start(first, { n: 1 }, options)).resolves.toEqual({ executionId: 'run-1' })
  for (const workflow of [other, elsewhere]) {
    await expect(engine.start(workflow, { n: 1 }, options)).rejects.toMatchObject({
      code: 'FLOW_EXECUTION_ID_IN_USE',
    })
  }
  expect((await store.flows.getExecution('run-1'))?.workflowId).toBe('wf-1')
  await engine.close()
})
