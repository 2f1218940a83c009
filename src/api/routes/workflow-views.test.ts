import { describe, expect, test } from 'vitest'
import { StratoError } from '../../core/index.js'
import { flowTime, integerQuery, parseStatus, parseTimeQuery } from './workflow-views.js'

describe('workflow API query parsing', () => {
  test("times: Huawei's 'YYYY-MM-DD hh:mm:ss' (UTC), ISO or epoch ms; anything else is FGS.3002", () => {
    const at = Date.UTC(2026, 11, 6, 9, 30, 5)
    expect(parseTimeQuery('2026-12-06 09:30:05', 'start_time')).toBe(at)
    expect(parseTimeQuery('2026-12-06T09:30:05Z', 'start_time')).toBe(at)
    expect(parseTimeQuery(String(at), 'start_time')).toBe(at)
    expect(parseTimeQuery(undefined, 'start_time')).toBeUndefined()
    expect(parseTimeQuery('', 'start_time')).toBeUndefined()
    for (const bad of ['yesterday', '2026-12-06', ['1', '2']]) {
      const err = (() => {
        try {
          parseTimeQuery(bad, 'end_time')
        } catch (e) {
          return e
        }
        return undefined
      })()
      expect(err).toBeInstanceOf(StratoError)
      expect((err as StratoError).spec.fss).toBe('FGS.3002')
      expect((err as StratoError).message).toContain("'end_time'")
    }
  })

  test('integers fall back when left out and are refused outside their range', () => {
    expect(integerQuery(undefined, 'limit', 1, 100, 10)).toBe(10)
    expect(integerQuery('100', 'limit', 1, 100, 10)).toBe(100)
    expect(() => integerQuery('0', 'limit', 1, 100, 10)).toThrow(/'limit'.*1 to 100/)
    expect(() => integerQuery('-1', 'offset', 0, 5, 0)).toThrow(/'offset'/)
    expect(() => integerQuery('1.5', 'limit', 1, 100, 10)).toThrow(StratoError)
  })

  test('a status filter is one of the execution statuses', () => {
    expect(parseStatus('timeout')).toBe('timeout')
    expect(parseStatus(undefined)).toBeUndefined()
    expect(() => parseStatus('done')).toThrow(/success/)
  })
})

test('flow times are whole seconds in UTC with a Z', () => {
  expect(flowTime(Date.UTC(2021, 0, 1, 0, 0, 0, 999))).toBe('2021-01-01T00:00:00Z')
  expect(flowTime(new Date('2026-12-06T09:30:05.123Z'))).toBe('2026-12-06T09:30:05Z')
  expect(flowTime(undefined)).toBe('')
})
