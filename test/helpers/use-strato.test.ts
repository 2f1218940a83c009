/**
 * `useStrato()`: a Strato per file (or per `describe`), started before its tests with the given
 * settings, closed after them with its data dir removed; its client usable from module level.
 */
import fs from 'node:fs'
import { describe, expect, test } from 'vitest'
import { StratoClient } from '../../src/client/index.js'
import { inlineFunction } from './code.js'
import { apiError } from './sdk.js'
import { useStrato } from './use-strato.js'

const HANDLER = 'exports.handler = async () => 1'
let closedUrl = ''
let closedDataDir = ''

describe('a Strato of this describe, with one function per project allowed', () => {
  const strato = useStrato({ STRATO_FUNCTIONS_PER_PROJECT: '1' })
  const { client } = strato
  let readTooEarly = ''
  try {
    void strato.url
  } catch (err) {
    readTooEarly = (err as Error).message
  }

  test('reading it before its beforeAll ran says there is none yet', () => {
    expect(readTooEarly).toContain('useStrato: no Strato is running here')
  })

  test('its settings apply, and the client taken before it started calls it', async () => {
    expect(client).toBeInstanceOf(StratoClient)
    await client.createFunction(inlineFunction('first', HANDLER))
    const second = await apiError(client.createFunction(inlineFunction('second', HANDLER)))
    expect([second.status, second.errorCode]).toEqual([403, 'FSS.1041'])
    expect((await fetch(`${strato.url}/strato/health`)).status).toBe(200)
    expect(fs.existsSync(strato.dataDir)).toBe(true)
    closedUrl = strato.url
    closedDataDir = strato.dataDir
  })
})

test('after its describe, that Strato is closed and its data dir removed', async () => {
  expect(closedDataDir).not.toBe('')
  expect(fs.existsSync(closedDataDir)).toBe(false)
  await expect(fetch(`${closedUrl}/strato/health`)).rejects.toThrow()
})
