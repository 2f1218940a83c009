import { describe, expect, test } from 'vitest'
import {
  FUNCTIONGRAPH_RUNTIMES,
  RUNTIME_FAMILIES,
  SOURCE_EXTENSIONS,
  handlerModuleOf,
  codeFormatOf,
  fixedHandlerOf,
  instanceConcurrencyOf,
  servesHttp,
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

  test('each FunctionGraph runtime runs in its family; C# and Cangjie in none', () => {
    // [runtime name prefix, family]: the first prefix that matches decides.
    const families: Array<[string, string]> = [
      ['Node.js', 'node'],
      ['Python', 'python'],
      ['PHP', 'php'],
      ['Java', 'java'],
      ['http', 'http'],
      ['Go', 'go'],
      ['Custom Image', 'image'],
      ['Custom', 'custom'],
    ]
    for (const runtime of FUNCTIONGRAPH_RUNTIMES) {
      const expected = families.find(([prefix]) => runtime.startsWith(prefix))?.[1]
      expect([runtime, runtimeFamilyOf(runtime)]).toEqual([runtime, expected])
    }
    expect(supportedRuntimes()).toContain('Node.js20.15')
    expect(supportedRuntimes()).toContain('Java17')
    expect(supportedRuntimes()).not.toContain('C#(.NET Core 6.0)')
  })

  test('every family names its handler files; inline source takes the first extension', () => {
    expect(SOURCE_EXTENSIONS).toEqual({
      node: ['.js', '.cjs', '.mjs'],
      python: ['.py'],
      http: [''],
      php: ['.php'],
      java: ['.class'],
      image: [],
      go: [''],
      custom: [''],
    })
  })

  test('a Java handler names a class, not a file path; the other families name files', () => {
    expect(handlerModuleOf('java')).toBe('javaClass')
    expect(handlerModuleOf('node')).toBe('path')
    expect(handlerModuleOf('python')).toBe('path')
  })

  test('Custom Image functions take an image archive and serve HTTP; http functions serve HTTP from a zip', () => {
    expect([codeFormatOf('image'), servesHttp('Custom Image')]).toEqual(['image', true])
    expect([codeFormatOf('http'), servesHttp('http')]).toEqual(['zip', true])
    expect([codeFormatOf('node'), servesHttp('Node.js20.15')]).toEqual(['zip', false])
  })

  test("HTTP and custom runtime functions have one handler, 'bootstrap'; the others any", () => {
    expect(fixedHandlerOf('http')).toBe('bootstrap')
    expect(fixedHandlerOf('Custom')).toBe('bootstrap')
    expect(fixedHandlerOf('Node.js20.15')).toBeUndefined()
    expect(fixedHandlerOf('Python3.10')).toBeUndefined()
  })

  test('a family cap on concurrency wins over concurrent_num: Python serves one at a time', () => {
    expect(instanceConcurrencyOf('python', 10)).toBe(1)
    expect(instanceConcurrencyOf('php', 10)).toBe(1)
    expect(instanceConcurrencyOf('python', 1)).toBe(1)
    expect(instanceConcurrencyOf('node', 10)).toBe(10)
    expect(instanceConcurrencyOf('http', 7)).toBe(7)
    expect(instanceConcurrencyOf('java', 1000)).toBe(100)
    expect(instanceConcurrencyOf('go', 7)).toBe(7)
    expect(instanceConcurrencyOf(undefined, 3)).toBe(3)
  })
})
