import { pino } from 'pino'
import { expect, test } from 'vitest'
import type { TriggerChange, TriggerEventData } from '../core/index.js'
import { LeaderOnlySource, type LeadershipSignal } from './leader-only-source.js'
import type { TriggerSource, TriggerSourceContext } from './trigger-source.js'

class FlipLeadership implements LeadershipSignal {
  readonly #listeners = new Set<(v: boolean) => void>()
  constructor(public leader: boolean) {}
  onChange(listener: (v: boolean) => void): () => void {
    this.#listeners.add(listener)
    listener(this.leader)
    return () => this.#listeners.delete(listener)
  }
  set(v: boolean): void {
    this.leader = v
    for (const l of this.#listeners) {
      l(v)
    }
  }
}

function recordingSources(): { make: () => TriggerSource; log: string[] } {
  const log: string[] = []
  let n = 0
  return {
    log,
    make: () => {
      const id = n++
      return {
        types: ['TIMER'],
        parseEventData: (_t, raw) => raw as TriggerEventData,
        start: () => {
          log.push(`start ${id}`)
          return Promise.resolve()
        },
        onChange: (c: TriggerChange) => log.push(`change ${id} ${c.kind}`),
        stop: () => {
          log.push(`stop ${id}`)
          return Promise.resolve()
        },
      }
    },
  }
}

const ctx = { logger: pino({ level: 'silent' }) } as unknown as TriggerSourceContext
const change = { kind: 'created' } as unknown as TriggerChange

test('leader-only source: a fresh inner source runs only while this node leads', async () => {
  const lead = new FlipLeadership(false)
  const { make, log } = recordingSources()
  const source = new LeaderOnlySource(make, lead)
  expect(source.types).toEqual(['TIMER'])
  await source.start(ctx)
  expect(source.running).toBe(false)
  source.onChange(change) // not leader: dropped (the next term loads triggers anew)
  lead.set(true)
  await new Promise((r) => setTimeout(r, 0))
  expect(source.running).toBe(true)
  source.onChange(change)
  lead.set(false)
  lead.set(true)
  await new Promise((r) => setTimeout(r, 0))
  expect(source.running).toBe(true)
  await source.stop()
  expect(source.running).toBe(false)
  // Instance 0 is the prototype (types, parseEventData): it never starts.
  expect(log).toEqual(['start 1', 'change 1 created', 'stop 1', 'start 2', 'stop 2'])
})

test('leader-only source: leader at start, the inner source has started when start resolves', async () => {
  const { make, log } = recordingSources()
  const source = new LeaderOnlySource(make, new FlipLeadership(true))
  await source.start(ctx)
  expect(log).toEqual(['start 1'])
  await source.stop()
})

test('leader-only source: a resync starts a fresh term while leading, and nothing while not', async () => {
  const lead = new FlipLeadership(true)
  const { make, log } = recordingSources()
  const source = new LeaderOnlySource(make, lead)
  await source.start(ctx)
  await source.resync()
  expect(log).toEqual(['start 1', 'stop 1', 'start 2'])
  lead.set(false)
  await source.resync()
  expect(log).toEqual(['start 1', 'stop 1', 'start 2', 'stop 2'])
  await source.stop()
})
