/**
 * Custom Image functions: a container image built in the test from Debian's busybox-static (a
 * docker save tarball: busybox, a CGI script, and a second layer whiting out a file of the first),
 * deployed through the official SDK, run with the image as the sandbox's root, and reached through
 * the invoke API and an APIG trigger, as HTTP functions are.
 */
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { StratoClient } from '../../src/client/index.js'
import { b64 } from '../helpers/code.js'
import { buildImageArchive, busyboxHttpImage, BUSYBOX } from '../helpers/image-archive.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import { startTestStrato, type TestStrato } from '../helpers/strato.js'
import fs from 'node:fs'

let strato: TestStrato
let client: StratoClient
let sdk: ReturnType<typeof sdkClient>
let gateway: string

beforeAll(async () => {
  strato = await startTestStrato({ STRATO_GATEWAY_PORT: '0' })
  client = strato.client
  sdk = sdkClient(strato.url)
  gateway = strato.running.gatewayUrl
}, 60_000)
afterAll(async () => {
  await strato.close()
})

/** Creates a Custom Image function through the SDK, as FunctionGraph's docs describe one. */
async function deployImage(name: string, image: Buffer, timeout = 10): Promise<string> {
  const created = await sdk.createFunction(
    new fg.CreateFunctionRequest().withBody(
      new fg.CreateFunctionRequestBody()
        .withFuncName(name)
        .withPackage('default')
        .withRuntime('Custom Image')
        .withHandler('-')
        .withMemorySize(256)
        .withTimeout(timeout)
        .withCodeType('Custom-Image-Swr')
        .withFuncCode(new fg.FuncCode().withFile(b64(image)))
        .withUserData(JSON.stringify({ GREETING: 'hello from user_data' })),
    ),
  )
  return String(created.func_urn)
}

interface Wrapped {
  statusCode: number
  headers: Record<string, string[]>
  body: string
}

async function invoke(urn: string, event: Record<string, unknown>): Promise<Wrapped> {
  const res = await sdk.invokeFunction(
    new fg.InvokeFunctionRequest()
      .withFunctionUrn(urn)
      .withXCFFRequestVersion('v1')
      .withBody(event),
  )
  expect(res.httpStatusCode).toBe(200)
  return JSON.parse(String(res.result)) as Wrapped
}

const text = (w: Wrapped): string => Buffer.from(w.body, 'base64').toString('utf8')

function get(
  url: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        )
      })
      .on('error', reject)
  })
}

describe('a busybox image runs as a Custom Image function', () => {
  let urn = ''
  beforeAll(async () => {
    expect(fs.existsSync(BUSYBOX)).toBe(true)
    urn = await deployImage('busybox-web', await busyboxHttpImage())
  }, 60_000)

  test('the invoke API reaches the image entrypoint: its CGI sees the request, the image Env, the function variables, its WorkingDir', async () => {
    const w = await invoke(urn, {
      httpMethod: 'POST',
      path: '/cgi-bin/echo',
      queryStringParameters: { a: '1' },
      headers: { 'content-type': 'text/plain' },
      body: Buffer.from('ping').toString('base64'),
      isBase64Encoded: true,
    })
    expect(w.statusCode).toBe(200)
    expect(w.headers['X-Image']).toEqual(['busybox'])
    const line = text(w)
    expect(line).toContain('method=POST path= query=a=1 body=ping')
    // user_data wins over the image's Env, as `docker run -e` does; the platform's variables reach it.
    expect(line).toContain('greeting=hello from user_data func=busybox-web cwd=/www')
    const uid = Number(/uid=(\d+)/.exec(line)?.[1])
    expect(uid).toBeGreaterThan(0)
  })

  test("the server's output (the CGI's stderr) reaches the invocation logs", async () => {
    const call = (): ReturnType<StratoClient['invoke']> =>
      client.invoke('busybox-web', JSON.stringify({ httpMethod: 'PUT', path: '/cgi-bin/echo' }), {
        tail: true,
      })
    const res = await call()
    expect(res.isFunctionError).toBe(false)
    expect(res.log).toContain(`Start invoke request '${res.requestId}'`)
    // The server's stderr and its answer travel apart (a pipe and a socket): a line written just
    // before the answer may land in the next invocation's log, never nowhere.
    const logs = res.log.includes('echo cgi served PUT') ? res.log : (await call()).log
    expect(logs).toContain('echo cgi served PUT\n')
  })

  test("layers apply in order: the second layer's whiteout hides the first layer's file, its own file is there", async () => {
    expect(text(await invoke(urn, { httpMethod: 'GET', path: '/index.html' }))).toBe(
      'hello from busybox\n',
    )
    expect((await invoke(urn, { httpMethod: 'GET', path: '/secret.txt' })).statusCode).toBe(404)
    expect(text(await invoke(urn, { httpMethod: 'GET', path: '/layer2.txt' }))).toBe(
      'from layer 2\n',
    )
  })

  test('an APIG trigger reaches the image as an HTTP request', async () => {
    const trigger = await sdk.createFunctionTrigger(
      new fg.CreateFunctionTriggerRequest().withFunctionUrn(urn).withBody(
        new fg.CreateFunctionTriggerRequestBody()
          .withTriggerTypeCode('APIG')
          .withTriggerStatus('ACTIVE')
          .withEventData(
            new fg.TriggerEventDataRequestBody()
              .withName('busybox_api')
              .withPath('/cgi-bin/echo')
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
    expect(trigger.httpStatusCode).toBe(201)
    const res = await get(`${gateway}/cgi-bin/echo?via=apig`)
    expect(res.status).toBe(200)
    expect(res.headers['x-image']).toBe('busybox')
    expect(res.body).toContain('method=GET path= query=via=apig')
  })

  test('an OCI image layout (gzip layers) runs the same way, deployed as code_type zip', async () => {
    await client.createFunction({
      func_name: 'busybox-oci',
      package: 'default',
      runtime: 'Custom Image',
      handler: '-',
      memory_size: 128,
      timeout: 10,
      code_type: 'zip',
      func_code: { file: b64(await busyboxHttpImage({ format: 'oci' })) },
    })
    const res = await client.invoke(
      'busybox-oci',
      JSON.stringify({ httpMethod: 'GET', path: '/layer2.txt' }),
    )
    expect(res.isFunctionError).toBe(false)
    expect(text(JSON.parse(res.result) as Wrapped)).toBe('from layer 2\n')
  })

  test("custom_image's command, args and working_dir replace the image's Entrypoint, Cmd and WorkingDir", async () => {
    const image = await busyboxHttpImage({
      entrypoint: ['/bin/busybox', 'sh', '-c', 'echo "the image entrypoint ran"; exit 9'],
    })
    await sdk.createFunction(
      new fg.CreateFunctionRequest().withBody(
        new fg.CreateFunctionRequestBody()
          .withFuncName('busybox-custom')
          .withPackage('default')
          .withRuntime('Custom Image')
          .withHandler('-')
          .withMemorySize(128)
          .withTimeout(10)
          .withCodeType('Custom-Image-Swr')
          .withFuncCode(new fg.FuncCode().withFile(b64(image)))
          .withCustomImage(
            new fg.CustomImage()
              .withEnabled(true)
              .withImage('strato-test:latest')
              .withCommand('/bin/busybox')
              .withArgs('httpd,-f,-p,127.0.0.1:8000,-h,.')
              .withWorkingDir('/www/cgi-bin'),
          ),
      ),
    )
    const shown = await client.showConfig('busybox-custom')
    expect(shown.custom_image).toMatchObject({
      command: '/bin/busybox',
      working_dir: '/www/cgi-bin',
    })
    // httpd serves its working dir: the CGI folder's files are at the root now.
    const res = await client.invoke(
      'busybox-custom',
      JSON.stringify({ httpMethod: 'GET', path: '/echo' }),
    )
    expect(res.isFunctionError).toBe(false)
    const body = text(JSON.parse(res.result) as Wrapped)
    expect(body).toContain('#!/bin/sh')
  })

  test('the image root is read-only, /tmp is the instance own, the host is not there', async () => {
    const probe = await deployImage(
      'busybox-fs',
      await buildImageArchive({
        config: {
          Entrypoint: ['/bin/busybox', 'httpd', '-f', '-p', '127.0.0.1:8000', '-h', '/www'],
        },
        layers: [
          [
            { name: 'bin/busybox', content: fs.readFileSync(BUSYBOX), mode: 0o755 },
            { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
            {
              name: 'www/cgi-bin/fs',
              mode: 0o755,
              content:
                '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\n/bin/busybox touch /rootfile 2>/dev/null && echo root=rw || echo root=ro\n/bin/busybox touch /tmp/x && echo tmp=rw\n[ -e /usr/bin/node ] || [ -e /etc/passwd ] || [ -e /opt/function ] && echo host=visible || echo host=hidden\n/bin/busybox ls /.strato/bin\n',
            },
          ],
        ],
      }),
    )
    const out = text(await invoke(probe, { httpMethod: 'GET', path: '/cgi-bin/fs' }))
    expect(out).toContain('root=ro')
    expect(out).toContain('tmp=rw')
    // Nothing of the host's file system but Strato's node and setpriv, read-only under /.strato.
    expect(out).toContain('host=hidden')
    expect(out).toContain('node\nsetpriv\n')
  })
})

describe('Custom Image functions fail precisely', () => {
  test('an entrypoint that exits before listening: RuntimeStartFailed with its output', async () => {
    const urn = await deployImage(
      'busybox-exits',
      await busyboxHttpImage({
        entrypoint: ['/bin/busybox', 'sh', '-c', 'echo "no config, giving up" >&2; exit 3'],
      }),
    )
    const res = await client.invoke('busybox-exits', '{}')
    expect(urn).toContain('busybox-exits')
    expect(res.isFunctionError).toBe(true)
    const err = JSON.parse(res.result) as { errorType: string; errorMessage: string }
    expect(err.errorType).toBe('RuntimeStartFailed')
    expect(err.errorMessage).toContain('exited with code 3')
    expect(err.errorMessage).toContain('no config, giving up')
  })

  test('an entrypoint the image does not hold: RuntimeStartFailed naming it', async () => {
    await deployImage(
      'busybox-noexec',
      await busyboxHttpImage({ entrypoint: ['/usr/bin/missing'] }),
    )
    const res = await client.invoke('busybox-noexec', '{}')
    const err = JSON.parse(res.result) as { errorType: string; errorMessage: string }
    expect(err.errorType).toBe('RuntimeStartFailed')
    expect(err.errorMessage).toContain('/usr/bin/missing')
  })

  test('a server that dies while serving ends that invocation, and the next one gets a fresh instance', async () => {
    const urn = await deployImage(
      'busybox-crash',
      await buildImageArchive({
        config: {
          Entrypoint: ['/bin/busybox', 'httpd', '-f', '-p', '127.0.0.1:8000', '-h', '/www'],
        },
        layers: [
          [
            { name: 'bin/busybox', content: fs.readFileSync(BUSYBOX), mode: 0o755 },
            { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
            { name: 'www/ok.txt', content: 'ok\n' },
            {
              name: 'www/cgi-bin/crash',
              mode: 0o755,
              content: '#!/bin/sh\n/bin/busybox killall -9 httpd\n',
            },
          ],
        ],
      }),
    )
    const res = await client.invoke(
      'busybox-crash',
      JSON.stringify({ httpMethod: 'GET', path: '/cgi-bin/crash' }),
    )
    expect(res.isFunctionError).toBe(true)
    expect(text(await invoke(urn, { httpMethod: 'GET', path: '/ok.txt' }))).toBe('ok\n')
  })

  test('a memory bomb is stopped by the instance cgroup at memory_size; the next call works', async () => {
    const urn = await deployImage(
      'busybox-bomb',
      await buildImageArchive({
        config: {
          Entrypoint: ['/bin/busybox', 'httpd', '-f', '-p', '127.0.0.1:8000', '-h', '/www'],
        },
        layers: [
          [
            { name: 'bin/busybox', content: fs.readFileSync(BUSYBOX), mode: 0o755 },
            { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
            { name: 'www/ok.txt', content: 'ok\n' },
            {
              name: 'www/cgi-bin/bomb',
              mode: 0o755,
              // 400 MB in a shell variable, in an instance of 256 MB.
              content:
                '#!/bin/sh\nx=$(/bin/busybox head -c 400000000 /dev/zero | /bin/busybox tr "\\0" a)\nprintf "Content-Type: text/plain\\r\\n\\r\\nsurvived %s\\n" ${#x}\n',
            },
          ],
        ],
      }),
      20,
    )
    const res = await client.invoke(
      'busybox-bomb',
      JSON.stringify({ httpMethod: 'GET', path: '/cgi-bin/bomb' }),
    )
    // The kernel kills the biggest process (the CGI): that invocation fails, the server lives on.
    expect(res.isFunctionError).toBe(true)
    expect(res.result).not.toContain('survived')
    expect(res.summary.memoryUsed).toBeGreaterThan(200)
    expect(res.summary.memoryUsed).toBeLessThanOrEqual(256)
    expect(text(await invoke(urn, { httpMethod: 'GET', path: '/ok.txt' }))).toBe('ok\n')
  })

  test('a request past the timeout: TimeoutError', async () => {
    const urn = await deployImage(
      'busybox-slow',
      await buildImageArchive({
        config: {
          Entrypoint: ['/bin/busybox', 'httpd', '-f', '-p', '127.0.0.1:8000', '-h', '/www'],
        },
        layers: [
          [
            { name: 'bin/busybox', content: fs.readFileSync(BUSYBOX), mode: 0o755 },
            { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
            {
              name: 'www/cgi-bin/slow',
              mode: 0o755,
              content: '#!/bin/sh\n/bin/busybox sleep 30\n',
            },
          ],
        ],
      }),
      3,
    )
    const started = Date.now()
    const res = await client.invoke(
      'busybox-slow',
      JSON.stringify({ httpMethod: 'GET', path: '/cgi-bin/slow' }),
    )
    expect(urn).toContain('busybox-slow')
    expect(res.isFunctionError).toBe(true)
    expect((JSON.parse(res.result) as { errorType: string }).errorType).toBe('TimeoutError')
    expect(Date.now() - started).toBeLessThan(15_000)
  })

  test('a zip-slip layer, a non-image tar and a zip are refused at create with FSS.1011 and the reason', async () => {
    const slip = await buildImageArchive({
      config: { Entrypoint: ['/bin/sh'] },
      layers: [[{ name: '../../../../etc/cron.d/pwned', content: 'x' }]],
    })
    const err = await sdkError(deployImage('slip', slip))
    expect([err.httpStatusCode, err.errorCode]).toEqual([400, 'FSS.1011'])
    expect(err.errorMsg).toContain("points outside the image's root")
    const link = await buildImageArchive({
      config: { Entrypoint: ['/bin/sh'] },
      layers: [
        [{ name: 'etc', type: 'symlink', linkname: '/etc' }],
        [{ name: 'etc/pwned', content: 'x' }],
      ],
    })
    const linked = await sdkError(deployImage('slip-link', link))
    expect(linked.errorMsg).toContain("leads through the symbolic link 'etc'")
    const notImage = await sdkError(deployImage('not-image', Buffer.from('PK\x03\x04 zip bytes')))
    expect([notImage.httpStatusCode, notImage.errorCode]).toEqual([400, 'FSS.1011'])
    expect(notImage.errorMsg).toContain('image archive')
  })

  test('an image named by registry URL, with no archive, is refused: there is no registry here', async () => {
    const err = await sdkError(
      sdk.createFunction(
        new fg.CreateFunctionRequest().withBody(
          new fg.CreateFunctionRequestBody()
            .withFuncName('from-registry')
            .withPackage('default')
            .withRuntime('Custom Image')
            .withHandler('-')
            .withMemorySize(256)
            .withTimeout(10)
            .withCustomImage(
              new fg.CustomImage().withEnabled(true).withImage('swr.example.com/org/app:1'),
            ),
        ),
      ),
    )
    expect(err.httpStatusCode).toBe(400)
    expect(err.errorMsg).toContain('pulls no images from a registry')
  })
})

test('below the bubblewrap level a Custom Image function is refused with a clear reason', async () => {
  const weak = await startTestStrato({ STRATO_ISOLATION: 'rlimits' })
  try {
    await weak.client.createFunction({
      func_name: 'needs-bwrap',
      package: 'default',
      runtime: 'Custom Image',
      handler: '-',
      memory_size: 128,
      timeout: 10,
      code_type: 'Custom-Image-Swr',
      func_code: { file: b64(await busyboxHttpImage()) },
    })
    const err = await weak.client.invoke('needs-bwrap', '{}').catch((e: unknown) => e)
    expect(err).toMatchObject({ status: 500, errorCode: 'FSS.0500' })
    expect((err as Error).message).toContain('Custom Image functions need the bubblewrap sandbox')
  } finally {
    await weak.close()
  }
})
