/**
 * Start-up in one process: a start that fails part-way (a port in use) closes what it opened, so a
 * retry works at once; two servers on one host never share a sandbox uid.
 */
import fs from 'node:fs'
import net from 'node:net'
import { expect, onTestFinished, test } from 'vitest'
import {
  removeSandboxCgroups,
  sandboxCgroups,
  sandboxProcesses,
  startTestStrato,
  tmpDir,
  waitFor,
} from '../helpers/strato.js'
import { inlineFunction } from '../helpers/code.js'

/** A port held by a plain server for the rest of the test. */
async function takenPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return (server.address() as net.AddressInfo).port
}

function dataDir(): string {
  const dir = tmpDir()
  onTestFinished(async () => {
    await removeSandboxCgroups(dir)
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return dir
}

// An explicit range far from the default ones, so that only a leaked reservation can hold it.
const FIXED_UID_BASE = String(3_000_000_000 + (process.pid % 1000) * 65_536)

test.each([
  ['the API port', 'STRATO_PORT'],
  ['the API gateway port', 'STRATO_GATEWAY_PORT'],
])(
  'start: when %s is taken the start fails, leaves nothing running, and a retry in the same process starts',
  async (_what, setting) => {
    const dir = dataDir()
    const port = String(await takenPort())
    const env = { [setting]: port, STRATO_SANDBOX_UID_BASE: FIXED_UID_BASE }
    await expect(startTestStrato(env, dir)).rejects.toThrow(/EADDRINUSE/)
    // The pre-started sandboxes, their cgroups and the data dir lock went with the failed start.
    await waitFor(() => sandboxProcesses(dir).length === 0, 5_000).catch(() => undefined)
    expect(sandboxProcesses(dir)).toEqual([])
    expect(sandboxCgroups(dir)).toEqual([])
    expect(fs.existsSync(`${dir}/strato.lock`)).toBe(false)

    const retry = await startTestStrato({ STRATO_SANDBOX_UID_BASE: FIXED_UID_BASE }, dir)
    onTestFinished(() => retry.close())
    expect((await fetch(`${retry.url}/strato/health`)).status).toBe(200)
  },
)

test('start: a build step that fails after the store is open (a project id other than the root tenant) releases the data dir, and a retry in the same process starts', async () => {
  const dir = dataDir()
  const first = await startTestStrato({}, dir)
  await first.close()
  await expect(
    startTestStrato({ STRATO_PROJECT_ID: 'fedcba9876543210fedcba9876543210' }, dir),
  ).rejects.toMatchObject({ code: 'INVALID_PARAMETER' })
  expect(fs.existsSync(`${dir}/strato.lock`)).toBe(false)

  const retry = await startTestStrato({}, dir)
  onTestFinished(() => retry.close())
  expect((await fetch(`${retry.url}/strato/health`)).status).toBe(200)
})

const WHOAMI = 'exports.handler = async () => ({ uid: process.getuid() })'

test('sandbox uids: two servers on one host get disjoint uid ranges, and their functions different uids', async () => {
  const a = await startTestStrato({}, dataDir())
  onTestFinished(() => a.close())
  const b = await startTestStrato({}, dataDir())
  onTestFinished(() => b.close())
  const info = async (url: string) =>
    (
      (await (await fetch(`${url}/strato/info`)).json()) as {
        isolation: { level: string; uids?: { first: number; count: number } }
      }
    ).isolation
  const level = (await info(a.url)).level
  if (level === 'rlimits' || level === 'none') {
    return // instances run as Strato's own user: there are no sandbox uids to share
  }
  const uids: number[] = []
  for (const server of [a, b]) {
    await server.client.createFunction(inlineFunction('whoami', WHOAMI))
    const { result } = await server.client.invoke('whoami', '{}')
    uids.push((JSON.parse(result) as { uid: number }).uid)
  }
  expect(uids[0]).not.toBe(uids[1])
  // Each within its server's range, and the ranges disjoint.
  const ra = (await info(a.url)).uids ?? { first: 0, count: 0 }
  const rb = (await info(b.url)).uids ?? { first: 0, count: 0 }
  expect(ra.first + ra.count <= rb.first || rb.first + rb.count <= ra.first).toBe(true)
  expect(ra.count).toBe(65_536)
  expect(uids[0]).toBeGreaterThanOrEqual(ra.first)
  expect(uids[0]).toBeLessThan(ra.first + ra.count)
  expect(uids[1]).toBeGreaterThanOrEqual(rb.first)
  expect(uids[1]).toBeLessThan(rb.first + rb.count)

  // An explicit range overlapping a live server's is refused, naming that server.
  await expect(
    startTestStrato({ STRATO_SANDBOX_UID_BASE: String(ra.first + 1) }, dataDir()),
  ).rejects.toThrow(`are used by another Strato (pid ${process.pid}, data dir ${a.dataDir})`)
})
