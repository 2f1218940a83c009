/**
 * The `strato` CLI, run as a real process (bin/strato.js over dist/), against a real Strato.
 */
import { execFile, spawn } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import {
  ACCESS_KEY,
  PROJECT_ID,
  REPO_ROOT,
  SECRET_KEY,
  startTestStrato,
  tmpDir,
  waitFor,
} from '../helpers/strato.js'
import { useStrato } from '../helpers/use-strato.js'
import { inlineFunction } from '../helpers/code.js'

const strato = useStrato()

const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/functions')

/** Runs the CLI asynchronously: Strato serves from this same process, so a sync spawn would deadlock. */
function cli(
  args: string[],
  env: Record<string, string> = {},
  endpoint?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, 'bin/strato.js'), ...args],
      {
        encoding: 'utf8',
        timeout: 30_000,
        maxBuffer: 16 * 1024 * 1024,
        env: {
          PATH: process.env.PATH ?? '',
          STRATO_ENDPOINT: endpoint ?? strato.url,
          STRATO_PROJECT_ID: PROJECT_ID,
          STRATO_ACCESS_KEY: ACCESS_KEY,
          STRATO_SECRET_KEY: SECRET_KEY,
          ...env,
        },
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
        resolve({ code, stdout, stderr })
      },
    )
  })
}

describe.each([
  ['node-greeter', 'Node.js20.15', 'found index.js'],
  ['python-greeter', 'Python3.10', 'found index.py'],
])('strato CLI with %s', (fixture, runtime, reason) => {
  const name = `cli-${fixture}`

  test('deploy a folder, then list, show and invoke it', async () => {
    const deploy = await cli([
      'deploy',
      path.join(FIXTURES, fixture),
      '--name',
      name,
      '--env',
      'STAGE=dev',
    ])
    expect(deploy.stderr).toBe('')
    expect(deploy.code).toBe(0)
    expect(deploy.stdout).toContain(`runtime ${runtime}, handler index.handler (${reason};`)
    expect(deploy.stdout).toContain(
      `created urn:fss:local-1:${PROJECT_ID}:function:default:${name}:latest`,
    )

    const list = await cli(['list'])
    expect(list.code).toBe(0)
    const lines = list.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^NAME +RUNTIME +MEMORY +TIMEOUT +LAST MODIFIED$/)
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^${name} +${runtime.replace('.', '\\.')} +128 MB +30 s +\\d{4}-\\d\\d-\\d\\d`),
      ),
    )

    const show = await cli(['show', name])
    expect(show.code).toBe(0)
    expect(JSON.parse(show.stdout)).toMatchObject({
      func_name: name,
      runtime,
      user_data: '{"STAGE":"dev"}',
    })

    const invoke = await cli(['invoke', name, '--data', '{"name":"Ada"}'])
    expect(invoke.code).toBe(0)
    expect(JSON.parse(invoke.stdout)).toEqual({ message: 'Hello, Ada!', stage: 'dev' })
    expect(invoke.stderr).toContain('INFO greeting Ada')
    expect(invoke.stderr).toContain('Finish invoke request')

    const queued = await cli(['invoke', name, '--async', '--data', '{"name":"Bob"}'])
    expect(queued.code).toBe(0)
    const { request_id: id } = JSON.parse(queued.stdout) as { request_id: string }
    let logs = ''
    for (let i = 0; i < 100 && !logs.includes(`Start invoke request '${id}'`); i++) {
      await new Promise((r) => setTimeout(r, 100))
      logs = (await cli(['logs', name, '--request-id', id])).stdout
    }
    expect(logs).toContain(`Start invoke request '${id}'`)
  })

  test('redeploy updates code and config; logs shows the invocations; delete removes it', async () => {
    const redeploy = await cli([
      'deploy',
      path.join(FIXTURES, fixture),
      '--name',
      name,
      '--memory',
      '256',
      '--env',
      'STAGE=prod',
    ])
    expect(redeploy.code).toBe(0)
    expect(redeploy.stdout).toContain('updated')
    const invoke = await cli(['invoke', name, '--no-log', '--data', '{"name":"Grace"}'])
    expect(JSON.parse(invoke.stdout)).toEqual({ message: 'Hello, Grace!', stage: 'prod' })
    expect(invoke.stderr).toBe('')
    const logs = await cli(['logs', name, '--limit', '5'])
    expect(logs.code).toBe(0)
    expect(logs.stdout).toContain('greeting Grace')
    expect(logs.stdout).toContain('greeting Ada')
    const del = await cli(['delete', name])
    expect(del.code).toBe(0)
    const gone = await cli(['show', name])
    expect(gone.code).toBe(1)
    expect(gone.stderr).toContain('FSS.1051 (HTTP 404)')
  })
})

describe('strato CLI errors', () => {
  test('a function error prints the error JSON and exits 1', async () => {
    await cli(['deploy', path.join(FIXTURES, 'node-greeter'), '--name', 'cli-fails'])
    const r = await cli(['invoke', 'cli-fails', '--no-log', '--data', '{"fail":true}'])
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stdout)).toMatchObject({
      errorMessage: 'asked to fail',
      errorType: 'Error',
    })
  })

  test('missing credentials exit 2 and say which', async () => {
    const r = await cli(['list'], { STRATO_SECRET_KEY: '' })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--secret-key / STRATO_SECRET_KEY')
  })

  test('an invalid event, a missing path and an unknown command are usage errors', async () => {
    expect((await cli(['invoke', 'x', '--data', '{nope'])).code).toBe(2)
    expect((await cli(['deploy', '/does/not/exist', '--name', 'x'])).code).toBe(2)
    expect((await cli(['frobnicate'])).code).toBe(2)
  })

  test('a wrong secret is reported as the API error, an unreachable endpoint clearly', async () => {
    const wrong = await cli(['list'], { STRATO_SECRET_KEY: 'nope' })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain('FSS.0401 (HTTP 401)')
    const down = await cli(['list'], { STRATO_ENDPOINT: 'http://127.0.0.1:9' })
    expect(down.code).toBe(1)
    expect(down.stderr).toContain('cannot reach Strato')
  })
})

test('strato CLI: a redeploy that changes the handler and the code together works', async () => {
  const { tmpDir } = await import('../helpers/strato.js')
  const fs = await import('node:fs')
  const dir = tmpDir('cli-handler-')
  fs.writeFileSync(path.join(dir, 'index.js'), 'exports.handler = async () => "old"')
  expect((await cli(['deploy', dir, '--name', 'cli-moves'])).code).toBe(0)
  fs.rmSync(path.join(dir, 'index.js'))
  fs.writeFileSync(path.join(dir, 'main.js'), 'exports.run = async () => "new"')
  const redeploy = await cli(['deploy', dir, '--name', 'cli-moves', '--handler', 'main.run'])
  expect(redeploy.stderr).toBe('')
  expect(redeploy.code).toBe(0)
  expect((await cli(['invoke', 'cli-moves', '--no-log'])).stdout.trim()).toBe('new')
  fs.rmSync(dir, { recursive: true, force: true })
})

test('strato CLI: a single Python file deploys with its runtime and handler guessed from it', async () => {
  const { tmpDir } = await import('../helpers/strato.js')
  const fs = await import('node:fs')
  const dir = tmpDir('cli-file-')
  const file = path.join(dir, 'greeter.py')
  fs.writeFileSync(file, 'def handler(event, context):\n    return "hi " + event["who"]\n')
  const deploy = await cli(['deploy', file, '--name', 'cli-one-file'])
  expect(deploy.code).toBe(0)
  const show = JSON.parse((await cli(['show', 'cli-one-file'])).stdout)
  expect(show).toMatchObject({ runtime: 'Python3.10', handler: 'greeter.handler' })
  expect(
    (await cli(['invoke', 'cli-one-file', '--no-log', '--data', '{"who":"you"}'])).stdout.trim(),
  ).toBe('hi you')
  fs.rmSync(dir, { recursive: true, force: true })
})

describe('strato deploy is all or nothing (issue 12, defect 3)', () => {
  test('a handler the package does not have is refused before anything changes', async () => {
    const dir = tmpDir('cli-atomic-')
    fs.writeFileSync(path.join(dir, 'index.js'), 'exports.handler = async () => "still here"')
    expect((await cli(['deploy', dir, '--name', 'cli-atomic'])).code).toBe(0)
    const bad = await cli([
      'deploy',
      dir,
      '--name',
      'cli-atomic',
      '--handler',
      'nope.handler',
      '--memory',
      '256',
    ])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("the handler 'nope.handler' needs 'nope.js'")
    const show = JSON.parse((await cli(['show', 'cli-atomic'])).stdout) as Record<string, unknown>
    expect(show).toMatchObject({ handler: 'index.handler', memory_size: 128 })
    const invoke = await cli(['invoke', 'cli-atomic', '--no-log'])
    expect(invoke.code).toBe(0)
    expect(invoke.stdout.trim()).toBe('still here')
    fs.rmSync(dir, { recursive: true, force: true })
  })

  test('a code update the server refuses puts the previous configuration back', async () => {
    // A server whose package limit the CLI cannot know: the code request fails after the config
    // request succeeded.
    const small = await startTestStrato({ STRATO_CODE_PACKAGE_MAX_BYTES: '65536' })
    try {
      const dir = tmpDir('cli-rollback-')
      fs.writeFileSync(path.join(dir, 'index.js'), 'exports.handler = async () => "v1"')
      const first = await cli(
        ['deploy', dir, '--name', 'cli-rollback', '-e', 'STAGE=a'],
        {},
        small.url,
      )
      expect(first.code).toBe(0)
      fs.writeFileSync(path.join(dir, 'main.js'), 'exports.run = async () => "v2"')
      fs.writeFileSync(path.join(dir, 'noise.bin'), crypto.randomBytes(100_000))
      const second = await cli(
        ['deploy', dir, '--name', 'cli-rollback', '-H', 'main.run', '-m', '256', '-e', 'STAGE=b'],
        {},
        small.url,
      )
      expect(second.code).toBe(1)
      expect(second.stderr).toContain('FSS.1071')
      expect(second.stderr).toContain('nothing changed: the previous configuration is back')
      const show = JSON.parse(
        (await cli(['show', 'cli-rollback'], {}, small.url)).stdout,
      ) as Record<string, unknown>
      expect(show).toMatchObject({
        handler: 'index.handler',
        memory_size: 128,
        user_data: '{"STAGE":"a"}',
      })
      const invoke = await cli(['invoke', 'cli-rollback', '--no-log'], {}, small.url)
      expect(invoke.stdout.trim()).toBe('v1')
      fs.rmSync(dir, { recursive: true, force: true })
    } finally {
      await small.close()
    }
  })
})

describe('strato usage (issue 12, defects 6 and 10)', () => {
  const secret = 'sk-never-print-me-0123456789'

  test('help and the usage shown after a mistake never print the secret key', async () => {
    for (const args of [
      ['--help'],
      ['help', 'deploy'],
      [],
      ['frobnicate'],
      ['deploy'],
      ['deploy', '.', '--name', 'x', '-t', '-5'],
      ['list', 'extra'],
    ]) {
      const r = await cli(args, { STRATO_SECRET_KEY: secret })
      expect(r.stdout + r.stderr).not.toContain(secret)
    }
    const wrong = await cli(['list'], { STRATO_SECRET_KEY: secret })
    expect(wrong.code).toBe(1)
    expect(wrong.stdout + wrong.stderr).not.toContain(secret)
  })

  test('every usage mistake exits 2 and says precisely what is wrong', async () => {
    const cases: Array<[string[], string]> = [
      [
        ['deploy', '.', '--name', 'x', '-t', '-5'],
        'must be a whole number of seconds from 3 to 259200',
      ],
      [
        ['deploy', '.', '--name', 'x', '-t', 'ten'],
        'must be a whole number of seconds from 3 to 259200',
      ],
      [['deploy', '.', '--name', 'x', '-m', '100'], 'must be one of these sizes in MB: 128'],
      [['deploy', '.', '--name', 'x', '-e', 'NOEQUALS'], 'must be KEY=VALUE'],
      [['deploy', '.'], "required option '-n, --name <name>' not specified"],
      [['list', 'extra'], "too many arguments for 'list'"],
      [['logs', 'x', '--limit', '0'], 'must be a whole number of invocations from 1 to 500'],
      [['invoke', 'x', '--file', '/does/not/exist'], 'cannot read the event file'],
      [['alias', 'create', 'x', 'live', '--version', '1', '--weight', '2=120'], 'VERSION=PERCENT'],
      [['version'], 'Usage: strato version'],
      [[], 'Usage: strato'],
    ]
    for (const [args, message] of cases) {
      const r = await cli(args)
      expect({ args, code: r.code }).toEqual({ args, code: 2 })
      expect(r.stderr + r.stdout).toContain(message)
    }
    expect((await cli(['--help'])).code).toBe(0)
  })
})

describe('strato features for a newcomer (issue 12)', () => {
  test('a folder with a bootstrap deploys as an HTTP function; invoke prints its body unwrapped', async () => {
    const dir = tmpDir('cli-http-')
    fs.writeFileSync(
      path.join(dir, 'app.py'),
      `from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello from " + self.path).encode()
        self.send_response(201)
        self.send_header("Content-Type", "text/plain")
        self.send_header("X-Example", "yes")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

HTTPServer(("127.0.0.1", 8000), Handler).serve_forever()
`,
    )
    fs.writeFileSync(path.join(dir, 'bootstrap'), 'python3 $RUNTIME_CODE_ROOT/app.py\n')
    const deploy = await cli(['deploy', dir, '--name', 'cli-http'])
    expect(deploy.code).toBe(0)
    expect(deploy.stdout).toContain('runtime http, handler bootstrap (found bootstrap')
    const r = await cli([
      'invoke',
      'cli-http',
      '--no-log',
      '--data',
      '{"httpMethod":"GET","path":"/x"}',
    ])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('hello from /x')
    expect(r.stderr).toMatch(/^HTTP 201\n/)
    expect(r.stderr).toMatch(/^X-Example: yes$/im)
    const raw = await cli(['invoke', 'cli-http', '--raw', '--no-log', '--data', '{"path":"/y"}'])
    expect(JSON.parse(raw.stdout)).toMatchObject({ statusCode: 201, isBase64Encoded: true })
    fs.rmSync(dir, { recursive: true, force: true })
  })

  test('a large package shows upload progress on stderr; a small one to a pipe does not', async () => {
    const dir = tmpDir('cli-large-')
    fs.writeFileSync(path.join(dir, 'index.js'), 'exports.handler = async () => "big"')
    fs.writeFileSync(path.join(dir, 'blob.bin'), crypto.randomBytes(5 * 1024 * 1024))
    const r = await cli(['deploy', dir, '--name', 'cli-large'])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/^uploading [\d.]+ MiB of [\d.]+ MiB \(\d+ %\)$/m)
    expect(r.stderr).toContain('(100 %)')
    fs.rmSync(path.join(dir, 'blob.bin'))
    const small = await cli(['deploy', dir, '--name', 'cli-large'])
    expect(small.code).toBe(0)
    expect(small.stderr).toBe('')
    fs.rmSync(dir, { recursive: true, force: true })
  })

  test('logs --follow prints invocations as they finish and stops on SIGINT', async () => {
    await cli(['deploy', path.join(FIXTURES, 'node-greeter'), '--name', 'cli-follow'])
    const child = spawn(
      process.execPath,
      [path.join(REPO_ROOT, 'bin/strato.js'), 'logs', 'cli-follow', '--follow'],
      {
        env: {
          PATH: process.env.PATH ?? '',
          STRATO_ENDPOINT: strato.url,
          STRATO_PROJECT_ID: PROJECT_ID,
          STRATO_ACCESS_KEY: ACCESS_KEY,
          STRATO_SECRET_KEY: SECRET_KEY,
        },
      },
    )
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
    try {
      await cli(['invoke', 'cli-follow', '--no-log', '--data', '{"name":"First"}'])
      await waitFor(() => out.includes('greeting First'), 15_000)
      await cli(['invoke', 'cli-follow', '--no-log', '--data', '{"name":"Second"}'])
      await waitFor(() => out.includes('greeting Second'), 15_000)
      // Each invocation is printed once, however many polls saw it.
      expect(out.split('greeting First').length).toBe(2)
    } finally {
      child.kill('SIGINT')
    }
    expect(await exited).toBe(0)
  })

  test('logs --follow --since --grep --level prints only matching invocations made after it started, until SIGINT', async () => {
    await cli(['deploy', path.join(FIXTURES, 'node-greeter'), '--name', 'cli-follow-filter'])
    await cli(['invoke', 'cli-follow-filter', '--no-log', '--data', '{"name":"KeepEarly"}'])
    const since = new Date().toISOString()
    const child = spawn(
      process.execPath,
      [
        path.join(REPO_ROOT, 'bin/strato.js'),
        'logs',
        'cli-follow-filter',
        '--follow',
        '--since',
        since,
        '--grep',
        'Keep',
        '--level',
        'info',
      ],
      {
        env: {
          PATH: process.env.PATH ?? '',
          STRATO_ENDPOINT: strato.url,
          STRATO_PROJECT_ID: PROJECT_ID,
          STRATO_ACCESS_KEY: ACCESS_KEY,
          STRATO_SECRET_KEY: SECRET_KEY,
        },
      },
    )
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
    try {
      await cli(['invoke', 'cli-follow-filter', '--no-log', '--data', '{"name":"Drop"}'])
      await cli(['invoke', 'cli-follow-filter', '--no-log', '--data', '{"name":"KeepLate"}'])
      // A failed one matches too: its ERROR line is above INFO and it contains the text.
      await cli([
        'invoke',
        'cli-follow-filter',
        '--no-log',
        '--data',
        '{"name":"KeepFail","fail":true}',
      ])
      await waitFor(() => out.includes('greeting KeepFail'), 15_000)
      expect(out).toContain('greeting KeepLate')
      expect(out).toContain('asked to fail')
      expect(out).not.toContain('greeting Drop')
      expect(out).not.toContain('greeting KeepEarly')
      expect(out.indexOf('greeting KeepLate')).toBeLessThan(out.indexOf('greeting KeepFail'))
      expect(out.split('greeting KeepLate').length).toBe(2)
    } finally {
      child.kill('SIGINT')
    }
    expect(await exited).toBe(0)
    // Without --follow the same filters search the recent entries.
    const errors = await cli(['logs', 'cli-follow-filter', '--level', 'ERROR'])
    expect(errors.stdout).toContain('greeting KeepFail')
    expect(errors.stdout).not.toContain('greeting KeepLate')
    const bad = await cli(['logs', 'cli-follow-filter', '--since', 'last week'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('must be a duration back from now')
  })

  test('versions, aliases with weights, triggers, async config and records', async () => {
    await cli([
      'deploy',
      path.join(FIXTURES, 'node-greeter'),
      '--name',
      'cli-res',
      '-e',
      'STAGE=one',
    ])
    expect((await cli(['version', 'publish', 'cli-res', '--version', 'v1'])).stdout).toContain(
      'published version v1',
    )
    await cli([
      'deploy',
      path.join(FIXTURES, 'node-greeter'),
      '--name',
      'cli-res',
      '-e',
      'STAGE=two',
    ])
    expect((await cli(['version', 'publish', 'cli-res', '--version', 'v2'])).code).toBe(0)
    const versions = (await cli(['version', 'list', 'cli-res'])).stdout.split('\n')
    expect(versions[0]).toMatch(/^VERSION +RUNTIME/)
    expect(versions.map((l) => l.split(/ +/)[0])).toEqual(
      expect.arrayContaining(['latest', 'v1', 'v2']),
    )
    expect((await cli(['alias', 'create', 'cli-res', 'live', '--version', 'v1'])).code).toBe(0)
    const viaAlias = await cli(['invoke', 'cli-res:!live', '--no-log', '--data', '{"name":"A"}'])
    expect(JSON.parse(viaAlias.stdout)).toMatchObject({ stage: 'one' })
    const updated = await cli(['alias', 'update', 'cli-res', 'live', '--weight', 'v2=100'])
    expect(updated.code).toBe(0)
    const viaWeight = await cli(['invoke', 'cli-res:!live', '--no-log', '--data', '{"name":"A"}'])
    expect(JSON.parse(viaWeight.stdout)).toMatchObject({ stage: 'two' })
    expect((await cli(['alias', 'list', 'cli-res'])).stdout).toMatch(/^live +v1 +v2=100%/m)
    expect((await cli(['version', 'delete', 'cli-res', 'v1'])).stderr).toContain('FSS.1094')
    expect((await cli(['alias', 'delete', 'cli-res', 'live'])).code).toBe(0)
    expect((await cli(['version', 'delete', 'cli-res', 'v1'])).code).toBe(0)

    const trigger = await cli([
      'trigger',
      'create',
      'cli-res',
      '--path',
      '/cli-res',
      '--method',
      'POST',
    ])
    expect(trigger.code).toBe(0)
    const id = /created trigger ([0-9a-f]{32}): POST (\S+)/.exec(trigger.stdout)
    expect(id?.[2]).toBe(`${strato.running.gatewayUrl}/cli-res`)
    expect((await cli(['trigger', 'list', 'cli-res'])).stdout).toContain(id?.[1])
    expect((await cli(['trigger', 'delete', 'cli-res', id?.[1] ?? ''])).code).toBe(0)
    expect((await cli(['trigger', 'list', 'cli-res'])).stdout).not.toContain(id?.[1])

    expect((await cli(['async-config', 'get', 'cli-res'])).stdout).toContain('defaults apply')
    const put = await cli(['async-config', 'put', 'cli-res', '--retries', '0', '--max-age', '600'])
    expect(JSON.parse(put.stdout)).toMatchObject({
      max_async_retry_attempts: 0,
      max_async_event_age_in_seconds: 600,
    })
    const kept = await cli(['async-config', 'put', 'cli-res', '--retries', '2'])
    expect(JSON.parse(kept.stdout)).toMatchObject({
      max_async_retry_attempts: 2,
      max_async_event_age_in_seconds: 600,
    })
    const queued = await cli(['invoke', 'cli-res', '--async', '--data', '{"name":"Q"}'])
    const { request_id: rid } = JSON.parse(queued.stdout) as { request_id: string }
    await waitFor(
      async () =>
        (await cli(['async-records', 'list', 'cli-res'])).stdout.includes(`${rid}  SUCCESS`),
      15_000,
    )
  })

  test('whoami prints the project id and endpoint of the current key', async () => {
    const r = await cli(['whoami'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(new RegExp(`^project_id +${PROJECT_ID}$`, 'm'))
    expect(r.stdout).toMatch(new RegExp(`^access_key +${ACCESS_KEY}$`, 'm'))
    expect(r.stdout).toMatch(new RegExp(`^endpoint +${strato.url}$`, 'm'))
    const unsigned = await fetch(`${strato.url}/strato/whoami`)
    expect(unsigned.status).toBe(401)
    const wrong = await cli(['whoami'], { STRATO_SECRET_KEY: 'nope' })
    expect(wrong.code).toBe(1)
  })
})

describe('strato flows (issue 17)', () => {
  test('deploy a flow file, start it, list and show its run as a tree; retry and stop', async () => {
    await strato.client.createFunction(
      inlineFunction('cli-flow-double', 'exports.handler = async (e) => ({ x2: e.x * 2 })'),
    )
    await strato.client.createFunction(
      inlineFunction(
        'cli-flow-once',
        `const seen = new Set()
        exports.handler = async (e, context) => {
          const run = context.getWorkflowRunID()
          if (!seen.has(run)) { seen.add(run); throw new Error('first call fails') }
          return { ok: true }
        }`,
      ),
    )
    const urn = (name: string) => `urn:fss:local-1:${PROJECT_ID}:function:default:${name}:latest`
    const flow = {
      name: 'cli-flow',
      start: 'fan',
      functions: [{ name: 'double', operation: urn('cli-flow-double') }],
      constants: {},
      retries: [],
      states: [
        {
          id: 'fan',
          name: 'fan',
          type: 'Parallel',
          branches: [
            { actions: [{ function_ref: { ref_name: 'double', arguments: { x: '$.a' } } }] },
            { actions: [{ function_ref: { ref_name: 'double', arguments: { x: '$.b' } } }] },
          ],
          transition: 'done',
        },
        { id: 'done', name: 'done', type: 'End', end: true, transition: '', actions: [] },
      ],
    }
    const dir = tmpDir('strato-cli-flow-')
    const file = path.join(dir, 'flow.json')
    fs.writeFileSync(file, JSON.stringify(flow))
    const created = await cli(['flows', 'deploy', file])
    expect(created.stderr).toBe('')
    expect(created.stdout).toMatch(
      /^created flow cli-flow \(urn:fss:local-1:.*:workflow:default:cli-flow:latest, id [0-9a-f-]{36}\)$/m,
    )
    const updated = await cli(['flows', 'deploy', file])
    expect(updated.stdout).toMatch(/^updated flow cli-flow /m)

    const run = await cli(['flows', 'start', 'cli-flow', '--input', '{"a":1,"b":5}', '--wait'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const lines = run.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^execution [0-9a-f-]{36} {2}success {2}\S+$/)
    const executionId = (lines[0] ?? '').split(' ')[1] ?? ''
    const tree = lines.slice(1).map((l) => l.replace(/ {2}\d+(\.\d)?m?s$/, '  <t>'))
    expect(tree).toEqual([
      '├─ fan  success  <t>',
      '│  ├─ branch 0',
      '│  │  └─ → cli-flow-double  success  <t>',
      '│  └─ branch 1',
      '│     └─ → cli-flow-double  success  <t>',
      '└─ done  success  <t>',
    ])
    const shown = await cli(['flows', 'show', executionId])
    expect(shown.stdout).toBe(run.stdout)

    const flows = await cli(['flows', 'list'])
    expect(flows.stdout).toMatch(/^NAME +MODE +ID +UPDATED$/m)
    expect(flows.stdout).toMatch(/^cli-flow +NORMAL /m)
    const runs = await cli(['flows', 'list', 'cli-flow'])
    expect(runs.stdout).toMatch(new RegExp(`^${executionId} +success `, 'm'))

    // A failing run, retried from its failed node.
    fs.writeFileSync(
      file,
      JSON.stringify({
        ...flow,
        start: 'once',
        functions: [{ name: 'once', operation: urn('cli-flow-once') }],
        states: [
          {
            id: 'once',
            name: 'once',
            type: 'Operation',
            end: false,
            transition: 'done',
            actions: [{ function_ref: { ref_name: 'once' } }],
          },
          flow.states[1],
        ],
      }),
    )
    expect((await cli(['flows', 'deploy', file])).code).toBe(0)
    const failed = await cli(['flows', 'start', 'cli-flow', '--wait'])
    expect(failed.code).toBe(1)
    expect(failed.stdout).toMatch(/^execution \S+ {2}fail /)
    expect(failed.stdout).toContain('first call fails')
    const failedId = failed.stdout.split(' ')[1] ?? ''
    const retry = await cli(['flows', 'retry', failedId])
    expect(retry.stdout.trim()).toBe(`retrying ${failedId}`)
    await waitFor(
      async () => /^execution \S+ {2}success/.test((await cli(['flows', 'show', failedId])).stdout),
      20_000,
      200,
    )
    const stopDone = await cli(['flows', 'stop', failedId])
    expect(stopDone.code).toBe(1)
    expect(stopDone.stderr).toContain('FGS.3003')
    const unknown = await cli(['flows', 'show', 'no-such-run'])
    expect([unknown.code, unknown.stderr.trim()]).toEqual([
      2,
      "strato: no flow has an execution 'no-such-run'",
    ])
  }, 60_000)
})
