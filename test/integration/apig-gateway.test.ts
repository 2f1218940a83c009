/**
 * APIG triggers through the official SDK, served by Strato's API gateway: event functions get the
 * APIG event and answer its shape; an Express app (an HTTP function) gets requests as they come.
 */
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { signRequest } from '../../src/auth/index.js'
import type { StratoClient } from '../../src/client/index.js'
import { httpFunction, inlineFunction, zipDirectory } from '../helpers/code.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import { PROJECT_ID, startTestStrato, tmpDir, waitFor, type TestStrato } from '../helpers/strato.js'

let strato: TestStrato
let client: StratoClient
let sdk: ReturnType<typeof sdkClient>
let gateway: string
let appsDir: string

/** Echoes the APIG event it received, as an APIG answer. */
const ECHO = `exports.handler = async (event) => ({
  statusCode: 200,
  headers: { 'Content-Type': 'application/json', 'X-Echo': 'yes' },
  body: JSON.stringify(event),
  isBase64Encoded: false,
})`
/** Answers with the size and sha256 of the body it received, and the body itself back in binary. */
const DIGEST = `const crypto = require('crypto')
exports.handler = async (event) => {
  const body = Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8')
  return {
    statusCode: 201,
    headers: { 'x-size': String(body.length), 'x-sha256': crypto.createHash('sha256').update(body).digest('hex'), 'content-type': 'application/octet-stream' },
    body: body.subarray(0, 16).toString('base64'),
    isBase64Encoded: true,
  }
}`

beforeAll(async () => {
  appsDir = tmpDir('strato-apig-apps-')
  fs.writeFileSync(path.join(appsDir, 'package.json'), '{"name":"apps","private":true}')
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent', 'express@4'], {
    cwd: appsDir,
    stdio: 'ignore',
    timeout: 120_000,
  })
  strato = await startTestStrato({ STRATO_GATEWAY_PORT: '0' })
  client = strato.client
  sdk = sdkClient(strato.url)
  gateway = strato.running.gatewayUrl
}, 180_000)
afterAll(async () => {
  await strato.close()
  fs.rmSync(appsDir, { recursive: true, force: true })
})

async function urnOf(name: string): Promise<string> {
  return String((await client.showConfig(name)).func_urn)
}

interface ApigOptions {
  name: string
  path: string
  method?: string
  auth?: string
  matchMode?: string
  invocationType?: string
  timeout?: number
}

function createTrigger(urn: string, o: ApigOptions): ReturnType<typeof sdk.createFunctionTrigger> {
  return sdk.createFunctionTrigger(
    new fg.CreateFunctionTriggerRequest().withFunctionUrn(urn).withBody(
      new fg.CreateFunctionTriggerRequestBody()
        .withTriggerTypeCode('APIG')
        .withTriggerStatus('ACTIVE')
        .withEventData(
          new fg.TriggerEventDataRequestBody()
            .withName(o.name)
            .withPath(o.path)
            .withReqMethod(o.method ?? 'ANY')
            .withAuth(o.auth ?? 'NONE')
            .withMatchMode(o.matchMode ?? 'NORMAL')
            .withProtocol('HTTPS')
            .withEnvName('RELEASE')
            .withType(1)
            .withFuncInfo(
              new fg.ApigTriggerFuncInfo()
                .withTimeout(o.timeout ?? 10_000)
                .withInvocationType(o.invocationType ?? 'sync'),
            ),
        ),
    ),
  )
}

/** One request to the gateway over a kept-alive connection. */
function request(
  agent: http.Agent,
  method: string,
  url: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      )
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('the trigger API through the official SDK', () => {
  test('create, list, show, disable, enable and delete an APIG trigger; the gateway follows', async () => {
    await client.createFunction(inlineFunction('apig-echo', ECHO))
    const urn = await urnOf('apig-echo')
    const created = await createTrigger(urn, {
      name: 'echo_api',
      path: '/echo/{id}',
      method: 'GET',
    })
    expect(created.httpStatusCode).toBe(201)
    const id = created.trigger_id as string
    expect(id).toMatch(/^[0-9a-f]{32}$/)
    expect(created.trigger_type_code).toBe('APIG')
    expect(created.event_data.invoke_url).toBe(`${gateway}/echo/{id}`)
    // The URN the trigger invokes: the function's, qualified with latest.
    expect(created.event_data.func_info.function_urn).toBe(
      urn.endsWith(':latest') ? urn : `${urn}:latest`,
    )

    const list = await sdk.listFunctionTriggers(
      new fg.ListFunctionTriggersRequest().withFunctionUrn(urn),
    )
    // A top-level array: the SDK hands it back as it is.
    expect(Array.isArray(list)).toBe(true)
    const ids = (list as Array<{ trigger_id: string }>).map((t) => t.trigger_id)
    expect(ids).toEqual([id])
    const shown = await sdk.showFunctionTrigger(
      new fg.ShowFunctionTriggerRequest()
        .withFunctionUrn(urn)
        .withTriggerTypeCode('APIG')
        .withTriggerId(id),
    )
    expect(shown.event_data.path).toBe('/echo/{id}')

    const agent = new http.Agent({ keepAlive: true })
    expect((await request(agent, 'GET', `${gateway}/echo/42`)).status).toBe(200)
    const setStatus = (status: string): Promise<unknown> =>
      sdk.updateTrigger(
        new fg.UpdateTriggerRequest()
          .withFunctionUrn(urn)
          .withTriggerTypeCode('APIG')
          .withTriggerId(id)
          .withBody(new fg.UpdateTriggerRequestBody().withTriggerStatus(status)),
      )
    await setStatus('DISABLED')
    const off = await request(agent, 'GET', `${gateway}/echo/42`)
    expect(off.status).toBe(404)
    expect(JSON.parse(off.body.toString()).error_code).toBe('APIG.0101')
    await setStatus('ACTIVE')
    expect((await request(agent, 'GET', `${gateway}/echo/42`)).status).toBe(200)

    await sdk.deleteFunctionTrigger(
      new fg.DeleteFunctionTriggerRequest()
        .withFunctionUrn(urn)
        .withTriggerTypeCode('APIG')
        .withTriggerId(id),
    )
    expect((await request(agent, 'GET', `${gateway}/echo/42`)).status).toBe(404)
    const gone = await sdkError(
      sdk.showFunctionTrigger(
        new fg.ShowFunctionTriggerRequest()
          .withFunctionUrn(urn)
          .withTriggerTypeCode('APIG')
          .withTriggerId(id),
      ),
    )
    expect([gone.httpStatusCode, gone.errorCode]).toEqual([404, 'FSS.1138'])
    agent.destroy()
  })

  test('deleting a function, the version or the alias a trigger serves takes its routes off the gateway at once', async () => {
    await client.createFunction(inlineFunction('apig-doomed', ECHO))
    const urn = await urnOf('apig-doomed')
    await createTrigger(urn, { name: 'doomed_latest', path: '/doomed/latest', method: 'GET' })
    const published = await sdk.createFunctionVersion(
      new fg.CreateFunctionVersionRequest()
        .withFunctionUrn(urn)
        .withBody(new fg.CreateFunctionVersionRequestBody().withVersion('v1')),
    )
    expect(published.version).toBe('v1')
    const base = urn.replace(/:latest$/, '')
    await createTrigger(`${base}:v1`, { name: 'doomed_v1', path: '/doomed/v1', method: 'GET' })
    await sdk.createVersionAlias(
      new fg.CreateVersionAliasRequest()
        .withFunctionUrn(base)
        .withBody(new fg.CreateVersionAliasRequestBody().withName('live').withVersion('latest')),
    )
    await createTrigger(`${base}:!live`, {
      name: 'doomed_alias',
      path: '/doomed/alias',
      method: 'GET',
    })
    const agent = new http.Agent({ keepAlive: true })
    expect((await request(agent, 'GET', `${gateway}/doomed/alias`)).status).toBe(200)
    await sdk.deleteVersionAlias(
      new fg.DeleteVersionAliasRequest().withFunctionUrn(base).withAliasName('live'),
    )
    const aliasGone = await request(agent, 'GET', `${gateway}/doomed/alias`)
    expect([aliasGone.status, JSON.parse(aliasGone.body.toString()).error_code]).toEqual([
      404,
      'APIG.0101',
    ])
    expect((await request(agent, 'GET', `${gateway}/doomed/latest`)).status).toBe(200)
    expect((await request(agent, 'GET', `${gateway}/doomed/v1`)).status).toBe(200)

    await sdk.deleteFunction(new fg.DeleteFunctionRequest().withFunctionUrn(`${base}:v1`))
    const versionGone = await request(agent, 'GET', `${gateway}/doomed/v1`)
    expect([versionGone.status, JSON.parse(versionGone.body.toString()).error_code]).toEqual([
      404,
      'APIG.0101',
    ])
    expect((await request(agent, 'GET', `${gateway}/doomed/latest`)).status).toBe(200)

    await sdk.deleteFunction(new fg.DeleteFunctionRequest().withFunctionUrn(base))
    const functionGone = await request(agent, 'GET', `${gateway}/doomed/latest`)
    expect([functionGone.status, JSON.parse(functionGone.body.toString()).error_code]).toEqual([
      404,
      'APIG.0101',
    ])
    agent.destroy()
  })

  test('refusals: unsupported type, bad path, same path twice, same name twice, more than 10', async () => {
    await client.createFunction(inlineFunction('apig-limits', ECHO))
    const urn = await urnOf('apig-limits')
    const timer = await sdkError(
      sdk.createFunctionTrigger(
        new fg.CreateFunctionTriggerRequest()
          .withFunctionUrn(urn)
          .withBody(
            new fg.CreateFunctionTriggerRequestBody()
              .withTriggerTypeCode('SMN')
              .withEventData(
                new fg.TriggerEventDataRequestBody().withTopicUrn(
                  `urn:smn:local-1:${PROJECT_ID}:topic`,
                ),
              ),
          ),
      ),
    )
    expect([timer.httpStatusCode, timer.errorCode]).toEqual([400, 'FSS.1101'])
    const badPath = await sdkError(createTrigger(urn, { name: 'bad_path', path: 'no-slash' }))
    expect([badPath.httpStatusCode, badPath.errorCode]).toEqual([400, 'FSS.1107'])
    await createTrigger(urn, { name: 'first_api', path: '/limits/0', method: 'GET' })
    const samePath = await sdkError(createTrigger(urn, { name: 'other_api', path: '/limits/0' }))
    expect([samePath.httpStatusCode, samePath.errorCode]).toEqual([409, 'FSS.1147'])
    const sameName = await sdkError(createTrigger(urn, { name: 'first_api', path: '/limits/x' }))
    expect([sameName.httpStatusCode, sameName.errorCode]).toEqual([409, 'FSS.1146'])
    for (let i = 1; i < 10; i++) {
      await createTrigger(urn, { name: `api_${i}`, path: `/limits/${i}` })
    }
    const eleventh = await sdkError(createTrigger(urn, { name: 'api_11', path: '/limits/11' }))
    expect([eleventh.httpStatusCode, eleventh.errorCode]).toEqual([403, 'FSS.1123'])
    await sdk.batchDeleteFunctionTriggers(
      new fg.BatchDeleteFunctionTriggersRequest().withFunctionUrn(urn),
    )
    const list = await sdk.listFunctionTriggers(
      new fg.ListFunctionTriggersRequest().withFunctionUrn(urn),
    )
    expect(Array.isArray(list) && list.length === 0).toBe(true)
  })
})

describe('event functions behind the gateway', () => {
  beforeAll(async () => {
    await client.createFunction(inlineFunction('gw-echo', ECHO))
    await createTrigger(await urnOf('gw-echo'), {
      name: 'users_api',
      path: '/users/{id}/items',
      method: 'GET',
    })
    await createTrigger(await urnOf('gw-echo'), {
      name: 'files_api',
      path: '/files/{rest+}',
      method: 'ANY',
    })
    await client.createFunction(inlineFunction('gw-digest', DIGEST, { memory_size: 512 }))
    await createTrigger(await urnOf('gw-digest'), {
      name: 'upload_api',
      path: '/upload',
      method: 'POST',
    })
  })

  test('GET with a query string and path parameters: the APIG event of §6.1', async () => {
    const agent = new http.Agent({ keepAlive: true })
    const res = await request(
      agent,
      'GET',
      `${gateway}/users/u%2F7/items?limit=5&tag=a&tag=b`,
      undefined,
      {
        'X-Custom': 'Value',
      },
    )
    expect(res.status).toBe(200)
    expect(res.headers['x-echo']).toBe('yes')
    const event = JSON.parse(res.body.toString()) as Record<string, unknown>
    expect(event.httpMethod).toBe('GET')
    expect(event.path).toBe('/users/u%2F7/items')
    expect(event.pathParameters).toEqual({ id: 'u/7' })
    expect(event.queryStringParameters).toEqual({ limit: '5', tag: 'a' })
    expect((event.headers as Record<string, string>)['x-custom']).toBe('Value')
    expect(event.isBase64Encoded).toBe(true)
    expect((event.requestContext as Record<string, string>).stage).toBe('RELEASE')
    const rest = JSON.parse(
      (await request(agent, 'DELETE', `${gateway}/files/a/b/c.txt`)).body.toString(),
    ) as Record<string, unknown>
    expect(rest.pathParameters).toEqual({ rest: 'a/b/c.txt' })
    expect((await request(agent, 'GET', `${gateway}/users/7`)).status).toBe(404)
    expect((await request(agent, 'POST', `${gateway}/users/7/items`)).status).toBe(404)
    agent.destroy()
  })

  test('a 5 MB binary body travels base64 both ways, byte for byte', async () => {
    const body = Buffer.alloc(5 * 1024 * 1024)
    for (let i = 0; i < body.length; i++) {
      body[i] = (i * 7 + 3) & 0xff
    }
    const agent = new http.Agent({ keepAlive: true })
    const res = await request(agent, 'POST', `${gateway}/upload`, body, {
      'content-type': 'application/octet-stream',
    })
    expect(res.status).toBe(201)
    expect(res.headers['x-size']).toBe(String(body.length))
    expect(res.headers['x-sha256']).toBe(createHash('sha256').update(body).digest('hex'))
    expect(res.body).toEqual(body.subarray(0, 16))
    agent.destroy()
  })

  test('an answer that is not the APIG shape is 502 FSS.1202; a failing function 502 FSS.1198', async () => {
    await client.createFunction(
      inlineFunction(
        'gw-bad',
        'exports.handler = async (e) => { if (e.queryStringParameters.fail) throw new Error("boom"); return "just a string" }',
      ),
    )
    await createTrigger(await urnOf('gw-bad'), { name: 'bad_api', path: '/bad', method: 'GET' })
    const agent = new http.Agent({ keepAlive: true })
    const bad = await request(agent, 'GET', `${gateway}/bad`)
    expect(bad.status).toBe(502)
    expect(JSON.parse(bad.body.toString()).error_code).toBe('FSS.1202')
    const failed = await request(agent, 'GET', `${gateway}/bad?fail=1`)
    expect(failed.status).toBe(502)
    const err = JSON.parse(failed.body.toString()) as { error_code: string; error_msg: string }
    expect(err.error_code).toBe('FSS.1198')
    expect(err.error_msg).toContain('boom')
    agent.destroy()
  })

  test('APP auth refuses unsigned and wrongly signed requests, and serves a signed one', async () => {
    await client.createFunction(inlineFunction('gw-app', ECHO))
    const created = await createTrigger(await urnOf('gw-app'), {
      name: 'private_api',
      path: '/private',
      method: 'POST',
      auth: 'APP',
    })
    const appKey = created.event_data.app_key as string
    const appSecret = created.event_data.app_secret as string
    expect(appKey).toMatch(/^[0-9a-f]{32}$/)
    const agent = new http.Agent({ keepAlive: true })
    const url = `${gateway}/private?x=1`
    const body = '{"order":1}'
    const unsigned = await request(agent, 'POST', url, Buffer.from(body))
    expect(unsigned.status).toBe(401)
    expect(JSON.parse(unsigned.body.toString()).error_code).toBe('APIG.0301')
    const sign = (accessKey: string, secretKey: string): Record<string, string> =>
      signRequest({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json' },
        body,
        accessKey,
        secretKey,
      })
    const wrong = await request(
      agent,
      'POST',
      url,
      Buffer.from(body),
      sign(appKey, 'not-the-secret'),
    )
    expect(wrong.status).toBe(401)
    const ok = await request(agent, 'POST', url, Buffer.from(body), sign(appKey, appSecret))
    expect(ok.status).toBe(200)
    const event = JSON.parse(ok.body.toString()) as { body: string }
    expect(Buffer.from(event.body, 'base64').toString()).toBe(body)
    agent.destroy()
  })

  test('an async trigger answers 202 once the event is durable, and the function runs', async () => {
    await client.createFunction(
      inlineFunction(
        'gw-async',
        'exports.handler = async (e) => { console.log("ran " + e.path); return "ok" }',
      ),
    )
    await createTrigger(await urnOf('gw-async'), {
      name: 'async_api',
      path: '/later',
      method: 'POST',
      invocationType: 'async',
    })
    const agent = new http.Agent({ keepAlive: true })
    const res = await request(agent, 'POST', `${gateway}/later`, Buffer.from('{}'))
    expect(res.status).toBe(202)
    const { request_id } = JSON.parse(res.body.toString()) as { request_id: string }
    await waitFor(async () => {
      const logs = await client.logs('gw-async', { request_id })
      return JSON.stringify(logs).includes('ran /later')
    }, 10_000)
    agent.destroy()
  })
})

describe('an HTTP function behind the gateway', () => {
  test('a real Express app: query strings, path params, binary bodies, large bodies, keep-alive', async () => {
    const app = `const express = require('express')
const app = express()
app.use(express.raw({ type: '*/*', limit: '10mb' }))
app.get('/shop/:item', (req, res) => res.set('X-Item', req.params.item).json({ item: req.params.item, q: req.query }))
app.post('/shop/upload', (req, res) => res.type('application/octet-stream').send(req.body))
app.listen(8000, '127.0.0.1')
`
    const zip = await zipDirectory(appsDir, {
      'app.js': app,
      bootstrap: 'node $RUNTIME_CODE_ROOT/app.js',
    })
    await client.createFunction(httpFunction('gw-express', zip, { memory_size: 512 }))
    await createTrigger(await urnOf('gw-express'), {
      name: 'shop_api',
      path: '/shop',
      method: 'ANY',
      matchMode: 'SWA',
    })
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const got = await request(agent, 'GET', `${gateway}/shop/apple?color=red&n=2`)
    expect(got.status).toBe(200)
    expect(got.headers['x-item']).toBe('apple')
    expect(JSON.parse(got.body.toString())).toEqual({ item: 'apple', q: { color: 'red', n: '2' } })
    const big = Buffer.alloc(5 * 1024 * 1024)
    for (let i = 0; i < big.length; i++) {
      big[i] = (i * 13) & 0xff
    }
    const echoed = await request(agent, 'POST', `${gateway}/shop/upload`, big, {
      'content-type': 'application/octet-stream',
    })
    expect(echoed.status).toBe(200)
    expect(echoed.body.equals(big)).toBe(true)
    // Many requests over the one kept-alive connection.
    const sockets = new Set<unknown>()
    agent.on('free', (socket) => sockets.add(socket))
    for (let i = 0; i < 20; i++) {
      expect((await request(agent, 'GET', `${gateway}/shop/i${i}`)).status).toBe(200)
    }
    expect(sockets.size).toBe(1)
    agent.destroy()
  })
})
