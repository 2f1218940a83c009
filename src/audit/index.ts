/** @module audit: the management-call trail (CTS): which routes are audited, and how records show. */
export {
  MANAGEMENT_OPERATIONS,
  UNAUDITED_WRITES,
  auditableOperations,
  managementOperationOf,
} from './management-operations.js'
export type {
  AuditedResource,
  ManagementOperation,
  OperationInput,
} from './management-operations.js'
export { ctsEvent, ctsTraceView } from './cts-trace.js'
export { matchesOperations, parseCtsEventData } from './cts-operations.js'
export { tenantCreatedRecord } from './system-records.js'
