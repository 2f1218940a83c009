/**
 * The `strato` CLI, run as a real process (bin/strato.js over dist/), against a real Strato.
 */
import { execFile } from 'node:child_process'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { ACCESS_KEY, PROJECT_ID, REPO_ROOT, SECRET_KEY } from '../helpers/strato.js'
import { useStrato } from '../helpers/use-strato.js'

const strato = useStrato()

const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/functions')

/** Runs the CLI asynchronously: Strato serves from this same process, so a sync spawn would deadlock. */
function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, 'bin/strato.js'), ...args],
      {
        encoding: 'utf8',
        timeout: 30_000,
        env: {
          PATH: process.env.PATH ?? '',
          STRATO_ENDPOINT: strato.url,
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
  ['node-greeter', 'Node.js18.15'],
  ['python-greeter', 'Python3.10'],
])('strato CLI with %s', (fixture, runtime) => {
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
    expect(deploy.stdout).toContain(
      `created urn:fss:local-1:${PROJECT_ID}:function:default:${name}:latest`,
    )

    const list = await cli(['list'])
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(
      new RegExp(`default:${name}\\t${runtime.replace('.', '\\.')}\\t128 MB\\t30 s`),
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
