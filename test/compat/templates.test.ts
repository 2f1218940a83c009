/**
 * Function and app templates through the official SDK (issue 18): the catalogue's list filters
 * and shapes, a function created from every deployable template and invoked with the template's
 * example, the Go template refused until built, and `strato init` writing a template's files.
 */
import fs from 'node:fs'
import path from 'node:path'
import yauzl from 'yauzl'
import { expect, test } from 'vitest'
import { runCli } from '../../src/cli/index.js'
import { tmpDir } from '../helpers/strato.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import { useStrato } from '../helpers/use-strato.js'

const strato = useStrato()
const sdk = (): any => sdkClient(strato.url)

function zipNames(zip: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true }, (err, file) => {
      if (err !== null) {
        reject(err)
        return
      }
      const names: string[] = []
      file.on('entry', (e: yauzl.Entry) => {
        names.push(e.fileName)
        file.readEntry()
      })
      file.on('end', () => resolve(names.sort()))
      file.readEntry()
    })
  })
}

test('listFunctionTemplate: every built-in template, filtered by runtime, scene and service, paged', async () => {
  const all = await sdk().listFunctionTemplate(new fg.ListFunctionTemplateRequest())
  const names = all.func_templates.map((t: { template_name: string }) => t.template_name)
  expect(names).toEqual(
    expect.arrayContaining([
      'nodejs-hello-world',
      'python-hello-world',
      'java-hello-world',
      'go-hello-world',
      'php-hello-world',
      'custom-hello-world',
      'http-express-style',
      'http-koa-style',
      'http-flask-style',
      'timer-job',
      'apig-api',
      'rabbitmq-consumer',
    ]),
  )
  expect(all.next_marker).toBe(names.length)
  const python = await sdk().listFunctionTemplate(
    new fg.ListFunctionTemplateRequest().withRuntime('Python3.10'),
  )
  expect(python.func_templates.map((t: { template_name: string }) => t.template_name)).toEqual([
    'python-hello-world',
  ])
  const http = await sdk().listFunctionTemplate(
    new fg.ListFunctionTemplateRequest().withScene('http'),
  )
  expect(http.func_templates).toHaveLength(3)
  const rabbit = await sdk().listFunctionTemplate(
    new fg.ListFunctionTemplateRequest().withService('RabbitMQ'),
  )
  expect(rabbit.func_templates[0]).toMatchObject({
    template_name: 'rabbitmq-consumer',
    runtime: 'Node.js20.15',
    trigger_metadata_list: [{ trigger_type: 'RABBITMQ', event_type: 'RABBITMQ' }],
  })
  const page = await sdk().listFunctionTemplate(
    new fg.ListFunctionTemplateRequest().withMarker('2').withMaxitems('3'),
  )
  expect(page.func_templates.map((t: { template_name: string }) => t.template_name)).toEqual(
    names.slice(2, 5),
  )
  expect(page.next_marker).toBe(5)
  const own = await sdk().listFunctionTemplate(
    new fg.ListFunctionTemplateRequest().withIspublic('false'),
  )
  expect(own.func_templates).toEqual([])
})

test('showFunctionTemplate: the template with its code as a base64 zip, by id or name; 404 for none', async () => {
  const byName = await sdk().showFunctionTemplate(
    new fg.ShowFunctionTemplateRequest().withTemplateId('timer-job'),
  )
  const byId = await sdk().showFunctionTemplate(
    new fg.ShowFunctionTemplateRequest().withTemplateId(byName.id),
  )
  expect(byId).toEqual(byName)
  expect(byName).toMatchObject({
    template_name: 'timer-job',
    runtime: 'Node.js20.15',
    handler: 'index.handler',
    code_type: 'zip',
    scene: 'timer',
    service: 'Timer',
    trigger_metadata_list: [{ trigger_name: 'every-minute', trigger_type: 'TIMER' }],
  })
  expect(JSON.parse(byName.trigger_metadata_list[0].event_data)).toMatchObject({
    schedule_type: 'Rate',
  })
  expect(await zipNames(Buffer.from(byName.code, 'base64'))).toEqual(['index.js'])
  const java = await sdk().showFunctionTemplate(
    new fg.ShowFunctionTemplateRequest().withTemplateId('java-hello-world'),
  )
  expect(await zipNames(Buffer.from(java.code, 'base64'))).toEqual([
    'hello/HelloWorld.class',
    'src/hello/HelloWorld.java',
  ])
  const missing = await sdkError(
    sdk().showFunctionTemplate(new fg.ShowFunctionTemplateRequest().withTemplateId('nope')),
  )
  expect([missing.httpStatusCode, missing.errorCode]).toEqual([404, 'FSS.0404'])
})

test('listAppTemplates and showAppTemplate: the app catalogue with params and resources', async () => {
  const list = await sdk().listAppTemplates(new fg.ListAppTemplatesRequest())
  expect(list.count).toBe(list.templates.length)
  expect(list.templates.map((t: { name: string }) => t.name)).toEqual(
    expect.arrayContaining(['api-with-scheduled-job', 'web-app']),
  )
  const web = await sdk().listAppTemplates(new fg.ListAppTemplatesRequest().withRuntime('http'))
  expect(web.templates.map((t: { name: string }) => t.name)).toEqual(['web-app'])
  const id = list.templates.find((t: { name: string }) => t.name === 'api-with-scheduled-job').id
  const shown = await sdk().showAppTemplate(new fg.ShowAppTemplateRequest().withId(id))
  expect(shown).toMatchObject({
    name: 'api-with-scheduled-job',
    category: 'web',
    version: 1,
    resources: [{ resource_name: '${app_name}-api' }, { resource_name: '${app_name}-job' }],
  })
  expect(JSON.parse(shown.params)).toEqual([
    expect.objectContaining({ name: 'app_name', required: true }),
    expect.objectContaining({ name: 'schedule', default: '5m' }),
  ])
  const missing = await sdkError(
    sdk().showAppTemplate(new fg.ShowAppTemplateRequest().withId('nope')),
  )
  expect(missing.httpStatusCode).toBe(404)
})

/** Each deployable template, the event it is invoked with and what its answer must contain. */
const DEPLOYED: Array<[string, string, (result: string) => void]> = [
  ['nodejs-hello-world', '{"name":"Strato"}', (r) => expect(r).toBe('Hello, Strato!')],
  ['python-hello-world', '{"name":"Strato"}', (r) => expect(r).toBe('Hello, Strato!')],
  ['java-hello-world', '{"name":"Strato"}', (r) => expect(r).toContain('Hello, Strato!')],
  ['php-hello-world', '{"name":"Strato"}', (r) => expect(r).toBe('Hello, Strato!')],
  [
    'custom-hello-world',
    '{"name":"Strato"}',
    (r) => expect(r).toContain('You sent: {"name":"Strato"}'),
  ],
  [
    'timer-job',
    '{"trigger_name":"t1","user_event":"tick"}',
    (r) => expect(JSON.parse(r)).toEqual({ ran: true, trigger: 't1', user_event: 'tick' }),
  ],
  [
    'apig-api',
    '{"httpMethod":"GET","path":"/hello","queryStringParameters":{"name":"Strato"}}',
    (r) =>
      expect(JSON.parse(JSON.parse(r).body)).toMatchObject({
        message: 'Hello, Strato!',
        method: 'GET',
      }),
  ],
  [
    'rabbitmq-consumer',
    '{"records":[{"messages":["{\\"id\\":1}","text"],"exchange_name":"orders"}]}',
    (r) => expect(JSON.parse(r)).toEqual({ consumed: 2 }),
  ],
]

test.each(DEPLOYED)(
  'createFunction with template_id %s (Strato extension) deploys the template; its example runs',
  async (template, event, check) => {
    const name = `from-${template}`
    const created = await strato.client.createFunction({ func_name: name, template_id: template })
    const t = await sdk().showFunctionTemplate(
      new fg.ShowFunctionTemplateRequest().withTemplateId(template),
    )
    expect(created).toMatchObject({ runtime: t.runtime, handler: t.handler, timeout: t.timeout })
    const res = await strato.client.invoke(name, event)
    check(res.result)
  },
  60_000,
)

/** An HTTP template's answer to an APIG-style GET: the body decoded from the wrapped response. */
test.each(['http-express-style', 'http-koa-style', 'http-flask-style'])(
  'createFunction from %s through the official SDK: the app answers its routes',
  async (template) => {
    const name = `web-${template}`
    const body = new fg.CreateFunctionRequestBody()
      .withFuncName(name)
      .withPackage('default')
      .withRuntime('http')
      .withHandler('bootstrap')
      .withMemorySize(256)
      .withTimeout(10)
    // The SDK's model has no template field: the extension rides on the body object as it is sent.
    ;(body as Record<string, unknown>).template_id = template
    await sdk().createFunction(new fg.CreateFunctionRequest().withBody(body))
    const res = await strato.client.invoke(
      name,
      JSON.stringify({ httpMethod: 'GET', path: '/hello/strato', headers: {}, body: '' }),
    )
    const wrapped = JSON.parse(res.result) as { statusCode: number; body: string }
    expect(wrapped.statusCode).toBe(200)
    expect(JSON.parse(Buffer.from(wrapped.body, 'base64').toString())).toEqual({ hello: 'strato' })
  },
  60_000,
)

test('the Go template cannot be deployed unbuilt (400, how to build it); an unknown template is 404', async () => {
  const go = await sdkError(
    strato.client.createFunction({ func_name: 'from-go', template_id: 'go-hello-world' }),
  )
  expect(go).toMatchObject({ status: 400, errorCode: 'FSS.0400' })
  expect((go as unknown as { message: string }).message).toContain('strato init go-hello-world')
  const none = await sdkError(
    strato.client.createFunction({ func_name: 'from-none', template_id: 'no-such-template' }),
  )
  expect(none).toMatchObject({ status: 404 })
})

test('strato init writes a template’s files (bootstrap executable), refuses to overwrite, lists without one', async () => {
  const dir = tmpDir('strato-init-')
  try {
    const target = path.join(dir, 'web')
    expect(await runCli(['init', 'http-flask-style', target])).toBe(0)
    expect(fs.readdirSync(target).sort()).toEqual(['app.py', 'bootstrap', 'mini_flask.py'])
    expect(fs.statSync(path.join(target, 'bootstrap')).mode & 0o111).not.toBe(0)
    expect(await runCli(['init', 'http-flask-style', target])).toBe(2)
    expect(await runCli(['init', 'http-flask-style', target, '--force'])).toBe(0)
    expect(await runCli(['init', 'java-hello-world', path.join(dir, 'java')])).toBe(0)
    const cls = fs.readFileSync(path.join(dir, 'java/hello/HelloWorld.class'))
    expect(cls.subarray(0, 4).toString('hex')).toBe('cafebabe')
    expect(await runCli(['init', 'no-such-template', path.join(dir, 'x')])).toBe(2)
    expect(await runCli(['init'])).toBe(0)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
