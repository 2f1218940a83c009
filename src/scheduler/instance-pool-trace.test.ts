/**
 * What the pool tells an invocation's trace (core's InvocationTrace port): the wait for a slot,
 * the cold start only for the invocation that started its instance, the headers the function gets,
 * and the outcome. Fake instances, no processes.
 */
import { expect, test } from 'vitest'
import type { InvocationRequest, InvocationTrace, LaunchTiming } from '../core/index.js'
import { createLogger } from '../observability/index.js'
import { FunctionFailure, type InvokeInput } from '../runtime/index.js'
import { FakeLauncher, functionRecordOf } from '../../test/helpers/fakes.js'
import { InstancePool } from './instance-pool.js'

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Records each call, in order. */
class RecordedTrace implements InvocationTrace {
  readonly traceId = '0af7651916cd43dd8448eb211c80319c'
  readonly calls: string[] = []
  launch: LaunchTiming | undefined
  failure: unknown

  acquired(_waitStartMs: number, launch: LaunchTiming | undefined): void {
    this.launch = launch
    this.calls.push(launch === undefined ? 'acquired warm' : 'acquired cold')
  }
  acquireFailed(_waitStartMs: number, err: unknown): void {
    this.failure = err
    this.calls.push('acquire failed')
  }
  executing(): Readonly<Record<string, string>> {
    this.calls.push('executing')
    return { 'x-cff-trace-id': this.traceId, traceparent: `00-${this.traceId}-b7ad6b7169203331-01` }
  }
  executed(errorType: string | undefined): void {
    this.calls.push(`executed ${errorType ?? 'ok'}`)
  }
}

function setUp(): { pool: InstancePool; launcher: FakeLauncher; inputs: InvokeInput[] } {
  const launcher = new FakeLauncher()
  const inputs: InvokeInput[] = []
  const pool = new InstancePool({
    launcher: {
      async launch(request) {
        const instance = await launcher.launch(request)
        const invoke = instance.invoke.bind(instance)
        instance.invoke = (input) => {
          inputs.push(input)
          return invoke(input)
        }
        return instance
      },
    },
    code: { verify: (digest) => Promise.resolve(`/code/${digest}`) },
    logs: { append: () => {} },
    logger: createLogger('silent'),
    region: 'r1',
    idleTtlMs: 60_000,
    queueWaitMs: 1_000,
    maxInstancesPerFunction: 10,
    openSecret: (sealed) => sealed,
    dependencyDirs: () => Promise.resolve([]),
  })
  return { pool, launcher, inputs }
}

function requestOf(requestId: string, trace: InvocationTrace): InvocationRequest {
  const fn = functionRecordOf()
  return {
    fn,
    version: fn.version,
    alias: '',
    requestId,
    payload: Buffer.from('{}'),
    invokeType: 'sync',
    trace,
  }
}

test('the first invocation of a new instance is its cold start; the next is warm; the function gets the trace headers', async () => {
  const { pool, launcher, inputs } = setUp()
  const cold = new RecordedTrace()
  const first = pool.invoke(requestOf('r1', cold))
  await flush()
  launcher.serving('r1').finish('r1')
  await first
  expect(cold.calls).toEqual(['acquired cold', 'executing', 'executed ok'])
  expect(cold.launch?.endMs).toBeGreaterThanOrEqual(cold.launch?.startMs ?? Infinity)
  expect(inputs[0]?.headers).toEqual({
    'x-cff-trace-id': cold.traceId,
    traceparent: `00-${cold.traceId}-b7ad6b7169203331-01`,
  })

  const warm = new RecordedTrace()
  const second = pool.invoke(requestOf('r2', warm))
  await flush()
  launcher.serving('r2').finish('r2', {
    ok: false,
    body: Buffer.from('{"errorMessage":"boom","errorType":"TypeError"}'),
    text: false,
    errorType: 'TypeError',
    memoryUsedMb: 1,
    log: '',
  })
  await second
  expect(warm.calls).toEqual(['acquired warm', 'executing', 'executed TypeError'])
  await pool.close()
})

test('a start that fails ends the wait with its error; nothing executes', async () => {
  const { pool, launcher } = setUp()
  launcher.nextFailure = new FunctionFailure('InitError', 'the initializer threw', '')
  const trace = new RecordedTrace()
  const result = await pool.invoke(requestOf('r1', trace))
  expect(result.kind).toBe('function-error')
  expect(trace.calls).toEqual(['acquire failed'])
  expect(trace.failure).toBeInstanceOf(FunctionFailure)
  await pool.close()
})
