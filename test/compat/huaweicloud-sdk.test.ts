/**
 * The official Huawei Cloud SDK for Node.js, pointed at Strato with withEndpoint, AK/SK and a project
 * id, drives the whole function lifecycle for Node.js and Python functions written to FunctionGraph's
 * handler contract.
 */
import { beforeAll, describe, expect, test } from 'vitest'
import { PROJECT_ID } from '../helpers/strato.js'
import { useStrato } from '../helpers/use-strato.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import { b64, zipFiles } from '../helpers/code.js'

const strato = useStrato()
let client: any

beforeAll(() => {
  client = sdkClient(strato.url)
})

// FunctionGraph's own samples, unchanged: the APIG-shaped response of the Node.js and Python templates.
const NODE_SAMPLE = `exports.handler = async (event, context) => {
  const output = {
    'statusCode': 200,
    'headers': { 'Content-Type': 'application/json' },
    'isBase64Encoded': false,
    'body': JSON.stringify(event),
  }
  return output
}`
const PYTHON_SAMPLE = `# -*- coding:utf-8 -*-
import json
def handler (event, context):
    return {
        "statusCode": 200,
        "isBase64Encoded": False,
        "body": json.dumps(event),
        "headers": {
            "Content-Type": "application/json"
        }
    }
`

describe.each([
  ['Node.js18.15', NODE_SAMPLE, 'index.js'],
  ['Python3.10', PYTHON_SAMPLE, 'index.py'],
])('official SDK, %s', (runtime, sample, sourceFile) => {
  const name = `sdk-${runtime.startsWith('Node') ? 'node' : 'python'}`
  let urn = ''

  test('createFunction with inline source returns the function model', async () => {
    const res = await client.createFunction(
      new fg.CreateFunctionRequest().withBody(
        new fg.CreateFunctionRequestBody()
          .withFuncName(name)
          .withPackage('default')
          .withRuntime(runtime)
          .withHandler('index.handler')
          .withMemorySize(128)
          .withTimeout(30)
          .withUserData(JSON.stringify({ STAGE: 'test' }))
          .withCodeType('inline')
          .withFuncCode(new fg.FuncCode().withFile(b64(sample))),
      ),
    )
    expect(res.httpStatusCode).toBe(200)
    expect(res.func_name).toBe(name)
    expect(res.code_filename).toBe(sourceFile)
    expect(res.runtime).toBe(runtime)
    urn = res.func_urn
    expect(urn).toBe(`urn:fss:local-1:${PROJECT_ID}:function:default:${name}:latest`)
  })

  test('listFunctions and showFunctionConfig see it', async () => {
    const list = await client.listFunctions(new fg.ListFunctionsRequest().withMaxitems('400'))
    expect(list.functions.map((f: { func_name: string }) => f.func_name)).toContain(name)
    const cfg = await client.showFunctionConfig(
      new fg.ShowFunctionConfigRequest().withFunctionUrn(urn),
    )
    expect(cfg).toMatchObject({
      func_name: name,
      runtime,
      memory_size: 128,
      timeout: 30,
      user_data: '{"STAGE":"test"}',
    })
  })

  test('invokeFunction v1 with log tail returns request_id, result string, log and status', async () => {
    const res = await client.invokeFunction(
      new fg.InvokeFunctionRequest()
        .withFunctionUrn(urn)
        .withXCffLogType('tail')
        .withXCFFRequestVersion('v1')
        .withBody({ key: 'value' }),
    )
    expect(res.status).toBe(200)
    expect(res['X-Cff-Request-Id']).toBe(res.request_id)
    expect(JSON.parse(res.result)).toEqual({
      statusCode: 200,
      headers: { 'Content-Type': 'application/json' },
      isBase64Encoded: false,
      // json.dumps puts a space after the colon; JSON.stringify does not.
      body: runtime.startsWith('Python') ? '{"key": "value"}' : '{"key":"value"}',
    })
    expect(res.log).toContain(`Start invoke request '${res.request_id}'`)
  })

  test('invokeFunction v0 returns the raw result', async () => {
    const res = await client.invokeFunction({ function_urn: urn, body: { a: 1 } })
    expect(res.statusCode).toBe(200)
    expect(res.isBase64Encoded).toBe(false)
    expect(JSON.parse(res.body)).toEqual({ a: 1 })
    expect(res['X-Cff-Request-Id']).toMatch(/^[0-9a-f-]{36}$/)
  })

  test('updateFunctionConfig and updateFunctionCode take effect on the next invocation', async () => {
    const cfg = await client.updateFunctionConfig(
      new fg.UpdateFunctionConfigRequest()
        .withFunctionUrn(urn)
        .withBody(
          new fg.UpdateFunctionConfigRequestBody()
            .withFuncName(name)
            .withRuntime(runtime)
            .withHandler('index.handler')
            .withMemorySize(256)
            .withTimeout(15),
        ),
    )
    expect(cfg).toMatchObject({ memory_size: 256, timeout: 15 })
    const newSource = runtime.startsWith('Node')
      ? 'exports.handler = async (event, context) => "v2 " + context.getMemorySize()'
      : 'def handler(event, context):\n    return "v2 " + context.getMemorySize()\n'
    const zip = await zipFiles({ [sourceFile]: newSource })
    const code = await client.updateFunctionCode(
      new fg.UpdateFunctionCodeRequest().withFunctionUrn(urn).withBody(
        new fg.UpdateFunctionCodeRequestBody()
          .withCodeType('zip')
          .withCodeFilename('code.zip')
          .withFuncCode(new fg.FuncCode().withFile(b64(zip))),
      ),
    )
    expect(code.digest).toMatch(/^[0-9a-f]{128}$/)
    const shown = await client.showFunctionCode(
      new fg.ShowFunctionCodeRequest().withFunctionUrn(urn),
    )
    expect(shown.digest).toBe(code.digest)
    expect(Buffer.from(shown.func_code.file, 'base64').equals(zip)).toBe(true)
    const res = await client.invokeFunction(
      new fg.InvokeFunctionRequest().withFunctionUrn(urn).withXCFFRequestVersion('v1').withBody({}),
    )
    expect(res.result).toBe('v2 256')
  })

  test('errors reach the SDK as FunctionGraph codes: duplicate 409 FSS.1061, unknown 404 FSS.1051', async () => {
    const dup = await sdkError(
      client.createFunction(
        new fg.CreateFunctionRequest().withBody(
          new fg.CreateFunctionRequestBody()
            .withFuncName(name)
            .withPackage('default')
            .withRuntime(runtime)
            .withHandler('index.handler')
            .withMemorySize(128)
            .withTimeout(30)
            .withCodeType('inline')
            .withFuncCode(new fg.FuncCode().withFile(b64(sample))),
        ),
      ),
    )
    expect([dup.httpStatusCode, dup.errorCode]).toEqual([409, 'FSS.1061'])
    expect(dup.requestId).toMatch(/^[0-9a-f-]{36}$/)
    const missing = await sdkError(
      client.showFunctionConfig(
        new fg.ShowFunctionConfigRequest().withFunctionUrn(
          urn.replace(`:${name}:`, `:${name}-nope:`),
        ),
      ),
    )
    expect([missing.httpStatusCode, missing.errorCode]).toEqual([404, 'FSS.1051'])
  })

  test('deleteFunction answers 204 and the function is gone', async () => {
    const res = await client.deleteFunction(new fg.DeleteFunctionRequest().withFunctionUrn(urn))
    expect(res.httpStatusCode).toBe(204)
    const gone = await sdkError(
      client.invokeFunction(new fg.InvokeFunctionRequest().withFunctionUrn(urn).withBody({})),
    )
    expect([gone.httpStatusCode, gone.errorCode]).toEqual([404, 'FSS.1051'])
  })
})

test('an SDK client with the wrong secret key is refused with 401', async () => {
  const bad = sdkClient(strato.url, 'wrong-secret')
  const err = await sdkError(bad.listFunctions(new fg.ListFunctionsRequest()))
  expect([err.httpStatusCode, err.errorCode]).toEqual([401, 'FSS.0401'])
})
