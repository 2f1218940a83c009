/**
 * @module What Strato records on its own (`SystemAction`): keys and tenants have no API, they
 * change only at start from the settings, so the start records what it changed.
 */
import { randomUUID } from 'node:crypto'
import type { AuditRecord, BootstrapOutcome } from '../core/index.js'

/** The record of a root tenant (and its first key) created by this start. Never the secret. */
export function tenantCreatedRecord(outcome: BootstrapOutcome, timeMs: number): AuditRecord {
  return {
    traceId: randomUUID(),
    projectId: outcome.keys.projectId,
    timeMs,
    traceName: 'createTenant',
    resourceType: 'tenant',
    resourceName: 'root',
    resourceId: outcome.keys.projectId,
    functionUrn: '',
    code: 200,
    errorCode: '',
    sourceIp: '',
    accessKey: outcome.keys.accessKey,
    requestId: '',
    traceType: 'SystemAction',
  }
}
