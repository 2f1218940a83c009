import { describe, expect, test } from 'vitest'
import { StratoError } from '../core/index.js'
import { parsePageQuery } from './pagination.js'

function refusal(fn: () => unknown): StratoError {
  try {
    fn()
  } catch (err) {
    if (err instanceof StratoError) {
      return err
    }
    throw err
  }
  throw new Error('expected a refusal')
}

describe('parsePageQuery', () => {
  const MAXITEMS = { size: 'maxitems', max: 400 } as const
  const LIMIT = { size: 'limit', fallback: 100, max: 500 } as const

  test('left out or empty: marker 0 and the default size', () => {
    expect(parsePageQuery({}, MAXITEMS)).toEqual({ marker: 0, size: 400 })
    expect(parsePageQuery({ marker: '', maxitems: '' }, MAXITEMS)).toEqual({ marker: 0, size: 400 })
    expect(parsePageQuery({}, LIMIT)).toEqual({ marker: 0, size: 100 })
  })

  test('maxitems: 0 or over the maximum means the maximum (FunctionGraph)', () => {
    expect(parsePageQuery({ marker: '7', maxitems: '2' }, MAXITEMS)).toEqual({ marker: 7, size: 2 })
    expect(parsePageQuery({ maxitems: '0' }, MAXITEMS).size).toBe(400)
    expect(parsePageQuery({ maxitems: '100000' }, MAXITEMS).size).toBe(400)
  })

  test('the largest exact marker is accepted; one past it is refused', () => {
    expect(parsePageQuery({ marker: '9007199254740991' }, MAXITEMS).marker).toBe(
      Number.MAX_SAFE_INTEGER,
    )
    expect(refusal(() => parsePageQuery({ marker: '9007199254740992' }, MAXITEMS)).code).toBe(
      'INVALID_QUERY',
    )
  })

  test.each([
    ['marker', { marker: '99999999999999999999' }, MAXITEMS],
    ['marker', { marker: '-1' }, MAXITEMS],
    ['marker', { marker: '1e3' }, LIMIT],
    ['marker', { marker: '0x10' }, LIMIT],
    ['marker', { marker: ' 5' }, LIMIT],
    ['marker', { marker: '2.5' }, MAXITEMS],
    ['marker', { marker: ['1', '2'] }, MAXITEMS],
    ['maxitems', { maxitems: '-1' }, MAXITEMS],
    ['maxitems', { maxitems: '99999999999999999999' }, MAXITEMS],
    ['maxitems', { maxitems: 'ten' }, MAXITEMS],
    ['limit', { limit: '0' }, LIMIT],
    ['limit', { limit: '501' }, LIMIT],
    ['limit', { limit: 'NaN' }, LIMIT],
  ] as const)('a bad %s (%j) is INVALID_QUERY naming it', (name, query, rules) => {
    const err = refusal(() => parsePageQuery(query, rules))
    expect(err.code).toBe('INVALID_QUERY')
    expect(err.spec.fss).toBe('FSS.1001')
    expect(err.message).toContain(`'${name}'`)
  })
})
