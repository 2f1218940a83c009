/**
 * Function applications through the official SDK (issue 18): functions and their triggers created
 * together from an app template, listed, shown, kept across a restart, deleted together; a create
 * that fails half-way leaves nothing behind.
 */
import fs from 'node:fs'
import { expect, test } from 'vitest'
import { startTestStrato, tmpDir } from '../helpers/strato.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import { inlineFunction } from '../helpers/code.js'

function appBody(name: string, params: Record<string, string>): unknown {
  return new fg.CreateFunctionAppRequestBody()
    .withName(name)
    .withTemplateId('api-with-scheduled-job')
    .withDescription(`app ${name}`)
    .withParams(params)
}

test('createFunctionApp makes the template’s functions and triggers; list, show, a restart, delete takes them all', async () => {
  const dataDir = tmpDir('strato-apps-')
  let strato = await startTestStrato({}, dataDir)
  try {
    let sdk = sdkClient(strato.url)
    const created = await sdk.createFunctionApp(
      new fg.CreateFunctionAppRequest().withBody(appBody('shop', { app_name: 'shop' })),
    )
    expect(created.application_id).toMatch(/^[0-9a-f-]{36}$/)
    const id: string = created.application_id
    // Its functions are there, with the template's code and the filled-in triggers.
    const api = await strato.client.showConfig('shop-api')
    expect(api).toMatchObject({ runtime: 'Node.js20.15', description: 'The API of shop.' })
    const jobTriggers = (await strato.client.listTriggers('shop-job')) as Array<{
      trigger_type_code: string
      event_data: { schedule: string; user_event: string }
    }>
    expect(jobTriggers).toHaveLength(1)
    expect(jobTriggers[0]).toMatchObject({
      trigger_type_code: 'TIMER',
      event_data: { schedule: '5m', user_event: 'shop' },
    })
    const shown = await sdk.showFunctionApp(new fg.ShowFunctionAppRequest().withId(id))
    expect(shown).toMatchObject({
      name: 'shop',
      status: 'success',
      stack_id: id,
      description: 'app shop',
    })
    expect(
      (
        shown.stack_resources as Array<{ logical_resource_name: string; resource_status: string }>
      ).map((r) => [r.logical_resource_name, r.resource_status]),
    ).toEqual([
      ['shop-api', 'CREATE_COMPLETE'],
      ['shop-job', 'CREATE_COMPLETE'],
    ])
    // The APIG trigger answers at the app's URL, served by the template's function.
    expect(shown.apig_url).toMatch(/\/shop$/)
    const res = await fetch(`${shown.apig_url}?name=buyer`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ message: 'Hello, buyer!', path: '/shop' })
    const template = await sdk.showAppTemplate(
      new fg.ShowAppTemplateRequest().withId('api-with-scheduled-job'),
    )
    expect(template.deploy_count).toBe(1)

    // Durable: the application survives a restart.
    await strato.close()
    strato = await startTestStrato({}, dataDir)
    sdk = sdkClient(strato.url)
    const list = await sdk.listFunctionApplications(new fg.ListFunctionApplicationsRequest())
    expect(list.count).toBe(1)
    expect(list.applications[0]).toMatchObject({ id, name: 'shop', status: 'success' })

    const again = await sdkError(
      sdk.createFunctionApp(
        new fg.CreateFunctionAppRequest().withBody(appBody('shop', { app_name: 'shop2' })),
      ),
    )
    expect([again.httpStatusCode, again.errorCode]).toEqual([409, 'FSS.0409'])

    await sdk.deleteFunctionApp(new fg.DeleteFunctionAppRequest().withId(id))
    const fns = (await strato.client.listFunctions()) as { functions: Array<{ func_name: string }> }
    expect(fns.functions.map((f) => f.func_name)).not.toContain('shop-api')
    expect(fns.functions.map((f) => f.func_name)).not.toContain('shop-job')
    // The route went with its function (the restarted gateway listens elsewhere: ask it).
    const route = new URL(shown.apig_url as string).pathname
    expect((await fetch(`${strato.running.gatewayUrl}${route}`)).status).toBe(404)
    const gone = await sdkError(sdk.showFunctionApp(new fg.ShowFunctionAppRequest().withId(id)))
    expect([gone.httpStatusCode, gone.errorCode]).toEqual([404, 'FSS.0404'])
    const none = await sdk.listFunctionApplications(new fg.ListFunctionApplicationsRequest())
    expect(none.count).toBe(0)
  } finally {
    await strato.close()
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
})

test('a create that fails half-way takes back the functions it made; bad params are refused first', async () => {
  const strato = await startTestStrato()
  try {
    const sdk = sdkClient(strato.url)
    // roll-job exists already: the app makes roll-api, then fails on roll-job.
    await strato.client.createFunction(
      inlineFunction('roll-job', 'exports.handler = async () => 1'),
    )
    const failed = await sdkError(
      sdk.createFunctionApp(
        new fg.CreateFunctionAppRequest().withBody(appBody('roll', { app_name: 'roll' })),
      ),
    )
    expect([failed.httpStatusCode, failed.errorCode]).toEqual([409, 'FSS.1061'])
    const fns = (await strato.client.listFunctions()) as { functions: Array<{ func_name: string }> }
    expect(fns.functions.map((f) => f.func_name)).toEqual(['roll-job'])
    expect(
      (await sdk.listFunctionApplications(new fg.ListFunctionApplicationsRequest())).count,
    ).toBe(0)

    const missing = await sdkError(
      sdk.createFunctionApp(new fg.CreateFunctionAppRequest().withBody(appBody('p', {}))),
    )
    expect(missing.httpStatusCode).toBe(400)
    expect(missing.errorMsg).toContain('params.app_name is required')
    const bad = await sdkError(
      sdk.createFunctionApp(
        new fg.CreateFunctionAppRequest().withBody(
          appBody('p', { app_name: 'ok', schedule: 'every day' }),
        ),
      ),
    )
    expect(bad.errorMsg).toContain('params.schedule')
    const unknown = await sdkError(
      sdk.createFunctionApp(
        new fg.CreateFunctionAppRequest().withBody(
          new fg.CreateFunctionAppRequestBody().withName('x').withTemplateId('nope'),
        ),
      ),
    )
    expect(unknown.httpStatusCode).toBe(404)
    const noApp = await sdkError(
      sdk.deleteFunctionApp(new fg.DeleteFunctionAppRequest().withId('nope')),
    )
    expect(noApp.httpStatusCode).toBe(404)
  } finally {
    await strato.close()
  }
})
