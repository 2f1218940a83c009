/**
 * The TriggerRepository contract: triggers of every type under the per-version rules, and the
 * change feed that tells the trigger sources of every change, once and in order.
 */
import { describe, expect, test } from 'vitest'
import type {
  ApigEventData,
  TriggerChange,
  TriggerInput,
  TriggerTarget,
} from '../../src/core/index.js'
import {
  backendPerTest,
  createFunction,
  type OpenBackend,
  type Repositories,
} from './store-harness.js'

/** Two functions to hang triggers on (a trigger needs its function); their ids. */
async function twoFunctions(repos: Repositories): Promise<{ fa: string; fb: string }> {
  const fa = await createFunction(repos, 'fa')
  const fb = await createFunction(repos, 'fb')
  return { fa: fa.id, fb: fb.id }
}

function target(functionId: string, qualifier = 'latest'): TriggerTarget {
  return {
    projectId: 'p1',
    functionId,
    qualifier,
    functionUrn: `urn:fss:r1:p1:function:default:${functionId}:${qualifier}`,
  }
}

function apig(name: string, path: string, extra: Partial<ApigEventData> = {}): TriggerInput {
  return {
    typeCode: 'APIG',
    status: 'ACTIVE',
    eventTypeCode: 'APIGCreateApi',
    eventData: {
      name,
      path,
      req_method: 'GET',
      auth: 'NONE',
      match_mode: 'NORMAL',
      protocol: 'HTTPS',
      env_name: 'RELEASE',
      env_id: 'env',
      group_id: 'group',
      group_name: 'group',
      type: 1,
      func_info: { timeout: 5, invocation_type: 'sync' },
      ...extra,
    },
  }
}

function timer(name: string): TriggerInput {
  return {
    typeCode: 'TIMER',
    status: 'ACTIVE',
    eventTypeCode: '',
    eventData: { name, schedule_type: 'Rate', schedule: '3m' },
  }
}

export function describeTriggerRepositoryContract(name: string, openBackend: OpenBackend): void {
  describe(`TriggerRepository contract: ${name}`, () => {
    const open = backendPerTest(openBackend)

    test('create stores a trigger of any type; get, list and listActive read it back', async () => {
      const { repos } = await open()
      const { fa, fb } = await twoFunctions(repos)
      const t = await repos.triggers.create(target(fa), timer('every3m'))
      expect(t).toMatchObject({
        typeCode: 'TIMER',
        status: 'ACTIVE',
        functionId: fa,
        qualifier: 'latest',
        eventData: { name: 'every3m', schedule: '3m' },
      })
      expect(t.id).toMatch(/^[0-9a-f]{32}$/)
      expect(await repos.triggers.get(fa, 'TIMER', t.id)).toEqual(t)
      expect(await repos.triggers.list(fa)).toEqual([t])
      expect(await repos.triggers.list(fb)).toEqual([])
      expect(await repos.triggers.listActive(['TIMER'])).toEqual([t])
      expect(await repos.triggers.listActive(['APIG'])).toEqual([])
    })

    test("get is the type's not-found code (TIMER_TRIGGER_NOT_FOUND, APIG_TRIGGER_NOT_FOUND, …) for another function or type", async () => {
      const { repos } = await open()
      const { fa, fb } = await twoFunctions(repos)
      const t = await repos.triggers.create(target(fa), timer('t'))
      await expect(repos.triggers.get(fb, 'TIMER', t.id)).rejects.toMatchObject({
        code: 'TIMER_TRIGGER_NOT_FOUND',
      })
      await expect(repos.triggers.get(fa, 'SMN', t.id)).rejects.toMatchObject({
        code: 'TRIGGER_NOT_FOUND',
      })
      await expect(repos.triggers.get(fa, 'APIG', t.id)).rejects.toMatchObject({
        code: 'APIG_TRIGGER_NOT_FOUND',
      })
    })

    test('per function version: 10 triggers at most, one name per type (its own exists code)', async () => {
      const { repos } = await open()
      const { fa } = await twoFunctions(repos)
      await repos.triggers.create(target(fa), timer('t0'))
      await expect(repos.triggers.create(target(fa), timer('t0'))).rejects.toMatchObject({
        code: 'TIMER_TRIGGER_EXISTS',
      })
      // The same name on another version is another trigger.
      await repos.triggers.create(target(fa, 'v1'), timer('t0'))
      for (let i = 1; i < 10; i++) {
        await repos.triggers.create(target(fa), timer(`t${i}`))
      }
      await expect(repos.triggers.create(target(fa), timer('t10'))).rejects.toMatchObject({
        code: 'TRIGGER_QUOTA_EXCEEDED',
      })
      expect(await repos.triggers.list(fa, 'latest')).toHaveLength(10)
      expect(await repos.triggers.list(fa, 'v1')).toHaveLength(1)
    })

    test('an API route is served by one trigger across all functions; APP auth gets an app key and secret', async () => {
      const { repos } = await open()
      const { fa, fb } = await twoFunctions(repos)
      await repos.triggers.create(target(fa), apig('a', '/hello'))
      await expect(
        repos.triggers.create(target(fb), apig('b', '/hello', { req_method: 'ANY' })),
      ).rejects.toMatchObject({ code: 'APIG_PATH_EXISTS' })
      const other = await repos.triggers.create(
        target(fb),
        apig('b', '/hello', { env_name: 'TEST' }),
      )
      expect(other).toMatchObject({ appKey: '', appSecret: '' })
      const app = await repos.triggers.create(target(fb), apig('c', '/app', { auth: 'APP' }))
      expect(app).toMatchObject({ appKey: expect.stringMatching(/^[0-9a-f]{32}$/) })
      expect(app.typeCode === 'APIG' && app.appSecret.length > 0).toBe(true)
      expect(await repos.triggers.get(fb, 'APIG', app.id)).toEqual(app)
    })

    test('setStatus changes what listActive returns; a disabled route still blocks its path', async () => {
      const { repos } = await open()
      const { fa, fb } = await twoFunctions(repos)
      const t = await repos.triggers.create(target(fa), apig('a', '/x'))
      const disabled = await repos.triggers.setStatus(fa, 'APIG', t.id, 'DISABLED')
      expect(disabled.status).toBe('DISABLED')
      expect(await repos.triggers.get(fa, 'APIG', t.id)).toMatchObject({ status: 'DISABLED' })
      expect(await repos.triggers.listActive(['APIG'])).toEqual([])
      expect(await repos.triggers.listActive(['APIG'], true)).toHaveLength(1)
      await expect(repos.triggers.create(target(fb), apig('b', '/x'))).rejects.toMatchObject({
        code: 'APIG_PATH_EXISTS',
      })
    })

    test('the change feed tells every change once, in order, with the trigger as changed', async () => {
      const { repos } = await open()
      const { fa, fb } = await twoFunctions(repos)
      const changes: TriggerChange[] = []
      const unsubscribe = repos.triggers.onChange((c) => changes.push(c))
      const a = await repos.triggers.create(target(fa), timer('a'))
      const b = await repos.triggers.create(target(fa, 'v1'), timer('b'))
      const c = await repos.triggers.create(target(fb), timer('c'))
      await repos.triggers.setStatus(fa, 'TIMER', a.id, 'DISABLED')
      await repos.triggers.delete(fb, 'TIMER', c.id)
      await repos.triggers.deleteAll(fa, 'v1')
      await repos.triggers.deleteAll(fa)
      expect(changes.map((ch) => `${ch.kind} ${ch.trigger.id} ${ch.trigger.status}`)).toEqual([
        `created ${a.id} ACTIVE`,
        `created ${b.id} ACTIVE`,
        `created ${c.id} ACTIVE`,
        `updated ${a.id} DISABLED`,
        `deleted ${c.id} ACTIVE`,
        `deleted ${b.id} ACTIVE`,
        `deleted ${a.id} DISABLED`,
      ])
      unsubscribe()
      await repos.triggers.create(target(fa), timer('after'))
      expect(changes).toHaveLength(7)
    })

    test('delete and deleteAll remove from every read', async () => {
      const { repos } = await open()
      const { fa, fb } = await twoFunctions(repos)
      const a = await repos.triggers.create(target(fa), timer('a'))
      await repos.triggers.create(target(fa, 'v1'), timer('b'))
      await repos.triggers.create(target(fb), timer('c'))
      await repos.triggers.delete(fa, 'TIMER', a.id)
      await expect(repos.triggers.get(fa, 'TIMER', a.id)).rejects.toMatchObject({
        code: 'TIMER_TRIGGER_NOT_FOUND',
      })
      await expect(repos.triggers.delete(fa, 'TIMER', a.id)).rejects.toMatchObject({
        code: 'TIMER_TRIGGER_NOT_FOUND',
      })
      await repos.triggers.deleteAll(fa)
      expect(await repos.triggers.list(fa)).toEqual([])
      expect((await repos.triggers.listActive(['TIMER'])).map((t) => t.functionId)).toEqual([fb])
    })

    test('update replaces event_data and status, tells the feed once, and keeps the rest', async () => {
      const { repos } = await open()
      const { fa } = await twoFunctions(repos)
      const t = await repos.triggers.create(target(fa), timer('t'))
      const changes: TriggerChange[] = []
      const unsubscribe = repos.triggers.onChange((c) => changes.push(c))
      const data = { name: 't', schedule_type: 'Cron', schedule: '0 0 * * * ?' } as const
      const updated = await repos.triggers.update(fa, 'TIMER', t.id, {
        status: 'DISABLED',
        eventData: data,
      })
      unsubscribe()
      expect(updated).toMatchObject({ id: t.id, status: 'DISABLED', eventData: data })
      expect(await repos.triggers.get(fa, 'TIMER', t.id)).toEqual(updated)
      expect(changes.map((c) => [c.kind, c.trigger])).toEqual([['updated', updated]])
      await expect(
        repos.triggers.update(fa, 'TIMER', 'nope', { status: 'ACTIVE', eventData: data }),
      ).rejects.toMatchObject({ code: 'TIMER_TRIGGER_NOT_FOUND' })
    })

    test("a source's cursor is kept with its trigger, survives a restart and goes with it", async () => {
      const backend = await open()
      const { fa } = await twoFunctions(backend.repos)
      const t = await backend.repos.triggers.create(target(fa), timer('t'))
      expect(await backend.repos.triggers.cursorOf(t.id)).toBeUndefined()
      await backend.repos.triggers.saveCursor(t.id, '1767225600000')
      const reopened = await backend.reopen()
      expect(await reopened.triggers.cursorOf(t.id)).toBe('1767225600000')
      // A cursor save is not a change of the trigger.
      expect(await reopened.triggers.get(fa, 'TIMER', t.id)).toEqual(t)
      await reopened.triggers.delete(fa, 'TIMER', t.id)
      expect(await reopened.triggers.cursorOf(t.id)).toBeUndefined()
      await reopened.triggers.saveCursor(t.id, '1')
      expect(await reopened.triggers.cursorOf(t.id)).toBeUndefined()
    })

    test('triggers survive a restart', async () => {
      const backend = await open()
      const { fa } = await twoFunctions(backend.repos)
      const t = await backend.repos.triggers.create(target(fa), apig('a', '/x', { auth: 'APP' }))
      const reopened = await backend.reopen()
      expect(await reopened.triggers.get(fa, 'APIG', t.id)).toEqual(t)
    })

    test("a broker trigger's password reads back as given, also after a restart (it is sealed at rest)", async () => {
      const backend = await open()
      const { fa } = await twoFunctions(backend.repos)
      const eventData = {
        connect_address: '127.0.0.1:5672',
        exchange_name: 'orders',
        access_user: 'u',
        access_password: 'p@ss:word',
        batch_size: 10,
      }
      const t = await backend.repos.triggers.create(target(fa), {
        typeCode: 'RABBITMQ',
        status: 'ACTIVE',
        eventTypeCode: '',
        eventData,
      })
      expect(t.eventData).toEqual(eventData)
      const reopened = await backend.reopen()
      expect((await reopened.triggers.listActive(['RABBITMQ']))[0]?.eventData).toEqual(eventData)
    })

    test("an update keeps a broker trigger's password sealed at rest, changed or not", async () => {
      const backend = await open()
      const { repos } = backend
      const { fa } = await twoFunctions(repos)
      const eventData = {
        connect_address: '127.0.0.1:5672',
        exchange_name: 'orders',
        access_user: 'u',
        access_password: 'first-secret',
        batch_size: 10,
      }
      const t = await repos.triggers.create(target(fa), {
        typeCode: 'RABBITMQ',
        status: 'ACTIVE',
        eventTypeCode: '',
        eventData,
      })
      const atRest = async (): Promise<string> => {
        if (backend.storedRows === undefined) {
          throw new Error(`${name}: the backend does not offer its stored rows.`)
        }
        const rows = JSON.stringify(await backend.storedRows('function_triggers'))
        expect(rows).toContain('access_password')
        return rows
      }
      // What the PUT route passes: the opened record's settings with the change merged in.
      const unchanged = { ...t.eventData, batch_size: 20 }
      const updated = await repos.triggers.update(fa, 'RABBITMQ', t.id, {
        status: 'ACTIVE',
        eventData: unchanged,
      })
      expect(updated.eventData).toEqual(unchanged)
      expect((await repos.triggers.get(fa, 'RABBITMQ', t.id)).eventData).toEqual(unchanged)
      expect((await repos.triggers.list(fa))[0]?.eventData).toEqual(unchanged)
      expect((await repos.triggers.listActive(['RABBITMQ']))[0]?.eventData).toEqual(unchanged)
      expect(await atRest()).not.toContain('first-secret')
      const changed = { ...unchanged, access_password: 'second-secret' }
      await repos.triggers.update(fa, 'RABBITMQ', t.id, { status: 'DISABLED', eventData: changed })
      const reopened = await backend.reopen()
      expect((await reopened.triggers.get(fa, 'RABBITMQ', t.id)).eventData).toEqual(changed)
      expect((await reopened.triggers.listActive(['RABBITMQ'], true))[0]?.eventData).toEqual(
        changed,
      )
      const stored = await atRest()
      expect(stored).not.toContain('second-secret')
      expect(stored).not.toContain('first-secret')
    })
  })
}
