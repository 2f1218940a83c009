import { createHash } from 'node:crypto'
import { beforeAll, describe, expect, test } from 'vitest'
import { ApiError } from '../../src/client/index.js'
import { PROJECT_ID, startTestStrato } from '../helpers/strato.js'
import { useStrato } from '../helpers/use-strato.js'
import { b64, inlineFunction, zipFiles } from '../helpers/code.js'

const strato = useStrato()
const { client } = strato

const invokePath = (name: string) => `/v2/${PROJECT_ID}/fgs/functions/${name}/invocations`

const NODE_CONTEXT = `
exports.handler = async (event, context) => {
  console.log('event is', JSON.stringify(event))
  context.getLogger().info('logger says %s', 'hi')
  return {
    requestId: context.getRequestID(),
    remaining: context.getRemainingTimeInMilliSeconds(),
    runningTime: context.getRunningTimeInSeconds(),
    functionName: context.getFunctionName(),
    version: context.getVersion(),
    memory: context.getMemorySize(),
    cpu: context.getCPUNumber(),
    project: context.getProjectID(),
    package: context.getPackage(),
    alias: context.getAlias(),
    userData: context.getUserData('GREETING'),
    missing: context.getUserData('NOPE') ?? null,
    envGreeting: process.env.GREETING,
    runtimeUserData: process.env.RUNTIME_USERDATA,
    codeRoot: process.env.RUNTIME_CODE_ROOT,
    handlerEnv: process.env.RUNTIME_HANDLER,
    leaked: Object.keys(process.env).filter((k) => /SECRET|STRATO_(ACCESS|SECRET)|NODE_OPTIONS/.test(k)),
    methods: ['getAccessKey','getSecretKey','getSecurityAccessKey','getSecuritySecretKey','getSecurityToken','getToken','getWorkflowID','getWorkflowRunID','getWorkflowStateID'].filter((m) => typeof context[m] !== 'function'),
    event,
  }
}`

const PYTHON_CONTEXT = `
import json, os

def handler(event, context):
    print("event is", json.dumps(event))
    context.getLogger().info("logger says %s", "hi")
    return {
        "requestId": context.getRequestID(),
        "remaining": context.getRemainingTimeInMilliSeconds(),
        "runningTime": context.getRunningTimeInSeconds(),
        "functionName": context.getFunctionName(),
        "version": context.getVersion(),
        "memory": context.getMemorySize(),
        "cpu": context.getCPUNumber(),
        "project": context.getProjectID(),
        "package": context.getPackage(),
        "alias": context.getAlias(),
        "userData": context.getUserData("GREETING"),
        "missing": context.getUserData("NOPE"),
        "envGreeting": os.environ.get("GREETING"),
        "runtimeUserData": os.environ.get("RUNTIME_USERDATA"),
        "codeRoot": os.environ.get("RUNTIME_CODE_ROOT"),
        "handlerEnv": os.environ.get("RUNTIME_HANDLER"),
        "leaked": [k for k in os.environ if "SECRET" in k or k.startswith("STRATO_ACCESS")],
        "methods": [m for m in ["getAccessKey","getSecretKey","getSecurityAccessKey","getSecuritySecretKey","getSecurityToken","getToken","getWorkflowID","getWorkflowRunID","getWorkflowStateID"] if not callable(getattr(context, m, None))],
        "event": event,
    }
`

describe.each([
  ['Node.js18.15', NODE_CONTEXT],
  ['Python3.10', PYTHON_CONTEXT],
])('%s: the FunctionGraph handler contract', (runtime, source) => {
  const name = `ctx-${runtime.replace(/\W/g, '').toLowerCase()}`

  beforeAll(async () => {
    await client.createFunction(
      inlineFunction(name, source, {
        runtime,
        memory_size: 256,
        timeout: 10,
        user_data: '{"GREETING":"hello"}',
      }),
    )
  })

  test('the event arrives parsed, the context answers every getter, user_data is env and getUserData', async () => {
    const res = await client.invoke(name, JSON.stringify({ k: 'v', n: [1, 2] }), { tail: true })
    expect(res.status).toBe(200)
    expect(res.isFunctionError).toBe(false)
    const out = JSON.parse(res.result)
    expect(out).toMatchObject({
      requestId: res.requestId,
      runningTime: 10_000,
      functionName: name,
      version: 'latest',
      memory: '256',
      cpu: '400',
      project: PROJECT_ID,
      package: 'default',
      alias: '',
      userData: 'hello',
      missing: null,
      envGreeting: 'hello',
      runtimeUserData: '{"GREETING":"hello"}',
      handlerEnv: 'index.handler',
      leaked: [],
      methods: [],
      event: { k: 'v', n: [1, 2] },
    })
    expect(out.remaining).toBeGreaterThan(8_000)
    expect(out.remaining).toBeLessThanOrEqual(10_000)
    expect(res.log).toContain(`Start invoke request '${res.requestId}', version: latest`)
    expect(res.log).toContain(
      runtime.startsWith('Node')
        ? 'event is {"k":"v","n":[1,2]}'
        : 'event is {"k": "v", "n": [1, 2]}',
    )
    expect(res.log).toMatch(
      new RegExp(`\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z ${res.requestId} INFO logger says hi`),
    )
    expect(res.log).toMatch(
      /Finish invoke request '[^']+', duration: [\d.]+ms, billing duration: \d+ms, memory used: [\d.]+MB, billing memory: 256MB/,
    )
    expect(res.summary).toMatchObject({ memorySize: 256 })
    expect(res.summary.memoryUsed).toBeGreaterThan(1)
    expect(res.summary.billingDuration).toBeGreaterThanOrEqual(1)
  })

  test('the per-invocation log is stored by request id and readable through the logs API', async () => {
    const res = await client.invoke(name, '{"stored":true}')
    expect(res.log).toBe('')
    const page = await client.logs(name, { request_id: res.requestId })
    const logs = page.logs as Array<{ request_id: string; log: string; status: string }>
    expect(logs).toHaveLength(1)
    expect(logs[0]?.status).toBe('success')
    expect(logs[0]?.log).toContain('event is')
    expect(logs[0]?.log).toContain(res.requestId)
  })

  test('a thrown error comes back as {errorMessage, errorType, stackTrace} with X-Is-Func-Err', async () => {
    const failing = `${name}-throws`
    const src = runtime.startsWith('Node')
      ? 'class ValidationError extends Error { constructor(m) { super(m); this.name = "ValidationError" } }\nexports.handler = async () => { throw new ValidationError("bad input: 42") }'
      : 'class ValidationError(Exception):\n    pass\n\ndef handler(event, context):\n    raise ValidationError("bad input: 42")\n'
    await client.createFunction(inlineFunction(failing, src, { runtime }))
    const res = await client.invoke(failing, '{}', { tail: true })
    expect(res.isFunctionError).toBe(true)
    expect(res.status).toBe(500)
    const err = JSON.parse(res.result)
    expect(err).toMatchObject({ errorMessage: 'bad input: 42', errorType: 'ValidationError' })
    expect(Array.isArray(err.stackTrace)).toBe(true)
    expect(err.stackTrace.join('\n')).toMatch(/index\.(js|py)/)
    expect(res.log).toContain('(invoke Failed)')
  })
})

describe('Node.js handler styles and results', () => {
  test.each<[string, string, string | undefined]>([
    ['async', 'exports.handler = async (e) => ({ got: e.x })', undefined],
    [
      'callback',
      'exports.handler = function (e, ctx, callback) { setTimeout(() => callback(null, { got: e.x }), 5) }',
      undefined,
    ],
    ['sync return', 'exports.handler = (e) => ({ got: e.x })', undefined],
    ['promise', 'exports.handler = (e) => Promise.resolve({ got: e.x })', undefined],
    ['ES module', 'export const handler = async (e) => ({ got: e.x })', 'index.mjs'],
  ])('%s handlers return their value', async (style, src, file) => {
    const name = `style-${style.replace(/\W/g, '')}`
    if (file === undefined) {
      await client.createFunction(inlineFunction(name, src))
    } else {
      const zip = await zipFiles({ [file]: src })
      await client.createFunction({
        ...inlineFunction(name, ''),
        code_type: 'zip',
        func_code: { file: b64(zip) },
      })
    }
    const res = await client.invoke(name, '{"x":7}')
    expect(JSON.parse(res.result)).toEqual({ got: 7 })
  })

  test('callback(err) is a function error carrying the message', async () => {
    await client.createFunction(
      inlineFunction('cb-err', 'exports.handler = (e, c, cb) => cb(new TypeError("nope"))'),
    )
    const res = await client.invoke('cb-err', '{}')
    expect(res.isFunctionError).toBe(true)
    expect(JSON.parse(res.result)).toMatchObject({ errorType: 'TypeError', errorMessage: 'nope' })
  })

  test('v0 returns the raw result: JSON for objects, text/plain for strings; v1 wraps it in a string', async () => {
    await client.createFunction(
      inlineFunction(
        'text',
        'exports.handler = async (e) => "Hello message: " + JSON.stringify(e)',
      ),
    )
    const v0 = await client.raw('POST', invokePath('text'), '{"k":"v"}')
    expect(v0.status).toBe(200)
    expect(v0.headers.get('content-type')).toContain('text/plain')
    expect(v0.body.toString()).toBe('Hello message: {"k":"v"}')
    expect(v0.headers.get('x-cff-response-version')).toBe('v0')
    expect(v0.headers.get('x-cff-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(JSON.parse(v0.headers.get('x-cff-invoke-summary') ?? '')).toHaveProperty('duration')
    expect(v0.headers.get('x-is-func-err')).toBe('false')
    const v1 = await client.invoke('text', '{"k":"v"}')
    expect(v1.result).toBe('Hello message: {"k":"v"}')
    await client.createFunction(
      inlineFunction('obj', 'exports.handler = async () => ({ a: [1, "two"] })'),
    )
    const v0obj = await client.raw('POST', invokePath('obj'), '{}')
    expect(v0obj.headers.get('content-type')).toContain('application/json')
    expect(JSON.parse(v0obj.body.toString())).toEqual({ a: [1, 'two'] })
  })

  test('X-Cff-Log-Type: tail returns the base64 log tail of at most 2000 bytes', async () => {
    await client.createFunction(
      inlineFunction(
        'chatty',
        'exports.handler = async () => { for (let i = 0; i < 200; i++) console.log("line " + i + " " + "x".repeat(40)); return 1 }',
      ),
    )
    const res = await client.raw('POST', invokePath('chatty'), '{}', { 'x-cff-log-type': 'tail' })
    const tail = Buffer.from(res.headers.get('x-cff-function-log') ?? '', 'base64').toString()
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(2000)
    expect(tail).toContain('line 199')
    expect(tail).toContain('Finish invoke request')
    // Cut on a character boundary: multi-byte output never decodes to a replacement character.
    await client.createFunction(
      inlineFunction(
        'utf8-chatty',
        'exports.handler = async () => { for (let i = 0; i < 300; i++) console.log("日本語のログ " + i); return 1 }',
      ),
    )
    for (let i = 0; i < 3; i++) {
      const res2 = await client.raw('POST', invokePath('utf8-chatty'), '{}', {
        'x-cff-log-type': 'tail',
      })
      const text = Buffer.from(res2.headers.get('x-cff-function-log') ?? '', 'base64').toString(
        'utf8',
      )
      expect(text).not.toContain('\uFFFD')
      expect(text).toContain('日本語のログ 299')
    }
    const noTail = await client.raw('POST', invokePath('chatty'), '{}')
    expect(noTail.headers.get('x-cff-function-log')).toBeNull()
  })

  test('an empty body is the event {}; a non-JSON body is 400 FSS.0400', async () => {
    await client.createFunction(inlineFunction('echo', 'exports.handler = async (e) => e'))
    const empty = await client.raw('POST', invokePath('echo'), '')
    expect(JSON.parse(empty.body.toString())).toEqual({})
    const bad = await client.raw('POST', invokePath('echo'), '{not json')
    expect(bad.status).toBe(400)
    expect(JSON.parse(bad.body.toString()).error_code).toBe('FSS.0400')
    const after = await client.invoke('echo', '{"still":"works"}')
    expect(JSON.parse(after.result)).toEqual({ still: 'works' })
  })

  test('the 6 MB sync limit: exactly 6 MiB reaches the function byte-identical, one byte more is 413 FSS.0413', async () => {
    await client.createFunction(
      inlineFunction(
        'sizer',
        'const c = require("crypto"); exports.handler = async (e) => ({ len: e.pad.length, sha: c.createHash("sha256").update(JSON.stringify(e)).digest("hex") })',
        { memory_size: 512 },
      ),
    )
    const limit = 6 * 1024 * 1024
    const overhead = Buffer.byteLength('{"pad":""}')
    const exact = JSON.stringify({ pad: 'a'.repeat(limit - overhead) })
    expect(Buffer.byteLength(exact)).toBe(limit)
    const ok = await client.invoke('sizer', exact)
    expect(JSON.parse(ok.result)).toEqual({
      len: limit - overhead,
      sha: createHash('sha256').update(exact).digest('hex'),
    })
    const over = JSON.stringify({ pad: 'a'.repeat(limit - overhead + 1) })
    const err = await client.invoke('sizer', over).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect([(err as ApiError).status, (err as ApiError).errorCode]).toEqual([413, 'FSS.0413'])
  })

  test('a result over 6 MB is a function error, never a truncated success', async () => {
    await client.createFunction(
      inlineFunction('huge-result', 'exports.handler = async () => "x".repeat(7 * 1024 * 1024)', {
        memory_size: 512,
      }),
    )
    const res = await client.invoke('huge-result', '{}')
    expect(res.isFunctionError).toBe(true)
    expect(JSON.parse(res.result).errorType).toBe('ResponseTooLarge')
  })

  test('the initializer runs once per instance, before the first request, with its output in the first log', async () => {
    const src = `
let inits = 0
let calls = 0
exports.init = async (context) => { inits++; console.log('init ran for ' + context.getFunctionName()) }
exports.handler = async () => ({ inits, calls: ++calls })`
    await client.createFunction(
      inlineFunction('with-init', src, {
        initializer_handler: 'index.init',
        initializer_timeout: 5,
      }),
    )
    const first = await client.invoke('with-init', '{}', { tail: true })
    expect(JSON.parse(first.result)).toEqual({ inits: 1, calls: 1 })
    expect(first.log).toContain('init ran for with-init')
    const second = await client.invoke('with-init', '{}', { tail: true })
    expect(JSON.parse(second.result)).toEqual({ inits: 1, calls: 2 })
    expect(second.log).not.toContain('init ran')
  })

  test('an initializer that throws fails the invocation with its error, and each try gets a fresh instance', async () => {
    await client.createFunction(
      inlineFunction(
        'init-throws',
        'exports.init = () => { throw new RangeError("no config") }\nexports.handler = async () => 1',
        {
          initializer_handler: 'index.init',
        },
      ),
    )
    for (let i = 0; i < 2; i++) {
      const res = await client.invoke('init-throws', '{}')
      expect(res.isFunctionError).toBe(true)
      expect(JSON.parse(res.result)).toMatchObject({
        errorType: 'RangeError',
        errorMessage: 'no config',
      })
    }
  })

  test('a syntax error in the module is reported as the function error', async () => {
    await client.createFunction(inlineFunction('syntax', 'exports.handler = async () => {'))
    const res = await client.invoke('syntax', '{}')
    expect(res.isFunctionError).toBe(true)
    expect(JSON.parse(res.result).errorType).toBe('SyntaxError')
  })
})

describe('instances', () => {
  test('warm reuse: consecutive invocations reach the same instance', async () => {
    await client.createFunction(
      inlineFunction(
        'warm',
        'let n = 0; const id = Math.random(); exports.handler = async () => ({ id, n: ++n })',
      ),
    )
    const a = JSON.parse((await client.invoke('warm', '{}')).result)
    const b = JSON.parse((await client.invoke('warm', '{}')).result)
    expect(b.id).toBe(a.id)
    expect(b.n).toBe(a.n + 1)
  })

  test('max instances (strategy_config.concurrency) caps the instances; excess requests wait their turn', async () => {
    await client.createFunction(
      inlineFunction(
        'capped',
        'const id = Math.random(); exports.handler = async () => { await new Promise(r => setTimeout(r, 300)); return id }',
        {
          strategy_config: { concurrency: 2, concurrent_num: 1 },
        },
      ),
    )
    const started = Date.now()
    const results = await Promise.all(
      Array.from({ length: 4 }, () => client.invoke('capped', '{}')),
    )
    const elapsed = Date.now() - started
    expect(new Set(results.map((r) => r.result)).size).toBe(2)
    expect(elapsed).toBeGreaterThanOrEqual(600)
  })

  test('max instances 0 disables the function', async () => {
    await client.createFunction(
      inlineFunction('disabled', 'exports.handler = async () => 1', {
        strategy_config: { concurrency: 0 },
      }),
    )
    const err = await client.invoke('disabled', '{}').catch((e: unknown) => e)
    expect((err as ApiError).status).toBe(403)
    // Nothing is kept for it: its code counts as unused for garbage collection.
    const { digest } = await client.showConfig('disabled')
    expect(strato.running.pool.digestsInUse().has(String(digest))).toBe(false)
  })

  test('a code update never changes a running instance; the next invocations reach the new code', async () => {
    const v1 =
      'exports.handler = async (e) => { await new Promise(r => setTimeout(r, e.wait || 0)); return "v1" }'
    await client.createFunction(inlineFunction('rolling', v1))
    expect((await client.invoke('rolling', '{}')).result).toBe('v1')
    const slow = client.invoke('rolling', '{"wait":800}')
    await new Promise((r) => setTimeout(r, 200))
    await client.updateCode('rolling', {
      code_type: 'inline',
      func_code: { file: b64('exports.handler = async () => "v2"') },
    })
    expect((await client.invoke('rolling', '{}')).result).toBe('v2')
    expect((await slow).result).toBe('v1')
    await client.updateConfig('rolling', {
      func_name: 'rolling',
      runtime: 'Node.js18.15',
      handler: 'index.handler',
      memory_size: 128,
      timeout: 30,
      user_data: '{"X":"1"}',
    })
    expect((await client.invoke('rolling', '{}')).result).toBe('v2')
  })
})

describe('instances across versions', () => {
  const publish = (name: string, version: string) =>
    client.raw(
      'POST',
      `/v2/${PROJECT_ID}/fgs/functions/${name}/versions`,
      JSON.stringify({ version }),
    )
  const idOf = async (urn: string) =>
    JSON.parse((await client.invoke(urn, '{}')).result).id as number

  test('a change to latest keeps published versions warm, and latest warms up again after one start', async () => {
    const src = 'const id = Math.random(); exports.handler = async () => ({ id })'
    await client.createFunction(inlineFunction('warm-versions', src))
    expect((await publish('warm-versions', 'v1')).status).toBe(200)
    const v1 = `${PROJECT_ID}:default:warm-versions:v1`
    const before = await idOf(v1)
    await client.updateCode('warm-versions', {
      code_type: 'inline',
      func_code: { file: b64(`${src} // v2`) },
    })
    expect(await idOf(v1)).toBe(before)
    const first = await idOf('warm-versions')
    expect(await idOf('warm-versions')).toBe(first)
    expect(await idOf('warm-versions')).toBe(first)
  })

  test('max instances holds across versions: one instance in all, each version served in turn', async () => {
    // Its own Strato, so the instance count is this function's alone.
    const own = await startTestStrato()
    try {
      const c = own.client
      const src =
        'const id = Math.random(); exports.handler = async (e) => { await new Promise(r => setTimeout(r, e.wait || 0)); return { id } }'
      await c.createFunction(
        inlineFunction('one-for-all', src, { strategy_config: { concurrency: 1 } }),
      )
      expect(
        (
          await c.raw(
            'POST',
            `/v2/${PROJECT_ID}/fgs/functions/one-for-all/versions`,
            JSON.stringify({ version: 'v1' }),
          )
        ).status,
      ).toBe(200)
      const v1 = `${PROJECT_ID}:default:one-for-all:v1`
      const total = () => {
        const s = own.running.pool.stats()
        return s.idle + s.busy + s.starting
      }
      await c.invoke(v1, '{}')
      await c.invoke('one-for-all', '{}')
      expect(total()).toBeLessThanOrEqual(1)
      // Both versions at once: the second waits for the first to make room, and both succeed.
      const [a, b] = await Promise.all([
        c.invoke(v1, '{"wait":200}'),
        c.invoke('one-for-all', '{"wait":200}'),
      ])
      expect(a.isFunctionError || b.isFunctionError).toBe(false)
      expect(total()).toBeLessThanOrEqual(1)
    } finally {
      await own.close()
    }
  })
})
