import { expect, test } from 'vitest'
import {
  AsyncErrorCodes,
  type AcceptedAsyncEvent,
  type AsyncEventTarget,
  type AsyncRecord,
  type AsyncStatus,
  type ResolvedFunction,
} from '../../core/index.js'
import { functionRecordOf } from '../../../test/helpers/fakes.js'
import type { TaskOutcome } from '../asl/host.js'
import { asyncFailure, startThroughQueue, type FlowAsyncQueue } from './callback-starts.js'
import type { FunctionCall } from './function-calls.js'

function callOf(over: Partial<FunctionCall> = {}): FunctionCall {
  return {
    projectId: 'p1',
    workflowId: 'wf-1',
    executionId: 'run-1',
    nodeId: 'ask',
    resource: 'urn:fss:r1:p1:function:default:notify:!blue',
    payload: { q: 1 },
    requestId: 'req-1',
    delivery: 1,
    signal: new AbortController().signal,
    ...over,
  }
}

function resolvedOf(over: Parameters<typeof functionRecordOf>[0] = {}): ResolvedFunction {
  const latest = functionRecordOf({ id: 'fn-notify', name: 'notify', timeoutS: 7 })
  return {
    fn: { ...latest, version: '3', ...over },
    latest,
    ref: {
      projectId: 'p1',
      packageName: 'default',
      functionName: 'notify',
      qualifier: { kind: 'alias', alias: 'blue' },
    },
    alias: { name: 'blue' },
  }
}

function recordOf(status: AsyncStatus, errorCode = 0, errorMessage = ''): AsyncRecord {
  return {
    requestId: 'req-1',
    status,
    errorCode,
    errorMessage,
    acceptedAtMs: 0,
    startedAtMs: 0,
    endedAtMs: 0,
    attempts: 2,
    triggerId: '',
  }
}

/** A queue whose record answers come from `statuses`, in turn (the last one repeats). */
class ScriptedQueue implements FlowAsyncQueue {
  readonly region = 'r1'
  readonly accepted: Array<{ target: AsyncEventTarget; event: AcceptedAsyncEvent }> = []
  reads = 0
  readonly #records: Array<AsyncRecord | undefined>
  readonly #refuse: boolean

  constructor(records: Array<AsyncRecord | undefined>, refuse = false) {
    this.#records = records
    this.#refuse = refuse
  }

  accept(target: AsyncEventTarget, event: AcceptedAsyncEvent): Promise<void> {
    if (this.#refuse) {
      return Promise.reject(new Error('The async queue is closed.'))
    }
    this.accepted.push({ target, event })
    return Promise.resolve()
  }

  record(): Promise<AsyncRecord | undefined> {
    const r = this.#records[Math.min(this.reads, this.#records.length - 1)]
    this.reads += 1
    return Promise.resolve(r)
  }
}

const errorOf = (outcome: TaskOutcome): string => (outcome.ok ? 'ok' : outcome.error)

test("a callback task's event names the resolved qualifier's 8-field URN and carries the flow context", async () => {
  const queue = new ScriptedQueue([undefined, recordOf('WAIT')])
  const watching = new AbortController()
  const { started } = await startThroughQueue(
    { queue, pollMs: 5 },
    callOf(),
    resolvedOf(),
    watching.signal,
  )
  watching.abort()
  expect(started).toEqual({ ok: true, output: null, requestId: 'req-1' })
  expect(queue.accepted).toEqual([
    {
      target: {
        projectId: 'p1',
        functionId: 'fn-notify',
        functionUrn: 'urn:fss:r1:p1:function:default:notify:!blue',
        qualifier: '!blue',
      },
      event: {
        requestId: 'req-1',
        payload: Buffer.from('{"q":1}'),
        timeoutS: 7,
        contextHeaders: {
          'x-cff-workflow-id': 'wf-1',
          'x-cff-workflow-run-id': 'run-1',
          'x-cff-workflow-state-id': 'ask',
        },
      },
    },
  ])
})

test('a re-dispatch whose event the queue holds accepts nothing, and an event that ended FAIL fails it at once', async () => {
  const queue = new ScriptedQueue([recordOf('FAIL', AsyncErrorCodes.FUNCTION_ERROR, 'Error: no')])
  const { started, ended } = await startThroughQueue(
    { queue, pollMs: 5 },
    callOf(),
    resolvedOf(),
    new AbortController().signal,
  )
  expect(started.ok).toBe(true)
  expect(queue.accepted).toEqual([])
  const outcome = await ended
  expect(outcome).toMatchObject({ ok: false, error: 'FunctionError', requestId: 'req-1' })
  expect(outcome.ok ? '' : JSON.parse(outcome.cause ?? '{}')).toEqual({
    errorMessage: 'The async invocation ended FAIL after 2 attempt(s): Error: no',
    errorType: 'FunctionError',
  })
})

test('the watch keeps going while the event waits or runs, and ends the task when it is discarded', async () => {
  const queue = new ScriptedQueue([
    undefined,
    recordOf('WAIT'),
    recordOf('RUNNING'),
    recordOf('DISCARD', AsyncErrorCodes.EVENT_AGE_EXCEEDED, 'too old'),
  ])
  const { ended } = await startThroughQueue(
    { queue, pollMs: 1 },
    callOf(),
    resolvedOf(),
    new AbortController().signal,
  )
  expect(errorOf(await ended)).toBe('Strato.FunctionUnavailable')
  expect(queue.reads).toBe(4)
})

test('an event that succeeded, or a watch that was aborted, never ends the task', async () => {
  const succeeded = new ScriptedQueue([undefined, recordOf('SUCCESS')])
  const first = await startThroughQueue(
    { queue: succeeded, pollMs: 1 },
    callOf(),
    resolvedOf(),
    new AbortController().signal,
  )
  const watching = new AbortController()
  const waiting = new ScriptedQueue([undefined, recordOf('WAIT')])
  const second = await startThroughQueue(
    { queue: waiting, pollMs: 1 },
    callOf(),
    resolvedOf(),
    watching.signal,
  )
  watching.abort()
  const later = new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), 50))
  expect(await Promise.race([first.ended.then(errorOf), second.ended.then(errorOf), later])).toBe(
    'still waiting',
  )
  expect(succeeded.reads).toBe(2)
  const readsAtAbort = waiting.reads
  await new Promise((resolve) => setTimeout(resolve, 20))
  expect(waiting.reads).toBe(readsAtAbort)
})

test('a disabled function, an input over 256 KiB or a refused enqueue fails the task without an event', async () => {
  const queue = new ScriptedQueue([undefined])
  const signal = new AbortController().signal
  const disabled = await startThroughQueue(
    { queue, pollMs: 1 },
    callOf(),
    resolvedOf({ maxInstances: 0 }),
    signal,
  )
  const large = await startThroughQueue(
    { queue, pollMs: 1 },
    callOf({ payload: 'x'.repeat(256 * 1024) }),
    resolvedOf(),
    signal,
  )
  expect([errorOf(disabled.started), errorOf(large.started)]).toEqual([
    'Strato.InvokeFailed',
    'Strato.InvokeFailed',
  ])
  expect(queue.accepted).toEqual([])
  const refused = await startThroughQueue(
    { queue: new ScriptedQueue([undefined], true), pollMs: 1 },
    callOf(),
    resolvedOf(),
    signal,
  )
  expect(refused.started).toMatchObject({ ok: false, error: 'Strato.InvokeFailed' })
  expect(refused.started.ok ? '' : refused.started.cause).toContain('The async queue is closed.')
})

test('an event that vanished while watched (its function deleted) is FunctionNotFound', async () => {
  const queue = new ScriptedQueue([undefined, recordOf('WAIT'), undefined])
  const { ended } = await startThroughQueue(
    { queue, pollMs: 1 },
    callOf(),
    resolvedOf(),
    new AbortController().signal,
  )
  expect(errorOf(await ended)).toBe('FunctionNotFound')
})

test('ended async events map to the flow error names by status and code', () => {
  const cases: Array<[AsyncStatus, number, string]> = [
    ['FAIL', AsyncErrorCodes.FUNCTION_ERROR, 'FunctionError'],
    ['FAIL', AsyncErrorCodes.CANCELED, 'Strato.InvokeFailed'],
    ['DISCARD', AsyncErrorCodes.FUNCTION_GONE, 'FunctionNotFound'],
    ['DISCARD', AsyncErrorCodes.EVENT_AGE_EXCEEDED, 'Strato.FunctionUnavailable'],
  ]
  for (const [status, code, error] of cases) {
    expect([status, code, errorOf(asyncFailure(recordOf(status, code), 'r'))]).toEqual([
      status,
      code,
      error,
    ])
  }
})
