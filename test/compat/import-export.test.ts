/**
 * Export and import through the official SDK (issue 18): a function with versions, an alias with
 * a weighted second version, triggers, an async config, sealed variables and tags is exported from
 * one Strato and imported into another; the second exports the same package and behaves the same.
 */
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import yauzl from 'yauzl'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { runCli } from '../../src/cli/index.js'
import {
  ACCESS_KEY,
  PROJECT_ID,
  SECRET_KEY,
  startTestStrato,
  tmpDir,
  type TestStrato,
} from '../helpers/strato.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import { b64, inlineFunction } from '../helpers/code.js'

const require = createRequire(import.meta.url)
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core')

let a: TestStrato
let b: TestStrato
beforeAll(async () => {
  ;[a, b] = await Promise.all([startTestStrato(), startTestStrato()])
})
afterAll(async () => {
  await Promise.all([a.close(), b.close()])
})

/**
 * The SDK hands back an application/zip body as axios decoded it: a binary body needs a client
 * whose axios reads bytes (`responseType: 'arraybuffer'`), which the SDK's options allow.
 */
function binaryClient(endpoint: string): any {
  const cred = new BasicCredentials()
    .withAk(ACCESS_KEY)
    .withSk(SECRET_KEY)
    .withProjectId(PROJECT_ID)
  return fg.FunctionGraphClient.newBuilder()
    .withCredential(cred)
    .withEndpoint(endpoint)
    .withOptions({ axiosRequestConfig: { responseType: 'arraybuffer' } })
    .build()
}

async function exportOf(
  s: TestStrato,
  name: string,
  query: Record<string, string> = {},
): Promise<Buffer> {
  const urn = `urn:fss:local-1:${PROJECT_ID}:function:default:${name}:latest`
  let req = new fg.ExportFunctionRequest().withFunctionUrn(urn)
  if (query.type !== undefined) {
    req = req.withType(query.type)
  }
  if (query.code !== undefined) {
    req = req.withCode(query.code === 'true')
  }
  if (query.config !== undefined) {
    req = req.withConfig(query.config === 'true')
  }
  const res = await binaryClient(s.url).exportFunction(req)
  expect(res.httpStatusCode).toBe(200)
  return Buffer.from(res.body as ArrayBuffer)
}

function entries(zip: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true }, (err, file) => {
      if (err !== null) {
        return reject(err)
      }
      const out = new Map<string, Buffer>()
      file.on('entry', (e: yauzl.Entry) =>
        file.openReadStream(e, (se, stream) => {
          if (se !== null) {
            return reject(se)
          }
          const chunks: Buffer[] = []
          stream.on('data', (c: Buffer) => chunks.push(c))
          stream.on('end', () => {
            out.set(e.fileName, Buffer.concat(chunks))
            file.readEntry()
          })
        }),
      )
      file.on('end', () => resolve(out))
      file.readEntry()
    })
  })
}

const source = (tag: string): string =>
  `exports.handler = async (event, context) => ({ code: '${tag}', secret: context.getUserData('S'), plain: context.getUserData('A') })`

async function buildOriginal(): Promise<void> {
  const c = a.client
  await c.createFunction(
    inlineFunction('porter', source('v1'), {
      memory_size: 256,
      timeout: 10,
      description: 'moves things',
      user_data: JSON.stringify({ A: 'plain-1' }),
      encrypted_user_data: JSON.stringify({ S: 'sealed' }),
    }),
  )
  await c.publishVersion('porter', { version: 'v1', description: 'first' })
  await c.updateCode('porter', { code_type: 'inline', func_code: { file: b64(source('v2')) } })
  const cfg = await c.showConfig('porter')
  await c.updateConfig('porter', {
    ...cfg,
    memory_size: 512,
    user_data: JSON.stringify({ A: 'plain-2' }),
  })
  await c.publishVersion('porter', { version: 'v2', description: 'second' })
  await c.updateCode('porter', { code_type: 'inline', func_code: { file: b64(source('latest')) } })
  await c.createAlias('porter', {
    name: 'prod',
    version: 'v2',
    description: 'production',
    additional_version_weights: { v1: 20 },
  })
  await c.createTrigger('porter', {
    trigger_type_code: 'TIMER',
    event_type_code: 'TIMER',
    trigger_status: 'DISABLED',
    event_data: { name: 'hourly', schedule_type: 'Rate', schedule: '60m', user_event: 'tick' },
  })
  await c.createTrigger('porter:!prod', {
    trigger_type_code: 'APIG',
    event_type_code: 'APIG',
    trigger_status: 'ACTIVE',
    event_data: {
      name: 'porter_api',
      path: '/porter',
      protocol: 'HTTPS',
      req_method: 'ANY',
      auth: 'NONE',
      match_mode: 'SWA',
      env_name: 'RELEASE',
      type: 1,
      group_id: 'g',
      func_info: { timeout: 5000 },
    },
  })
  await c.putAsyncConfig('porter', {
    max_async_event_age_in_seconds: 600,
    max_async_retry_attempts: 1,
    enable_async_status_log: true,
  })
  await c.raw(
    'POST',
    `/v2/${PROJECT_ID}/functions/urn:fss:local-1:${PROJECT_ID}:function:default:porter:latest/tags/create`,
    JSON.stringify({ tags: [{ key: 'team', value: 'core' }] }),
  )
}

test('export from one Strato, import into another: the same package comes back out, and it runs the same', async () => {
  await buildOriginal()
  const pkg = await exportOf(a, 'porter')
  const files = await entries(pkg)
  const manifest = JSON.parse(files.get('strato-function.json')!.toString()) as Record<string, any>
  expect(manifest.versions.map((v: { name: string }) => v.name)).toEqual(['v1', 'v2'])
  expect([...files.keys()].filter((f) => f.startsWith('code/'))).toHaveLength(3)

  const imported = await sdkClient(b.url).importFunction(
    new fg.ImportFunctionRequest().withBody(
      new fg.ImportFunctionRequestBody()
        .withFuncName('porter')
        .withFileName('porter.zip')
        .withFileType('zip')
        .withFileCode(pkg.toString('base64')),
    ),
  )
  expect(imported).toMatchObject({ func_name: 'porter', runtime: 'Node.js18.15', memory_size: 512 })

  // Identical: B's export is A's, but for when it was made.
  const again = await entries(await exportOf(b, 'porter'))
  const strip = (m: Record<string, unknown>): Record<string, unknown> => ({ ...m, exportedAt: '' })
  expect(strip(JSON.parse(again.get('strato-function.json')!.toString()))).toEqual(strip(manifest))
  expect([...again.keys()].sort()).toEqual([...files.keys()].sort())
  for (const [name, bytes] of files) {
    if (name.startsWith('code/')) {
      expect(again.get(name)!.equals(bytes)).toBe(true)
    }
  }

  // And the wire views agree (ids and times aside).
  const plain = (o: unknown): unknown =>
    JSON.parse(
      JSON.stringify(o, (k, v: unknown) =>
        [
          'func_id',
          'resource_id',
          'last_modified',
          'image_name',
          'trigger_id',
          'triggerid',
          'api_id',
          'created_time',
          'last_updated_time',
          'invoke_url',
          'health',
        ].includes(k)
          ? undefined
          : v,
      ),
    )
  for (const read of [
    (s: TestStrato) => s.client.showConfig('porter'),
    (s: TestStrato) => s.client.listVersions('porter'),
    (s: TestStrato) => s.client.listAliases('porter'),
    (s: TestStrato) => s.client.listTriggers('porter'),
    (s: TestStrato) => s.client.listTriggers('porter:!prod'),
    (s: TestStrato) => s.client.getAsyncConfig('porter'),
  ]) {
    expect(plain(await read(b))).toEqual(plain(await read(a)))
  }
  for (const q of ['latest', 'v1', 'v2']) {
    const target = `urn:fss:local-1:${PROJECT_ID}:function:default:porter:${q}`
    const [ra, rb] = [await a.client.invoke(target, '{}'), await b.client.invoke(target, '{}')]
    expect(JSON.parse(rb.result)).toEqual(JSON.parse(ra.result))
  }
  expect(JSON.parse((await b.client.invoke('porter', '{}')).result)).toEqual({
    code: 'latest',
    secret: 'sealed',
    plain: 'plain-2',
  })
}, 60_000)

test('export type=code is the code package alone; type=config has no code and cannot be imported; bad packages are 400', async () => {
  await a.client.createFunction(inlineFunction('solo', 'exports.handler = async () => 42'))
  const code = await entries(await exportOf(a, 'solo', { type: 'code' }))
  expect([...code.keys()]).toEqual(['index.js'])
  const config = await entries(await exportOf(a, 'solo', { type: 'config' }))
  expect([...config.keys()]).toEqual(['strato-function.json'])
  const importOf = (file: Buffer, type = 'zip'): Promise<unknown> =>
    sdkClient(b.url).importFunction(
      new fg.ImportFunctionRequest().withBody(
        new fg.ImportFunctionRequestBody()
          .withFuncName('solo')
          .withFileName('solo.zip')
          .withFileType(type)
          .withFileCode(file.toString('base64')),
      ),
    )
  const noCode = await sdkError(importOf(await exportOf(a, 'solo', { type: 'config' })))
  expect([noCode.httpStatusCode, noCode.errorCode]).toEqual([400, 'FSS.0400'])
  expect(noCode.errorMsg).toContain('no code')
  const notOurs = await sdkError(importOf(await exportOf(a, 'solo', { type: 'code' })))
  expect(notOurs.errorMsg).toContain('strato-function.json')
  const notZip = await sdkError(importOf(Buffer.from('hello')))
  expect(notZip.httpStatusCode).toBe(400)
  const jar = await sdkError(importOf(await exportOf(a, 'solo'), 'jar'))
  expect(jar.errorMsg).toContain("only 'zip'")
  // The full package imports; the name must be free.
  await importOf(await exportOf(a, 'solo'))
  const twice = await sdkError(importOf(await exportOf(a, 'solo')))
  expect([twice.httpStatusCode, twice.errorCode]).toEqual([409, 'FSS.1061'])
  expect(JSON.parse((await b.client.invoke('solo', '{}')).result)).toBe(42)
})

test('strato export and strato import carry a function between servers', async () => {
  const dir = tmpDir('strato-transfer-')
  try {
    await a.client.createFunction(
      inlineFunction('carried', 'exports.handler = async () => "carried"'),
    )
    await a.client.publishVersion('carried', { version: 'v1' })
    const keys = (s: TestStrato): string[] => [
      '--endpoint',
      s.url,
      '--project-id',
      PROJECT_ID,
      '--access-key',
      ACCESS_KEY,
      '--secret-key',
      SECRET_KEY,
    ]
    const file = path.join(dir, 'carried.zip')
    expect(await runCli([...keys(a), 'export', 'carried', '-o', file])).toBe(0)
    expect(await runCli([...keys(b), 'import', file, '-n', 'carried-here'])).toBe(0)
    expect((await b.client.invoke('carried-here', '{}')).result).toBe('carried')
    const versions = (await b.client.listVersions('carried-here')) as {
      versions: Array<{ version: string }>
    }
    expect(versions.versions.map((v) => v.version)).toContain('v1')
    expect(await runCli([...keys(a), 'export', 'carried', '--code-only', '--config-only'])).toBe(2)
    expect(await runCli([...keys(b), 'import', path.join(dir, 'none.zip'), '-n', 'x'])).toBe(2)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
