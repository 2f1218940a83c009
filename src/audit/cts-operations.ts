/**
 * @module The CTS trigger's `operations` (reference §4.4): `<service>:<resource_type>:<trace_name>`
 * entries naming the calls whose records reach the function. Only FunctionGraph's own operations
 * exist here (Strato audits nothing else), so an entry naming anything the trail never records is
 * refused rather than kept to never fire.
 */
import {
  AUDIT_SERVICE_TYPE,
  StratoError,
  type AuditRecord,
  type CtsEventData,
} from '../core/index.js'
import { MANAGEMENT_OPERATIONS } from './management-operations.js'

function fail(detail: string): never {
  throw new StratoError('INVALID_PARAMETER', `Invalid CTS trigger: ${detail}`)
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/

/** Checks a CTS trigger's `event_data`: a `name` and 1 to 50 known operations. */
export function parseCtsEventData(raw: unknown): CtsEventData {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail('event_data must be an object with name and operations.')
  }
  const data = raw as Record<string, unknown>
  const name = data.name
  if (typeof name !== 'string' || !NAME.test(name)) {
    fail("event_data.name must be 1 to 64 letters, digits, '-' or '_', starting with a letter.")
  }
  const ops = data.operations
  if (!Array.isArray(ops) || ops.length === 0 || ops.length > 50) {
    fail(
      'event_data.operations must list 1 to 50 "<service>:<resource_type>:<trace_name>" entries.',
    )
  }
  const known = new Set(
    [...MANAGEMENT_OPERATIONS.values()].map((o) =>
      `${AUDIT_SERVICE_TYPE}:${o.resourceType}:${o.traceName}`.toLowerCase(),
    ),
  )
  const operations = ops.map((o: unknown) => {
    if (typeof o !== 'string' || o.split(':').length !== 3) {
      fail(`operation ${JSON.stringify(o)} is not "<service>:<resource_type>:<trace_name>".`)
    }
    if (!known.has(o.toLowerCase())) {
      fail(
        `operation '${o}' is not one Strato records (service ${AUDIT_SERVICE_TYPE}; e.g. ${AUDIT_SERVICE_TYPE}:function:deleteFunction).`,
      )
    }
    return o
  })
  return { name, operations: [...new Set(operations)] }
}

/** Whether a record is one of the operations (service, resource type and name, any case). */
export function matchesOperations(operations: readonly string[], r: AuditRecord): boolean {
  const key = `${AUDIT_SERVICE_TYPE}:${r.resourceType}:${r.traceName}`.toLowerCase()
  return operations.some((o) => o.toLowerCase() === key)
}
