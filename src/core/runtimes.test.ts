import { describe, expect, test } from 'vitest'
import {
  FUNCTIONGRAPH_RUNTIMES,
  RUNTIME_FAMILIES,
  SOURCE_EXTENSIONS,
  fixedHandlerOf,
  instanceConcurrencyOf,
  runtimeFamilyOf,
  supportedRuntimes,
} from './runtimes.js'

describe('runtime families (core)', () => {
  test('every FunctionGraph runtime belongs to at most one family, and every family runs only FunctionGraph runtimes', () => {
    const owners = new Map<string, string[]>()
    for (const family of RUNTIME_FAMILIES) {
      for (const runtime of family.runtimes) {
        owners.set(runtime, [...(owners.get(runtime) ?? []), family.name])
      }
    }
    expect([...owners].filter(([, families]) => families.length > 1)).toEqual([])
    expect(
      [...owners.keys()].filter((r) => !(FUNCTIONGRAPH_RUNTIMES as readonly string[]).includes(r)),
    ).toEqual([])
    expect(new Set(RUNTIME_FAMILIES.map((f) => f.name)).size).toBe(RUNTIME_FAMILIES.length)
  })

  test('every Node.js version runs in node, every Python version in python, http in http, Custom in custom, nothing else yet', () => {
    for (const runtime of FUNCTIONGRAPH_RUNTIMES) {
      const expected = runtime.startsWith('Node.js')
        ? 'node'
        : runtime.startsWith('Python')
          ? 'python'
          : runtime === 'http'
            ? 'http'
            : runtime === 'Custom'
              ? 'custom'
              : undefined
      expect([runtime, runtimeFamilyOf(runtime)]).toEqual([runtime, expected])
    }
    expect(supportedRuntimes()).toContain('Node.js20.15')
    expect(supportedRuntimes()).not.toContain('Java17')
  })

  test('every family names its handler files; inline source takes the first extension', () => {
    expect(SOURCE_EXTENSIONS).toEqual({
      node: ['.js', '.cjs', '.mjs'],
      python: ['.py'],
      http: [''],
      custom: [''],
    })
  })

  test("HTTP and custom runtime functions have one handler, 'bootstrap'; the others any", () => {
    expect(fixedHandlerOf('http')).toBe('bootstrap')
    expect(fixedHandlerOf('Custom')).toBe('bootstrap')
    expect(fixedHandlerOf('Node.js20.15')).toBeUndefined()
    expect(fixedHandlerOf('Python3.10')).toBeUndefined()
  })

  test('a family cap on concurrency wins over concurrent_num: Python serves one at a time', () => {
    expect(instanceConcurrencyOf('python', 10)).toBe(1)
    expect(instanceConcurrencyOf('python', 1)).toBe(1)
    expect(instanceConcurrencyOf('node', 10)).toBe(10)
    expect(instanceConcurrencyOf('http', 7)).toBe(7)
    expect(instanceConcurrencyOf(undefined, 3)).toBe(3)
  })
})
