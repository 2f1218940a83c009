import { expect, test } from 'vitest'
import { RequestVerifier } from '../auth/index.js'
import {
  StratoError,
  type NewAsyncEvent,
  type TriggerChange,
  type TriggerEventData,
  type TriggerRecord,
  type TriggerTypeCode,
} from '../core/index.js'
import { createLogger } from '../observability/index.js'
import type { TriggerSource, TriggerSourceContext } from './trigger-source.js'
import { TriggerSources, type TriggerCatalog, type TriggerSourceDeps } from './trigger-sources.js'

function timer(id: string, status: 'ACTIVE' | 'DISABLED' = 'ACTIVE'): TriggerRecord {
  return {
    id,
    projectId: 'p1',
    functionId: 'f1',
    qualifier: 'latest',
    functionUrn: 'urn:fss:local-1:p1:function:default:tick:latest',
    typeCode: 'TIMER',
    status,
    eventTypeCode: '',
    eventData: { name: id, schedule_type: 'Rate', schedule: '1m' },
    createdAt: new Date(0),
    updatedAt: new Date(0),
  }
}

/** The trigger store's slice, in memory: `emit` plays a write. */
class MemoryCatalog implements TriggerCatalog {
  readonly triggers: TriggerRecord[] = []
  readonly listeners = new Set<(change: TriggerChange) => void>()
  listActive(types: readonly TriggerTypeCode[]): Promise<TriggerRecord[]> {
    return Promise.resolve(
      this.triggers.filter((t) => types.includes(t.typeCode) && t.status === 'ACTIVE'),
    )
  }
  onChange(listener: (change: TriggerChange) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
  readonly cursors = new Map<string, string>()
  cursorOf(id: string): Promise<string | undefined> {
    return Promise.resolve(this.cursors.get(id))
  }
  saveCursor(id: string, cursor: string): Promise<void> {
    this.cursors.set(id, cursor)
    return Promise.resolve()
  }
  emit(change: TriggerChange): void {
    for (const listener of this.listeners) {
      listener(change)
    }
  }
}

/** A source that records what happens to it; `loaded` is what its first load found. */
class RecordingSource implements TriggerSource {
  readonly events: string[] = []
  ctx: TriggerSourceContext | undefined
  loaded: TriggerRecord[] = []
  constructor(
    readonly types: readonly TriggerTypeCode[],
    readonly name: string,
    readonly log: string[],
  ) {}
  parseEventData(_typeCode: TriggerTypeCode, raw: unknown): TriggerEventData {
    return raw as TriggerEventData
  }
  async start(ctx: TriggerSourceContext): Promise<void> {
    this.ctx = ctx
    this.log.push(`${this.name} start`)
    this.loaded = await ctx.loadTriggers()
  }
  onChange(change: TriggerChange): void {
    this.log.push(`${this.name} ${change.kind} ${change.trigger.id}`)
  }
  stop(): Promise<void> {
    this.log.push(`${this.name} stop`)
    return Promise.resolve()
  }
}

function depsOf(catalog: MemoryCatalog, enqueued: NewAsyncEvent[] = []): TriggerSourceDeps {
  return {
    triggers: catalog,
    functions: { resolve: () => Promise.reject(new StratoError('FUNCTION_NOT_FOUND')) },
    invoker: {
      invoke: () => Promise.reject(new StratoError('INTERNAL')),
      forget: () => Promise.resolve(),
    },
    asyncQueue: { enqueue: (e) => Promise.resolve(void enqueued.push(e)) },
    verifier: new RequestVerifier({ lookup: () => undefined, clockSkewMs: 1000 }),
    authClockSkewMs: 1000,
    logger: createLogger('silent'),
    ownAttempts: {
      configOf: () => Promise.resolve(undefined),
      retryPolicy: { functionErrorDelayMs: () => 1, systemErrorDelayMs: () => 1 },
      end: () => Promise.reject(new StratoError('INTERNAL')),
    },
  }
}

test('TriggerSources: each source loads only its own types and hears only their changes, once started', async () => {
  const catalog = new MemoryCatalog()
  catalog.triggers.push(timer('t1'), timer('t2', 'DISABLED'))
  const log: string[] = []
  const gateway = new RecordingSource(['APIG', 'DEDICATEDGATEWAY'], 'gateway', log)
  const timers = new RecordingSource(['TIMER'], 'timers', log)
  const sources = new TriggerSources([gateway, timers], depsOf(catalog))
  catalog.emit({ kind: 'created', trigger: timer('early') })
  await sources.start()
  expect(timers.loaded.map((t) => t.id)).toEqual(['t1'])
  expect(gateway.loaded).toEqual([])
  catalog.emit({ kind: 'updated', trigger: timer('t2') })
  catalog.emit({ kind: 'deleted', trigger: timer('t1') })
  await sources.stop()
  catalog.emit({ kind: 'created', trigger: timer('late') })
  expect(log).toEqual([
    'gateway start',
    'timers start',
    'timers updated t2',
    'timers deleted t1',
    'gateway stop',
    'timers stop',
  ])
})

test("TriggerSources: a change made while a source starts reaches it; a source's fault never fails the write", async () => {
  const catalog = new MemoryCatalog()
  const log: string[] = []
  const broken = new RecordingSource(['TIMER'], 'broken', log)
  broken.onChange = () => {
    throw new Error('broken')
  }
  /** Its trigger appears while it loads. */
  class RacedSource extends RecordingSource {
    override async start(ctx: TriggerSourceContext): Promise<void> {
      log.push('raced start')
      catalog.emit({
        kind: 'created',
        trigger: { ...timer('r1'), typeCode: 'RABBITMQ', eventData: {} },
      })
      await ctx.loadTriggers()
    }
  }
  const sources = new TriggerSources(
    [broken, new RacedSource(['RABBITMQ'], 'raced', log)],
    depsOf(catalog),
  )
  await sources.start()
  expect(() => catalog.emit({ kind: 'created', trigger: timer('t9') })).not.toThrow()
  expect(log).toEqual(['broken start', 'raced start', 'raced created r1'])
})

test('TriggerSources: two sources serving one type are refused; a trigger must fire once', () => {
  const log: string[] = []
  expect(
    () =>
      new TriggerSources(
        [
          new RecordingSource(['TIMER'], 'a', log),
          new RecordingSource(['APIG', 'TIMER'], 'b', log),
        ],
        depsOf(new MemoryCatalog()),
      ),
  ).toThrow('Two trigger sources serve TIMER.')
})

test("TriggerSources: a source's async accept stores the event for the trigger's version or alias", async () => {
  const enqueued: NewAsyncEvent[] = []
  const source = new RecordingSource(['TIMER'], 'timers', [])
  await new TriggerSources([source], depsOf(new MemoryCatalog(), enqueued)).start()
  const trigger = { ...timer('t1'), qualifier: '!blue', functionUrn: 'urn:…:tick:!blue' }
  const fn = { timeoutS: 7 } as Parameters<TriggerSourceContext['acceptAsync']>[1]
  await source.ctx?.acceptAsync(trigger, fn, 'req-1', Buffer.from('{"tick":1}'))
  expect(enqueued.map((e) => ({ ...e, acceptedAtMs: 0 }))).toEqual([
    {
      requestId: 'req-1',
      projectId: 'p1',
      functionId: 'f1',
      functionUrn: 'urn:…:tick:!blue',
      qualifier: '!blue',
      payload: Buffer.from('{"tick":1}'),
      acceptedAtMs: 0,
      timeoutMs: 7000,
      triggerId: 't1',
    },
  ])
})
