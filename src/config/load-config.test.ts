import path from 'node:path'
import { expect, test } from 'vitest'
import { loadConfig } from './load-config.js'

test('config: defaults with units, relative data dir resolved against cwd, frozen', () => {
  const c = loadConfig({}, '/srv')
  expect(c).toMatchObject({
    host: '127.0.0.1',
    port: 8080,
    dataDir: path.join('/srv', '.strato-data'),
    region: 'local-1',
    idleTtlMs: 300_000,
    authClockSkewMs: 900_000,
  })
  expect(Object.isFrozen(c)).toBe(true)
  expect(Object.isFrozen(c.bootstrap)).toBe(true)
})

test('config: async settings default to Lambda-like backoffs and a durable commit', () => {
  expect(loadConfig({}, '/srv').async).toEqual({
    concurrency: 64,
    pollMs: 100,
    retryBaseMs: 60_000,
    systemRetryBaseMs: 1_000,
    systemRetryMaxMs: 300_000,
    leaseGraceMs: 30_000,
    fsync: true,
  })
  const c = loadConfig({ STRATO_ASYNC_RETRY_BASE_MS: '50', STRATO_ASYNC_FSYNC: '0' }, '/srv')
  expect(c.async).toMatchObject({ retryBaseMs: 50, fsync: false })
  expect(() => loadConfig({ STRATO_ASYNC_FSYNC: '2' })).toThrow('STRATO_ASYNC_FSYNC')
})

test.each([
  [{ STRATO_PORT: '70000' }, 'STRATO_PORT'],
  [{ STRATO_PORT: 'eighty' }, 'STRATO_PORT'],
  [{ STRATO_ACCESS_KEY: 'ak' }, 'STRATO_SECRET_KEY'],
  [{ STRATO_PROJECT_ID: 'has-dash' }, 'STRATO_PROJECT_ID'],
  [{ STRATO_LOG_LEVEL: 'loud' }, 'STRATO_LOG_LEVEL'],
  [{ STRATO_REGION: 'Upper' }, 'STRATO_REGION'],
])('config: %o is refused with a message naming the setting', (env, name) => {
  expect(() => loadConfig(env)).toThrow(name)
})

test('config: STRATO_SANDBOX_UID_BASE unset leaves the range to the host-wide registry; set, it is exact', () => {
  expect(loadConfig({}, '/srv').sandboxUidBase).toBeUndefined()
  expect(loadConfig({ STRATO_SANDBOX_UID_BASE: '300000' }, '/srv').sandboxUidBase).toBe(300_000)
  expect(() => loadConfig({ STRATO_SANDBOX_UID_BASE: '5' })).toThrow('STRATO_SANDBOX_UID_BASE')
})

test('config: a flow lease lasts 30 s unless STRATO_FLOW_LEASE_MS says otherwise', () => {
  expect(loadConfig({}, '/srv').flows).toEqual({ leaseMs: 30_000 })
  expect(loadConfig({ STRATO_FLOW_LEASE_MS: '500' }, '/srv').flows.leaseMs).toBe(500)
  expect(() => loadConfig({ STRATO_FLOW_LEASE_MS: '10' })).toThrow('STRATO_FLOW_LEASE_MS')
})
