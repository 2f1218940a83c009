import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import type { AuditFeed, AuditRecord, FedAuditRecord, TriggerRecord } from '../core/index.js'
import { createLogger } from '../observability/index.js'
import { CtsSource } from './cts-source.js'
import type { TriggerSourceContext } from './trigger-source.js'

const PROJECT = 'p'.repeat(32)
const urnOf = (fn: string): string => `urn:fss:r:${PROJECT}:function:default:${fn}`

function cts(id: string, subscriber: string, operations: string[]): TriggerRecord {
  return {
    id,
    projectId: PROJECT,
    functionId: subscriber,
    qualifier: 'latest',
    functionUrn: `${urnOf(subscriber)}:latest`,
    typeCode: 'CTS',
    status: 'ACTIVE',
    eventTypeCode: '',
    eventData: { name: id, operations },
    createdAt: new Date(0),
    updatedAt: new Date(0),
  }
}

/** An in-memory trail: positions are 1-based indexes. */
class MemoryTrail implements AuditFeed {
  readonly records: AuditRecord[] = []
  add(traceName: string, fn: string, projectId = PROJECT): void {
    const n = this.records.length + 1
    this.records.push({
      traceId: `trace-${n}`,
      projectId,
      timeMs: 1_000 + n,
      traceName,
      resourceType: 'function',
      resourceName: fn,
      resourceId: `${urnOf(fn)}:latest`,
      functionUrn: urnOf(fn),
      code: 204,
      errorCode: '',
      sourceIp: '127.0.0.1',
      accessKey: 'ak',
      requestId: `req-${n}`,
      traceType: 'ApiCall',
    })
  }
  readAfter(
    projectId: string,
    after: string | undefined,
    sinceMs: number,
    limit: number,
  ): Promise<FedAuditRecord[]> {
    const from = Number(after ?? 0)
    return Promise.resolve(
      this.records
        .map((record, i) => ({ position: String(i + 1), record }))
        .filter(
          (f) =>
            Number(f.position) > from &&
            f.record.projectId === projectId &&
            f.record.timeMs >= sinceMs,
        )
        .slice(0, limit),
    )
  }
}

class World {
  readonly triggers: TriggerRecord[] = []
  readonly queue = new Map<string, Buffer>()
  readonly cursors = new Map<string, string>()
  context(): TriggerSourceContext {
    return {
      loadTriggers: () => Promise.resolve(this.triggers),
      functions: { resolve: () => Promise.resolve({ fn: { timeoutS: 3 } } as never) },
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
  delivered(): Array<[string, string]> {
    return [...this.queue.values()].map((p) => {
      const { cts: e } = JSON.parse(p.toString()) as { cts: Record<string, string> }
      return [e.trace_name ?? '', e.resource_name ?? '']
    })
  }
}

const sources: CtsSource[] = []
beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()))
  vi.useRealTimers()
})

async function started(world: World, trail: MemoryTrail): Promise<CtsSource> {
  const source = new CtsSource({ trail, pollMs: 100 })
  sources.push(source)
  await source.start(world.context())
  return source
}

test('delivers matching records once, in order, never the subscriber’s own; a restart goes on from its cursor', async () => {
  const world = new World()
  const trail = new MemoryTrail()
  world.triggers.push(cts('t1', 'watcher', ['FunctionGraph:function:deleteFunction']))
  const first = await started(world, trail)
  trail.add('deleteFunction', 'a')
  trail.add('updateFunctionConfig', 'b')
  trail.add('deleteFunction', 'watcher')
  trail.add('deleteFunction', 'c', 'other-project')
  trail.add('deleteFunction', 'b')
  await vi.advanceTimersByTimeAsync(150)
  expect(world.delivered()).toEqual([
    ['deleteFunction', 'a'],
    ['deleteFunction', 'b'],
  ])
  // The cursor is past what was read, matching or not.
  expect(world.cursors.get('t1')).toBe('5')
  await first.stop()
  trail.add('deleteFunction', 'd')
  await started(world, trail)
  await vi.advanceTimersByTimeAsync(150)
  await vi.advanceTimersByTimeAsync(150)
  expect(world.delivered().map(([, name]) => name)).toEqual(['a', 'b', 'd'])
})

test('a disabled or deleted trigger stops at once; records before its creation are not delivered', async () => {
  const world = new World()
  const trail = new MemoryTrail()
  trail.add('deleteFunction', 'old')
  const trigger = { ...cts('t1', 'watcher', ['FunctionGraph:function:deleteFunction']) }
  world.triggers.push({ ...trigger, updatedAt: new Date(1_001 + 1) })
  const source = await started(world, trail)
  trail.add('deleteFunction', 'new')
  await vi.advanceTimersByTimeAsync(150)
  expect(world.delivered().map(([, n]) => n)).toEqual(['new'])
  source.onChange({ kind: 'updated', trigger: { ...trigger, status: 'DISABLED' } })
  trail.add('deleteFunction', 'while-disabled')
  await vi.advanceTimersByTimeAsync(300)
  expect(world.delivered().map(([, n]) => n)).toEqual(['new'])
  source.onChange({ kind: 'deleted', trigger })
  await vi.advanceTimersByTimeAsync(300)
  expect(world.delivered()).toHaveLength(1)
})
