import { expect, test } from 'vitest'
import { AslError, errorMatches } from './asl-error.js'

test('States.ALL matches user and States errors but not DataLimitExceeded or Runtime', () => {
  expect(errorMatches(['States.ALL'], 'MyError')).toBe(true)
  expect(errorMatches(['States.ALL'], 'States.Timeout')).toBe(true)
  expect(errorMatches(['States.ALL'], 'States.DataLimitExceeded')).toBe(false)
  expect(errorMatches(['States.ALL'], 'States.Runtime')).toBe(false)
})

test('States.Runtime is never caught, even by name', () => {
  expect(errorMatches(['States.Runtime'], 'States.Runtime')).toBe(false)
})

test('DataLimitExceeded is caught only by its own name', () => {
  expect(errorMatches(['States.DataLimitExceeded'], 'States.DataLimitExceeded')).toBe(true)
})

test('States.TaskFailed matches any error except States.Timeout', () => {
  expect(errorMatches(['States.TaskFailed'], 'Lambda.Unknown')).toBe(true)
  expect(errorMatches(['States.TaskFailed'], 'States.Permissions')).toBe(true)
  expect(errorMatches(['States.TaskFailed'], 'States.Timeout')).toBe(false)
})

test('a named error matches exactly and only that name', () => {
  expect(errorMatches(['A', 'B'], 'B')).toBe(true)
  expect(errorMatches(['A', 'B'], 'b')).toBe(false)
})

test('an AslError carries its error name and cause', () => {
  const error = new AslError('States.Runtime', 'bad path')
  expect(error.error).toBe('States.Runtime')
  expect(error.cause).toBe('bad path')
  expect(error.message).toBe('States.Runtime: bad path')
})
