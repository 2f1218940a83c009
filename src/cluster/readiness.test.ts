import { expect, test } from 'vitest'
import { Readiness } from './readiness.js'

test('readiness: not ready while starting or draining, nor while a check fails', async () => {
  let storeUp = true
  const readiness = new Readiness([
    { name: 'store', check: () => storeUp },
    { name: 'nats', check: () => Promise.reject(new Error('down')) },
  ])
  expect(await readiness.report()).toEqual({ ready: false, state: 'starting', failing: [] })
  readiness.running()
  expect(await readiness.report()).toEqual({ ready: false, state: 'running', failing: ['nats'] })
  const ok = new Readiness([{ name: 'store', check: () => storeUp }])
  ok.running()
  expect((await ok.report()).ready).toBe(true)
  storeUp = false
  ok.draining()
  expect(await ok.report()).toEqual({ ready: false, state: 'draining', failing: [] })
})
