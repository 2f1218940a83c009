/**
 * Versions and aliases through the official SDK: publish immutable snapshots, route an alias's
 * traffic by weight, roll back by moving the alias (issue 6, first part).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { PROJECT_ID, startTestStrato, type TestStrato } from '../helpers/strato.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import { b64, inlineFunction } from '../helpers/code.js'

let strato: TestStrato
let client: any
const NAME = 'releases'
const URN = `urn:fss:local-1:${PROJECT_ID}:function:default:${NAME}`
const source = (label: string) =>
  `exports.handler = async (e, context) => ({ label: '${label}', version: context.getVersion(), alias: context.getAlias(), stage: process.env.STAGE })`

beforeAll(async () => {
  strato = await startTestStrato()
  client = sdkClient(strato.url)
  await strato.client.createFunction(
    inlineFunction(NAME, source('one'), { user_data: '{"STAGE":"first"}' }),
  )
})
afterAll(async () => {
  await strato.close()
})

const publish = (version: string, digest?: string) =>
  client.createFunctionVersion(
    new fg.CreateFunctionVersionRequest()
      .withFunctionUrn(`${URN}:latest`)
      .withBody(
        new fg.CreateFunctionVersionRequestBody()
          .withVersion(version)
          .withDescription(`release ${version}`)
          .withDigest(digest),
      ),
  )
const invoke = async (qualifier: string) => {
  const res = await client.invokeFunction(
    new fg.InvokeFunctionRequest()
      .withFunctionUrn(`${URN}:${qualifier}`)
      .withXCFFRequestVersion('v1')
      .withBody({}),
  )
  return JSON.parse(res.result) as { label: string; version: string; alias: string; stage: string }
}
const setCode = (label: string) =>
  strato.client.updateCode(NAME, { code_type: 'inline', func_code: { file: b64(source(label)) } })

describe('versions', () => {
  test('publish snapshots latest; nothing changed is FSS.1016; a name twice is FSS.1062; a stale digest is refused', async () => {
    const latest = await strato.client.showConfig(NAME)
    const v1 = await publish('v1', String(latest.digest))
    expect(v1).toMatchObject({
      version: 'v1',
      version_description: 'release v1',
      func_urn: `${URN}:v1`,
      digest: latest.digest,
    })
    const same = await sdkError(publish('v1b'))
    expect([same.httpStatusCode, same.errorCode]).toEqual([400, 'FSS.1016'])
    await setCode('two')
    const dup = await sdkError(publish('v1'))
    expect([dup.httpStatusCode, dup.errorCode]).toEqual([409, 'FSS.1062'])
    const stale = await sdkError(publish('v2', String(latest.digest)))
    expect(stale.httpStatusCode).toBe(400)
    const v2 = await publish('v2')
    expect(v2.version).toBe('v2')
  })

  test('listFunctionVersions lists latest and the published versions', async () => {
    const res = await client.listFunctionVersions(
      new fg.ListFunctionVersionsRequest().withFunctionUrn(`${URN}:latest`),
    )
    expect(res.versions.map((v: { version: string }) => v.version)).toEqual(['latest', 'v1', 'v2'])
    expect(res.count).toBe(3)
  })

  test('a published version keeps running its snapshot after latest code and variables change', async () => {
    await strato.client.updateConfig(NAME, {
      func_name: NAME,
      runtime: 'Node.js18.15',
      handler: 'index.handler',
      memory_size: 128,
      timeout: 30,
      user_data: '{"STAGE":"changed"}',
    })
    await setCode('three')
    expect(await invoke('v1')).toMatchObject({ label: 'one', version: 'v1', stage: 'first' })
    expect(await invoke('v2')).toMatchObject({ label: 'two', version: 'v2', stage: 'first' })
    expect(await invoke('latest')).toMatchObject({
      label: 'three',
      version: 'latest',
      stage: 'changed',
    })
    const cfg = await strato.client.showConfig(`${PROJECT_ID}:default:${NAME}:v1`)
    expect(cfg).toMatchObject({ version: 'v1', user_data: '{"STAGE":"first"}' })
    const unknown = await sdkError(invoke('v9'))
    expect([unknown.httpStatusCode, unknown.errorCode]).toEqual([404, 'FSS.1052'])
    const immutable = await strato.client
      .updateConfig(`${PROJECT_ID}:default:${NAME}:v1`, { func_name: NAME })
      .catch((e: unknown) => e)
    expect((immutable as { errorCode: string }).errorCode).toBe('FSS.1015')
  })

  test('the version that served is named in the invocation log', async () => {
    const res = await strato.client.invoke(`${PROJECT_ID}:default:${NAME}:v2`, '{}', { tail: true })
    expect(res.log).toContain('version: v2')
  })
})

describe('aliases', () => {
  test('create, show, list and update an alias; errors are FSS.1063, FSS.1066, FSS.1091, FSS.1092, FSS.1093', async () => {
    const created = await client.createVersionAlias(
      new fg.CreateVersionAliasRequest()
        .withFunctionUrn(`${URN}:latest`)
        .withBody(
          new fg.CreateVersionAliasRequestBody()
            .withName('prod')
            .withVersion('v1')
            .withDescription('production'),
        ),
    )
    expect(created).toMatchObject({
      name: 'prod',
      version: 'v1',
      alias_urn: `${URN}:!prod`,
      additional_version_weights: {},
    })
    const shown = await client.showVersionAlias(
      new fg.ShowVersionAliasRequest().withFunctionUrn(`${URN}:latest`).withAliasName('prod'),
    )
    expect(shown.description).toBe('production')
    const list = await client.listVersionAliases(
      new fg.ListVersionAliasesRequest().withFunctionUrn(`${URN}:latest`),
    )
    expect(Array.isArray(list) ? list.map((a: { name: string }) => a.name) : list).toEqual(['prod'])
    const aliasBody = (name: string, version: string, weights?: Record<string, number>) =>
      new fg.CreateVersionAliasRequest()
        .withFunctionUrn(`${URN}:latest`)
        .withBody(
          new fg.CreateVersionAliasRequestBody()
            .withName(name)
            .withVersion(version)
            .withAdditionalVersionWeights(weights),
        )
    expect((await sdkError(client.createVersionAlias(aliasBody('prod', 'v2')))).errorCode).toBe(
      'FSS.1063',
    )
    expect((await sdkError(client.createVersionAlias(aliasBody('other', 'v1')))).errorCode).toBe(
      'FSS.1066',
    )
    expect(
      (await sdkError(client.createVersionAlias(aliasBody('canary', 'v2', { v9: 10 })))).errorCode,
    ).toBe('FSS.1091')
    expect(
      (await sdkError(client.createVersionAlias(aliasBody('canary', 'v2', { v1: 101 })))).errorCode,
    ).toBe('FSS.1092')
    expect(
      (await sdkError(client.createVersionAlias(aliasBody('canary', 'v2', { v2: 10 })))).errorCode,
    ).toBe('FSS.1093')
    expect(await invoke('!prod')).toMatchObject({ label: 'one', version: 'v1', alias: 'prod' })
    const missing = await sdkError(invoke('!nope'))
    expect([missing.httpStatusCode, missing.errorCode]).toEqual([404, 'FSS.1053'])
  })

  test('an alias at 20% to a second version routes 200 ± 50 of 1,000 invocations to it', async () => {
    await client.updateVersionAlias(
      new fg.UpdateVersionAliasRequest()
        .withFunctionUrn(`${URN}:latest`)
        .withAliasName('prod')
        .withBody(
          new fg.UpdateVersionAliasRequestBody()
            .withVersion('v1')
            .withAdditionalVersionWeights({ v2: 20 }),
        ),
    )
    const counts = { v1: 0, v2: 0 }
    const errors: string[] = []
    for (let i = 0; i < 1000; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: 10 }, () =>
          strato.client.invoke(`${PROJECT_ID}:default:${NAME}:!prod`, '{}'),
        ),
      )
      for (const r of batch) {
        if (r.isFunctionError) {
          errors.push(r.result)
        } else {
          counts[(JSON.parse(r.result) as { version: 'v1' | 'v2' }).version]++
        }
      }
    }
    expect(errors).toEqual([])
    expect(counts.v1 + counts.v2).toBe(1000)
    expect(counts.v2).toBeGreaterThanOrEqual(150)
    expect(counts.v2).toBeLessThanOrEqual(250)
  })

  test('moving the alias rolls back instantly, with no failed request during the switch under load', async () => {
    const urn = `${PROJECT_ID}:default:${NAME}:!prod`
    let stop = false
    // Each answer with the moment its request was sent: what counts is what a request sent
    // after a move ran, however long it took to answer.
    const seen: Array<{ sentAt: number; version: string }> = []
    let failures = 0
    const load = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!stop) {
          const sentAt = Date.now()
          const r = await strato.client.invoke(urn, '{}').catch(() => undefined)
          if (r === undefined || r.isFunctionError) {
            failures++
          } else {
            seen.push({ sentAt, version: (JSON.parse(r.result) as { version: string }).version })
          }
        }
      }),
    )
    await new Promise((r) => setTimeout(r, 300))
    await strato.client.raw(
      'PUT',
      `/v2/${PROJECT_ID}/fgs/functions/${NAME}/aliases/prod`,
      JSON.stringify({ version: 'v2', additional_version_weights: {} }),
    )
    const switched = Date.now()
    await new Promise((r) => setTimeout(r, 300))
    await strato.client.raw(
      'PUT',
      `/v2/${PROJECT_ID}/fgs/functions/${NAME}/aliases/prod`,
      JSON.stringify({ version: 'v1', additional_version_weights: {} }),
    )
    const rolledBack = Date.now()
    await new Promise((r) => setTimeout(r, 300))
    stop = true
    await load
    expect(failures).toBe(0)
    // After each move, every invocation sent later ran the new target.
    const between = seen.filter((s) => s.sentAt > switched && s.sentAt < rolledBack - 50)
    const after = seen.filter((s) => s.sentAt > rolledBack)
    expect(between.map((s) => s.version).filter((v) => v !== 'v2')).toEqual([])
    expect(after.map((s) => s.version).filter((v) => v !== 'v1')).toEqual([])
    expect(between.length).toBeGreaterThan(5)
    expect(after.length).toBeGreaterThan(5)
  })

  test("rule-based routing: a header or a cookie sends an invocation to the rule's version", async () => {
    await client.updateVersionAlias(
      new fg.UpdateVersionAliasRequest()
        .withFunctionUrn(`${URN}:latest`)
        .withAliasName('prod')
        .withBody(
          new fg.UpdateVersionAliasRequestBody().withVersion('v1').withAdditionalVersionStrategy({
            v2: {
              combine_type: 'or',
              rules: [
                { rule_type: 'header', param: 'x-canary', op: '=', value: 'yes' },
                { rule_type: 'cookie', param: 'beta', op: 'in', value: 'a,b' },
              ],
            },
          }),
        ),
    )
    const path = `/v2/${PROJECT_ID}/fgs/functions/${PROJECT_ID}:default:${NAME}:!prod/invocations`
    const versionOf = async (headers: Record<string, string>) =>
      (
        JSON.parse((await strato.client.raw('POST', path, '{}', headers)).body.toString()) as {
          version: string
        }
      ).version
    expect(await versionOf({ 'x-canary': 'yes' })).toBe('v2')
    expect(await versionOf({ cookie: 'session=1; beta=b' })).toBe('v2')
    expect(await versionOf({ 'x-canary': 'no', cookie: 'beta=c' })).toBe('v1')
    expect(await versionOf({})).toBe('v1')
    const summary = (
      await strato.client.raw('POST', path, '{}', { 'x-canary': 'yes' })
    ).headers.get('x-cff-invoke-summary')
    expect(JSON.parse(summary ?? '{}')).toMatchObject({ version: 'v2' })
    // Reading the alias's function (not invoking it) always shows the alias's own version.
    for (let i = 0; i < 5; i++) {
      expect((await strato.client.showConfig(`${PROJECT_ID}:default:${NAME}:!prod`)).version).toBe(
        'v1',
      )
    }
    const bad = await strato.client.raw(
      'PUT',
      `/v2/${PROJECT_ID}/fgs/functions/${NAME}/aliases/prod`,
      JSON.stringify({
        version: 'v1',
        additional_version_strategy: {
          v2: { rules: [{ rule_type: 'query', param: 'x', value: 'y' }] },
        },
      }),
    )
    expect([bad.status, JSON.parse(bad.body.toString()).error_code]).toEqual([400, 'FSS.0400'])
  })

  test('a version an alias routes to cannot be deleted (FSS.1094); once unbound it can, and the alias can go', async () => {
    const refused = await sdkError(
      client.deleteFunction(new fg.DeleteFunctionRequest().withFunctionUrn(`${URN}:v1`)),
    )
    expect([refused.httpStatusCode, refused.errorCode]).toEqual([403, 'FSS.1094'])
    await client.deleteVersionAlias(
      new fg.DeleteVersionAliasRequest().withFunctionUrn(`${URN}:latest`).withAliasName('prod'),
    )
    const deleted = await client.deleteFunction(
      new fg.DeleteFunctionRequest().withFunctionUrn(`${URN}:v1`),
    )
    expect(deleted.httpStatusCode).toBe(204)
    const gone = await sdkError(invoke('v1'))
    expect(gone.errorCode).toBe('FSS.1052')
    expect(await invoke('v2')).toMatchObject({ label: 'two' })
  })

  test('deleting the function removes its versions and aliases', async () => {
    await strato.client.raw(
      'POST',
      `/v2/${PROJECT_ID}/fgs/functions/${NAME}/aliases`,
      JSON.stringify({ name: 'last', version: 'v2' }),
    )
    await client.deleteFunction(new fg.DeleteFunctionRequest().withFunctionUrn(`${URN}:latest`))
    await strato.client.createFunction(inlineFunction(NAME, source('reborn')))
    const res = await client.listFunctionVersions(
      new fg.ListFunctionVersionsRequest().withFunctionUrn(`${URN}:latest`),
    )
    expect(res.versions.map((v: { version: string }) => v.version)).toEqual(['latest'])
    expect((await sdkError(invoke('!last'))).errorCode).toBe('FSS.1053')
  })
})
