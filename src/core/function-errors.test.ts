import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import {
  FunctionErrorTypes,
  SELF_EXIT_MESSAGE_PREFIX,
  functionErrorSpecOf,
  isPlatformFault,
  type FunctionErrorOrigin,
  type FunctionErrorType,
} from './function-errors.js'

const TYPES = Object.keys(FunctionErrorTypes) as FunctionErrorType[]

/**
 * The `errorType` rows of docs/errors.md's "errorType values the platform produces", by the
 * subsection they are listed in ("From the host", "From the async dispatcher", "From the guests").
 */
function documentedTypes(): Map<string, Set<FunctionErrorOrigin>> {
  const doc = fs.readFileSync(path.resolve(import.meta.dirname, '../../docs/errors.md'), 'utf8')
  const start = doc.indexOf('### `errorType` values the platform produces')
  const end = doc.indexOf('\n#', start + 1)
  expect(start).toBeGreaterThan(-1)
  const found = new Map<string, Set<FunctionErrorOrigin>>()
  let origin: FunctionErrorOrigin | undefined
  for (const line of doc.slice(start, end === -1 ? undefined : end).split('\n')) {
    if (line.startsWith('From the host')) {
      origin = 'host'
    } else if (line.startsWith('From the async dispatcher')) {
      origin = 'async'
    } else if (line.startsWith('From the guests')) {
      origin = 'guest'
    }
    const row = /^\| `(\w+)` \|/.exec(line)
    if (row?.[1] !== undefined && origin !== undefined) {
      found.set(row[1], (found.get(row[1]) ?? new Set()).add(origin))
    }
  }
  return found
}

/** The dispatcher's classification before the table (issue 13 item 7), to compare against. */
function classifiedByStrings(errorType: string | undefined, errorMessage: string | undefined) {
  const type = errorType ?? ''
  if (['RuntimeStartTimeout', 'RuntimeStartFailed'].includes(type)) {
    return true
  }
  return (
    type === 'RuntimeExitError' &&
    !(errorMessage ?? '').startsWith('The function ended its own process')
  )
}

describe('function-error table (core)', () => {
  test('docs/errors.md lists every type of the table, and the table every documented type, from the same origins', () => {
    const documented = documentedTypes()
    expect([...documented.keys()].sort()).toEqual([...TYPES].sort())
    for (const type of TYPES) {
      expect([type, [...(documented.get(type) ?? [])].sort()]).toEqual([
        type,
        [...FunctionErrorTypes[type].origins].sort(),
      ])
    }
  })

  test('platform-fault decisions equal the string matching they replace', () => {
    const messages = [
      undefined,
      '',
      'The function ended its own process (exit code 3) during the invocation; its instance was replaced.',
      'The function instance was killed by SIGKILL during the invocation.',
      'Invoke function timeout',
    ]
    const types = [
      undefined,
      'Error',
      'TypeError',
      'MemoryError',
      'constructor',
      '__proto__',
      'toString',
      ...TYPES.filter((t) => t !== 'PlatformRestart'),
    ]
    for (const type of types) {
      for (const message of messages) {
        expect([type, message, isPlatformFault(type, message)]).toEqual([
          type,
          message,
          classifiedByStrings(type, message),
        ])
      }
    }
  })

  test('an instance killed under the function is a platform fault; the function exiting its own process is not', () => {
    expect(
      isPlatformFault(
        'RuntimeExitError',
        'The function instance exited with code 139 (SIGSEGV) during the invocation.',
      ),
    ).toBe(true)
    expect(
      isPlatformFault('RuntimeExitError', `${SELF_EXIT_MESSAGE_PREFIX} (exit code 0) during it.`),
    ).toBe(false)
    expect(isPlatformFault('RuntimeStartTimeout', undefined)).toBe(true)
    expect(isPlatformFault('RuntimeStartFailed', 'The function instance exited with code 1')).toBe(
      true,
    )
    for (const own of [
      'TimeoutError',
      'OutOfMemoryError',
      'ImportModuleError',
      'HandlerNotFound',
    ]) {
      expect([own, isPlatformFault(own, '')]).toEqual([own, false])
    }
  })

  test('an attempt cut short by a restart of Strato is a platform fault (it is retried as a system error)', () => {
    expect(FunctionErrorTypes.PlatformRestart).toEqual({ origins: ['async'], platformFault: true })
  })

  test("a function's own error type is not in the table, whatever it is named", () => {
    for (const own of ['Error', 'ValueError', 'constructor', '__proto__', 'hasOwnProperty', '']) {
      expect([own, functionErrorSpecOf(own)]).toEqual([own, undefined])
    }
    expect(functionErrorSpecOf('TimeoutError')).toBe(FunctionErrorTypes.TimeoutError)
  })
})
