import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import type {
  FedInvocation,
  FunctionRecord,
  InvocationLogFeed,
  StoredInvocation,
  TriggerRecord,
} from '../core/index.js'
import { createLogger } from '../observability/index.js'
import { LtsSource } from './lts-source.js'
import type { TriggerSourceContext } from './trigger-source.js'

const PROJECT = 'p'.repeat(32)

function lts(id: string, subscriber: string, stream: string): TriggerRecord {
  return {
    id,
    projectId: PROJECT,
    functionId: subscriber,
    qualifier: 'latest',
    functionUrn: `urn:fss:r:${PROJECT}:function:default:${subscriber}:latest`,
    typeCode: 'LTS',
    status: 'ACTIVE',
    eventTypeCode: '',
    eventData: { log_group_id: PROJECT, log_topic_id: stream },
    createdAt: new Date(0),
    updatedAt: new Date(0),
  }
}

/** An in-memory feed: positions are indexes into `entries`. */
class MemoryFeed implements InvocationLogFeed {
  readonly entries: StoredInvocation[] = []
  add(functionId: string, output: string): void {
    const n = this.entries.length + 1
    this.entries.push({
      requestId: `req-${n}`,
      attempt: 1,
      version: 'latest',
      startedAtMs: 1_000 + n,
      durationMs: 1,
      billedDurationMs: 1,
      memorySizeMb: 128,
      memoryUsedMb: 10,
      errorType: undefined,
      errorMessage: undefined,
      output,
      projectId: PROJECT,
      functionId,
    })
  }
  readAfter(
    functionId: string,
    after: string | undefined,
    sinceMs: number,
    limit: number,
  ): Promise<FedInvocation[]> {
    const from = Number(after ?? 0)
    return Promise.resolve(
      this.entries
        .map((entry, i) => ({ position: String(i + 1), entry }))
        .filter(
          (f) =>
            Number(f.position) > from &&
            f.entry.functionId === functionId &&
            f.entry.startedAtMs >= sinceMs,
        )
        .slice(0, limit),
    )
  }
}

const functions = {
  getById: (projectId: string, id: string): Promise<FunctionRecord | undefined> =>
    Promise.resolve(
      projectId === PROJECT && ['src', 'sub', 'a', 'b', 'c'].includes(id)
        ? ({ id, packageName: 'default', name: id } as FunctionRecord)
        : undefined,
    ),
}

class World {
  readonly triggers: TriggerRecord[] = []
  readonly queue = new Map<string, Buffer>()
  readonly cursors = new Map<string, string>()
  context(): TriggerSourceContext {
    return {
      loadTriggers: () => Promise.resolve(this.triggers),
      functions: {
        resolve: () => Promise.resolve({ fn: { timeoutS: 3 } } as never),
      },
      invoker: {} as never,
      ownAttempts: {} as never,
      acceptAsync: (_t, _fn, requestId, payload) => {
        if (!this.queue.has(requestId)) {
          this.queue.set(requestId, payload)
        }
        return Promise.resolve()
      },
      cursors: {
        cursorOf: (id) => Promise.resolve(this.cursors.get(id)),
        saveCursor: (id, c) => {
          this.cursors.set(id, c)
          return Promise.resolve()
        },
      },
      verifier: {} as never,
      authClockSkewMs: 0,
      logger: createLogger('silent'),
      reportHealth: () => undefined,
    }
  }
  /** Every delivered event's decoded data. */
  data(): Array<{ logs: string; owner: string; log_group_id: string; log_topic_id: string }> {
    return [...this.queue.values()].map((payload) => {
      const event = JSON.parse(payload.toString()) as { lts: { data: string } }
      return JSON.parse(Buffer.from(event.lts.data, 'base64').toString()) as {
        logs: string
        owner: string
        log_group_id: string
        log_topic_id: string
      }
    })
  }
  messages(): string[] {
    return this.data().flatMap((d) =>
      (JSON.parse(d.logs) as Array<{ message: string }>).map((l) => l.message),
    )
  }
}

const sources: LtsSource[] = []
beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()))
  vi.useRealTimers()
})

async function started(world: World, feed: MemoryFeed): Promise<LtsSource> {
  const source = new LtsSource({ logs: feed, functions, pollMs: 100 })
  sources.push(source)
  await source.start(world.context())
  return source
}

test("a subscription delivers the followed function's new lines once, in §6.5 batches; a restart goes on from its cursor", async () => {
  const world = new World()
  const feed = new MemoryFeed()
  world.triggers.push(lts('t1', 'sub', 'src'))
  const first = await started(world, feed)
  feed.add('src', 'one\n')
  feed.add('other', 'not followed\n')
  feed.add('src', 'two\n')
  await vi.advanceTimersByTimeAsync(150)
  expect(world.data()).toEqual([
    { logs: expect.any(String), owner: PROJECT, log_group_id: PROJECT, log_topic_id: 'src' },
  ])
  expect(world.messages().filter((m) => !/invoke request/.test(m))).toEqual(['one', 'two'])
  await first.stop()
  feed.add('src', 'three\n')
  await started(world, feed)
  await vi.advanceTimersByTimeAsync(150)
  expect(world.messages().filter((m) => !/invoke request/.test(m))).toEqual(['one', 'two', 'three'])
  const lines = JSON.parse(world.data()[0]?.logs ?? '[]') as Array<Record<string, unknown>>
  expect(lines[0]).toEqual({
    message: expect.stringContaining("Start invoke request 'req-1'"),
    time: 1_001,
    host_name: expect.any(String),
    ip: '127.0.0.1',
    path: 'default-src',
    log_uid: 'req-1-1-1',
    line_no: 1,
  })
})

test('large logs are split so that every event fits the 256 KB async limit', async () => {
  const world = new World()
  const feed = new MemoryFeed()
  world.triggers.push(lts('t1', 'sub', 'src'))
  await started(world, feed)
  for (let i = 0; i < 6; i++) {
    feed.add('src', `${String(i).repeat(60_000)}\n`)
  }
  feed.add('src', `${'x'.repeat(400_000)}\n`)
  await vi.advanceTimersByTimeAsync(150)
  expect(world.queue.size).toBeGreaterThan(2)
  for (const payload of world.queue.values()) {
    expect(payload.length).toBeLessThan(256 * 1024)
  }
  expect(world.messages().some((m) => m.endsWith('[cut: the log is longer than one event]'))).toBe(
    true,
  )
})

test('checkTarget: the group is the project, the stream a function, never the subscriber itself nor a loop', async () => {
  const world = new World()
  const feed = new MemoryFeed()
  // b follows a, c follows b: a following c would close a loop.
  world.triggers.push(lts('t1', 'b', 'a'), lts('t2', 'c', 'b'))
  const source = await started(world, feed)
  const check = (functionId: string, stream: string, group = PROJECT): Promise<void> =>
    source.checkTarget({
      typeCode: 'LTS',
      projectId: PROJECT,
      functionId,
      eventData: { log_group_id: group, log_topic_id: stream },
    })
  await expect(check('a', 'a')).rejects.toMatchObject({ code: 'INVALID_LTS_TRIGGER' })
  await expect(check('a', 'c')).rejects.toThrow(/loop/)
  await expect(check('a', 'nope')).rejects.toThrow(/func_id/)
  await expect(check('a', 'b', 'q'.repeat(32))).rejects.toThrow(/log group/)
  await expect(check('src', 'c')).resolves.toBeUndefined()
})
