import yauzl from 'yauzl'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { StratoClient } from '../../src/client/index.js'
import { PROJECT_ID, startTestStrato } from '../helpers/strato.js'
import { useStrato } from '../helpers/use-strato.js'
import { apiError } from '../helpers/sdk.js'
import { b64, inlineFunction, pythonZip, zipFiles } from '../helpers/code.js'

const HELLO = "exports.handler = async (event) => ({ hello: event.name ?? 'world' })"

const strato = useStrato()
const { client } = strato

function listZip(buf: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) {
        reject(err ?? new Error('no zip'))
        return
      }
      const names: string[] = []
      zip.on('entry', (e: yauzl.Entry) => {
        names.push(e.fileName)
        zip.readEntry()
      })
      zip.on('end', () => resolve(names))
      zip.readEntry()
    })
  })
}

describe('create function', () => {
  test('create: returns the FunctionGraph function model with an 8-field URN and a SHA-512 digest', async () => {
    const fn = await client.createFunction(
      inlineFunction('model-check', HELLO, { user_data: '{"A":"1"}' }),
    )
    expect(fn.func_urn).toBe(`urn:fss:local-1:${PROJECT_ID}:function:default:model-check:latest`)
    expect(fn).toMatchObject({
      func_name: 'model-check',
      package: 'default',
      runtime: 'Node.js18.15',
      handler: 'index.handler',
      memory_size: 128,
      timeout: 30,
      cpu: 300,
      code_type: 'inline',
      code_filename: 'index.js',
      version: 'latest',
      namespace: PROJECT_ID,
      user_data: '{"A":"1"}',
      strategy_config: { concurrency: 400, concurrent_num: 1 },
    })
    expect(fn.digest).toMatch(/^[0-9a-f]{128}$/)
    expect(fn.last_modified).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)
    expect(fn.func_id).toMatch(/^[0-9a-f-]{36}$/)
  })

  test('create: a duplicate is 409 FSS.1061', async () => {
    await client.createFunction(inlineFunction('dup', HELLO))
    const err = await apiError(client.createFunction(inlineFunction('dup', HELLO)))
    expect([err.status, err.errorCode]).toEqual([409, 'FSS.1061'])
  })

  test('create: a zip package keeps its layout and a nested handler path works', async () => {
    const zip = await zipFiles({
      'src/app.js': 'exports.main = async () => "nested"',
      'README.txt': 'x',
    })
    const fn = await client.createFunction({
      ...inlineFunction('nested', ''),
      handler: 'src/app.main',
      code_type: 'zip',
      code_filename: 'app.zip',
      func_code: { file: b64(zip) },
    })
    expect(fn.code_filename).toBe('app.zip')
    const code = await client.showCode('nested')
    expect(code.digest).toBe(fn.digest)
    const file = Buffer.from((code.func_code as { file: string }).file, 'base64')
    expect(file.equals(zip)).toBe(true)
    expect(await listZip(file)).toEqual(['src/app.js', 'README.txt'])
  })

  test.each([
    ['func_name', { func_name: '9starts-with-digit' }, 'FSS.1002'],
    ['func_name', { func_name: 'x'.repeat(61) }, 'FSS.1002'],
    ['package', { package: 'has:colon' }, 'FSS.1004'],
    ['runtime', { runtime: 'Node.js99' }, 'FSS.1005'],
    ['runtime not run here', { runtime: 'C#(.NET Core 6.0)' }, 'FSS.1005'],
    ['memory_size', { memory_size: 100 }, 'FSS.1007'],
    ['timeout low', { timeout: 2 }, 'FSS.1008'],
    ['timeout high', { timeout: 259201 }, 'FSS.1008'],
    ['handler', { handler: 'noperiod' }, 'FSS.1003'],
    ['handler traversal', { handler: '../x.handler' }, 'FSS.1003'],
    ['code_type', { code_type: 'tarball' }, 'FSS.1006'],
    ['code_type jar for node', { code_type: 'jar' }, 'FSS.1006'],
    ['missing code', { func_code: undefined }, 'FSS.1012'],
    ['user_data not JSON', { user_data: '{oops' }, 'FSS.1009'],
    ['user_data non-string value', { user_data: '{"a":1}' }, 'FSS.1009'],
    [
      'user_data 21 keys',
      {
        user_data: JSON.stringify(
          Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`K${i}`, 'v'])),
        ),
      },
      'FSS.1017',
    ],
    [
      'user_data over 4096 chars',
      { user_data: JSON.stringify({ BIG: 'x'.repeat(4100) }) },
      'FSS.1018',
    ],
    ['description', { description: 'd'.repeat(513) }, 'FSS.1019'],
    ['initializer', { initializer_handler: 'bad' }, 'FSS.1404'],
    [
      'initializer_timeout',
      { initializer_handler: 'index.init', initializer_timeout: 301 },
      'FSS.1405',
    ],
    ['strategy_config', { strategy_config: { concurrency: 1001 } }, 'FSS.0400'],
  ])('create: invalid %s is 400 %s', async (_field, override, code) => {
    const body = {
      ...inlineFunction(`bad-${Math.random().toString(36).slice(2, 8)}`, HELLO),
      ...override,
    }
    const err = await apiError(client.createFunction(body))
    expect([err.status, err.errorCode]).toEqual([400, code])
  })

  test('create: non-JSON and prototype-poisoned bodies are 400 FSS.0400', async () => {
    const base = `/v2/${PROJECT_ID}/fgs/functions`
    const garbage = await client.raw('POST', base, '{"func_name": ')
    expect(garbage.status).toBe(400)
    expect(JSON.parse(garbage.body.toString()).error_code).toBe('FSS.0400')
    const poisoned = await client.raw('POST', base, '{"__proto__": {"polluted": true}}')
    expect(poisoned.status).toBe(400)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe('code packages are checked before anything is stored', () => {
  const create = (name: string, zip: Buffer) =>
    client.createFunction({
      ...inlineFunction(name, ''),
      code_type: 'zip',
      func_code: { file: b64(zip) },
    })

  test('zip-slip: an entry with ../ is 400 FSS.1011 and nothing escapes the code dir', async () => {
    const err = await apiError(
      create(
        'slip',
        pythonZip([
          ['index.js', HELLO],
          ['../../escape.txt', 'pwned'],
        ]),
      ),
    )
    expect([err.status, err.errorCode]).toEqual([400, 'FSS.1011'])
    const codeRoot = path.join(strato.dataDir, 'code')
    expect(fs.existsSync(path.join(codeRoot, 'escape.txt'))).toBe(false)
    expect(fs.existsSync(path.join(strato.dataDir, 'escape.txt'))).toBe(false)
    expect(fs.readdirSync(path.join(codeRoot, 'tmp'))).toEqual([])
  })

  test('an absolute path, a backslash path and a symlink entry are each 400 FSS.1011', async () => {
    for (const entries of [
      [
        ['index.js', HELLO],
        ['/abs/x.js', 'x'],
      ],
      [
        ['index.js', HELLO],
        ['win\\..\\..\\x.js', 'x'],
      ],
      [
        ['index.js', HELLO],
        ['link', '/etc/passwd', 0o120777],
      ],
    ] as Array<Array<[string, string, number?]>>) {
      const err = await apiError(
        create(`evil-${Math.random().toString(36).slice(2, 8)}`, pythonZip(entries)),
      )
      expect([err.status, err.errorCode]).toEqual([400, 'FSS.1011'])
    }
  })

  test('a corrupt zip, an empty zip and a zip without the handler file are 400 FSS.1011 with a precise message', async () => {
    const good = await zipFiles({ 'index.js': HELLO })
    const corrupt = await apiError(create('corrupt', good.subarray(0, good.length - 30)))
    expect(corrupt.errorCode).toBe('FSS.1011')
    const empty = await apiError(create('empty', pythonZip([])))
    expect(empty.errorCode).toBe('FSS.1011')
    const noHandler = await apiError(create('nohandler', await zipFiles({ 'main.js': HELLO })))
    expect(noHandler.errorCode).toBe('FSS.1011')
    expect(noHandler.message).toContain("'index.js'")
  })

  test('inline source over 10 KB is 413 FSS.1072', async () => {
    const err = await apiError(
      client.createFunction(inlineFunction('big-inline', `// ${'x'.repeat(11 * 1024)}\n${HELLO}`)),
    )
    expect([err.status, err.errorCode]).toEqual([413, 'FSS.1072'])
  })

  test('a zip that unzips past the limit is 413 FSS.1071', async () => {
    // The cap is a setting, so a small one shows the check without writing 1.5 GB.
    const small = await startTestStrato({ STRATO_CODE_UNZIPPED_MAX_BYTES: String(1024 * 1024) })
    try {
      const bomb = await zipFiles({ 'index.js': HELLO, 'zeros.bin': Buffer.alloc(4 * 1024 * 1024) })
      expect(bomb.length).toBeLessThan(64 * 1024)
      const err = await apiError(
        small.client.createFunction({
          ...inlineFunction('bomb', ''),
          code_type: 'zip',
          func_code: { file: b64(bomb) },
        }),
      )
      expect([err.status, err.errorCode]).toEqual([413, 'FSS.1071'])
      expect(fs.readdirSync(path.join(small.dataDir, 'code', 'tmp'))).toEqual([])
      expect(fs.readdirSync(path.join(small.dataDir, 'code', 'packages'))).toEqual([])
    } finally {
      await small.close()
    }
  })
})

describe('read, update, list, delete', () => {
  test('list: marker/maxitems paginate in creation order and func_name filters by substring', async () => {
    for (const n of ['page-a', 'page-b', 'page-c']) {
      await client.createFunction(inlineFunction(n, HELLO))
    }
    const all = await client.listFunctions({ func_name: 'page-' })
    expect((all.functions as Array<{ func_name: string }>).map((f) => f.func_name)).toEqual([
      'page-a',
      'page-b',
      'page-c',
    ])
    expect(all.count).toBe(3)
    const first = await client.listFunctions({ func_name: 'page-', maxitems: 2 })
    expect((first.functions as unknown[]).length).toBe(2)
    expect(first.next_marker).toBe(2)
    const second = await client.listFunctions({ func_name: 'page-', marker: 2, maxitems: 2 })
    expect((second.functions as Array<{ func_name: string }>).map((f) => f.func_name)).toEqual([
      'page-c',
    ])
    const bad = await client.raw('GET', `/v2/${PROJECT_ID}/fgs/functions?maxitems=-1`)
    expect(bad.status).toBe(400)
  })

  test('update config: changes memory, timeout and user_data; renaming and switching language are refused; a missing module is reported at invoke', async () => {
    await client.createFunction(inlineFunction('cfg', HELLO))
    const before = await client.showConfig('cfg')
    const updated = await client.updateConfig('cfg', {
      func_name: 'cfg',
      runtime: 'Node.js20.15',
      handler: 'index.handler',
      memory_size: 256,
      timeout: 60,
      user_data: '{"MODE":"prod"}',
      description: 'now described',
    })
    expect(updated).toMatchObject({
      memory_size: 256,
      timeout: 60,
      user_data: '{"MODE":"prod"}',
      runtime: 'Node.js20.15',
      description: 'now described',
    })
    expect(updated.digest).toBe(before.digest)
    const rename = await apiError(client.updateConfig('cfg', { ...updated, func_name: 'other' }))
    expect(rename.errorCode).toBe('FSS.1002')
    const python = await apiError(client.updateConfig('cfg', { ...updated, runtime: 'Python3.10' }))
    expect(python.errorCode).toBe('FSS.1005')
    // A handler whose module is not (yet) in the code is accepted; invoking says what is missing.
    await client.updateConfig('cfg', { ...updated, handler: 'main.handler' })
    const res = await client.invoke('cfg', '{}')
    expect(res.isFunctionError).toBe(true)
    expect(JSON.parse(res.result)).toMatchObject({ errorType: 'ImportModuleError' })
    expect(JSON.parse(res.result).errorMessage).toContain("Cannot find module 'main'")
  })

  test('update code: recomputes the digest and show code returns the new package', async () => {
    const created = await client.createFunction(inlineFunction('code-upd', HELLO))
    const zip = await zipFiles({ 'index.js': 'exports.handler = async () => 2' })
    const updated = await client.updateCode('code-upd', {
      code_type: 'zip',
      func_code: { file: b64(zip) },
    })
    expect(updated.digest).not.toBe(created.digest)
    const shown = await client.showCode('code-upd')
    expect(Buffer.from((shown.func_code as { file: string }).file, 'base64').equals(zip)).toBe(true)
  })

  test('delete: every URN form FunctionGraph accepts names the function; then it is 404 FSS.1051', async () => {
    const forms = [
      (n: string) => n,
      (n: string) => `default:${n}`,
      (n: string) => `${PROJECT_ID}:default:${n}`,
      (n: string) => `${PROJECT_ID}:default:${n}:latest`,
      (n: string) => `urn:fss:local-1:${PROJECT_ID}:function:default:${n}`,
      (n: string) => `urn:fss:local-1:${PROJECT_ID}:function:default:${n}:latest`,
    ]
    for (const [i, form] of forms.entries()) {
      const name = `del-${i}`
      await client.createFunction(inlineFunction(name, HELLO))
      await client.deleteFunction(form(name))
      const err = await apiError(client.showConfig(name))
      expect([err.status, err.errorCode]).toEqual([404, 'FSS.1051'])
    }
  })

  test('unknown function, version and alias are 404 FSS.1051 / FSS.1052 / FSS.1053', async () => {
    await client.createFunction(inlineFunction('qualified', HELLO))
    expect((await apiError(client.showConfig('nope'))).errorCode).toBe('FSS.1051')
    expect(
      (await apiError(client.showConfig(`${PROJECT_ID}:default:qualified:v3`))).errorCode,
    ).toBe('FSS.1052')
    expect(
      (await apiError(client.showConfig(`${PROJECT_ID}:default:qualified:!prod`))).errorCode,
    ).toBe('FSS.1053')
    expect((await apiError(client.showConfig('a:b:c:d:e'))).errorCode).toBe('FSS.0400')
  })

  test('a 150-character URN routes (the router limit is raised on purpose)', async () => {
    const name = `long-${'n'.repeat(54)}`
    await client.createFunction(inlineFunction(name, HELLO))
    const urn = `urn:fss:local-1:${PROJECT_ID}:function:default:${name}:latest`
    expect(urn.length).toBeGreaterThan(100)
    expect((await client.showConfig(urn)).func_name).toBe(name)
  })
})

describe('authentication', () => {
  test('a wrong signature is 401 and nothing is created', async () => {
    const bad = new StratoClient({
      endpoint: strato.url,
      projectId: PROJECT_ID,
      accessKey: 'test-ak',
      secretKey: 'wrong',
    })
    const err = await apiError(bad.createFunction(inlineFunction('never', HELLO)))
    expect([err.status, err.errorCode]).toEqual([401, 'FSS.0401'])
    expect((await apiError(client.showConfig('never'))).errorCode).toBe('FSS.1051')
  })

  test('an unsigned request is 401 with an FSS body; an unknown route is 404 FSS.0404', async () => {
    const res = await fetch(`${strato.url}/v2/${PROJECT_ID}/fgs/functions`)
    expect(res.status).toBe(401)
    expect(((await res.json()) as { error_code: string }).error_code).toBe('FSS.0401')
    const unknown = await client.raw('GET', `/v2/${PROJECT_ID}/fgs/nothing-here`)
    expect(unknown.status).toBe(404)
    expect(JSON.parse(unknown.body.toString()).error_code).toBe('FSS.0404')
  })

  test("a key may only touch its own project: another project's path is 403", async () => {
    const other = new StratoClient({
      endpoint: strato.url,
      projectId: 'ffffffffffffffffffffffffffffffff',
      accessKey: 'test-ak',
      secretKey: 'test-sk',
    })
    const err = await apiError(other.listFunctions())
    expect([err.status, err.errorCode]).toEqual([403, 'FSS.0403'])
    const crossUrn = await apiError(client.showConfig('ffffffffffffffffffffffffffffffff:default:x'))
    expect(crossUrn.status).toBe(403)
  })

  test('health and info answer without signing and report the isolation level', async () => {
    const info = (await (await fetch(`${strato.url}/strato/info`)).json()) as {
      isolation: { level: string }
    }
    expect(info.isolation.level).toBe(process.env.STRATO_EXPECT_ISOLATION ?? 'bubblewrap')
  })
})

describe('framework errors leave in FunctionGraph format', () => {
  test('a URN longer than the router allows is 414 FSS.0414; bad percent-encoding is 400 FSS.0400', async () => {
    const long = await client.raw(
      'GET',
      `/v2/${PROJECT_ID}/fgs/functions/${'n'.repeat(1100)}/config`,
    )
    expect(long.status).toBe(414)
    expect(JSON.parse(long.body.toString()).error_code).toBe('FSS.0414')
    const badEncoding = await fetch(`${strato.url}/v2/${PROJECT_ID}/fgs/functions/%E0%A4%A/config`)
    expect(badEncoding.status).toBe(400)
    expect(((await badEncoding.json()) as { error_code: string }).error_code).toBe('FSS.0400')
  })

  test('a malformed version or alias in the URN is 400 FSS.1015 / FSS.1014', async () => {
    await client.createFunction(inlineFunction('quals', HELLO))
    const v = await client.raw(
      'GET',
      `/v2/${PROJECT_ID}/fgs/functions/${PROJECT_ID}:default:quals:-bad/config`,
    )
    expect(JSON.parse(v.body.toString()).error_code).toBe('FSS.1015')
    const a = await client.raw(
      'GET',
      `/v2/${PROJECT_ID}/fgs/functions/${PROJECT_ID}:default:quals:!9/config`,
    )
    expect(JSON.parse(a.body.toString()).error_code).toBe('FSS.1014')
  })
})
