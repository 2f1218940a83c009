import { describe, expect, test } from 'vitest'
import { StratoError } from '../core/index.js'
import { parseJsonBody } from './json-body.js'

function refusal(text: string): string {
  try {
    parseJsonBody(text)
  } catch (err) {
    expect(err).toBeInstanceOf(StratoError)
    expect((err as StratoError).code).toBe('INVALID_PARAMETER')
    return (err as StratoError).message
  }
  throw new Error(`parsed: ${text}`)
}

describe('parseJsonBody', () => {
  test('a NUL in a string value, nested or in an array, is refused naming its field', () => {
    expect(refusal('{"description":"a\\u0000b"}')).toBe(
      "The field 'description' holds a NUL character (\\u0000), which no text may hold.",
    )
    expect(refusal('{"user_data":{"KEY":"\\u0000"}}')).toContain("The field 'KEY'")
    expect(refusal('{"tags":[{"key":"k","value":"v"},"x\\u0000"]}')).toContain("The field '1'")
    expect(refusal('"\\u0000"')).toBe(
      'The body holds a NUL character (\\u0000), which no text may hold.',
    )
  })

  test('a NUL in a key is refused, the key shown escaped', () => {
    expect(refusal('{"a\\u0000b":1}')).toBe(
      "The field 'a\\u0000b' holds a NUL character (\\u0000), which no text may hold.",
    )
  })

  test('other escapes, and the characters around NUL, pass', () => {
    expect(parseJsonBody('{"a":"\\u0001\\u00e9\\n","b":["\\u0041"]}')).toEqual({
      a: '\u0001é\n',
      b: ['A'],
    })
  })
})
