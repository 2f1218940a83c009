/**
 * Go functions (`runtime: "Go1.x"`): a Linux executable registered with FunctionGraph's Go runtime
 * library, which serves Go's net/rpc on RUNTIME_API_ADDR; Strato's guest calls `Function.Invoke`.
 * Module downloads are impossible here, so the function is built with the host's Go against
 * `test/fixtures/go-function/fgruntime`, a standard-library stand-in that registers the same RPC
 * service shape (common.InvokeRequest/InvokeResponse, HealthCheck) and errors as the library.
 * Deployed and invoked through the official SDK where the compat tests do; skipped without Go.
 */
import http from 'node:http'
import { beforeAll, describe, expect, test } from 'vitest'
import { b64 } from '../helpers/code.js'
import { NO_GO_REASON, goFunctionZip, hostGoVersion } from '../helpers/go-toolchain.js'
import { fg, sdkClient } from '../helpers/sdk.js'
import { PROJECT_ID, waitFor } from '../helpers/strato.js'
import { useStrato } from '../helpers/use-strato.js'

const strato = useStrato({ STRATO_GATEWAY_PORT: '0', STRATO_INSTANCE_START_TIMEOUT_MS: '5000' })
const { client } = strato
let sdk: ReturnType<typeof sdkClient>
let zip: Buffer

async function createGo(
  name: string,
  extra: Record<string, unknown> = {},
  code: Buffer = zip,
  handler = 'handler',
): Promise<string> {
  const res = (await client.createFunction({
    func_name: name,
    package: 'default',
    runtime: 'Go1.x',
    handler,
    memory_size: 128,
    timeout: 10,
    code_type: 'zip',
    func_code: { file: b64(code) },
    ...extra,
  })) as { func_urn: string }
  return res.func_urn
}

describe.skipIf(hostGoVersion() === null)(
  `Go1.x functions${hostGoVersion() === null ? ` (skipped: ${NO_GO_REASON})` : ''}`,
  () => {
    beforeAll(async () => {
      zip = await goFunctionZip()
      sdk = sdkClient(strato.url)
    }, 240_000)

    test('the official SDK deploys a Go executable and invokes it: v0 raw body, v1 result with the log tail', async () => {
      const created = await sdk.createFunction(
        new fg.CreateFunctionRequest().withBody(
          new fg.CreateFunctionRequestBody()
            .withFuncName('go-hello')
            .withPackage('default')
            .withRuntime('Go1.x')
            .withHandler('handler')
            .withMemorySize(128)
            .withTimeout(10)
            .withUserData(JSON.stringify({ GREETING: 'hi' }))
            .withCodeType('zip')
            .withFuncCode(new fg.FuncCode().withFile(b64(zip))),
        ),
      )
      expect(created.httpStatusCode).toBe(200)
      expect(created.runtime).toBe('Go1.x')
      const urn = created.func_urn as string

      const v1 = await sdk.invokeFunction(
        new fg.InvokeFunctionRequest()
          .withFunctionUrn(urn)
          .withXCffLogType('tail')
          .withXCFFRequestVersion('v1')
          .withBody({ action: 'greet', name: 'Gopher' }),
      )
      expect(v1.status).toBe(200)
      // A struct result is JSON-marshalled by the library.
      expect(JSON.parse(v1.result)).toEqual({
        message: 'Hello, Gopher',
        request_id: v1.request_id,
        function: 'go-hello',
      })
      // The logger line, stdout and stderr of the executable, in the invocation's log.
      expect(v1.log).toMatch(new RegExp(`${v1.request_id} INFO greeting Gopher`))
      expect(v1.log).toContain('printed to stdout')
      expect(v1.log).toContain('printed to stderr')

      // v0: the result is the body itself.
      const v0 = await sdk.invokeFunction(
        new fg.InvokeFunctionRequest()
          .withFunctionUrn(urn)
          .withBody({ action: 'greet', name: 'v0' }),
      )
      expect(v0.message).toBe('Hello, v0')
      expect(v0['X-Cff-Request-Id']).toMatch(/^[0-9a-f-]{36}$/)
    })

    test('a []byte result is the event back, byte for byte; the context sees request id, invoke type, variables and the alias', async () => {
      await createGo('go-echo', { user_data: JSON.stringify({ GREETING: 'hej' }) })
      const event = JSON.stringify({ action: 'raw', text: 'ünïcode ✓', n: [1, 2, 3] })
      const echoed = await client.invoke('go-echo', event)
      expect(echoed.isFunctionError).toBe(false)
      expect(echoed.result).toBe(event)

      const res = await client.invoke('go-echo', '{"action":"context"}')
      const ctx = JSON.parse(res.result) as Record<string, string>
      expect(ctx).toMatchObject({
        request_id: res.requestId,
        invoke_type: 'sync',
        function: 'go-echo',
        version: 'latest',
        greeting_env: 'hej',
        code_root: expect.stringMatching(/\S/),
        api_addr: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        remaining_ok: 'true',
      })
      // Through an alias, the library's X-Cff-Origin-Version-Tag names it.
      const fns = `/v2/${PROJECT_ID}/fgs/functions`
      expect((await client.raw('POST', `${fns}/go-echo/versions`, '{"version":"v1"}')).status).toBe(
        200,
      )
      const alias = await client.raw(
        'POST',
        `${fns}/go-echo/aliases`,
        '{"name":"live","version":"v1"}',
      )
      expect(alias.status).toBe(200)
      const viaAlias = JSON.parse(
        (await client.invoke('go-echo:!live', '{"action":"context"}')).result,
      ) as Record<string, string>
      expect([viaAlias.alias, viaAlias.version]).toEqual(['!live', 'v1'])

      // v0: the raw body; a text result is text/plain, a JSON one application/json.
      const path = `/v2/${PROJECT_ID}/fgs/functions/go-echo/invocations`
      const text = await client.raw('POST', path, '{"action":"hello"}')
      expect([text.status, text.headers.get('content-type'), text.body.toString()]).toEqual([
        200,
        'text/plain; charset=utf-8',
        'hello from Go',
      ])
      const json = await client.raw('POST', path, '{"action":"greet","name":"x"}')
      expect(json.headers.get('content-type')).toBe('application/json')
      expect(JSON.parse(json.body.toString())).toMatchObject({ message: 'Hello, x' })
    })

    test('a returned error and a recovered panic are function errors, typed as the library types them', async () => {
      await createGo('go-errors')
      const returned = await client.invoke('go-errors', '{"action":"error"}', { tail: true })
      expect(returned.isFunctionError).toBe(true)
      expect(JSON.parse(returned.result)).toMatchObject({
        errorMessage: 'the order was not found',
        errorType: 'FunctionReturnError',
      })
      expect(returned.log).toContain('(invoke Failed)')
      const panicked = await client.invoke('go-errors', '{"action":"panic"}')
      expect(panicked.isFunctionError).toBe(true)
      expect(JSON.parse(panicked.result)).toMatchObject({
        errorMessage: 'assignment to entry in nil map',
        errorType: 'panic',
        stackTrace: ['main.handler()'],
      })
      // Neither ends the process.
      expect((await client.invoke('go-errors', '{}')).result).toBe('hello from Go')
    })

    test('async invocations run with X-Cff-Invoke-Type async: a success is SUCCESS, a returned error is recorded as a function error', async () => {
      await createGo('go-async')
      const recordOf = async (id: string): Promise<{ status?: string; error_message?: string }> => {
        const res = (await client.asyncInvocations('go-async', { request_id: id })) as {
          invocations?: Array<{ status: string; error_message: string }>
        }
        return res.invocations?.[0] ?? {}
      }
      const ok = await client.invokeAsync('go-async', '{"action":"greet","name":"later"}')
      const bad = await client.invokeAsync('go-async', '{"action":"error"}')
      await waitFor(async () => (await recordOf(ok)).status === 'SUCCESS', 20_000)
      // A function error: retried as one (not as a platform fault), its error on the record.
      await waitFor(
        async () =>
          (await recordOf(bad)).error_message === 'FunctionReturnError: the order was not found',
        20_000,
      )
      expect((await recordOf(bad)).status).not.toBe('SUCCESS')
      const logs = (await client.logs('go-async', { request_id: ok })) as {
        logs: Array<{ log: string }>
      }
      expect(logs.logs.map((l) => l.log).join('\n')).toContain(`${ok} INFO greeting later`)
    })

    test('past its timeout the call fails with TimeoutError and a new instance answers next', async () => {
      await createGo('go-sleepy', { timeout: 3 })
      await client.invoke('go-sleepy', '{}')
      const started = Date.now()
      const res = await client.invoke('go-sleepy', '{"action":"sleep","ms":60000}')
      expect(Date.now() - started).toBeLessThan(4500)
      expect(JSON.parse(res.result).errorType).toBe('TimeoutError')
      expect((await client.invoke('go-sleepy', '{}')).result).toBe('hello from Go')
    })

    test('os.Exit during a call, or a panic in a goroutine, is a RuntimeExitError with its exit code, the panic in the log', async () => {
      await createGo('go-crash')
      const exited = await client.invoke('go-crash', '{"action":"exit","code":3}', { tail: true })
      expect(exited.isFunctionError).toBe(true)
      const e1 = JSON.parse(exited.result)
      expect(e1.errorType).toBe('RuntimeExitError')
      expect(e1.errorMessage).toContain('exit code 3')
      expect(exited.log).toContain('exiting now')
      expect((await client.invoke('go-crash', '{}')).result).toBe('hello from Go')

      const crashed = await client.invoke('go-crash', '{"action":"crash"}', { tail: true })
      expect(crashed.isFunctionError).toBe(true)
      const e2 = JSON.parse(crashed.result)
      // Go exits with 2 on a crash: the function's own end, with the panic and its goroutine in
      // the log as Go printed them.
      expect(e2.errorType).toBe('RuntimeExitError')
      expect(e2.errorMessage).toContain('exit code 2')
      expect(crashed.log).toContain('panic: crash in a goroutine')
      expect(crashed.log).toContain('main.handler.func1()')
      expect((await client.invoke('go-crash', '{}')).result).toBe('hello from Go')
    })

    test('allocating past memory_size is an OutOfMemoryError, and the next call works', async () => {
      await createGo('go-bomb', { memory_size: 128, timeout: 30 })
      const res = await client.invoke('go-bomb', '{"action":"bomb"}')
      expect(res.isFunctionError).toBe(true)
      expect(JSON.parse(res.result).errorType).toBe('OutOfMemoryError')
      expect((await client.invoke('go-bomb', '{}')).result).toBe('hello from Go')
    })

    test('concurrent_num 4: four 600 ms calls overlap on one instance over one RPC connection', async () => {
      await createGo('go-overlap', { strategy_config: { concurrency: 1, concurrent_num: 4 } })
      await client.invoke('go-overlap', '{}')
      const started = Date.now()
      const four = await Promise.all(
        [1, 2, 3, 4].map(() => client.invoke('go-overlap', '{"action":"instance","ms":600}')),
      )
      expect(Date.now() - started).toBeLessThan(1150)
      expect(four.every((r) => !r.isFunctionError)).toBe(true)
      expect(new Set(four.map((r) => r.result)).size).toBe(1)
    })

    test('an executable without its exec bit fails to start with a precise message', async () => {
      await createGo('go-noexec', {}, await goFunctionZip('handler', 0o644))
      const res = await client.invoke('go-noexec', '{}')
      expect(res.isFunctionError).toBe(true)
      expect(JSON.parse(res.result).errorMessage).toMatch(/not executable: run 'chmod \+x handler'/)
    })

    test('through an APIG trigger the executable gets the APIG event and answers the gateway', async () => {
      const urn = await createGo('go-apig')
      const created = await sdk.createFunctionTrigger(
        new fg.CreateFunctionTriggerRequest().withFunctionUrn(urn).withBody(
          new fg.CreateFunctionTriggerRequestBody()
            .withTriggerTypeCode('APIG')
            .withTriggerStatus('ACTIVE')
            .withEventData(
              new fg.TriggerEventDataRequestBody()
                .withName('go_api')
                .withPath('/go/{id}')
                .withReqMethod('ANY')
                .withAuth('NONE')
                .withMatchMode('NORMAL')
                .withProtocol('HTTPS')
                .withEnvName('RELEASE')
                .withType(1)
                .withFuncInfo(
                  new fg.ApigTriggerFuncInfo().withTimeout(10_000).withInvocationType('sync'),
                ),
            ),
        ),
      )
      expect(created.httpStatusCode).toBe(201)
      const res = await new Promise<{
        status: number
        headers: http.IncomingHttpHeaders
        body: string
      }>((resolve, reject) => {
        const req = http.request(
          `${strato.running.gatewayUrl}/go/42?q=1`,
          { method: 'POST', headers: { 'content-type': 'text/plain' } },
          (r) => {
            const chunks: Buffer[] = []
            r.on('data', (c: Buffer) => chunks.push(c))
            r.on('end', () =>
              resolve({
                status: r.statusCode ?? 0,
                headers: r.headers,
                body: Buffer.concat(chunks).toString('utf8'),
              }),
            )
          },
        )
        req.on('error', reject)
        req.end('hello gateway')
      })
      expect(res.status).toBe(200)
      expect(res.headers['x-from']).toBe('go')
      const event = JSON.parse(res.body) as Record<string, unknown>
      expect(event).toMatchObject({
        httpMethod: 'POST',
        pathParameters: { id: '42' },
        queryStringParameters: { q: '1' },
      })
      const body = event.isBase64Encoded
        ? Buffer.from(String(event.body), 'base64').toString('utf8')
        : event.body
      expect(body).toBe('hello gateway')
    })
  },
)
