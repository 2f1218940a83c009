/**
 * Java functions (Java8/11/17/21 on the host JDK) through the official SDK: code compiled here with
 * `javac` against Strato's runtime jar and Gson only, deployed as a JAR or a ZIP of JARs, invoked
 * with the log tail and through an APIG trigger; Huawei's public trigger sample, unmodified.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { zipFiles } from '../helpers/code.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import { REPO_ROOT, startTestStrato, tmpDir, type TestStrato } from '../helpers/strato.js'

const RUNTIME_JAR = path.join(REPO_ROOT, 'runtimes/java/build/strato-java-runtime.jar')
const GSON_JAR = path.join(REPO_ROOT, 'runtimes/java/build/gson.jar')
const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/java')
const F = 'strato.fixtures.Functions'
const hasJdk =
  spawnSync('javac', ['-version']).status === 0 &&
  fs.existsSync(RUNTIME_JAR) &&
  fs.existsSync(GSON_JAR)

let strato: TestStrato
let sdk: any
let work: string
/** The fixtures' JAR (a JAR is a zip: uploaded as it is). */
let functionsJar: Buffer
/** Huawei's TriggerTests sample as a ZIP holding its JAR under lib/. */
let sampleZip: Buffer

/** Compiles the .java files under `src` against the runtime jar and Gson, into one JAR. */
function compileJar(src: string, name: string, extraClasspath = ''): Buffer {
  const sources: string[] = []
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) {
        walk(p)
      } else if (e.name.endsWith('.java')) {
        sources.push(p)
      }
    }
  }
  walk(src)
  const classes = path.join(work, `${name}-classes`)
  const classpath = `${RUNTIME_JAR}:${GSON_JAR}${extraClasspath === '' ? '' : `:${extraClasspath}`}`
  execFileSync('javac', ['-cp', classpath, '-d', classes, ...sources], {
    stdio: 'pipe',
  })
  const jar = path.join(work, `${name}.jar`)
  execFileSync('jar', ['--create', '--file', jar, '-C', classes, '.'], { stdio: 'pipe' })
  return fs.readFileSync(jar)
}

beforeAll(async () => {
  if (!hasJdk) {
    return
  }
  work = tmpDir('strato-java-')
  functionsJar = compileJar(path.join(FIXTURES, 'functions'), 'functions')
  sampleZip = await zipFiles({
    'lib/trigger-tests.jar': compileJar(path.join(FIXTURES, 'huawei-trigger-tests'), 'sample'),
  })
  strato = await startTestStrato({ STRATO_GATEWAY_PORT: '0' })
  sdk = sdkClient(strato.url)
}, 120_000)
afterAll(async () => {
  await strato?.close()
  if (work !== undefined) {
    fs.rmSync(work, { recursive: true, force: true })
  }
})

interface JavaOptions {
  runtime?: string
  dependencies?: string[]
  memory?: number
  timeout?: number
  userData?: Record<string, string>
  initializer?: string
  code?: Buffer
  filename?: string
}

async function createJava(name: string, handler: string, o: JavaOptions = {}): Promise<string> {
  let body = new fg.CreateFunctionRequestBody()
    .withFuncName(name)
    .withPackage('default')
    .withRuntime(o.runtime ?? 'Java17')
    .withHandler(handler)
    .withMemorySize(o.memory ?? 256)
    .withTimeout(o.timeout ?? 30)
    .withCodeType('zip')
    .withCodeFilename(o.filename ?? 'functions.jar')
    .withFuncCode(new fg.FuncCode().withFile((o.code ?? functionsJar).toString('base64')))
  if (o.dependencies !== undefined) {
    body = body.withDependVersionList(o.dependencies)
  }
  if (o.userData !== undefined) {
    body = body.withUserData(JSON.stringify(o.userData))
  }
  if (o.initializer !== undefined) {
    body = body.withInitializerHandler(o.initializer).withInitializerTimeout(30)
  }
  const res = await sdk.createFunction(new fg.CreateFunctionRequest().withBody(body))
  return res.func_urn as string
}

interface Invocation {
  status: number
  result: string
  log: string
  request_id: string
}

function invoke(urn: string, event: unknown): Promise<Invocation> {
  return sdk.invokeFunction(
    new fg.InvokeFunctionRequest()
      .withFunctionUrn(urn)
      .withXCffLogType('tail')
      .withXCFFRequestVersion('v1')
      .withBody(event),
  )
}

describe.skipIf(!hasJdk)('Java functions through the official SDK', () => {
  test('hello: a JAR deploys with runtime Java17 and answers its String as the result', async () => {
    const urn = await createJava('java-hello', `${F}.hello`)
    const res = await invoke(urn, {})
    expect([res.status, res.result]).toEqual([200, 'Hello, Java!'])
    expect(res.log).toContain(`Start invoke request '${res.request_id}'`)
  })

  test('every Java runtime name deploys and runs on the host JDK', async () => {
    for (const runtime of ['Java8', 'Java11', 'Java21']) {
      const urn = await createJava(`java-rt-${runtime.toLowerCase()}`, `${F}.hello`, {
        runtime,
        memory: 128,
      })
      expect((await invoke(urn, {})).result).toBe('Hello, Java!')
    }
  })

  test('the event is deserialised into the declared type: a POJO, a String, a JsonObject', async () => {
    const person = await createJava('java-pojo', `${F}.person`)
    expect(
      JSON.parse((await invoke(person, { name: 'Ada', age: 36, tags: ['x'] })).result),
    ).toEqual({ name: 'Ada', age: 36, tags: ['x'], greeting: 'Hello, Ada (37 next year)' })
    const string = await createJava('java-string', `${F}.string`)
    expect((await invoke(string, { a: 1 })).result).toBe('got:{"a":1}')
    const json = await createJava('java-json', `${F}.json`, {
      memory: 512,
      timeout: 7,
      userData: { GREETING: 'hi there' },
    })
    const res = await invoke(json, { list: [1, 2], nested: { k: 'v' } })
    expect(JSON.parse(res.result)).toEqual({
      event: { list: [1, 2], nested: { k: 'v' } },
      requestId: res.request_id,
      function: 'java-json',
      memory: 512,
      timeout: 7,
      userData: 'hi there',
      env: 'hi there',
      remainingPositive: true,
    })
  })

  test('the initializer runs once per instance with the Context, on the handler’s own object', async () => {
    const urn = await createJava('java-init', `${F}.initialized`, {
      initializer: `${F}.initializer`,
    })
    const first = await invoke(urn, {})
    expect(first.result).toBe('yes:java-init')
    expect(first.log).toMatch(/ INFO initializer ran for java-init\n/)
    const second = await invoke(urn, {})
    expect(second.result).toBe('yes:java-init')
    expect(second.log).not.toContain('initializer ran')
  })

  test('logger lines carry time, request id and level (RUNTIME_LOG_LEVEL); System.out and System.err are in the log', async () => {
    const urn = await createJava('java-logs', `${F}.logs`)
    const res = await invoke(urn, {})
    expect(res.result).toBe('logged')
    const id = res.request_id
    for (const level of ['INFO', 'WARN', 'ERROR']) {
      expect(res.log).toMatch(
        new RegExp(
          `\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z ${id} ${level} ${level.toLowerCase()} line\\n`,
        ),
      )
    }
    expect(res.log).not.toContain('debug line')
    expect(res.log).toContain('stdout line\n')
    expect(res.log).toContain('stderr line\n')
    const debug = await createJava('java-logs-debug', `${F}.logs`, {
      userData: { RUNTIME_LOG_LEVEL: 'debug' },
    })
    const d = await invoke(debug, {})
    expect(d.log).toContain(`${d.request_id} DEBUG debug line\n`)
  })

  test('a function over its timeout is a TimeoutError; the next call gets a fresh instance', async () => {
    const urn = await createJava('java-timeout', `${F}.sleep`, { timeout: 3 })
    const res = await invoke(urn, { ms: 10_000 })
    expect(JSON.parse(res.result).errorType).toBe('TimeoutError')
    expect((await invoke(urn, { ms: 1 })).result).toMatch(/^slept /)
  })

  test('an exception is the function error (type, message, stack); System.exit is RuntimeExitError with its code', async () => {
    const fail = await createJava('java-fail', `${F}.fail`)
    const err = JSON.parse((await invoke(fail, {})).result)
    expect(err).toMatchObject({
      errorType: 'java.lang.IllegalStateException',
      errorMessage: 'boom from Java',
    })
    expect(err.stackTrace[0]).toMatch(
      /^at strato\.fixtures\.Functions\.fail\(Functions\.java:\d+\)$/,
    )
    const exit = await createJava('java-exit', `${F}.exit`)
    const res = await invoke(exit, {})
    const exited = JSON.parse(res.result)
    expect(exited.errorType).toBe('RuntimeExitError')
    expect(exited.errorMessage).toContain('exit code 3')
    expect(res.log).toContain('exiting now')
  })

  test('a heap bomb is an OutOfMemoryError, and the same JVM serves the next calls', async () => {
    const urn = await createJava('java-bomb', `${F}.bomb`, { memory: 128 })
    const before = (await invoke(urn, {})).result
    expect(before).toMatch(/^fine [0-9a-f-]{36}$/)
    const res = await invoke(urn, { bomb: true })
    expect(JSON.parse(res.result)).toMatchObject({
      errorType: 'OutOfMemoryError',
      errorMessage: 'Java heap space',
    })
    expect((await invoke(urn, {})).result).toBe(before)
    expect((await invoke(urn, {})).result).toBe(before)
  })

  test('concurrent_num 4: four slow calls overlap on one JVM, each on its own thread', async () => {
    const urn = await createJava('java-concurrent', `${F}.sleep`)
    await sdk.updateFunctionConfig(
      new fg.UpdateFunctionConfigRequest()
        .withFunctionUrn(urn)
        .withBody(
          new fg.UpdateFunctionConfigRequestBody()
            .withFuncName('java-concurrent')
            .withRuntime('Java17')
            .withHandler(`${F}.sleep`)
            .withMemorySize(256)
            .withTimeout(30)
            .withStrategyConfig(new fg.StrategyConfig().withConcurrency(1).withConcurrentNum(4)),
        ),
    )
    await invoke(urn, { ms: 1 }) // the instance
    const started = Date.now()
    const four = await Promise.all([1, 2, 3, 4].map(() => invoke(urn, { ms: 1000 })))
    expect(Date.now() - started).toBeLessThan(1900)
    const answers = four.map((r) => r.result.split(' '))
    expect(new Set(answers.map((a) => a[2])).size).toBe(1) // one instance
    expect(new Set(answers.map((a) => a[1])).size).toBe(4) // four threads
  })

  test('the OTC Context (com.opentelekomcloud.services.runtime) works as Huawei’s does', async () => {
    const urn = await createJava('java-otc', `${F}.otc`)
    const res = await invoke(urn, {})
    expect(res.result).toBe('otc:false')
    expect(res.log).toContain(`${res.request_id} INFO otc logger\n`)
  })

  test('a class missing from the JARs of a ZIP, or a missing method, fails the invocation with ImportModuleError / HandlerNotFound', async () => {
    // The store does not open JARs: a ZIP of JARs is accepted, and the guest finds no such class.
    const noClass = await createJava('java-noclass', 'strato.fixtures.Nope.handler', {
      code: sampleZip,
      filename: 'sample.zip',
    })
    expect(JSON.parse((await invoke(noClass, {})).result).errorType).toBe('ImportModuleError')
    const noMethod = await createJava('java-nomethod', `${F}.nope`)
    expect(JSON.parse((await invoke(noMethod, {})).result).errorType).toBe('HandlerNotFound')
  })

  test('the code store checks the handler class: a JAR-less ZIP without the class is refused, inline code too', async () => {
    const missing = await sdkError(
      createJava('java-bad-zip', 'demo.Missing.handler', {
        code: await zipFiles({ 'readme.txt': 'no classes' }),
        filename: 'code.zip',
      }),
    )
    expect([missing.httpStatusCode, missing.errorMsg]).toEqual([
      400,
      expect.stringContaining("'demo/Missing.class'"),
    ])
    const inline = await sdkError(
      sdk.createFunction(
        new fg.CreateFunctionRequest().withBody(
          new fg.CreateFunctionRequestBody()
            .withFuncName('java-inline')
            .withPackage('default')
            .withRuntime('Java17')
            .withHandler(`${F}.hello`)
            .withMemorySize(128)
            .withTimeout(3)
            .withCodeType('inline')
            .withFuncCode(new fg.FuncCode().withFile(Buffer.from('class X {}').toString('base64'))),
        ),
      ),
    )
    expect(inline.httpStatusCode).toBe(400)
  })

  test("Huawei's public TriggerTests sample, compiled unmodified, runs from a ZIP of JARs", async () => {
    const timer = await createJava('java-sample-timer', 'com.huawei.demo.TriggerTests.timerTest', {
      code: sampleZip,
      filename: 'sample.zip',
    })
    const event = {
      version: 'v1.0',
      time: '2023-06-01T08:30:00+08:00',
      trigger_type: 'TIMER',
      trigger_name: 'Timer_001',
      user_event: 'tick',
    }
    const res = await invoke(timer, event)
    expect(res.result).toBe('ok')
    expect(res.log).toContain('"trigger_name":"Timer_001"')
    expect(res.log).toContain('********hello*********')
    const lts = await createJava('java-sample-lts', 'com.huawei.demo.TriggerTests.ltsTest', {
      code: sampleZip,
      filename: 'sample.zip',
    })
    const data = Buffer.from('{"logs":"[]","owner":"o"}').toString('base64')
    const ltsRes = await invoke(lts, { lts: { data } })
    expect(ltsRes.result).toBe('ok')
    expect(ltsRes.log).toContain('raw data: {"logs":"[]","owner":"o"}')
  })

  test('a dependency package (a ZIP of JARs) is on the class path of the functions it is attached to', async () => {
    const depJar = compileJar(path.join(FIXTURES, 'dependency'), 'greeter')
    const dep = await sdk.createDependencyVersion(
      new fg.CreateDependencyVersionRequest().withBody(
        new fg.CreateDependencyRequestBody()
          .withName('java-greeter')
          .withRuntime('Java17')
          .withDependType('zip')
          .withDependFile((await zipFiles({ 'lib/greeter.jar': depJar })).toString('base64')),
      ),
    )
    const code = compileJar(
      path.join(FIXTURES, 'uses-dependency'),
      'uses-dependency',
      path.join(work, 'greeter.jar'),
    )
    const urn = await createJava('java-uses-dep', 'usesdep.UsesDependency.handler', {
      code,
      dependencies: [dep.id as string],
    })
    expect((await invoke(urn, { name: 'Ada' })).result).toBe('Hello from the dependency, Ada')
    const without = await createJava('java-lacks-dep', 'usesdep.UsesDependency.handler', { code })
    expect(JSON.parse((await invoke(without, { name: 'Ada' })).result).errorType).toBe(
      'java.lang.NoClassDefFoundError',
    )
  })

  test("Open Telekom Cloud's timer sample (an EventRequestHandler), compiled unmodified, gets its TimerTriggerEvent", async () => {
    const code = compileJar(path.join(FIXTURES, 'otc-timer-sample'), 'otc-timer')
    const urn = await createJava(
      'java-otc-timer',
      'com.opentelekomcloud.samples.TimerTriggerFG.handleRequest',
      { code },
    )
    const res = await invoke(urn, {
      version: 'v1.0',
      time: '2023-06-01T08:30:00+08:00',
      trigger_type: 'TIMER',
      trigger_name: 'Timer_002',
      user_event: 'nightly',
    })
    expect(res.result).toBe('ok')
    expect(res.log).toContain(
      `${res.request_id} INFO Trigger name: Timer_002\nTrigger type: TIMER\n`,
    )
    expect(res.log).toContain('User event  : nightly\n')
  })

  test('an APIG trigger invocation gets an APIGTriggerEvent and answers with APIGTriggerResponse', async () => {
    for (const [name, handler, code] of [
      ['java-apig', `${F}.apig`, functionsJar],
      ['java-apig-sample', 'com.huawei.demo.TriggerTests.apigTest', sampleZip],
    ] as const) {
      const urn = await createJava(name, handler, { code, filename: 'code.zip' })
      await sdk.createFunctionTrigger(
        new fg.CreateFunctionTriggerRequest().withFunctionUrn(urn).withBody(
          new fg.CreateFunctionTriggerRequestBody()
            .withTriggerTypeCode('APIG')
            .withTriggerStatus('ACTIVE')
            .withEventData(
              new fg.TriggerEventDataRequestBody()
                .withName(name.replaceAll('-', '_'))
                .withPath(`/${name}`)
                .withReqMethod('ANY')
                .withAuth('NONE')
                .withMatchMode('NORMAL')
                .withProtocol('HTTPS')
                .withEnvName('RELEASE')
                .withType(1)
                .withFuncInfo(
                  new fg.ApigTriggerFuncInfo().withTimeout(30_000).withInvocationType('sync'),
                ),
            ),
        ),
      )
    }
    const own = await post(`${strato.running.gatewayUrl}/java-apig?q=7`, 'hello body')
    expect(own.status).toBe(201)
    expect(own.headers['x-method']).toBe('POST')
    expect(own.body).toBe('path=/java-apig q=7 body=hello body')
    const sample = await post(`${strato.running.gatewayUrl}/java-apig-sample`, 'x')
    expect(sample.status).toBe(200)
    expect(sample.headers['content-type']).toBe('application/json')
    expect(sample.body).toContain('"httpMethod":"POST"')
    expect(sample.body).toMatch(/\*{8}hello\*{9}$/)
  })
})

function post(
  url: string,
  body: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST' }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      )
    })
    req.on('error', reject)
    req.end(body)
  })
}
