/**
 * AsyncDispatcher on the real SQLite queue (a temp data dir) with a fake Invoker: leasing,
 * settlement of successes, function errors and system errors under the retry policy, lease loss,
 * max age, the per-function async share and deleted targets. Polling and the clock are fake timers;
 * the queue's group commits run on real setImmediate turns, which `until` waits for.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, test, vi, type MockInstance } from 'vitest'
import {
  AsyncErrorCodes,
  Limits,
  StratoError,
  type AsyncInvokeConfig,
  type AsyncQueue,
  type AsyncRecordRepository,
  type AsyncSettlement,
  type FunctionRecord,
  type InvocationRecord,
  type LeasedEvent,
  type RuntimeName,
} from '../core/index.js'
import { createLogger, type Logger } from '../observability/index.js'
import { openStore, type Store } from '../store/index.js'
import { FakeInvoker, functionRecordOf, resultOf } from '../../test/helpers/fakes.js'
import { AsyncDispatcher } from './async-dispatcher.js'
import type { AsyncTarget } from './dispatcher-ports.js'
import { RetryPolicy } from './retry-policy.js'

/** Waits (in real event-loop turns, no sleeping) until `cond` holds. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 5_000
  while (!cond()) {
    if (performance.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`)
    }
    await new Promise((resolve) => setImmediate(resolve))
  }
}

const turns = async (n = 20): Promise<void> => {
  for (let i = 0; i < n; i++) {
    await new Promise((resolve) => setImmediate(resolve))
  }
}

const POLL_MS = 1_000
/** With `random: () => 0` the policy waits half its exponential backoff. */
const FUNCTION_RETRY_MS = 30_000
const SYSTEM_RETRY_MS = 500

function fnOf(id: string, over: Partial<FunctionRecord> = {}): FunctionRecord {
  return functionRecordOf({ id, name: id, maxInstances: 10, ...over })
}

const urnOf = (fnId: string, qualifier = 'latest'): string =>
  `urn:fss:r1:p1:function:default:${fnId}:${qualifier}`

let dir: string
let store: Store
let queue: AsyncQueue
let asyncRecords: AsyncRecordRepository
let invoker: FakeInvoker
let logger: Logger
let dispatcher: AsyncDispatcher | undefined
let settle: MockInstance<AsyncQueue['settle']>
const attemptLog: Array<{ record: InvocationRecord; functionId: string }> = []
const targets = new Map<string, AsyncTarget>()
const configs = new Map<string, AsyncInvokeConfig>()

function addFunction(fn: FunctionRecord, qualifier = 'latest'): void {
  targets.set(urnOf(fn.id, qualifier), {
    fn,
    alias: '',
    qualifier,
    functionUrn: urnOf(fn.id, qualifier),
  })
}

function configure(fnId: string, over: Partial<AsyncInvokeConfig>, qualifier = 'latest'): void {
  configs.set(`${fnId}/${qualifier}`, {
    functionId: fnId,
    qualifier,
    maxAsyncEventAgeS: 3_600,
    maxAsyncRetryAttempts: 1,
    onSuccess: undefined,
    onFailure: undefined,
    enableAsyncStatusLog: false,
    createdAt: new Date(0),
    lastModified: new Date(0),
    ...over,
  })
}

let nextId = 0
async function enqueue(fnId: string, qualifier = 'latest', acceptedAtMs = Date.now()) {
  const requestId = `req-${++nextId}`
  await queue.enqueue({
    requestId,
    projectId: 'p1',
    functionId: fnId,
    functionUrn: urnOf(fnId, qualifier),
    qualifier,
    payload: Buffer.from(JSON.stringify({ n: nextId })),
    acceptedAtMs,
    timeoutMs: 3_000,
  })
  return requestId
}

function startDispatcher(concurrency = 8): Promise<void> {
  dispatcher = new AsyncDispatcher({
    queue,
    invoker,
    attemptLog: {
      append: (record, _projectId, functionId) => attemptLog.push({ record, functionId }),
    },
    resolve: (_projectId, functionUrn) => {
      const target = targets.get(functionUrn)
      return target === undefined
        ? Promise.reject(new StratoError('FUNCTION_NOT_FOUND', `No function at ${functionUrn}.`))
        : Promise.resolve(target)
    },
    configOf: (functionId, qualifier) => Promise.resolve(configs.get(`${functionId}/${qualifier}`)),
    retryPolicy: new RetryPolicy({
      functionErrorBaseMs: 2 * FUNCTION_RETRY_MS,
      systemErrorBaseMs: 2 * SYSTEM_RETRY_MS,
      systemErrorMaxMs: 60_000,
      random: () => 0,
    }),
    logger,
    concurrency,
    pollMs: POLL_MS,
    maxInstancesPerFunction: 10,
    nodeId: 'node-a',
  })
  return dispatcher.start()
}

/** The n-th settlement (0-based) once it has been applied, and whether the lease still held. */
async function settlement(
  n: number,
): Promise<{ event: LeasedEvent; s: AsyncSettlement; held: boolean }> {
  await until(() => settle.mock.calls.length > n, `settlement ${n + 1}`)
  const [event, s] = settle.mock.calls[n] as [LeasedEvent, AsyncSettlement]
  const held = await (settle.mock.results[n]?.value as Promise<boolean>)
  return { event, s, held }
}

async function statusOf(fnId: string, requestId: string): Promise<string | undefined> {
  const { records } = await asyncRecords.list({ functionId: fnId, requestId, offset: 0, limit: 1 })
  return records[0]?.status
}

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] })
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strato-dispatcher-'))
  store = await openStore({
    dataDir: dir,
    quotas: Limits.DEFAULT_QUOTAS,
    onBackgroundError: (err) => {
      throw err
    },
    asyncQueue: { leaseGraceMs: 1_000, fsync: false },
  })
  queue = store.asyncQueue
  asyncRecords = store.asyncRecords
  settle = vi.spyOn(queue, 'settle')
  invoker = new FakeInvoker()
  logger = createLogger('silent')
  attemptLog.length = 0
  targets.clear()
  configs.clear()
})

afterEach(async () => {
  dispatcher?.abandon()
  dispatcher = undefined
  for (const call of [...invoker.running]) {
    call.reject(new Error('test over'))
  }
  await turns()
  await store.close()
  fs.rmSync(dir, { recursive: true, force: true })
  vi.useRealTimers()
})

describe('AsyncDispatcher (real SQLite queue, fake invoker)', () => {
  test('leases a due event, runs it as an async attempt and settles SUCCESS with its destination', async () => {
    const fn = fnOf('fa')
    const sink = fnOf('sink')
    addFunction(fn)
    addFunction(sink)
    configure('fa', {
      onSuccess: {
        destination: 'FunctionGraph',
        param: JSON.stringify({ func_urn: urnOf('sink') }),
      },
    })
    const id = await enqueue('fa')
    await startDispatcher()
    await until(() => invoker.calls.length === 1, 'the attempt')
    expect(invoker.calls[0]?.request).toMatchObject({
      requestId: id,
      invokeType: 'async',
      attempt: 1,
      version: 'latest',
      alias: '',
    })
    expect(invoker.calls[0]?.request.fn).toBe(fn)
    invoker.call(id).resolve(resultOf(id, 'success'))

    const { s, held } = await settlement(0)
    expect(held).toBe(true)
    expect(s).toMatchObject({ kind: 'done', status: 'SUCCESS', errorCode: AsyncErrorCodes.NONE })
    expect(s.kind === 'done' ? s.deadLetter : 'retry').toBeUndefined()
    const next = s.kind === 'done' ? s.enqueue : []
    expect(next.map((e) => [e.functionId, e.functionUrn])).toEqual([['sink', urnOf('sink')]])
    expect(await statusOf('fa', id)).toBe('SUCCESS')
  })

  test('a function error is retried after the backoff until max_async_retry_attempts, then FAIL with a dead letter', async () => {
    addFunction(fnOf('fa'))
    configure('fa', { maxAsyncRetryAttempts: 1 })
    const id = await enqueue('fa')
    await startDispatcher()
    await until(() => invoker.calls.length === 1, 'the first attempt')
    const t0 = Date.now()
    invoker.call(id).resolve(resultOf(id, 'function-error', 'Error', 'boom'))
    const first = await settlement(0)
    expect(first.s).toEqual({
      kind: 'retry',
      notBeforeMs: t0 + FUNCTION_RETRY_MS,
      functionError: true,
      errorMessage: 'Error: boom',
    })
    expect(await statusOf('fa', id)).toBe('WAIT')

    // Not due before its backoff has passed.
    await vi.advanceTimersByTimeAsync(FUNCTION_RETRY_MS - POLL_MS)
    await turns()
    expect(invoker.calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(POLL_MS)
    await until(() => invoker.calls.length === 2, 'the retry')
    expect(invoker.call(id, 2).request.attempt).toBe(2)
    invoker.call(id, 2).resolve(resultOf(id, 'function-error', 'Error', 'boom again'))
    const last = await settlement(1)
    expect(last.s).toMatchObject({
      kind: 'done',
      status: 'FAIL',
      errorCode: AsyncErrorCodes.FUNCTION_ERROR,
      errorMessage: 'Error: boom again',
    })
    expect(last.s.kind === 'done' && last.s.deadLetter?.requestId).toBe(id)
    expect((await asyncRecords.deadLetters('fa', 0, 10)).total).toBe(1)
  })

  test("an event's context headers reach the guest on every attempt, not its destination's", async () => {
    addFunction(fnOf('fa'))
    addFunction(fnOf('sink'))
    configure('fa', {
      maxAsyncRetryAttempts: 1,
      onFailure: {
        destination: 'FunctionGraph',
        param: JSON.stringify({ func_urn: urnOf('sink') }),
      },
    })
    const contextHeaders = { 'x-cff-workflow-id': 'wf-1', 'x-cff-workflow-run-id': 'run-1' }
    await queue.enqueue({
      requestId: 'flow-task',
      projectId: 'p1',
      functionId: 'fa',
      functionUrn: urnOf('fa'),
      qualifier: 'latest',
      payload: Buffer.from('{}'),
      acceptedAtMs: Date.now(),
      timeoutMs: 3_000,
      contextHeaders,
    })
    await startDispatcher()
    await until(() => invoker.calls.length === 1, 'the first attempt')
    expect(invoker.call('flow-task').request.contextHeaders).toEqual(contextHeaders)
    invoker.call('flow-task').resolve(resultOf('flow-task', 'function-error', 'Error', 'boom'))
    await settlement(0)
    await vi.advanceTimersByTimeAsync(FUNCTION_RETRY_MS)
    await until(() => invoker.calls.length === 2, 'the retry')
    expect(invoker.call('flow-task', 2).request.contextHeaders).toEqual(contextHeaders)
    invoker.call('flow-task', 2).resolve(resultOf('flow-task', 'function-error', 'Error', 'again'))
    const last = await settlement(1)
    const next = last.s.kind === 'done' ? last.s.enqueue : []
    expect(next.map((e) => e.functionId)).toEqual(['sink'])
    expect(next[0]).not.toHaveProperty('contextHeaders')
  })

  test('system errors (throttling, an instance killed under the function) retry without using the retry budget', async () => {
    addFunction(fnOf('fa'))
    configure('fa', { maxAsyncRetryAttempts: 0 })
    const id = await enqueue('fa')
    await startDispatcher()
    await until(() => invoker.calls.length === 1, 'the first attempt')
    invoker.call(id).reject(new StratoError('TOO_MANY_REQUESTS', 'All busy.'))
    const throttled = await settlement(0)
    expect(throttled.s).toEqual({
      kind: 'retry',
      notBeforeMs: Date.now() + SYSTEM_RETRY_MS,
      functionError: false,
      errorMessage: 'All busy.',
    })

    await vi.advanceTimersByTimeAsync(POLL_MS)
    await until(() => invoker.calls.length === 2, 'the second attempt')
    invoker
      .call(id, 2)
      .resolve(
        resultOf(
          id,
          'function-error',
          'RuntimeExitError',
          'The function instance was killed by SIGKILL during the invocation.',
        ),
      )
    const crashed = await settlement(1)
    expect(crashed.s).toMatchObject({ kind: 'retry', functionError: false })
    // Double the backoff for the second system error.
    expect(crashed.s.kind === 'retry' && crashed.s.notBeforeMs).toBe(
      Date.now() + 2 * SYSTEM_RETRY_MS,
    )

    // The function ending its own process is its own failure: with no retries left, FAIL.
    await vi.advanceTimersByTimeAsync(POLL_MS)
    await until(() => invoker.calls.length === 3, 'the third attempt')
    invoker
      .call(id, 3)
      .resolve(
        resultOf(
          id,
          'function-error',
          'RuntimeExitError',
          'The function ended its own process (exit code 3) during the invocation; its instance was replaced.',
        ),
      )
    expect((await settlement(2)).s).toMatchObject({ kind: 'done', status: 'FAIL' })
  })

  test('a system retry that would pass the max age discards the event (408)', async () => {
    addFunction(fnOf('fa'))
    configure('fa', { maxAsyncEventAgeS: 60 })
    // Accepted 59.8 s ago: the next system retry (0.5 s) would be too late.
    const id = await enqueue('fa', 'latest', Date.now() - 59_800)
    await startDispatcher()
    await until(() => invoker.calls.length === 1, 'the attempt')
    invoker.call(id).reject(new StratoError('INSTANCE_START_FAILED', 'no cell'))
    expect((await settlement(0)).s).toMatchObject({
      kind: 'done',
      status: 'DISCARD',
      errorCode: AsyncErrorCodes.EVENT_AGE_EXCEEDED,
    })
  })

  test('an event older than its max age is discarded without an attempt, with a dead letter', async () => {
    addFunction(fnOf('fa'))
    const id = await enqueue('fa', 'latest', Date.now() - 3_601_000)
    await startDispatcher()
    const { s, held } = await settlement(0)
    expect(held).toBe(true)
    expect(s).toMatchObject({
      kind: 'done',
      status: 'DISCARD',
      errorCode: AsyncErrorCodes.EVENT_AGE_EXCEEDED,
    })
    expect(invoker.calls).toHaveLength(0)
    expect(await statusOf('fa', id)).toBe('DISCARD')
    expect((await asyncRecords.deadLetters('fa', 0, 10)).entries.map((d) => d.requestId)).toEqual([
      id,
    ])
  })

  test('a lost lease cannot settle: the late outcome is ignored and the event runs again', async () => {
    addFunction(fnOf('fa'))
    const warn = vi.spyOn(logger, 'warn')
    const id = await enqueue('fa')
    await startDispatcher()
    await until(() => invoker.calls.length === 1, 'the attempt')
    // The lease is taken back (as after its deadline) while the attempt still runs.
    expect(await queue.recoverLeases({ nowMs: Date.now(), all: true })).toHaveLength(1)
    invoker.call(id).resolve(resultOf(id, 'success'))
    const late = await settlement(0)
    expect(late.held).toBe(false)
    expect(warn).toHaveBeenCalledWith(
      { requestId: id },
      'async attempt ended after its lease was lost; its outcome is ignored',
    )

    await vi.advanceTimersByTimeAsync(POLL_MS)
    await until(() => invoker.calls.length === 2, 'the redelivery')
    invoker.call(id, 2).resolve(resultOf(id, 'success'))
    const again = await settlement(1)
    expect(again.held).toBe(true)
    expect(again.event).toMatchObject({ attempt: 2, systemErrors: 1 })
    expect(await statusOf('fa', id)).toBe('SUCCESS')
  })

  test('per function, async work takes at most its slots minus one (Python: one slot per instance)', async () => {
    addFunction(fnOf('single', { maxInstances: 2 }))
    addFunction(fnOf('multi', { maxInstances: 2, concurrentNum: 2 }))
    addFunction(
      fnOf('py', { maxInstances: 2, concurrentNum: 5, runtime: 'Python3.9' as RuntimeName }),
    )
    for (let i = 0; i < 5; i++) {
      await enqueue('single')
      await enqueue('multi')
      await enqueue('py')
    }
    await startDispatcher()
    await until(() => invoker.runningOf('multi').length === 3, 'the share of multi')
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(POLL_MS)
      await turns()
    }
    const running = (): number[] =>
      ['single', 'multi', 'py'].map((f) => invoker.runningOf(f).length)
    expect(running()).toEqual([1, 3, 1])

    // A slot given back is taken by the next event of the same function.
    const done = invoker.runningOf('multi')[0]
    done?.resolve(resultOf(done.request.requestId, 'success'))
    await until(() => invoker.calls.length === 6, 'the next event of multi')
    expect(running()).toEqual([1, 3, 1])
  })

  test('all functions together stay within the dispatcher concurrency', async () => {
    for (const f of ['f1', 'f2', 'f3']) {
      addFunction(fnOf(f))
      for (let i = 0; i < 3; i++) {
        await enqueue(f)
      }
    }
    await startDispatcher(4)
    await until(() => invoker.running.size === 4, 'four attempts')
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(POLL_MS)
      await turns()
    }
    expect(invoker.running.size).toBe(4)
  })

  test('a function that no longer resolves is discarded (404) without an attempt', async () => {
    const id = await enqueue('gone')
    await startDispatcher()
    expect((await settlement(0)).s).toMatchObject({
      kind: 'done',
      status: 'DISCARD',
      errorCode: AsyncErrorCodes.FUNCTION_GONE,
    })
    expect(invoker.calls).toHaveLength(0)
    expect(await statusOf('gone', id)).toBe('DISCARD')
  })

  test('a deleted version discards its waiting events and the attempt waiting for an instance; others are untouched', async () => {
    // Two instances: one event at a time is async work's share, so the others wait.
    addFunction(fnOf('fa', { version: 'v1', maxInstances: 2 }), 'v1')
    addFunction(fnOf('fa', { maxInstances: 2 }))
    const running = await enqueue('fa', 'v1')
    await startDispatcher()
    await until(() => invoker.calls.length === 1, 'the attempt of v1')
    const waiting = [await enqueue('fa', 'v1'), await enqueue('fa', 'v1')]
    const other = await enqueue('fa', 'latest')
    await turns()
    expect(invoker.calls).toHaveLength(1)
    targets.delete(urnOf('fa', 'v1'))

    await queue.discardDeleted({ functionId: 'fa', qualifier: 'v1' })
    await until(() => settle.mock.calls.length >= 3, 'three settlements')
    const { records } = await asyncRecords.list({ functionId: 'fa', offset: 0, limit: 10 })
    const byId = new Map(records.map((r) => [r.requestId, r]))
    for (const id of [running, ...waiting]) {
      expect(byId.get(id)).toMatchObject({
        status: 'DISCARD',
        errorCode: AsyncErrorCodes.FUNCTION_GONE,
        errorMessage: "The version 'v1' was deleted; the event was discarded.",
      })
    }
    // The attempt that waited for an instance left the line; the waiting events never ran.
    expect(byId.get(running)?.attempts).toBe(1)
    expect(waiting.map((id) => byId.get(id)?.attempts)).toEqual([0, 0])
    // The event of `latest` takes the freed room and runs.
    await until(() => invoker.calls.length === 2, 'the event of latest')
    expect(invoker.calls.map((c) => c.request.requestId)).toEqual([running, other])
  })

  test('a deleted function takes its events with it: an attempt that waited ends without a lost-lease warning', async () => {
    addFunction(fnOf('fa'))
    const warn = vi.spyOn(logger, 'warn')
    const id = await enqueue('fa')
    await startDispatcher()
    await until(() => invoker.calls.length === 1, 'the attempt')
    targets.delete(urnOf('fa'))
    await queue.deleteFunction('fa')
    const { held } = await settlement(0)
    expect(held).toBe(false)
    expect(warn).not.toHaveBeenCalled()
    expect((await asyncRecords.list({ functionId: 'fa', offset: 0, limit: 10 })).total).toBe(0)
    expect(invoker.calls.map((c) => c.request.requestId)).toEqual([id])
  })

  test('start returns the leases of a previous run to the queue and logs each cut attempt', async () => {
    addFunction(fnOf('fa'))
    const id = await enqueue('fa')
    // A previous run leased it and died.
    expect(await queue.lease({ max: 1, nowMs: Date.now(), room: () => 1 })).toHaveLength(1)
    await startDispatcher()
    expect(attemptLog.map((l) => [l.functionId, l.record.requestId, l.record.errorType])).toEqual([
      ['fa', id, 'PlatformRestart'],
    ])
    await until(() => invoker.calls.length === 1, 'the retry')
    expect(invoker.calls[0]?.request.attempt).toBe(2)
  })
})
