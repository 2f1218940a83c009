/**
 * Strato as a separate process (dist/main.js): functions survive a restart on the same data dir, and
 * after SIGKILL of Strato no instance process, cgroup or instance dir is left once it starts again.
 */
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import SQLite from 'better-sqlite3'
import path from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { readProcessStartTime } from '../../src/core/index.js'
import { StratoClient } from '../../src/client/index.js'
import {
  REPO_ROOT,
  clientFor,
  removeSandboxCgroups,
  sandboxCgroups,
  sandboxProcesses,
  spawnStrato,
  tmpDir,
  waitFor,
  type StratoProcess,
} from '../helpers/strato.js'
import { inlineFunction } from '../helpers/code.js'

const started: StratoProcess[] = []
const dirs: string[] = []
afterEach(async () => {
  for (const s of started.splice(0)) {
    await s.stop('SIGKILL')
  }
  for (const d of dirs.splice(0)) {
    await removeSandboxCgroups(d)
    fs.rmSync(d, { recursive: true, force: true })
  }
})

async function start(dataDir: string): Promise<StratoProcess> {
  const s = await spawnStrato(dataDir)
  started.push(s)
  return s
}

test('restart: after a graceful stop every function is still there and runs, Node.js and Python', async () => {
  const dataDir = tmpDir()
  dirs.push(dataDir)
  const first = await start(dataDir)
  const c1 = clientFor(first.url)
  await c1.createFunction(
    inlineFunction('keep-node', 'exports.handler = async (e) => "node " + e.n'),
  )
  await c1.createFunction(
    inlineFunction(
      'keep-py',
      'def handler(event, context):\n    return "python %d" % event["n"]\n',
      { runtime: 'Python3.10' },
    ),
  )
  expect((await c1.invoke('keep-node', '{"n":1}')).result).toBe('node 1')
  await first.stop('SIGTERM')
  expect(sandboxProcesses(dataDir)).toEqual([])
  expect(sandboxCgroups(dataDir)).toEqual([])
  expect(fs.readdirSync(path.join(dataDir, 'instances'))).toEqual([])

  const second = await start(dataDir)
  const c2 = clientFor(second.url)
  const list = await c2.listFunctions()
  expect((list.functions as Array<{ func_name: string }>).map((f) => f.func_name).sort()).toEqual([
    'keep-node',
    'keep-py',
  ])
  expect((await c2.invoke('keep-node', '{"n":2}')).result).toBe('node 2')
  expect((await c2.invoke('keep-py', '{"n":3}')).result).toBe('python 3')
})

test('kill -9: instances die with Strato, and the next start removes every leftover cgroup and instance dir', async () => {
  const dataDir = tmpDir()
  dirs.push(dataDir)
  const first = await start(dataDir)
  const c1 = clientFor(first.url)
  // The function leaves a child of its own behind, in another session: the sandbox's pid
  // namespace still takes it down with the instance.
  await c1.createFunction(
    inlineFunction(
      'leaves-child',
      `const { spawn } = require('child_process')
let child
exports.handler = async () => { child ??= spawn('sleep', ['120'], { stdio: 'ignore', detached: true }); return child.pid }`,
    ),
  )
  expect((await c1.invoke('leaves-child', '{}')).isFunctionError).toBe(false)
  // With their start times: after the kill a pid may already belong to someone else.
  const processes = sandboxProcesses(dataDir).map((pid) => ({
    pid,
    started: readProcessStartTime(pid),
  }))
  // The sandbox (bwrap and its init), the guest and its child, and the pre-started cells.
  expect(processes.length).toBeGreaterThanOrEqual(3)
  const instancesDir = path.join(dataDir, 'instances')
  // The pool refills its pre-started cells in the background: a cell caught between its dir and
  // its cgroups (its network is wired in between) is still starting. Kill once every cell is whole.
  await waitFor(
    () => sandboxCgroups(dataDir).length === fs.readdirSync(instancesDir).length * 3,
    5_000,
  ).catch(() => undefined)
  const leftDirs = fs.readdirSync(instancesDir)
  const leftCgroups = sandboxCgroups(dataDir)
  expect(leftDirs.length).toBeGreaterThanOrEqual(1)
  expect(leftCgroups.length).toBe(leftDirs.length * 3)

  await first.stop('SIGKILL')
  // Every process goes at once: bwrap dies with its parent and the pid namespace with it. A task
  // leaves its cgroup early in its exit, before it is a zombie: wait for both.
  const alive = (): typeof processes =>
    processes.filter(
      (p) => readProcessStartTime(p.pid) === p.started && p.started !== undefined && !zombie(p.pid),
    )
  await waitFor(() => sandboxProcesses(dataDir).length === 0 && alive().length === 0, 5_000).catch(
    () => undefined,
  )
  expect(sandboxProcesses(dataDir)).toEqual([])
  expect(alive()).toEqual([])
  // What only Strato removes is still there.
  expect(fs.readdirSync(instancesDir).sort()).toEqual([...leftDirs].sort())
  expect(sandboxCgroups(dataDir).sort()).toEqual([...leftCgroups].sort())

  const second = await start(dataDir)
  // Each instance counted once, though it left both a dir and cgroups.
  const reapedLine = second
    .output()
    .split('\n')
    .find((l) => l.includes('removed instances left over by a previous run'))
  expect(JSON.parse(reapedLine ?? '{}')).toMatchObject({
    reaped: leftDirs.length,
    instanceDirs: leftDirs.length,
    instanceCgroups: leftDirs.length,
  })
  const nowDirs = fs.readdirSync(instancesDir)
  expect(nowDirs.filter((d) => leftDirs.includes(d))).toEqual([])
  expect(sandboxCgroups(dataDir).filter((g) => leftCgroups.includes(g))).toEqual([])
  expect((await clientFor(second.url).invoke('leaves-child', '{}')).isFunctionError).toBe(false)
})

function zombie(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')
  } catch {
    return true
  }
}

test('first start with no credentials given generates a root tenant, prints it once, and keeps it', async () => {
  const dataDir = tmpDir()
  dirs.push(dataDir)
  const s = await spawnStrato(dataDir, {
    STRATO_PROJECT_ID: '',
    STRATO_ACCESS_KEY: '',
    STRATO_SECRET_KEY: '',
  })
  started.push(s)
  await waitFor(() => s.output().includes('STRATO_SECRET_KEY='), 5_000)
  const grab = (k: string) => new RegExp(`${k}=(\\S+)`).exec(s.output())?.[1] ?? ''
  const creds = {
    projectId: grab('STRATO_PROJECT_ID'),
    accessKey: grab('STRATO_ACCESS_KEY'),
    secretKey: grab('STRATO_SECRET_KEY'),
  }
  expect(creds.projectId).toMatch(/^[0-9a-f]{32}$/)
  expect(creds.accessKey).toMatch(/^[A-Z0-9]{20}$/)
  expect(creds.secretKey).toMatch(/^[A-Za-z0-9]{40}$/)
  // The banner's lines paste into a shell as they are, and name the file they are saved in.
  expect(s.output()).toContain(`export STRATO_ENDPOINT=${s.url}\n`)
  expect(s.output()).toContain(path.join(dataDir, 'root-credentials.env'))
  // The secret is stored sealed: it appears nowhere in the data dir in plaintext.
  const db = fs.readFileSync(path.join(dataDir, 'strato.db'))
  expect(db.includes(Buffer.from(creds.secretKey))).toBe(false)
  await s.stop('SIGTERM')

  const again = await spawnStrato(dataDir, {
    STRATO_PROJECT_ID: '',
    STRATO_ACCESS_KEY: '',
    STRATO_SECRET_KEY: '',
  })
  started.push(again)
  expect(again.output()).not.toContain('STRATO_SECRET_KEY=')
  const { StratoClient } = await import('../../src/client/index.js')
  const client = new StratoClient({ endpoint: again.url, ...creds })
  expect((await client.listFunctions()).count).toBe(0)
})

test('a second Strato on the same data dir refuses to start and names the first', async () => {
  const dataDir = tmpDir()
  dirs.push(dataDir)
  const first = await start(dataDir)
  const err = await spawnStrato(dataDir).catch((e: unknown) => e)
  expect(String(err)).toContain(`in use by another Strato (pid ${first.child.pid})`)
  expect((await fetch(`${first.url}/strato/health`)).status).toBe(200)
})

test('SIGTERM lets an invocation in flight finish; past the grace period it is stopped with an error', async () => {
  const dataDir = tmpDir()
  dirs.push(dataDir)
  const s = await spawnStrato(dataDir, { STRATO_SHUTDOWN_GRACE_MS: '1500' })
  started.push(s)
  const c = clientFor(s.url)
  await c.createFunction(
    inlineFunction(
      'sleeper',
      'exports.handler = async (e) => { await new Promise(r => setTimeout(r, e.ms)); return "done" }',
    ),
  )
  await c.invoke('sleeper', '{"ms":0}')
  const short = c.invoke('sleeper', '{"ms":600}')
  const long = c.invoke('sleeper', '{"ms":20000}')
  await new Promise((r) => setTimeout(r, 200))
  const stopping = Date.now()
  const stopped = s.stop('SIGTERM')
  expect((await short).result).toBe('done')
  const cut = await long
  expect(cut.isFunctionError).toBe(true)
  expect(JSON.parse(cut.result).errorType).toBe('RuntimeExitError')
  await stopped
  expect(Date.now() - stopping).toBeLessThan(4000)
  expect(sandboxProcesses(dataDir)).toEqual([])
})

/** Runs `node dist/main.js` until it exits (a start that fails): its exit code and output. */
async function runUntilExit(
  dataDir: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist/main.js')], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      STRATO_GATEWAY_PORT: '0',
      STRATO_DATA_DIR: dataDir,
      STRATO_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (c: Buffer) => (output += c.toString()))
  child.stderr.on('data', (c: Buffer) => (output += c.toString()))
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  return { code, output }
}

test('first start that fails (API port in use) still shows and saves the generated credentials; a key given later joins that root tenant', async () => {
  const dataDir = tmpDir()
  dirs.push(dataDir)
  const holder = net.createServer()
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
  const port = (holder.address() as net.AddressInfo).port
  const failed = await runUntilExit(dataDir, {
    STRATO_PORT: String(port),
    STRATO_PROJECT_ID: '',
    STRATO_ACCESS_KEY: '',
    STRATO_SECRET_KEY: '',
  }).finally(() => holder.close())
  expect(failed.code).toBe(1)
  expect(failed.output).toMatch(/strato: cannot start: .*EADDRINUSE/)

  // 1. The banner was printed anyway, as lines a shell takes as they are.
  const exports = failed.output.split('\n').filter((l) => l.startsWith('export STRATO_'))
  expect(exports.map((l) => l.slice(0, l.indexOf('=')))).toEqual([
    'export STRATO_ENDPOINT',
    'export STRATO_PROJECT_ID',
    'export STRATO_ACCESS_KEY',
    'export STRATO_SECRET_KEY',
  ])
  expect(exports[0]).toBe(`export STRATO_ENDPOINT=http://127.0.0.1:${port}`)
  const shellSees = (script: string): string[] =>
    execFileSync(
      'bash',
      ['-c', `${script}\necho "$STRATO_PROJECT_ID $STRATO_ACCESS_KEY $STRATO_SECRET_KEY"`],
      { encoding: 'utf8', env: { PATH: process.env.PATH } },
    )
      .trim()
      .split(' ')
  const [projectId = '', accessKey = '', secretKey = ''] = shellSees(exports.join('\n'))
  expect(projectId).toMatch(/^[0-9a-f]{32}$/)
  expect(secretKey).toMatch(/^[A-Za-z0-9]{40}$/)

  // 2. And saved once, readable by the owner only, with the same lines.
  const file = path.join(dataDir, 'root-credentials.env')
  expect(failed.output).toContain(file)
  expect(fs.statSync(file).mode & 0o777).toBe(0o600)
  expect(
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('export')),
  ).toEqual(exports)
  expect(shellSees(`. ${file}`)).toEqual([projectId, accessKey, secretKey])

  // 3. Starting again with a key of one's own (as the README suggests) adds it to that tenant.
  const again = await spawnStrato(dataDir, {
    STRATO_PROJECT_ID: '',
    STRATO_ACCESS_KEY: 'OPERATOR-KEY',
    STRATO_SECRET_KEY: 'operator-secret',
  })
  started.push(again)
  expect(again.output()).not.toContain('export STRATO_')
  const generated = new StratoClient({ endpoint: again.url, projectId, accessKey, secretKey })
  const operator = new StratoClient({
    endpoint: again.url,
    projectId,
    accessKey: 'OPERATOR-KEY',
    secretKey: 'operator-secret',
  })
  await operator.createFunction(inlineFunction('shared', 'exports.handler = async () => 1'))
  expect((await generated.listFunctions()).count).toBe(1)
  await again.stop('SIGTERM')
  const db = new SQLite(path.join(dataDir, 'strato.db'), { readonly: true })
  const tenants = db.prepare('SELECT project_id FROM tenants').all()
  db.close()
  expect(tenants).toEqual([{ project_id: projectId }])

  // 4. A project id other than the root tenant's is refused: it would be a second root tenant.
  const refused = await runUntilExit(dataDir, {
    STRATO_PORT: '0',
    STRATO_PROJECT_ID: 'ffffffffffffffffffffffffffffffff',
    STRATO_ACCESS_KEY: 'OPERATOR-KEY',
    STRATO_SECRET_KEY: 'operator-secret',
  })
  expect(refused.code).toBe(1)
  expect(refused.output).toContain(
    `STRATO_PROJECT_ID=ffffffffffffffffffffffffffffffff is not the project id of this data dir's root tenant, ${projectId}`,
  )
})
