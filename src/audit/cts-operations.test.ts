import { expect, test } from 'vitest'
import type { AuditRecord } from '../core/index.js'
import { matchesOperations, parseCtsEventData } from './cts-operations.js'
import { auditableOperations } from './management-operations.js'

const deleted: AuditRecord = {
  traceId: 't',
  projectId: 'p',
  timeMs: 1,
  traceName: 'deleteFunction',
  resourceType: 'function',
  resourceName: 'f',
  resourceId: 'urn',
  functionUrn: 'urn',
  code: 204,
  errorCode: '',
  sourceIp: '127.0.0.1',
  accessKey: 'ak',
  requestId: 'r',
  traceType: 'ApiCall',
}

test('a CTS trigger names FunctionGraph operations the trail records, as service:resource_type:trace_name', () => {
  expect(
    parseCtsEventData({
      name: 'watch',
      operations: [
        'FunctionGraph:function:deleteFunction',
        'FunctionGraph:function:deleteFunction',
      ],
    }),
  ).toEqual({ name: 'watch', operations: ['FunctionGraph:function:deleteFunction'] })
  expect(auditableOperations()).toContain('FunctionGraph:trigger:createFunctionTrigger')
  for (const bad of [
    null,
    [],
    { operations: ['FunctionGraph:function:deleteFunction'] },
    { name: 'w', operations: [] },
    { name: 'w', operations: ['deleteFunction'] },
    { name: 'w', operations: ['ECS:server:deleteServer'] },
    { name: 'w', operations: ['FunctionGraph:function:invokeFunction'] },
    { name: 'w', operations: [42] },
  ]) {
    expect(() => parseCtsEventData(bad), JSON.stringify(bad)).toThrow(/Invalid CTS trigger/)
  }
})

test('a record matches an operation whatever the case, and only its own', () => {
  expect(matchesOperations(['functiongraph:FUNCTION:deletefunction'], deleted)).toBe(true)
  expect(matchesOperations(['FunctionGraph:function:createFunction'], deleted)).toBe(false)
  expect(matchesOperations(['FunctionGraph:trigger:deleteFunction'], deleted)).toBe(false)
})
