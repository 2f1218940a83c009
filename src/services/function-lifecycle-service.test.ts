import path from 'node:path'
import SQLite from 'better-sqlite3'
import { expect, test } from 'vitest'
import { Limits, type DeletedAsyncTarget } from '../core/index.js'
import type { Store } from '../store/index.js'
import { useTempStores } from '../../test/helpers/temp-stores.js'
import { FunctionLifecycleService } from './function-lifecycle-service.js'
import { ResolutionService } from './resolution-service.js'

const PROJECT = '0123456789abcdef0123456789abcdef'
const URN = `urn:fss:cn-north-4:${PROJECT}:function:default:f`
const temp = useTempStores('lifecycle-')

/** A real store; the pool and the async queue record what they are told, in one shared log. */
async function setUp(): Promise<{
  dir: string
  store: Store
  told: string[]
  lifecycle: FunctionLifecycleService
  resolution: ResolutionService
}> {
  const { store, dir } = await temp.open()
  const told: string[] = []
  store.triggers.onChange((c) => told.push(`trigger ${c.kind}`))
  const lifecycle = new FunctionLifecycleService({
    store,
    quotas: Limits.DEFAULT_QUOTAS,
    invoker: {
      forget: (functionId: string, version?: string) => {
        told.push(`forget ${version ?? 'all'}`)
        return Promise.resolve()
      },
    },
    asyncQueue: {
      deleteFunction: () => {
        told.push('queue deleteFunction')
        return Promise.resolve()
      },
      discardDeleted: (target: DeletedAsyncTarget) => {
        told.push(`queue discard ${target.qualifier ?? ''}`)
        return Promise.resolve()
      },
    },
    collectUnusedCode: () => told.push('collect code'),
  })
  return { dir, store, told, lifecycle, resolution: new ResolutionService(store, 'cn-north-4') }
}

async function createWithTrigger(store: Store, lifecycle: FunctionLifecycleService): Promise<void> {
  const fn = await lifecycle.create(PROJECT, {
    func_name: 'f',
    runtime: 'Node.js20.15',
    handler: 'index.handler',
    memory_size: 128,
    timeout: 3,
    code_type: 'inline',
    func_code: { file: Buffer.from('exports.handler = async () => 1').toString('base64') },
  })
  await store.tags.put(fn.id, [{ key: 'team', value: 'a' }])
  await store.triggers.create(
    { projectId: PROJECT, functionId: fn.id, qualifier: 'latest', functionUrn: URN },
    {
      typeCode: 'TIMER',
      status: 'ACTIVE',
      eventTypeCode: 'MessageCreated',
      eventData: { name: 't', schedule_type: 'Rate', schedule: '1m' },
    },
  )
}

test('lifecycle: a function delete commits its rows, then announces its triggers, ends its async events, retires its pools and asks for code collection, in that order', async () => {
  const { store, told, lifecycle, resolution } = await setUp()
  await createWithTrigger(store, lifecycle)
  told.length = 0

  await lifecycle.delete(await resolution.resolve(PROJECT, URN))

  expect(told).toEqual(['trigger deleted', 'queue deleteFunction', 'forget all', 'collect code'])
  await expect(resolution.resolve(PROJECT, URN)).rejects.toMatchObject({
    code: 'FUNCTION_NOT_FOUND',
  })
})

test('lifecycle: a function delete that fails in its transaction tells no one, and the function still resolves', async () => {
  const { dir, store, told, lifecycle, resolution } = await setUp()
  await createWithTrigger(store, lifecycle)
  told.length = 0
  const db = new SQLite(path.join(dir, 'strato.db'))
  db.exec(`create trigger refuse_tag_delete before delete on function_tags
           begin select raise(abort, 'injected failure'); end`)
  db.close()

  await expect(lifecycle.delete(await resolution.resolve(PROJECT, URN))).rejects.toThrow(
    'injected failure',
  )

  expect(told).toEqual([])
  expect((await resolution.resolve(PROJECT, URN)).fn.name).toBe('f')
  expect(await store.triggers.list((await resolution.resolve(PROJECT, URN)).fn.id)).toHaveLength(1)
})
