/**
 * Encrypted environment variables through the official SDK: delivered to the function, sealed at
 * rest, never returned in plaintext (issue 6, first part).
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { PROJECT_ID, startTestStrato, type TestStrato } from '../helpers/strato.js'
import { fg, sdkClient } from '../helpers/sdk.js'
import { b64 } from '../helpers/code.js'

const SECRET = 'pa55-W0rd-never-seen-7f3c91'
const ROTATED = 'rotated-secret-4b2e88'
const URN = `urn:fss:local-1:${PROJECT_ID}:function:default:vault`
let strato: TestStrato
let client: any
const responses: string[] = []

beforeAll(async () => {
  strato = await startTestStrato()
  client = sdkClient(strato.url)
})
afterAll(async () => {
  await strato.close()
})

/** Every file under the data dir, as bytes. */
function dataDirFiles(dir: string): Array<[string, Buffer]> {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e): Array<[string, Buffer]> => {
    const full = path.join(dir, e.name)
    return e.isDirectory() ? dataDirFiles(full) : e.isFile() ? [[full, fs.readFileSync(full)]] : []
  })
}

const src = `exports.handler = async (e, context) => ({ env: process.env.DB_PASSWORD, viaContext: context.getUserData('DB_PASSWORD'), plain: process.env.MODE })`

test('an encrypted variable reaches the function as env and getUserData; responses only show its name', async () => {
  const created = await client.createFunction(
    new fg.CreateFunctionRequest().withBody(
      new fg.CreateFunctionRequestBody()
        .withFuncName('vault')
        .withPackage('default')
        .withRuntime('Node.js18.15')
        .withHandler('index.handler')
        .withMemorySize(128)
        .withTimeout(30)
        .withUserData('{"MODE":"prod"}')
        .withEncryptedUserData(JSON.stringify({ DB_PASSWORD: SECRET }))
        .withCodeType('inline')
        .withFuncCode(new fg.FuncCode().withFile(b64(src))),
    ),
  )
  responses.push(JSON.stringify(created))
  expect(created.encrypted_user_data).toBe('{"DB_PASSWORD":"******"}')
  const res = await client.invokeFunction(
    new fg.InvokeFunctionRequest()
      .withFunctionUrn(`${URN}:latest`)
      .withXCFFRequestVersion('v1')
      .withBody({}),
  )
  expect(JSON.parse(res.result)).toEqual({ env: SECRET, viaContext: SECRET, plain: 'prod' })
  const shown = await client.showFunctionConfig(
    new fg.ShowFunctionConfigRequest().withFunctionUrn(`${URN}:latest`),
  )
  responses.push(JSON.stringify(shown))
  expect(shown.encrypted_user_data).toBe('{"DB_PASSWORD":"******"}')
})

test('writing the masked config back keeps the secret; a new value replaces it; a published version keeps its own', async () => {
  const shown = await strato.client.showConfig('vault')
  // A read-modify-write that sends the mask back must not turn the secret into '******'.
  responses.push(
    JSON.stringify(await strato.client.updateConfig('vault', { ...shown, memory_size: 256 })),
  )
  const after = await strato.client.invoke('vault', '{}')
  expect(JSON.parse(after.result).env).toBe(SECRET)
  responses.push(
    JSON.stringify(
      await client.createFunctionVersion(
        new fg.CreateFunctionVersionRequest()
          .withFunctionUrn(`${URN}:latest`)
          .withBody(new fg.CreateFunctionVersionRequestBody().withVersion('v1')),
      ),
    ),
  )
  responses.push(
    JSON.stringify(
      await strato.client.updateConfig('vault', {
        ...shown,
        encrypted_user_data: JSON.stringify({ DB_PASSWORD: ROTATED }),
      }),
    ),
  )
  expect(JSON.parse((await strato.client.invoke('vault', '{}')).result).env).toBe(ROTATED)
  expect(
    JSON.parse((await strato.client.invoke(`${PROJECT_ID}:default:vault:v1`, '{}')).result).env,
  ).toBe(SECRET)
  const both = await strato.client
    .updateConfig('vault', { ...shown, user_data: '{"DB_PASSWORD":"x"}' })
    .catch((e: unknown) => e)
  expect((both as { errorCode: string }).errorCode).toBe('FSS.1009')
  // The same clash through user_data alone (no encrypted_user_data in the body).
  const plainOnly = Object.fromEntries(
    Object.entries(shown).filter(([k]) => k !== 'encrypted_user_data'),
  )
  const alone = await strato.client
    .updateConfig('vault', { ...plainOnly, user_data: '{"DB_PASSWORD":"x"}' })
    .catch((e: unknown) => e)
  expect((alone as { errorCode: string }).errorCode).toBe('FSS.1009')
  // A malformed value is refused without quoting it back.
  const malformed = await strato.client
    .updateConfig('vault', { ...shown, encrypted_user_data: `{"DB_PASSWORD": ${SECRET}}` })
    .catch((e: unknown) => e)
  expect((malformed as { errorCode: string }).errorCode).toBe('FSS.1009')
  expect(String((malformed as Error).message)).not.toContain(SECRET)
})

test('the plaintext appears in no API response and nowhere in the data dir', async () => {
  responses.push(JSON.stringify(await strato.client.listFunctions()))
  responses.push(JSON.stringify(await strato.client.logs('vault', { limit: 50 })))
  for (const r of responses) {
    expect(r).not.toContain(SECRET)
    expect(r).not.toContain(ROTATED)
  }
  strato.running.store.logs.flush()
  for (const [file, bytes] of dataDirFiles(strato.dataDir)) {
    expect(bytes.includes(Buffer.from(SECRET)), file).toBe(false)
    expect(bytes.includes(Buffer.from(ROTATED)), file).toBe(false)
  }
})
