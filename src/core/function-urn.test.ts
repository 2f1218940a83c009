import { describe, expect, test } from 'vitest'
import { StratoError } from './errors.js'
import { formatFunctionUrn, parseFunctionUrn } from './function-urn.js'

describe('function URNs (reference §1.2)', () => {
  const p = 'proj'
  test.each([
    [
      'hello',
      { projectId: p, packageName: 'default', functionName: 'hello', qualifier: undefined },
    ],
    [
      'pkg:hello',
      { projectId: p, packageName: 'pkg', functionName: 'hello', qualifier: undefined },
    ],
    [
      'other:pkg:hello',
      { projectId: 'other', packageName: 'pkg', functionName: 'hello', qualifier: undefined },
    ],
    [
      'proj:pkg:hello:v1',
      {
        projectId: p,
        packageName: 'pkg',
        functionName: 'hello',
        qualifier: { kind: 'version', version: 'v1' },
      },
    ],
    [
      'proj:pkg:hello:!prod',
      {
        projectId: p,
        packageName: 'pkg',
        functionName: 'hello',
        qualifier: { kind: 'alias', alias: 'prod' },
      },
    ],
    [
      'urn:fss:r1:proj:function:default:hello',
      { projectId: p, packageName: 'default', functionName: 'hello', qualifier: undefined },
    ],
    [
      'urn:fss:r1:proj:function:default:hello:latest',
      {
        projectId: p,
        packageName: 'default',
        functionName: 'hello',
        qualifier: { kind: 'version', version: 'latest' },
      },
    ],
  ])('parses the %s form', (urn, expected) => {
    expect(parseFunctionUrn(urn, p)).toEqual(expected)
  })

  test.each([
    'a:b:c:d:e',
    'x:y:z:w:v:u',
    'urn:aws:r1:proj:function:default:hello',
    'a::b',
    'proj:pkg:hello:!',
  ])('refuses %s', (urn) => {
    expect(() => parseFunctionUrn(urn, p)).toThrow(StratoError)
  })

  test('format gives the 8-field URN and parses back', () => {
    const urn = formatFunctionUrn('r1', 'proj', 'default', 'hello')
    expect(urn).toBe('urn:fss:r1:proj:function:default:hello:latest')
    expect(parseFunctionUrn(urn, 'x').functionName).toBe('hello')
  })
})
