/**
 * Test helpers: start a real Strato (in this process, on a free port, with a fresh data dir), or as
 * a separate `node dist/main.js` process for restart and crash tests. Both clean up after themselves.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createLogger } from '../../src/observability/index.js'
import { signRequest } from '../../src/auth/index.js'
import { StratoClient } from '../../src/client/index.js'
import { startStrato, type RunningStrato } from '../../src/main.js'
import { sandboxScope } from '../../src/runtime/index.js'

export const PROJECT_ID = '0123456789abcdef0123456789abcdef'
export const ACCESS_KEY = 'test-ak'
export const SECRET_KEY = 'test-sk'
export const REPO_ROOT = path.resolve(import.meta.dirname, '../..')

export function tmpDir(prefix = 'strato-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

export interface TestStrato {
  readonly url: string
  readonly dataDir: string
  readonly client: StratoClient
  readonly running: RunningStrato
  close(): Promise<void>
}

/** Starts Strato in-process on port 0 with a fresh data dir (kept when `dataDir` is given). */
export async function startTestStrato(
  env: Record<string, string> = {},
  dataDir?: string,
): Promise<TestStrato> {
  const dir = dataDir ?? tmpDir()
  const running = await startStrato(
    {
      STRATO_PORT: '0',
      STRATO_GATEWAY_PORT: '0',
      // Run the suite at another sandbox level: STRATO_TEST_ISOLATION=unshare npm test.
      ...(process.env.STRATO_TEST_ISOLATION === undefined
        ? {}
        : { STRATO_ISOLATION: process.env.STRATO_TEST_ISOLATION }),
      STRATO_HOST: '127.0.0.1',
      STRATO_DATA_DIR: dir,
      STRATO_PROJECT_ID: PROJECT_ID,
      STRATO_ACCESS_KEY: ACCESS_KEY,
      STRATO_SECRET_KEY: SECRET_KEY,
      // The pool the suite's timings were set against: deeper pools boot in the background while
      // tests time deadlines on two cores (src/runtime/launcher.test.ts covers the pool itself).
      STRATO_STEM_CELLS: '1',
      ...env,
    },
    createLogger(process.env.STRATO_TEST_LOG ?? 'silent'),
  )
  return {
    url: running.url,
    dataDir: dir,
    running,
    client: new StratoClient({
      endpoint: running.url,
      projectId: PROJECT_ID,
      accessKey: ACCESS_KEY,
      secretKey: SECRET_KEY,
    }),
    async close() {
      await running.close()
      if (dataDir === undefined) {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}

export interface StratoProcess {
  readonly url: string
  readonly child: ChildProcess
  readonly output: () => string
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>
}

/** Starts `node dist/main.js` (built by `npm test` before the integration tests). */
export async function spawnStrato(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<StratoProcess> {
  const port = await freePort()
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist/main.js')], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      STRATO_PORT: String(port),
      STRATO_GATEWAY_PORT: '0',
      STRATO_DATA_DIR: dataDir,
      STRATO_PROJECT_ID: PROJECT_ID,
      STRATO_ACCESS_KEY: ACCESS_KEY,
      STRATO_SECRET_KEY: SECRET_KEY,
      STRATO_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()))
  const url = `http://127.0.0.1:${port}`
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await waitFor(async () => {
    if (child.exitCode !== null) {
      throw new Error(`Strato exited early: ${out}`)
    }
    const res = await fetch(`${url}/strato/health`).catch(() => undefined)
    return res?.status === 200
  }, 15_000)
  return {
    url,
    child,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal)
        const t = setTimeout(() => child.kill('SIGKILL'), 5_000)
        await exited
        clearTimeout(t)
      }
    },
  }
}

export function clientFor(url: string): StratoClient {
  return new StratoClient({
    endpoint: url,
    projectId: PROJECT_ID,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
  })
}

export async function freePort(): Promise<number> {
  const net = await import('node:net')
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() =>
        typeof addr === 'object' && addr !== null
          ? resolve(addr.port)
          : reject(new Error('no port')),
      )
    })
  })
}

export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  stepMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) {
      return
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms`)
    }
    await new Promise((r) => setTimeout(r, stepMs))
  }
}

/** The headers of a correctly signed POST of `body` to `url`, as the tenant's SDK would send. */
export function signedHeaders(url: string, body: string): Record<string, string> {
  return signRequest({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', 'x-project-id': PROJECT_ID },
    body,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
  })
}

/** The same headers as lines (`name: value`, CRLF-joined), for raw-socket tests. */
export function signedHeaderLines(url: string, body: string): string {
  return Object.entries(signedHeaders(url, body))
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')
}

/** Live processes of this data dir's function instances: everything in its instance cgroups. */
export function sandboxProcesses(dataDir: string): number[] {
  const marker = `:/strato/${sandboxScope(dataDir)}/`
  const pids: number[] = []
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cgroups = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      if (cgroups.split('\n').some((l) => l.includes(':pids:') && l.includes(marker))) {
        pids.push(Number(pid))
      }
    } catch {
      // gone
    }
  }
  return pids
}

/** This data dir's instance cgroups, per controller. */
export function sandboxCgroups(dataDir: string): string[] {
  const found: string[] = []
  for (const c of ['memory', 'pids', 'cpu']) {
    const dir = `/sys/fs/cgroup/${c}/strato/${sandboxScope(dataDir)}`
    if (fs.existsSync(dir)) {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) {
          found.push(`${c}/${e.name}`)
        }
      }
    }
  }
  return found
}

/**
 * Kills and removes whatever a SIGKILLed test Strato left in its cgroups (tests delete its data
 * dir, so no later start of it would). Retries while the killed processes are still leaving.
 */
export async function removeSandboxCgroups(dataDir: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    let left = 0
    for (const c of ['memory', 'pids', 'cpu']) {
      const scope = `/sys/fs/cgroup/${c}/strato/${sandboxScope(dataDir)}`
      if (!fs.existsSync(scope)) {
        continue
      }
      for (const e of fs.readdirSync(scope, { withFileTypes: true })) {
        if (!e.isDirectory()) {
          continue
        }
        const dir = path.join(scope, e.name)
        for (const pid of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')) {
          if (pid !== '') {
            try {
              process.kill(Number(pid), 'SIGKILL')
            } catch {
              // gone
            }
          }
        }
        try {
          fs.rmdirSync(dir)
        } catch {
          left++
        }
      }
      try {
        fs.rmdirSync(scope)
      } catch {
        left++
      }
    }
    if (left === 0) {
      return
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}
