/**
 * Hostile functions against the real sandbox: each attack is contained with a precise error, and a
 * canary function on the same Strato keeps answering after every one of them.
 * The checklist is issue 3's (and isolation-and-faults.md §1.3, §4).
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import type { StratoClient } from '../../src/client/index.js'
import { inlineFunction } from '../helpers/code.js'
import {
  ACCESS_KEY,
  SECRET_KEY,
  sandboxProcesses,
  startTestStrato,
  type TestStrato,
} from '../helpers/strato.js'

let strato: TestStrato
let client: StratoClient
let port: number

beforeAll(async () => {
  strato = await startTestStrato()
  client = strato.client
  port = Number(new URL(strato.url).port)
  await client.createFunction(inlineFunction('canary', 'exports.handler = async () => "alive"'))
})
afterAll(async () => {
  await strato.close()
})
afterEach(async () => {
  // Whatever the last attack did, the platform and other functions are unharmed.
  const started = Date.now()
  expect((await client.invoke('canary', '{}')).result).toBe('alive')
  expect(Date.now() - started).toBeLessThan(2000)
})

let n = 0
async function deploy(source: string, extra: Record<string, unknown> = {}): Promise<string> {
  const name = `hostile-${++n}`
  await client.createFunction(inlineFunction(name, source, { timeout: 10, ...extra }))
  return name
}

async function run(
  name: string,
  event: unknown = {},
): Promise<{ ok: boolean; value: Record<string, unknown> }> {
  const res = await client.invoke(name, JSON.stringify(event))
  let value: unknown
  try {
    value = JSON.parse(res.result)
  } catch {
    value = res.result // a string result comes back as it is
  }
  return { ok: !res.isFunctionError, value: value as Record<string, unknown> }
}

test(`the sandbox level reached on this machine is ${process.env.STRATO_EXPECT_ISOLATION ?? 'bubblewrap'}, and it is reported`, async () => {
  const info = (await (await fetch(`${strato.url}/strato/info`)).json()) as {
    isolation: { level: string; description: string }
  }
  expect(info.isolation.level).toBe(process.env.STRATO_EXPECT_ISOLATION ?? 'bubblewrap')
})

describe('resource exhaustion is contained and named', () => {
  test('memory bomb (Buffers outside the V8 heap): the cgroup stops it, OutOfMemoryError', async () => {
    const name = await deploy(
      'exports.handler = async (e) => { if (e.bomb) { const a = []; for (;;) a.push(Buffer.alloc(16 << 20, 1)) } return "fine" }',
    )
    const r = await run(name, { bomb: true })
    expect(r.ok).toBe(false)
    expect(r.value.errorType).toBe('OutOfMemoryError')
    expect((await run(name)).value).toBe('fine')
  })

  test('V8 heap bomb: OutOfMemoryError', async () => {
    const name = await deploy(
      'exports.handler = async (e) => { if (e.bomb) { const a = []; for (;;) a.push(new Array(1e5).fill(1.5)) } return "fine" }',
    )
    const r = await run(name, { bomb: true })
    expect(r.value.errorType).toBe('OutOfMemoryError')
    expect((await run(name)).value).toBe('fine')
  })

  test('fork bomb: the pids limit holds, the host is fine, ProcessLimitExceeded', async () => {
    const name = await deploy(
      `const { spawn } = require('child_process')
const { once } = require('events')
exports.handler = async (e) => {
  if (!e.bomb) return 'fine'
  // Processes that never end, as fast as they can be made: only the limit stops the loop.
  for (;;) await once(spawn('/bin/sleep', ['600'], { stdio: 'ignore' }), 'spawn')
}`,
      // With 128 MB, a thousand processes exhaust memory before the process limit: both contain it.
      { memory_size: 1024 },
    )
    const r = await run(name, { bomb: true })
    expect(r.ok).toBe(false)
    expect(r.value.errorType).toBe('ProcessLimitExceeded')
    expect((await run(name)).value).toBe('fine')
  })

  test('infinite loop: stopped at its timeout while another function answers promptly', async () => {
    const name = await deploy('exports.handler = async () => { for (;;) {} }', { timeout: 3 })
    const looping = run(name)
    await new Promise((r) => setTimeout(r, 500))
    const started = Date.now()
    expect((await client.invoke('canary', '{}')).result).toBe('alive')
    expect(Date.now() - started).toBeLessThan(500)
    expect((await looping).value.errorType).toBe('TimeoutError')
  })

  test('fd exhaustion: EMFILE inside, TooManyOpenFiles outside, and a fresh instance next', async () => {
    const name = await deploy(`const fs = require('fs')
exports.handler = async (e) => {
  if (!e.leak) return 'fine'
  for (;;) fs.openSync('/dev/null', 'r')
}`)
    const r = await run(name, { leak: true })
    expect(r.value.errorType).toBe('TooManyOpenFiles')
    expect(String(r.value.errorMessage)).toContain('EMFILE')
    expect((await run(name)).value).toBe('fine')
  })

  test.each([
    ['/tmp', 512],
    ['/dev/shm', 64],
  ])('filling %s stops at its size (%i MB) with ENOSPC', async (dir, mb) => {
    const name = await deploy(
      `const fs = require('fs')
exports.handler = async () => {
  const chunk = Buffer.alloc(1 << 20, 7)
  let written = 0
  const fd = fs.openSync('${dir}/fill', 'w')
  try { for (;;) written += fs.writeSync(fd, chunk) } catch (err) { return { code: err.code, mb: Math.round(written / 1048576) } }
  finally { fs.closeSync(fd); fs.rmSync('${dir}/fill') }
}`,
      { memory_size: 1024 },
    )
    const r = await run(name)
    expect(r.value.code).toBe('ENOSPC')
    expect(Number(r.value.mb)).toBeGreaterThan(mb - 8)
    expect(Number(r.value.mb)).toBeLessThanOrEqual(mb)
  })
})

describe('the filesystem shows only the function and its runtime', () => {
  test('writes outside /tmp fail; /tmp is private and vanishes with the instance', async () => {
    const name = await deploy(`const fs = require('fs')
exports.handler = async (e) => {
  const tryWrite = (p) => { try { fs.writeFileSync(p, 'x'); return 'written' } catch (err) { return err.code } }
  const out = {}
  for (const p of ['/opt/function/code/x.js', '/usr/x', '/etc/x', '/x', '/opt/function/runtime/strato/x']) out[p] = tryWrite(p)
  out.tmpBefore = fs.existsSync('/tmp/mark')
  fs.writeFileSync('/tmp/mark', 'here')
  if (e.crash) process.exit(3)
  return out
}`)
    const r = await run(name)
    for (const p of [
      '/opt/function/code/x.js',
      '/usr/x',
      '/etc/x',
      '/x',
      '/opt/function/runtime/strato/x',
    ]) {
      expect(['EROFS', 'EACCES', 'EPERM']).toContain(r.value[p])
    }
    expect(r.value.tmpBefore).toBe(false)
    expect((await run(name, { crash: true })).ok).toBe(false)
    // A new instance: the old /tmp is gone with the old one.
    expect((await run(name)).value.tmpBefore).toBe(false)
  })

  test("/etc/shadow, the data dir, the master key and another function's code cannot be read", async () => {
    const other = await deploy('exports.handler = async () => "secret code 4711"')
    await run(other)
    const codeDir = path.join(strato.dataDir, 'code')
    const name = await deploy(`const fs = require('fs')
exports.handler = async (e) => {
  const out = {}
  for (const p of e.paths) { try { out[p] = fs.readdirSync(p).length >= 0 ? 'listed' : '?' } catch (err) { try { fs.readFileSync(p); out[p] = 'read' } catch (err2) { out[p] = err2.code } } }
  // /proc of the sandbox shows only its own processes
  out.procs = fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p)).length
  // /root exists only where an interpreter installed under it is bound in, and holds only that
  try { out.rootListing = fs.readdirSync('/root') } catch (err) { out.rootListing = [] }
  for (const p of ['/root/.ssh', '/root/.bash_history', '/root/.pyenv/shims']) { try { fs.statSync(p); out[p] = 'exists' } catch (err) { out[p] = err.code } }
  return out
}`)
    const paths = [
      '/etc/shadow',
      strato.dataDir,
      path.join(strato.dataDir, 'master.key'),
      codeDir,
      '/home',
      '/proc/1/root/etc/shadow',
    ]
    const r = await run(name, { paths })
    for (const p of paths) {
      expect([p, r.value[p]]).toEqual([p, expect.stringMatching(/^(ENOENT|EACCES)$/)])
    }
    expect(Number(r.value.procs)).toBeLessThanOrEqual(3)
    expect((r.value.rootListing as string[]).filter((e) => e !== '.pyenv')).toEqual([])
    for (const p of ['/root/.ssh', '/root/.bash_history', '/root/.pyenv/shims']) {
      expect([p, r.value[p]]).toEqual([p, 'ENOENT'])
    }
  })
})

describe('the network namespace is empty', () => {
  test.each([
    ["Strato's own API port", 0],
    ['PostgreSQL', 5432],
    ['Redis', 6379],
    ['NATS', 4222],
  ])('connecting to %s on 127.0.0.1 is refused', async (_what, fixedPort) => {
    const target = fixedPort === 0 ? port : fixedPort
    const name = await deploy(`const net = require('net')
exports.handler = async (e) => new Promise((resolve) => {
  const s = net.connect(e.port, '127.0.0.1')
  s.once('connect', () => { s.destroy(); resolve('connected') })
  s.once('error', (err) => resolve(err.code))
})`)
    expect((await run(name, { port: target })).value).toBe('ECONNREFUSED')
  })

  test('Python: its own 127.0.0.1 is not the host, so Strato is not there either', async () => {
    const name = await deploy(
      `import socket

def handler(event, context):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", event["port"]))
        return "connected"
    except OSError as err:
        return type(err).__name__
`,
      { runtime: 'Python3.10' },
    )
    expect((await run(name, { port })).value).toBe('ConnectionRefusedError')
  })
})

describe('no way out of the namespaces, no power over the parent', () => {
  test('unshare, mount and ptrace-like escapes are refused', async () => {
    const name = await deploy(`const { spawnSync } = require('child_process')
exports.handler = async () => {
  const status = (cmd, args) => spawnSync(cmd, args, { encoding: 'utf8' }).status
  return {
    unshareUser: status('/usr/bin/unshare', ['-U', '-r', '/bin/true']),
    unshareNet: status('/usr/bin/unshare', ['-n', '/bin/true']),
    mount: status('/usr/bin/mount', ['-t', 'tmpfs', 'none', '/tmp']),
    nsenter: status('/usr/bin/nsenter', ['-t', '1', '-m', '/bin/true']),
  }
}`)
    const r = await run(name)
    expect(r.ok).toBe(true)
    for (const [what, status] of Object.entries(r.value)) {
      expect([what, status]).toEqual([what, expect.not.stringMatching(/^0$/)])
      expect(status).not.toBe(0)
    }
  })

  test('killing the parent (and everything it can see) harms only its own instance', async () => {
    const name = await deploy(`exports.handler = async (e) => {
  const out = {}
  for (const [what, pid] of [['parent', process.ppid], ['init', 1]]) {
    try { process.kill(pid, 'SIGKILL'); out[what] = 'sent' } catch (err) { out[what] = err.code }
  }
  // Linux spares the caller: this reaches every other process of its uid, i.e. none.
  if (e.all) { try { process.kill(-1, 'SIGKILL'); out.all = 'sent' } catch (err) { out.all = err.code } }
  return out
}`)
    const r = await run(name)
    expect(r.ok).toBe(true)
    expect(['EPERM', 'sent']).toContain(r.value.parent)
    const all = await run(name, { all: true })
    expect(all.ok).toBe(true)
    expect(['ESRCH', 'sent']).toContain(all.value.all)
    expect((await run(name)).ok).toBe(true)
    expect((await fetch(`${strato.url}/strato/health`)).status).toBe(200)
  })
})

describe('identity: an unprivileged uid, and no secret in argv or the environment', () => {
  test('host ps shows the function processes under a non-root uid, one uid per instance', async () => {
    const a = await deploy('exports.handler = async () => process.getuid()')
    const b = await deploy('exports.handler = async () => process.getuid()')
    const uidA = Number((await run(a)).value)
    const uidB = Number((await run(b)).value)
    expect(uidA).toBeGreaterThan(0)
    expect(uidB).toBeGreaterThan(0)
    expect(uidA).not.toBe(uidB)
    const guests = sandboxProcesses(strato.dataDir)
      .map((pid) => {
        try {
          const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
          const name = /^Name:\s+(\S+)/m.exec(status)?.[1] ?? ''
          const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1])
          return { name, uid }
        } catch {
          return undefined
        }
      })
      .filter((p) => p !== undefined && /^(node|python)/.test(p.name))
    expect(guests.length).toBeGreaterThanOrEqual(2)
    for (const g of guests) {
      expect(g?.uid).not.toBe(0)
    }
  })

  test("/proc/self/cmdline, /proc/1/cmdline and /proc/self/environ hold no secret, not even the function's own", async () => {
    const name = await deploy(
      `const fs = require('fs')
exports.handler = async () => ({
  cmdline: fs.readFileSync('/proc/self/cmdline', 'utf8'),
  init: fs.readFileSync('/proc/1/cmdline', 'utf8'),
  environ: fs.readFileSync('/proc/self/environ', 'utf8'),
  secretVisible: process.env.DB_PASSWORD,
})`,
      { encrypted_user_data: JSON.stringify({ DB_PASSWORD: 'hunter2-hunter2' }) },
    )
    const r = await run(name)
    expect(r.value.secretVisible).toBe('hunter2-hunter2')
    const masterKey = fs.readFileSync(path.join(strato.dataDir, 'master.key'), 'utf8').trim()
    for (const where of ['cmdline', 'init', 'environ']) {
      const text = String(r.value[where])
      for (const secret of [SECRET_KEY, ACCESS_KEY, 'hunter2-hunter2', masterKey]) {
        expect([where, text.includes(secret)]).toEqual([where, false])
      }
    }
  })
})
