import { describe, expect, test } from 'vitest'
import { newRequestId } from './request-id.js'

describe('newRequestId', () => {
  test('is a version 7 UUID, as FunctionGraph clients expect a UUID', () => {
    expect(newRequestId()).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    )
  })

  test('ids made later sort later (index inserts land at the end), and never repeat', async () => {
    const ids: string[] = []
    for (let i = 0; i < 5_000; i++) {
      ids.push(newRequestId())
      if (i % 1000 === 0) {
        await new Promise((r) => setTimeout(r, 2))
      }
    }
    expect([...ids].sort()).toEqual(ids)
    expect(new Set(ids).size).toBe(ids.length)
    // The leading 48 bits are the time in ms.
    const ms = Number.parseInt(ids[0]?.replaceAll('-', '').slice(0, 12) ?? '', 16)
    expect(Math.abs(ms - Date.now())).toBeLessThan(60_000)
  })
})
