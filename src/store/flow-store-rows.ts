/**
 * @module FlowStore's rows: records to `workflows` / `flow_executions` columns and back, history
 * rows to FlowEvents, and an ExecutionUpdate to the columns it sets.
 */
import type { Selectable } from 'kysely'
import type {
  ExecutionError,
  ExecutionRecord,
  ExecutionStatus,
  ExecutionUpdate,
  FlowEvent,
  FlowEventType,
  FlowLanguage,
  FlowMode,
  WorkflowRecord,
} from '../core/index.js'
import type { FlowEventsTable, FlowExecutionsTable, WorkflowsTable } from './database.js'

type ExecutionRow = Selectable<FlowExecutionsTable>

export function workflowRow(r: WorkflowRecord): Omit<WorkflowsTable, 'seq'> {
  return {
    id: r.id,
    project_id: r.projectId,
    name: r.name,
    description: r.description,
    mode: r.mode,
    urn: r.urn,
    language: r.language,
    definition_json: r.definitionJson,
    ir_json: r.irJson,
    enable_stream_response: r.enableStreamResponse ? 1 : 0,
    created_by: r.createdBy,
    created_at: r.createdAt.getTime(),
    updated_at: r.updatedAt.getTime(),
  }
}

export function workflowOf(r: Selectable<WorkflowsTable>): WorkflowRecord {
  return {
    id: r.id,
    projectId: r.project_id,
    name: r.name,
    description: r.description,
    mode: r.mode as FlowMode,
    urn: r.urn,
    language: r.language as FlowLanguage,
    definitionJson: r.definition_json,
    irJson: r.ir_json,
    enableStreamResponse: r.enable_stream_response === 1,
    createdBy: r.created_by,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  }
}

export function executionRow(
  r: ExecutionRecord,
): Omit<FlowExecutionsTable, 'event_count' | 'lease_owner' | 'lease_token' | 'lease_until'> {
  return {
    id: r.id,
    workflow_id: r.workflowId,
    project_id: r.projectId,
    workflow_urn: r.workflowUrn,
    workflow_name: r.workflowName,
    mode: r.mode,
    status: r.status,
    input_json: r.inputJson,
    output_json: r.outputJson ?? null,
    error_json: r.error === undefined ? null : JSON.stringify(r.error),
    headers_json: r.headersJson,
    ir_json: r.irJson,
    created_by: r.createdBy,
    begin_at: r.beginAt.getTime(),
    end_at: r.endAt === undefined ? null : r.endAt.getTime(),
    updated_at: r.updatedAt.getTime(),
    redrive_count: r.redriveCount,
  }
}

export function executionOf(r: ExecutionRow): ExecutionRecord {
  return {
    id: r.id,
    workflowId: r.workflow_id,
    projectId: r.project_id,
    workflowUrn: r.workflow_urn,
    workflowName: r.workflow_name,
    mode: r.mode as FlowMode,
    status: r.status as ExecutionStatus,
    inputJson: r.input_json,
    outputJson: r.output_json ?? undefined,
    error: r.error_json === null ? undefined : errorOf(r.error_json),
    headersJson: r.headers_json,
    irJson: r.ir_json,
    createdBy: r.created_by,
    beginAt: new Date(r.begin_at),
    endAt: r.end_at === null ? undefined : new Date(r.end_at),
    updatedAt: new Date(r.updated_at),
    redriveCount: r.redrive_count,
    eventCount: r.event_count,
  }
}

function errorOf(json: string): ExecutionError {
  const e = JSON.parse(json) as { error: string; cause?: string; nodeId?: string }
  return { error: e.error, cause: e.cause, nodeId: e.nodeId }
}

export function updateRow(update: ExecutionUpdate | undefined): Partial<FlowExecutionsTable> {
  if (update === undefined) {
    return {}
  }
  return {
    status: update.status,
    ...(update.outputJson === undefined ? {} : { output_json: update.outputJson }),
    ...(update.error === undefined ? {} : { error_json: JSON.stringify(update.error) }),
    ...(update.endAt === undefined ? {} : { end_at: update.endAt }),
    ...(update.redriveCount === undefined ? {} : { redrive_count: update.redriveCount }),
    // A finished execution holds no lease: nobody drives it any more.
    ...(update.status === 'running' ? {} : { lease_owner: '', lease_until: 0 }),
  }
}

export function eventOf(r: Selectable<FlowEventsTable>): FlowEvent {
  return {
    executionId: r.execution_id,
    seq: r.seq,
    type: r.type as FlowEventType,
    path: r.path,
    stateName: r.state_name,
    nodeId: r.node_id,
    nodeName: r.node_name,
    attempt: r.attempt,
    at: r.at,
    payloadJson: r.payload_json,
    requestId: r.request_id ?? undefined,
  }
}
