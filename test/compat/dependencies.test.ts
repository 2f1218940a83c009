/**
 * Dependency packages through the official SDK: a Node.js function requires, and a Python function
 * imports, a library that only an attached dependency provides (issue 6, first part).
 */
import { beforeAll, expect, test } from 'vitest'
import { PROJECT_ID } from '../helpers/strato.js'
import { useStrato } from '../helpers/use-strato.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import { b64, inlineFunction, zipFiles } from '../helpers/code.js'

const strato = useStrato()
let client: any

beforeAll(() => {
  client = sdkClient(strato.url)
})

const upload = async (name: string, runtime: string, files: Record<string, string>) =>
  client.createDependencyVersion(
    new fg.CreateDependencyVersionRequest().withBody(
      new fg.CreateDependencyRequestBody()
        .withName(name)
        .withRuntime(runtime)
        .withDependType('zip')
        .withDescription(`${name} for tests`)
        .withDependFile(b64(await zipFiles(files))),
    ),
  )

test('Node.js: a function requires a module only its attached dependency provides; versions count up', async () => {
  const v1 = await upload('shouty', 'Node.js18.15', {
    'node_modules/shouty/index.js': 'module.exports = (s) => s.toUpperCase() + "!"',
  })
  expect(v1).toMatchObject({
    name: 'shouty',
    runtime: 'Node.js18.15',
    version: 1,
    owner: PROJECT_ID,
  })
  expect(v1.etag).toMatch(/^[0-9a-f]{32}$/)
  const v2 = await upload('shouty', 'Node.js18.15', {
    'nodejs/node_modules/shouty/index.js': 'module.exports = (s) => s.toUpperCase() + "!!"',
  })
  expect(v2).toMatchObject({ version: 2, dep_id: v1.dep_id })
  const src = 'const shout = require("shouty"); exports.handler = async (e) => shout(e.word)'
  // Without the dependency the module is not there.
  await strato.client.createFunction(inlineFunction('needs-dep', src))
  const missing = await strato.client.invoke('needs-dep', '{"word":"hi"}')
  expect(JSON.parse(missing.result).errorMessage).toContain("Cannot find module 'shouty'")
  await strato.client.updateConfig('needs-dep', {
    func_name: 'needs-dep',
    runtime: 'Node.js18.15',
    handler: 'index.handler',
    memory_size: 128,
    timeout: 30,
    depend_version_list: [v1.id],
  })
  expect((await strato.client.invoke('needs-dep', '{"word":"hi"}')).result).toBe('HI!')
  const cfg = await strato.client.showConfig('needs-dep')
  expect(cfg.depend_version_list).toEqual([v1.id])
  // Moving to version 2 (laid out as nodejs/node_modules) through an update of the code.
  await strato.client.updateCode('needs-dep', {
    code_type: 'inline',
    func_code: { file: b64(src) },
    depend_version_list: [v2.id],
  })
  expect((await strato.client.invoke('needs-dep', '{"word":"hi"}')).result).toBe('HI!!')
  const versions = await client.listDependencyVersion(
    new fg.ListDependencyVersionRequest().withDependId(v1.dep_id),
  )
  expect(versions.dependencies.map((d: { version: number }) => d.version)).toEqual([1, 2])
  const listed = await client.listDependencies(new fg.ListDependenciesRequest())
  expect(
    listed.dependencies.map((d: { name: string; version: number }) => [d.name, d.version]),
  ).toEqual([['shouty', 2]])
  // In use: refused with 412 FSS.1033; unused: deleted.
  const inUse = await sdkError(
    client.deleteDependencyVersion(
      new fg.DeleteDependencyVersionRequest().withDependId(v1.dep_id).withVersion(2),
    ),
  )
  expect([inUse.httpStatusCode, inUse.errorCode]).toEqual([412, 'FSS.1033'])
  const deleted = await client.deleteDependencyVersion(
    new fg.DeleteDependencyVersionRequest().withDependId(v1.dep_id).withVersion(1),
  )
  expect(deleted.httpStatusCode).toBe(204)
  const gone = await sdkError(
    client.showDependencyVersion(
      new fg.ShowDependencyVersionRequest().withDependId(v1.dep_id).withVersion(1),
    ),
  )
  expect([gone.httpStatusCode, gone.errorCode]).toEqual([404, 'FSS.1056'])
})

test('Python: a function imports a module only its attached dependency provides', async () => {
  const dep = await upload('greetlib', 'Python3.10', {
    'python/greetlib.py': 'def greet(n):\n    return "hello " + n\n',
  })
  await strato.client.createFunction(
    inlineFunction(
      'py-needs-dep',
      'import greetlib\n\ndef handler(event, context):\n    return greetlib.greet(event["name"])\n',
      {
        runtime: 'Python3.10',
        depend_version_list: [dep.id],
      },
    ),
  )
  expect((await strato.client.invoke('py-needs-dep', '{"name":"dep"}')).result).toBe('hello dep')
})

test('unknown dependency ids are 404 FSS.1056; a dependency for another language is refused', async () => {
  const unknown = await strato.client
    .createFunction(
      inlineFunction('bad-dep', 'exports.handler = async () => 1', {
        depend_version_list: ['nope'],
      }),
    )
    .catch((e: unknown) => e)
  expect((unknown as { errorCode: string }).errorCode).toBe('FSS.1056')
  const py = await upload('pyonly', 'Python3.10', { 'python/x.py': 'X = 1\n' })
  const wrong = await strato.client
    .createFunction(
      inlineFunction('wrong-dep', 'exports.handler = async () => 1', {
        depend_version_list: [py.id],
      }),
    )
    .catch((e: unknown) => e)
  expect((wrong as { status: number }).status).toBe(400)
  const zipSlip = await sdkError(
    client.createDependencyVersion(
      new fg.CreateDependencyVersionRequest().withBody(
        new fg.CreateDependencyRequestBody()
          .withName('evil')
          .withRuntime('Node.js18.15')
          .withDependType('zip')
          .withDependFile(b64('not a zip')),
      ),
    ),
  )
  expect([zipSlip.httpStatusCode, zipSlip.errorCode]).toEqual([400, 'FSS.1011'])
})
