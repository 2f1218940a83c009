/**
 * The stem cell pool of InstanceLauncher with real Node.js guests at the `none` level (plain child
 * processes): that launches deepen it, how many cells it boots at once while refilling, and that a
 * burst of launches is served from the pool (stem-cell-pool.test.ts has the depth's rules). Each boot is held back by a fixed delay (a shell in front of
 * the interpreter), so "boots in flight" can be counted before any of them has finished.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, expect, test as baseTest } from 'vitest'
import { NoSandbox } from './host-sandboxes.js'
import type { Instance } from './instance.js'
import { InstanceLauncher, type LaunchRequest } from './launcher.js'
import type { CellPlan, CellRequest, Sandbox } from './sandbox.js'

/** How long every cell's boot is held back before the interpreter starts. */
const BOOT_DELAY_S = 1

/** NoSandbox whose plans wait `BOOT_DELAY_S` first; it notes when it prepared each cell. */
class SlowBootSandbox extends NoSandbox implements Sandbox {
  readonly preparedAt = new Map<string, number>()

  get prepared(): number {
    return this.preparedAt.size
  }

  override prepare(request: CellRequest): CellPlan {
    this.preparedAt.set(request.instanceId, Date.now())
    const plan = super.prepare(request)
    return {
      ...plan,
      command: '/bin/sh',
      args: ['-c', `sleep ${BOOT_DELAY_S}; exec "$0" "$@"`, plan.command, ...plan.args],
    }
  }
}

let dir: string
let codeDir: string
let launcher: InstanceLauncher | undefined

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strato-launcher-'))
  codeDir = path.join(dir, 'code')
  fs.mkdirSync(codeDir)
  fs.writeFileSync(
    path.join(codeDir, 'index.js'),
    'exports.handler = async () => ({ statusCode: 200, body: "hello" })\n',
  )
  fs.mkdirSync(path.join(dir, 'instances'))
})

afterEach(async () => {
  await launcher?.close()
  launcher = undefined
  fs.rmSync(dir, { recursive: true, force: true })
})

function launcherWith(
  sandbox: Sandbox,
  stemCells: number,
  stemCellBoots: number,
  stemCellBootNiceness = 0,
): InstanceLauncher {
  launcher = new InstanceLauncher({
    sandbox,
    instancesDir: path.join(dir, 'instances'),
    interpreterCommands: {},
    startTimeoutMs: 10_000,
    stemCells,
    stemCellBoots,
    stemCellBootNiceness,
    // The tests take the decay's steps themselves.
    stemCellDecayMs: 0,
    onBackgroundError: (err) => {
      throw err
    },
  })
  return launcher
}

function requestOf(codeRoot: string): LaunchRequest {
  return {
    family: 'node',
    codeDir: codeRoot,
    dependencyDirs: [],
    memorySizeMb: 128,
    cpuMillicores: 300,
    timeoutS: 3,
    handler: 'index.handler',
    initializerHandler: '',
    initializerTimeoutS: 3,
    concurrency: 1,
    env: {},
    egress: { kind: 'none' },
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Boots are slow on purpose (and slower on a loaded machine). */
const test = (name: string, fn: () => Promise<void>): void => {
  baseTest(name, fn, 30_000)
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

test('a runtime only prewarmed, never launched, keeps one cell whatever stemCells says', async () => {
  const sandbox = new SlowBootSandbox()
  const l = launcherWith(sandbox, 4, 4)
  l.prewarm('node', 128)
  await until('the cell', () => l.stemCellCount() === 1)
  await sleep(BOOT_DELAY_S * 1000 + 200)
  expect(l.stemCellCount()).toBe(1)
  expect(sandbox.prepared).toBe(1)
})

/** `n` launches at once, as a burst of new functions makes them. */
function launchAtOnce(l: InstanceLauncher, n: number): Promise<Instance[]> {
  return Promise.all(Array.from({ length: n }, () => l.launch(requestOf(codeDir))))
}

test('a burst of launches deepens its runtime to the burst, up to stemCells; refills boot up to stemCellBoots at once', async () => {
  const sandbox = new SlowBootSandbox()
  const l = launcherWith(sandbox, 4, 2)
  l.prewarm('node', 128)
  await until('the prewarmed cell', () => l.stemCellCount() === 1)
  expect(l.stemCellDepths()).toEqual({ 'node:128': 1 })
  // A burst of five (the first takes the prewarmed cell, four find none): at most stemCells.
  const launching = launchAtOnce(l, 5)
  expect(l.stemCellDepths()).toEqual({ 'node:128': 4 })
  // While the four boot their own cells, the refill boots two at once of the four missing.
  await until('the refill boots', () => sandbox.prepared >= 7)
  await sleep(100)
  expect(sandbox.prepared).toBe(7)
  const launched = await launching
  await until('the pool full', () => l.stemCellCount() === 4)
  expect(sandbox.prepared).toBe(9)
  await sleep(BOOT_DELAY_S * 1000 + 200)
  expect(sandbox.prepared).toBe(9)
  await Promise.all(launched.map((i) => i.stop()))
})

test('one boot at a time when stemCellBoots is 1', async () => {
  const sandbox = new SlowBootSandbox()
  const l = launcherWith(sandbox, 3, 1)
  const launched = await launchAtOnce(l, 3)
  // The launches booted their own cells; the pool's refill boots one cell, then the next.
  await until('the refill boot', () => sandbox.prepared >= 4)
  await sleep(100)
  expect(sandbox.prepared).toBe(4)
  await until('the pool full', () => l.stemCellCount() === 3)
  expect(sandbox.prepared).toBe(6)
  await Promise.all(launched.map((i) => i.stop()))
})

test('a burst of launches is served from the pool and the pool refills behind it', async () => {
  const sandbox = new SlowBootSandbox()
  const l = launcherWith(sandbox, 3, 3)
  const first = await launchAtOnce(l, 3)
  await until('the pool full', () => l.stemCellCount() === 3)
  const preparedBefore = sandbox.prepared
  const started = Date.now()
  const burst = []
  for (let i = 0; i < 3; i++) {
    burst.push(await l.launch(requestOf(codeDir)))
  }
  // Served by cells prepared before the burst: no launch booted its own.
  for (const instance of burst) {
    expect(sandbox.preparedAt.get(instance.id)).toBeLessThan(started)
  }
  await until('the pool refilled', () => l.stemCellCount() === 3)
  expect(sandbox.prepared - preparedBefore).toBe(3)
  await Promise.all([...first, ...burst].map((i) => i.stop()))
})

/** The nice value of `pid`, from /proc (field 19 of stat). */
function niceOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
}

/** This process's children that run the Node.js guest: the cells. */
function guestChildren(): number[] {
  const kids: number[] = []
  for (const task of fs.readdirSync(`/proc/${process.pid}/task`)) {
    const text = fs.readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8')
    kids.push(
      ...text
        .split(' ')
        .filter((k) => k.trim() !== '')
        .map(Number),
    )
  }
  return kids.filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node/bootstrap.cjs')
    } catch {
      return false
    }
  })
}

// Only root may give a process its priority back, so only a root Strato lowers it.
baseTest.runIf(process.geteuid?.() === 0)(
  'a spare cell boots at the boot nice value and is specialised at 0; a needed one boots at 0',
  async () => {
    const sandbox = new SlowBootSandbox()
    const l = launcherWith(sandbox, 2, 1, 10)
    const first = await launchAtOnce(l, 2)
    await until('the pool full', () => l.stemCellCount() === 2)
    // The first refill found the pool empty (the next cold start waits for it): full priority;
    // the second booted a spare.
    const niced = guestChildren().filter((pid) => niceOf(pid) === 10)
    expect(niced).toHaveLength(1)
    const spare = niced[0] as number
    const a = await l.launch(requestOf(codeDir))
    const b = await l.launch(requestOf(codeDir))
    expect([a.pid, b.pid]).toContain(spare)
    expect(niceOf(spare)).toBe(0)
    await Promise.all([...first, a, b].map((i) => i.stop()))
  },
  30_000,
)

test('an interpreter that cannot run is probed once, not on every cell boot', async () => {
  // A "php" that notes each run and fails, as a missing interpreter or guest jar does.
  const runs = path.join(dir, 'php-runs')
  const fakePhp = path.join(dir, 'fake-php')
  fs.writeFileSync(fakePhp, `#!/bin/sh\necho run >> '${runs}'\nexit 1\n`, { mode: 0o755 })
  launcher = new InstanceLauncher({
    sandbox: new NoSandbox(),
    instancesDir: path.join(dir, 'instances'),
    interpreterCommands: { php: fakePhp },
    startTimeoutMs: 10_000,
    stemCells: 0,
  })
  expect(launcher.interpreters().php).toBeUndefined()
  for (let i = 0; i < 3; i++) {
    const instance = await launcher.launch(requestOf(codeDir))
    await instance.stop()
  }
  expect(launcher.interpreters().php).toBeUndefined()
  expect(fs.readFileSync(runs, 'utf8').trim().split('\n')).toHaveLength(1)
})
