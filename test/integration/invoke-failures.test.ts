import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { StratoClient } from '../../src/client/index.js'
import { ApiError } from '../../src/client/index.js'
import { sandboxProcesses, startTestStrato, type TestStrato } from '../helpers/strato.js'
import { inlineFunction } from '../helpers/code.js'

let strato: TestStrato
let client: StratoClient

beforeAll(async () => {
  strato = await startTestStrato({ STRATO_INSTANCE_START_TIMEOUT_MS: '3000' })
  client = strato.client
})
afterAll(async () => {
  await strato.close()
})

function instanceProcesses(): number[] {
  return sandboxProcesses(strato.dataDir)
}

describe('a function that misbehaves gets a precise error, and the next call works', () => {
  test.each([
    [
      'Node.js18.15',
      'exports.handler = async (e) => { if (e.sleep) await new Promise(r => setTimeout(r, 60_000)); return "awake" }',
    ],
    ['Node.js18.15', 'exports.handler = async (e) => { if (e.sleep) for (;;) {} return "awake" }'],
    [
      'Python3.10',
      'import time\n\ndef handler(event, context):\n    if event.get("sleep"):\n        time.sleep(60)\n    return "awake"\n',
    ],
  ])(
    '%s past its 3 s timeout: TimeoutError within about a second of it, then a new instance answers',
    async (runtime, src) => {
      const name = `sleepy-${Math.random().toString(36).slice(2, 8)}`
      await client.createFunction(inlineFunction(name, src, { runtime, timeout: 3 }))
      await client.invoke(name, '{}') // warm, so the timing below is the timeout alone
      const started = Date.now()
      const res = await client.invoke(name, '{"sleep":true}', { tail: true })
      const elapsed = Date.now() - started
      expect(elapsed).toBeGreaterThanOrEqual(3000)
      expect(elapsed).toBeLessThan(4000)
      expect(res.isFunctionError).toBe(true)
      const err = JSON.parse(res.result)
      expect(err.errorType).toBe('TimeoutError')
      expect(err.errorMessage).toContain('3 s')
      expect(res.log).toContain('(invoke Failed)')
      expect((await client.invoke(name, '{}')).result).toBe('awake')
    },
  )

  test('process.exit() inside a handler is a RuntimeExitError, its log survives, and the next call gets a new instance', async () => {
    await client.createFunction(
      inlineFunction(
        'exits',
        'const id = Math.random()\nexports.handler = async (e) => { if (e.exit) { console.log("about to exit"); process.exit(3) } return id }',
      ),
    )
    const before = (await client.invoke('exits', '{}')).result
    const res = await client.invoke('exits', '{"exit":true}', { tail: true })
    expect(res.isFunctionError).toBe(true)
    const err = JSON.parse(res.result)
    expect(err.errorType).toBe('RuntimeExitError')
    expect(err.errorMessage).toContain('exit code 3')
    expect(res.log).toContain('about to exit')
    const after = (await client.invoke('exits', '{}')).result
    expect(after).not.toBe(before)
  })

  test('sys.exit() in Python and a crash of the interpreter are RuntimeExitError, and the function recovers', async () => {
    await client.createFunction(
      inlineFunction(
        'py-exits',
        'import os, sys\n\ndef handler(event, context):\n    if event.get("exit"):\n        sys.exit(4)\n    if event.get("abort"):\n        os.abort()\n    return "ok"\n',
        { runtime: 'Python3.10' },
      ),
    )
    for (const [event, says] of [
      ['{"exit":true}', 'exit code 4'],
      ['{"abort":true}', 'SIGABRT'],
    ] as const) {
      const res = await client.invoke('py-exits', event)
      expect(res.isFunctionError).toBe(true)
      expect(JSON.parse(res.result).errorType).toBe('RuntimeExitError')
      expect(JSON.parse(res.result).errorMessage).toContain(says)
      expect((await client.invoke('py-exits', '{}')).result).toBe('ok')
    }
  })

  test('an uncaught exception thrown later (outside the promise chain) fails the invocation, not Strato', async () => {
    await client.createFunction(
      inlineFunction(
        'uncaught',
        'exports.handler = (e) => new Promise(() => { setTimeout(() => { throw new Error("late boom") }, 10) })',
      ),
    )
    const res = await client.invoke('uncaught', '{}')
    expect(res.isFunctionError).toBe(true)
    expect(JSON.parse(res.result)).toMatchObject({ errorMessage: 'late boom' })
    expect((await fetch(`${strato.url}/strato/health`)).status).toBe(200)
  })

  test('the call right after an uncaught exception never lands on the dying instance', async () => {
    await client.createFunction(
      inlineFunction(
        'uncaught-then-ok',
        'exports.handler = (e) => e.boom ? new Promise(() => { setTimeout(() => { throw new Error("late boom") }, 1) }) : "ok"',
      ),
    )
    for (let i = 0; i < 5; i++) {
      const crashed = await client.invoke('uncaught-then-ok', '{"boom":true}')
      expect(JSON.parse(crashed.result)).toMatchObject({ errorMessage: 'late boom' })
      // Sent the moment the failure is answered: the instance that threw is on its way out.
      const next = await client.invoke('uncaught-then-ok', '{}')
      expect([next.isFunctionError, next.result]).toEqual([false, 'ok'])
    }
  })

  test('a V8 heap bomb within memory_size is an OutOfMemoryError and the next call works', async () => {
    await client.createFunction(
      inlineFunction(
        'heap-bomb',
        'exports.handler = async (e) => { if (e.bomb) { const a = []; for (;;) a.push(new Array(1e5).fill(Math.random())) } return "fine" }',
        {
          memory_size: 128,
          timeout: 30,
        },
      ),
    )
    const res = await client.invoke('heap-bomb', '{"bomb":true}')
    expect(res.isFunctionError).toBe(true)
    expect(JSON.parse(res.result).errorType).toBe('OutOfMemoryError')
    expect((await client.invoke('heap-bomb', '{}')).result).toBe('fine')
  })

  test('a Python allocation past memory_size is an OutOfMemoryError (the cgroup stops it) and the next call works', async () => {
    await client.createFunction(
      inlineFunction(
        'py-bomb',
        'def handler(event, context):\n    if event.get("bomb"):\n        x = bytearray(2 * 1024 * 1024 * 1024)\n    return "fine"\n',
        { runtime: 'Python3.10' },
      ),
    )
    const res = await client.invoke('py-bomb', '{"bomb":true}')
    expect(res.isFunctionError).toBe(true)
    expect(JSON.parse(res.result).errorType).toBe('OutOfMemoryError')
    expect((await client.invoke('py-bomb', '{}')).result).toBe('fine')
  })

  test('a module that never finishes loading is stopped at the start deadline with RuntimeStartTimeout', async () => {
    await client.createFunction(
      inlineFunction('hangs-on-load', 'for (;;) {}\nexports.handler = async () => 1'),
    )
    const started = Date.now()
    const res = await client.invoke('hangs-on-load', '{}')
    expect(Date.now() - started).toBeLessThan(5000)
    expect(JSON.parse(res.result).errorType).toBe('RuntimeStartTimeout')
  })

  test('an initializer past its own timeout is InitializerTimeout', async () => {
    await client.createFunction(
      inlineFunction(
        'slow-init',
        'exports.init = () => new Promise(() => {})\nexports.handler = async () => 1',
        {
          initializer_handler: 'index.init',
          initializer_timeout: 1,
        },
      ),
    )
    const started = Date.now()
    const res = await client.invoke('slow-init', '{}')
    expect(Date.now() - started).toBeLessThan(2500)
    expect(JSON.parse(res.result).errorType).toBe('InitializerTimeout')
  })

  test('no instance process outlives a timeout or a crash', async () => {
    await client.createFunction(
      inlineFunction(
        'spawner',
        `
const { spawn } = require('child_process')
exports.handler = async () => { spawn('sleep', ['60.4711'], { stdio: 'ignore' }); for (;;) {} }`,
        { timeout: 3 },
      ),
    )
    const res = await client.invoke('spawner', '{}')
    expect(JSON.parse(res.result).errorType).toBe('TimeoutError')
    await new Promise((r) => setTimeout(r, 300))
    const leftovers = fs
      .readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((pid) => {
        try {
          // An argument no other process on this machine is likely to have.
          return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep\u000060.4711')
        } catch {
          return false
        }
      })
    expect(leftovers).toEqual([])
  })
})

describe('code integrity', () => {
  test('code changed on disk is refused with a clear error and never run; restored code runs again', async () => {
    const created = await client.createFunction(
      inlineFunction('tamper', 'exports.handler = async () => "original"'),
    )
    const tree = path.join(strato.dataDir, 'code', 'trees', String(created.digest))
    const file = path.join(tree, 'index.js')
    await strato.running.pool.forget(String(created.func_id))
    fs.chmodSync(tree, 0o755)
    fs.chmodSync(file, 0o644)
    fs.writeFileSync(file, 'exports.handler = async () => "tampered"')
    const err = await client.invoke('tamper', '{}').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(500)
    expect((err as ApiError).message).toContain('does not match its digest')
    fs.writeFileSync(file, 'exports.handler = async () => "original"')
    expect((await client.invoke('tamper', '{}')).result).toBe('original')
    const extra = path.join(tree, 'extra.js')
    await strato.running.pool.forget(String(created.func_id))
    fs.writeFileSync(extra, '1')
    const added = await client.invoke('tamper', '{}').catch((e: unknown) => e)
    expect((added as ApiError).message).toContain('extra.js')
    fs.rmSync(extra)
  })

  test('the instance environment is built from scratch: no variable of Strato itself leaks in', async () => {
    await client.createFunction(
      inlineFunction('env-dump', 'exports.handler = async () => Object.keys(process.env).sort()'),
    )
    const keys = JSON.parse((await client.invoke('env-dump', '{}')).result) as string[]
    const allowed =
      /^(PATH|PWD|LANG|HOME|TMPDIR|PYTHON\w+|RUNTIME_\w+|STRATO_INSTANCE_ID|STRATO_MAX_LOG_BYTES)$/
    expect(keys.filter((k) => !allowed.test(k))).toEqual([])
    expect(instanceProcesses().length).toBeGreaterThan(0)
  })
})

describe('the guest is untrusted: sizes are capped on both sides', () => {
  test('a 20 MB error message is cut, and the function keeps working', async () => {
    await client.createFunction(
      inlineFunction(
        'loud-error',
        'exports.handler = async (e) => { if (e.fail) throw new Error("x".repeat(20 * 1024 * 1024)); return "ok" }',
        { memory_size: 512 },
      ),
    )
    const res = await client.invoke('loud-error', '{"fail":true}')
    expect(res.isFunctionError).toBe(true)
    const err = JSON.parse(res.result)
    expect(err.errorMessage.length).toBeLessThan(20_000)
    expect(err.errorMessage).toContain('[truncated]')
    expect((await client.invoke('loud-error', '{}')).result).toBe('ok')
  })

  test('a function that writes its own oversized frame to the control socket is stopped, not trusted', async () => {
    const src = `const fs = require('fs')
exports.handler = async () => {
  const prefix = Buffer.alloc(8)
  prefix.writeUInt32BE(2, 0)
  prefix.writeUInt32BE(1024 * 1024 * 1024, 4)
  fs.writeSync(3, prefix)
  await new Promise((r) => setTimeout(r, 5000))
}`
    await client.createFunction(inlineFunction('forger', src))
    const res = await client.invoke('forger', '{}')
    expect(res.isFunctionError).toBe(true)
    expect(JSON.parse(res.result).errorMessage).toContain('protocol error')
  })
})

test('Python: a handler in a directory whose name is not a Python identifier loads from its file', async () => {
  const { zipFiles, b64 } = await import('../helpers/code.js')
  const zip = await zipFiles({
    'v1.2/index.py': 'def handler(event, context):\n    return "from v1.2"\n',
  })
  await client.createFunction({
    ...inlineFunction('py-dotted', '', { runtime: 'Python3.10', handler: 'v1.2/index.handler' }),
    code_type: 'zip',
    func_code: { file: b64(zip) },
  })
  expect((await client.invoke('py-dotted', '{}')).result).toBe('from v1.2')
})

describe('an invocation that fails because the code cannot load reports the memory it used', () => {
  test.each([
    [
      'Node.js18.15',
      'a module that fails to import',
      'Error',
      'const x = require("no-such-package")\nexports.handler = async () => x',
    ],
    [
      'Node.js18.15',
      'an initializer that throws',
      'RangeError',
      'exports.init = () => { throw new RangeError("no config") }\nexports.handler = async () => 1',
    ],
    [
      'Python3.10',
      'a module that fails to import',
      'ModuleNotFoundError',
      'import no_such_module\n\ndef handler(event, context):\n    return 1\n',
    ],
    [
      'Python3.10',
      'an initializer that throws',
      'KeyError',
      'def init(context):\n    raise KeyError("no config")\n\ndef handler(event, context):\n    return 1\n',
    ],
    [
      'Node.js18.15',
      'an initializer in a missing module',
      'ImportModuleError',
      'exports.handler = async () => 1',
    ],
    [
      'Python3.10',
      'an initializer in a missing module',
      'ImportModuleError',
      'def handler(event, context):\n    return 1\n',
    ],
  ])('%s, %s: %s with the memory used, not 0', async (runtime, what, errorType, src) => {
    const name = `noload-${Math.random().toString(36).slice(2, 8)}`
    const initializer = what.includes('initializer')
      ? { initializer_handler: what.includes('missing') ? 'missing.init' : 'index.init' }
      : {}
    await client.createFunction(inlineFunction(name, src, { runtime, ...initializer }))
    const res = await client.invoke(name, '{}', { tail: true })
    expect(res.isFunctionError).toBe(true)
    expect(JSON.parse(res.result).errorType).toBe(errorType)
    // An interpreter has booted at least: a few MB, whatever the sandbox level.
    expect(res.summary.memoryUsed).toBeGreaterThan(1)
    const used = /memory used: ([\d.]+)MB/.exec(res.log)?.[1]
    expect(Number(used)).toBe(res.summary.memoryUsed)
  })
})
