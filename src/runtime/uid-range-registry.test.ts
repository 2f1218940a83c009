import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { reserveUidRange, type UidRangeReservation } from './uid-range-registry.js'

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) {
    c()
  }
})

function registryFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uid-registry-'))
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }))
  return path.join(dir, 'run', 'uid-ranges.db')
}

function reserve(
  file: string,
  base: number,
  fixed = false,
  holder = '/srv/a',
): UidRangeReservation {
  const r = reserveUidRange({ registryFile: file, base, count: 1000, fixed, holder })
  cleanups.push(() => r.release())
  return r
}

test('uid ranges: servers get disjoint ranges, first free from the base; a released range is reused', () => {
  const file = registryFile()
  const a = reserve(file, 200_000)
  const b = reserve(file, 200_000)
  const c = reserve(file, 200_000)
  expect([a.range.first, b.range.first, c.range.first]).toEqual([200_000, 201_000, 202_000])
  b.release()
  b.release() // idempotent
  expect(reserve(file, 200_000).range.first).toBe(201_000)
  // An explicit range elsewhere is skipped over by later first-fit reservations.
  expect(reserve(file, 203_500, true).range).toEqual({ first: 203_500, count: 1000 })
  expect(reserve(file, 200_000).range.first).toBe(204_500)
})

test('uid ranges: an explicit range overlapping a live server is refused, naming it', () => {
  const file = registryFile()
  reserve(file, 300_000, false, '/srv/first')
  expect(() => reserve(file, 300_999, true, '/srv/second')).toThrow(
    `Setting STRATO_SANDBOX_UID_BASE=300999: uids 300000–300999 are used by another Strato (pid ${process.pid}, data dir /srv/first)`,
  )
  expect(reserve(file, 301_000, true).range.first).toBe(301_000)
})

test('uid ranges: a range held by a server that was killed is taken over', async () => {
  const file = registryFile()
  // A real second process reserves a range and is SIGKILLed: it never releases it.
  const holder = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `import('${path.join(import.meta.dirname, 'uid-range-registry.ts')}').then((m) => {
        m.reserveUidRange({ registryFile: ${JSON.stringify(file)}, base: 400000, count: 1000, fixed: true, holder: 'killed' })
        console.log('held')
        setInterval(() => {}, 1000)
      })`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  cleanups.push(() => holder.kill('SIGKILL'))
  await new Promise<void>((resolve, reject) => {
    holder.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve())
    holder.once('exit', (code) => reject(new Error(`holder exited with ${code}`)))
  })
  expect(() => reserve(file, 400_000, true)).toThrow(`pid ${holder.pid}, data dir killed`)
  expect(reserve(file, 400_000).range.first).toBe(401_000)

  const exited = new Promise((resolve) => holder.once('exit', resolve))
  holder.kill('SIGKILL')
  await exited
  expect(reserve(file, 400_000, true).range.first).toBe(400_000)
})
