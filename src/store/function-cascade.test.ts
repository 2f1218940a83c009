import path from 'node:path'
import SQLite from 'better-sqlite3'
import { expect, test } from 'vitest'
import {
  parseCodeInput,
  parseFunctionConfig,
  type FunctionRecord,
  type TriggerChange,
} from '../core/index.js'
import { useTempStores } from '../../test/helpers/temp-stores.js'
import type { Store } from './open-store.js'

const PROJECT = '0123456789abcdef0123456789abcdef'
const temp = useTempStores('function-cascade-')
const open = (): Promise<{ store: Store; dir: string }> => temp.open()

/** A function with one of everything a delete cascades to. */
async function functionWithEverything(store: Store): Promise<FunctionRecord> {
  const body = {
    func_name: 'f',
    runtime: 'Node.js20.15',
    handler: 'index.handler',
    memory_size: 128,
    timeout: 3,
    code_type: 'inline',
    func_code: { file: Buffer.from('exports.handler = async () => 1').toString('base64') },
  }
  const config = parseFunctionConfig(body)
  const code = await store.code.ingest(parseCodeInput(body, config.runtime), 'node', config.handler)
  const fn = await store.functions.create({
    projectId: PROJECT,
    packageName: 'default',
    name: 'f',
    config,
    code,
  })
  await store.versions.publish(fn, 'v1', '')
  await store.versions.putAlias(
    fn,
    { name: 'live', version: 'v1', description: '', weights: {}, strategy: {} },
    'create',
  )
  await store.testEvents.create(fn.id, 'e1', '{}')
  await store.tags.put(fn.id, [{ key: 'team', value: 'a' }])
  await store.asyncConfigs.put(fn.id, 'latest', {
    maxAsyncEventAgeS: 60,
    maxAsyncRetryAttempts: 1,
    onSuccess: undefined,
    onFailure: undefined,
    enableAsyncStatusLog: false,
    targetUrns: [],
  })
  await store.triggers.create(
    { projectId: PROJECT, functionId: fn.id, qualifier: 'latest', functionUrn: 'urn' },
    {
      typeCode: 'TIMER',
      status: 'ACTIVE',
      eventTypeCode: 'MessageCreated',
      eventData: { name: 't', schedule_type: 'Rate', schedule: '1m' },
    },
  )
  return fn
}

/** Rows per table the cascade touches, read through a second connection (not the store's caches). */
function rowCounts(dir: string, functionId: string): Record<string, number> {
  const db = new SQLite(path.join(dir, 'strato.db'), { readonly: true })
  try {
    const count = (table: string, column = 'function_id'): number =>
      (
        db.prepare(`select count(*) as n from ${table} where ${column} = ?`).get(functionId) as {
          n: number
        }
      ).n
    return {
      functions: count('functions', 'id'),
      function_versions: count('function_versions'),
      function_aliases: count('function_aliases'),
      function_events: count('function_events'),
      function_tags: count('function_tags'),
      function_triggers: count('function_triggers'),
      async_invoke_configs: count('async_invoke_configs'),
    }
  } finally {
    db.close()
  }
}

const EVERYTHING = {
  functions: 1,
  function_versions: 1,
  function_aliases: 1,
  function_events: 1,
  function_tags: 1,
  function_triggers: 1,
  async_invoke_configs: 1,
}

test('cascade: a failure mid-way through a function delete leaves the function and all it owns intact, and announces nothing', async () => {
  const { store, dir } = await open()
  const fn = await functionWithEverything(store)
  const changes: TriggerChange[] = []
  store.triggers.onChange((c) => changes.push(c))
  // A real failure in the middle of the cascade: after the triggers, the function and its
  // versions went, the tags refuse to go.
  const db = new SQLite(path.join(dir, 'strato.db'))
  db.exec(`create trigger refuse_tag_delete before delete on function_tags
           begin select raise(abort, 'injected failure'); end`)
  db.close()

  await expect(store.cascade.deleteFunction(fn)).rejects.toThrow('injected failure')

  expect(rowCounts(dir, fn.id)).toEqual(EVERYTHING)
  expect(changes).toEqual([])
  // The caches were not told either: the function, its version and alias still resolve.
  expect((await store.functions.get(PROJECT, 'default', 'f'))?.id).toBe(fn.id)
  expect((await store.versions.get(fn, 'v1'))?.fn.version).toBe('v1')
  expect((await store.versions.getAlias(fn, 'live'))?.version).toBe('v1')
  expect(await store.asyncConfigs.get(fn.id, 'latest')).toBeDefined()
})

test('cascade: a function delete removes every row it owns at once, then announces its triggers', async () => {
  const { store, dir } = await open()
  const fn = await functionWithEverything(store)
  const changes: TriggerChange[] = []
  store.triggers.onChange((c) => changes.push(c))

  await store.cascade.deleteFunction(fn)

  expect(Object.values(rowCounts(dir, fn.id))).toEqual([0, 0, 0, 0, 0, 0, 0])
  expect(changes.map((c) => [c.kind, c.trigger.functionId])).toEqual([['deleted', fn.id]])
  expect(await store.functions.get(PROJECT, 'default', 'f')).toBeUndefined()
  expect(await store.versions.get(fn, 'v1')).toBeUndefined()
  expect(await store.versions.getAlias(fn, 'live')).toBeUndefined()
  expect(await store.asyncConfigs.get(fn.id, 'latest')).toBeUndefined()
})

test('cascade: a version an alias routes to is refused in the same transaction, and nothing goes', async () => {
  const { store, dir } = await open()
  const fn = await functionWithEverything(store)
  await store.triggers.create(
    { projectId: PROJECT, functionId: fn.id, qualifier: 'v1', functionUrn: 'urn:v1' },
    {
      typeCode: 'TIMER',
      status: 'ACTIVE',
      eventTypeCode: 'MessageCreated',
      eventData: { name: 't1', schedule_type: 'Rate', schedule: '1m' },
    },
  )

  await expect(store.cascade.deleteVersion(fn, 'v1')).rejects.toMatchObject({
    code: 'VERSION_REFERENCED',
  })
  expect(rowCounts(dir, fn.id)).toEqual({ ...EVERYTHING, function_triggers: 2 })

  await store.cascade.deleteAlias(fn, 'live')
  await store.cascade.deleteVersion(fn, 'v1')
  expect(rowCounts(dir, fn.id)).toMatchObject({
    function_versions: 0,
    function_aliases: 0,
    function_triggers: 1,
  })
  expect(await store.versions.get(fn, 'v1')).toBeUndefined()
})

test('cascade: a deleted version or alias takes its async config along, so a new one of the same name starts clean', async () => {
  const { store } = await open()
  const fn = await functionWithEverything(store)
  const config = {
    maxAsyncEventAgeS: 60,
    maxAsyncRetryAttempts: 2,
    onSuccess: undefined,
    onFailure: undefined,
    enableAsyncStatusLog: false,
    targetUrns: [],
  }
  await store.asyncConfigs.put(fn.id, 'v1', config)
  await store.asyncConfigs.put(fn.id, '!live', config)
  expect(await store.asyncConfigs.get(fn.id, '!live')).toBeDefined()

  await store.cascade.deleteAlias(fn, 'live')
  await store.cascade.deleteVersion(fn, 'v1')
  expect(await store.asyncConfigs.get(fn.id, '!live')).toBeUndefined()
  expect(await store.asyncConfigs.get(fn.id, 'v1')).toBeUndefined()
  expect(await store.asyncConfigs.get(fn.id, 'latest')).toBeDefined()
})
