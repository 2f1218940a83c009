import { expect, test } from 'vitest'
import type { TriggerRecord } from '../../core/index.js'
import type { ApiDeps } from '../deps.js'
import { triggerSummary, triggerView } from './triggers.js'

const timer: TriggerRecord = {
  id: 't1',
  projectId: 'p',
  functionId: 'f',
  qualifier: 'latest',
  functionUrn: 'urn:fss:r:p:function:default:f:latest',
  typeCode: 'TIMER',
  status: 'ACTIVE',
  eventTypeCode: '',
  eventData: { name: 'tick', schedule_type: 'Rate', schedule: '3m' },
  createdAt: new Date(0),
  updatedAt: new Date(1_000),
}

test('a trigger object shows its health: ok without last_error, or failing with what failed and when', () => {
  expect(triggerView(timer, undefined)).toMatchObject({
    trigger_id: 't1',
    trigger_status: 'ACTIVE',
    health: 'ok',
  })
  expect(triggerView(timer, undefined)).not.toHaveProperty('last_error')
  const failing = triggerView(timer, undefined, {
    health: 'failing',
    lastError: { message: 'FSS.0500: the queue is full', at: '2026-01-01T00:00:00.000Z' },
  })
  expect(failing).toMatchObject({
    health: 'failing',
    last_error: { message: 'FSS.0500: the queue is full', at: '2026-01-01T00:00:00.000Z' },
  })
  // Recovered: ok again, the last error kept with its time.
  expect(
    triggerView(timer, undefined, {
      health: 'ok',
      lastError: { message: 'broker down', at: '2026-01-01T00:00:00.000Z' },
    }),
  ).toMatchObject({ health: 'ok', last_error: { message: 'broker down' } })
})

test('/strato/info counts triggers by type and status and names the failing ones without their error text', async () => {
  const disabled: TriggerRecord = { ...timer, id: 't2', status: 'DISABLED' }
  const deps = {
    store: { triggers: { listActive: () => Promise.resolve([timer, disabled]) } },
    triggerHealth: (id: string) =>
      id === 't1'
        ? {
            health: 'failing' as const,
            lastError: { message: 'secret broker address', at: '2026-01-01T00:00:00.000Z' },
          }
        : { health: 'ok' as const },
  } as unknown as ApiDeps
  const summary = await triggerSummary(deps)
  expect(summary).toEqual({
    count: 2,
    by_type: { TIMER: { ACTIVE: 1, DISABLED: 1 } },
    failing: [{ trigger_id: 't1', trigger_type_code: 'TIMER', since: '2026-01-01T00:00:00.000Z' }],
  })
  expect(JSON.stringify(summary)).not.toContain('secret')
})
