/**
 * What the pool tells its InvocationObserver (metrics): one `finished` per outcome with its queue
 * wait and the start time of the instance it started (cold start), throttles as refusals, and
 * system errors. Fakes and fake time, no processes.
 */
import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import {
  StratoError,
  type FunctionRecord,
  type InvocationObserver,
  type InvocationRequest,
} from '../core/index.js'
import { createLogger } from '../observability/index.js'
import { FakeLauncher, functionRecordOf, track } from '../../test/helpers/fakes.js'
import { InstancePool } from './instance-pool.js'

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

type Seen =
  | ['began', string]
  | ['finished', string, number, number]
  | ['broke', string]
  | ['refused', string, boolean]

class RecordingObserver implements InvocationObserver {
  readonly seen: Seen[] = []
  began(fn: FunctionRecord): void {
    this.seen.push(['began', fn.id])
  }
  finished(
    _fn: FunctionRecord,
    r: { requestId: string },
    queueWaitMs: number,
    initMs: number,
  ): void {
    this.seen.push(['finished', r.requestId, queueWaitMs, initMs])
  }
  broke(_fn: FunctionRecord, code: string): void {
    this.seen.push(['broke', code])
  }
  refused(_fn: FunctionRecord, code: string, userFault: boolean): void {
    this.seen.push(['refused', code, userFault])
  }
}

let launcher: FakeLauncher
let observer: RecordingObserver
let pool: InstancePool

function requestOf(requestId: string, fn: FunctionRecord): InvocationRequest {
  return {
    fn,
    version: fn.version,
    alias: '',
    requestId,
    payload: Buffer.from('{}'),
    invokeType: 'sync',
  }
}

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  })
  launcher = new FakeLauncher()
  observer = new RecordingObserver()
  pool = new InstancePool({
    launcher,
    code: { verify: (digest) => Promise.resolve(`/code/${digest}`) },
    logs: { append: () => {} },
    logger: createLogger('silent'),
    region: 'r1',
    idleTtlMs: 60_000,
    queueWaitMs: 1_000,
    maxInstancesPerFunction: 1,
    openSecret: (sealed) => sealed,
    dependencyDirs: () => Promise.resolve([]),
    observer,
  })
})

afterEach(async () => {
  await pool.close()
  vi.useRealTimers()
})

test('the cold start reports its init time; a request that waited for the instance its queue wait', async () => {
  launcher.manual = true
  const fn = functionRecordOf()
  const a = track(pool.invoke(requestOf('a', fn)))
  await flush()
  await vi.advanceTimersByTimeAsync(300)
  launcher.pending[0]?.start()
  await flush()
  const b = track(pool.invoke(requestOf('b', fn))) // waits: the only instance is busy
  await vi.advanceTimersByTimeAsync(200)
  launcher.serving('a').finish('a')
  await flush()
  launcher.serving('b').finish('b')
  await flush()
  expect(a.settled && b.settled).toBe(true)
  expect(observer.seen).toEqual([
    ['began', 'f1'],
    ['finished', 'a', 0, 300],
    ['began', 'f1'],
    ['finished', 'b', 200, -1],
  ])
})

test('a call that waits past the queue wait is refused as a throttle and never began', async () => {
  const fn = functionRecordOf()
  track(pool.invoke(requestOf('a', fn)))
  await flush()
  const late = track(pool.invoke(requestOf('b', fn)))
  await vi.advanceTimersByTimeAsync(1_000)
  await flush()
  expect(late.error).toMatchObject({ code: 'TOO_MANY_REQUESTS' })
  expect(observer.seen).toEqual([
    ['began', 'f1'],
    ['refused', 'TOO_MANY_REQUESTS', true],
  ])
})

test('an instance that fails while running (no outcome) is reported as broke', async () => {
  const fn = functionRecordOf()
  const a = track(pool.invoke(requestOf('a', fn)))
  await flush()
  const instance = launcher.serving('a')
  instance.finish('a')
  await flush()
  expect(a.settled).toBe(true)
  instance.invoke = () => Promise.reject(new StratoError('INTERNAL', 'the guest channel broke'))
  await expect(pool.invoke(requestOf('b', fn))).rejects.toMatchObject({ code: 'INTERNAL' })
  expect(observer.seen.slice(2)).toEqual([
    ['began', 'f1'],
    ['broke', 'INTERNAL'],
  ])
})
