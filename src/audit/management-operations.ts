/**
 * @module Which API routes are management calls, and what each one records: its trace name
 * (FunctionGraph's SDK operation name), resource type, and how the resource's name and id are read
 * from the route's parameters, a name field of the body, or an id field of the answer. Reads and
 * invocations are not in the table, so they are never audited.
 */
import {
  formatFunctionUrn,
  parseFunctionUrn,
  type AuditResourceType,
  type FunctionRef,
} from '../core/index.js'

/** What a route handler had: its path parameters, and the body (only names are read from it). */
export interface OperationInput {
  readonly params: Readonly<Record<string, string | undefined>>
  readonly body: unknown
  readonly projectId: string
  readonly region: string
}

/** The resource a call acted on. */
export interface AuditedResource {
  readonly name: string
  readonly id: string
  /** The function's unqualified URN ('' when the resource is no function's). */
  readonly functionUrn: string
}

export interface ManagementOperation {
  readonly traceName: string
  readonly resourceType: AuditResourceType
  resource(input: OperationInput): AuditedResource
  /**
   * The field of a successful answer that holds the new resource's id: only routes whose answer
   * is small name it (the audit hook then reads the answer's JSON for it).
   */
  readonly idFromAnswer?: string
}

/** A string field of a JSON body, or ''. Only names: bodies are otherwise never read. */
function nameIn(body: unknown, field: string): string {
  if (body === null || typeof body !== 'object') {
    return ''
  }
  const v = (body as Record<string, unknown>)[field]
  return typeof v === 'string' ? v.slice(0, 256) : ''
}

function refOf(input: OperationInput): FunctionRef | undefined {
  const urn = input.params.function_urn ?? input.params.resource_id
  if (urn === undefined) {
    return undefined
  }
  try {
    return parseFunctionUrn(urn, input.projectId)
  } catch {
    return undefined // an invalid URN: the call was refused, its record keeps the raw value
  }
}

function unqualified(input: OperationInput, ref: FunctionRef | undefined): string {
  return ref === undefined
    ? ''
    : formatFunctionUrn(input.region, input.projectId, ref.packageName, ref.functionName, 'latest')
        .split(':')
        .slice(0, 7)
        .join(':')
}

/** A call on a function (or one of its versions or aliases, per the URN's qualifier). */
function onFunction(input: OperationInput): AuditedResource {
  const ref = refOf(input)
  const raw = input.params.function_urn ?? input.params.resource_id ?? ''
  return {
    name: ref?.functionName ?? raw,
    id: raw,
    functionUrn: unqualified(input, ref),
  }
}

function created(input: OperationInput): AuditedResource {
  const name = nameIn(input.body, 'func_name')
  const pkg = nameIn(input.body, 'package') || 'default'
  const base = `urn:fss:${input.region}:${input.projectId}:function:${pkg}:${name}`
  return { name, id: `${base}:latest`, functionUrn: base }
}

function alias(input: OperationInput): AuditedResource {
  const fn = onFunction(input)
  const name = input.params.alias_name ?? nameIn(input.body, 'name')
  return {
    name,
    id: fn.functionUrn === '' ? fn.id : `${fn.functionUrn}:!${name}`,
    functionUrn: fn.functionUrn,
  }
}

function version(input: OperationInput): AuditedResource {
  const fn = onFunction(input)
  const v = nameIn(input.body, 'version')
  // Named by its function, so that a function's name finds every change of it; the id says which.
  return {
    name: fn.name,
    id: v === '' || fn.functionUrn === '' ? fn.id : `${fn.functionUrn}:${v}`,
    functionUrn: fn.functionUrn,
  }
}

function trigger(input: OperationInput): AuditedResource {
  const fn = onFunction(input)
  return {
    name: input.params.trigger_type_code ?? nameIn(input.body, 'trigger_type_code'),
    id: input.params.trigger_id ?? fn.id,
    functionUrn: fn.functionUrn,
  }
}

function testEvent(input: OperationInput): AuditedResource {
  const fn = onFunction(input)
  return {
    name: nameIn(input.body, 'name') || (input.params.event_id ?? ''),
    id: input.params.event_id ?? '',
    functionUrn: fn.functionUrn,
  }
}

/** A function application: named by its body on create, by its id on delete. */
function application(input: OperationInput): AuditedResource {
  const id = input.params.id ?? ''
  return { name: nameIn(input.body, 'name') || id, id, functionUrn: '' }
}

/** A VPC endpoint: named by its network, identified by network and subnet label. */
function vpcEndpoint(input: OperationInput): AuditedResource {
  const network = input.params.vpc_id ?? nameIn(input.body, 'vpc_id')
  const subnet = input.params.subnet_id ?? nameIn(input.body, 'subnet_id')
  return { name: network, id: `${network}/${subnet}`, functionUrn: '' }
}

function dependency(input: OperationInput): AuditedResource {
  const id = input.params.depend_id ?? ''
  const v = input.params.version
  return {
    name: nameIn(input.body, 'name') || (v === undefined ? id : `${id}:${v}`),
    id,
    functionUrn: '',
  }
}

/** A function flow: by the id in the path, or the name a create or update body gives. */
function workflow(input: OperationInput): AuditedResource {
  return {
    name: nameIn(input.body, 'name') || (input.params.workflow_id ?? ''),
    id: input.params.workflow_id ?? '',
    functionUrn: '',
  }
}

/** A batch delete names its flows by URN: the first is recorded (a batch is one call). */
function workflowBatch(input: OperationInput): AuditedResource {
  const urns = (input.body as { workflow_urns?: unknown } | undefined)?.workflow_urns
  const first = Array.isArray(urns) && typeof urns[0] === 'string' ? urns[0].slice(0, 256) : ''
  return { name: first.split(':')[6] ?? '', id: first, functionUrn: '' }
}

/** A call on one execution (start records the flow; its answer has the execution id). */
function execution(input: OperationInput): AuditedResource {
  return {
    name: input.params.workflow_id ?? '',
    id: input.params.execution_id ?? '',
    functionUrn: '',
  }
}

const F = '/v2/:project_id/fgs/functions/:function_urn'
const W = '/v2/:project_id/fgs/workflows'
const T = '/v2/:project_id/fgs/triggers/:function_urn'

function op(
  traceName: string,
  resourceType: AuditResourceType,
  resource: (input: OperationInput) => AuditedResource,
  idFromAnswer?: string,
): ManagementOperation {
  return idFromAnswer === undefined
    ? { traceName, resourceType, resource }
    : { traceName, resourceType, resource, idFromAnswer }
}

/**
 * Every management route, by `METHOD path` as registered. Some name routes other parts of Strato
 * add (tracing, reserved instances, LTS and async status logs): they are audited once they exist.
 */
export const MANAGEMENT_OPERATIONS: ReadonlyMap<string, ManagementOperation> = new Map([
  ['POST /v2/:project_id/fgs/functions', op('createFunction', 'function', created)],
  [`PUT ${F}/config`, op('updateFunctionConfig', 'function', onFunction)],
  [`PUT ${F}/code`, op('updateFunctionCode', 'function', onFunction)],
  [`PUT ${F}/config-max-instance`, op('updateFunctionMaxInstanceConfig', 'function', onFunction)],
  [`DELETE ${F}`, op('deleteFunction', 'function', onFunction)],
  [`PUT ${F}/async-invoke-config`, op('updateFunctionAsyncInvokeConfig', 'function', onFunction)],
  [
    `DELETE ${F}/async-invoke-config`,
    op('deleteFunctionAsyncInvokeConfig', 'function', onFunction),
  ],
  [`POST ${F}/cancel`, op('cancelAsyncInvocation', 'function', onFunction)],
  [`PUT ${F}/tracing`, op('updateTracing', 'function', onFunction)],
  [
    `PUT ${F}/reservedinstances`,
    op('updateFunctionReservedInstancesCount', 'function', onFunction),
  ],
  [`PUT ${F}/collect/:state`, op('updateFunctionCollectState', 'function', onFunction)],
  [
    'POST /v2/:project_id/fgs/functions/enable-lts-logs',
    op('enableLtsLogs', 'function', () => ({ name: '', id: '', functionUrn: '' })),
  ],
  [
    'POST /v2/:project_id/fgs/functions/enable-async-status-logs',
    op('enableAsyncStatusLog', 'function', () => ({ name: '', id: '', functionUrn: '' })),
  ],
  [
    // Strato's switch back off (FunctionGraph has no SDK method for it).
    'DELETE /v2/:project_id/fgs/functions/enable-async-status-logs',
    op('disableAsyncStatusLog', 'function', () => ({ name: '', id: '', functionUrn: '' })),
  ],
  [`POST ${F}/versions`, op('createFunctionVersion', 'version', version)],
  [`POST ${F}/aliases`, op('createVersionAlias', 'alias', alias)],
  [`PUT ${F}/aliases/:alias_name`, op('updateVersionAlias', 'alias', alias)],
  [`DELETE ${F}/aliases/:alias_name`, op('deleteVersionAlias', 'alias', alias)],
  [`POST ${F}/events`, op('createEvent', 'event', testEvent, 'id')],
  [`PUT ${F}/events/:event_id`, op('updateEvent', 'event', testEvent)],
  [`DELETE ${F}/events/:event_id`, op('deleteEvent', 'event', testEvent)],
  [`POST ${T}`, op('createFunctionTrigger', 'trigger', trigger, 'trigger_id')],
  [`DELETE ${T}`, op('batchDeleteFunctionTriggers', 'trigger', trigger)],
  [`PUT ${T}/:trigger_type_code/:trigger_id`, op('updateTrigger', 'trigger', trigger)],
  [`DELETE ${T}/:trigger_type_code/:trigger_id`, op('deleteFunctionTrigger', 'trigger', trigger)],
  [
    'POST /v2/:project_id/:resource_type/:resource_id/tags/create',
    op('createTags', 'function', onFunction),
  ],
  [
    'DELETE /v2/:project_id/:resource_type/:resource_id/tags/delete',
    op('deleteTags', 'function', onFunction),
  ],
  ['POST /v2/:project_id/fgs/functions/import', op('importFunction', 'function', created)],
  [`POST ${F}/snapshots/:action`, op('updateFuncSnapshot', 'function', onFunction)],
  ['POST /v2/:project_id/fgs/vpc-endpoint', op('createVpcEndpoint', 'vpc_endpoint', vpcEndpoint)],
  [
    'DELETE /v2/:project_id/fgs/vpc-endpoint/:vpc_id/:subnet_id',
    op('deleteVpcEndpoint', 'vpc_endpoint', vpcEndpoint),
  ],
  // An application is a group of functions: recorded as a function resource, named for it.
  [
    'POST /v2/:project_id/fgs/applications',
    op('createFunctionApp', 'function', application, 'application_id'),
  ],
  ['DELETE /v2/:project_id/fgs/applications/:id', op('deleteFunctionApp', 'function', application)],
  [
    'POST /v2/:project_id/fgs/dependencies/version',
    op('createDependencyVersion', 'dependency', dependency, 'dep_id'),
  ],
  [
    'DELETE /v2/:project_id/fgs/dependencies/:depend_id/version/:version',
    op('deleteDependencyVersion', 'dependency', dependency),
  ],
  [`POST ${W}`, op('createWorkflow', 'workflow', workflow, 'id')],
  [`PUT ${W}/:workflow_id`, op('updateWorkFlow', 'workflow', workflow)],
  [`DELETE ${W}`, op('batchDeleteWorkflows', 'workflow', workflowBatch)],
  [
    `POST ${W}/:workflow_id/executions`,
    op('startWorkflowExecution', 'workflow', execution, 'execution_id'),
  ],
  [
    `POST ${W}/:workflow_id/executions/:execution_id/retry`,
    op('retryWorkFlow', 'workflow', execution),
  ],
  [
    `POST ${W}/:workflow_id/executions/:execution_id/terminate`,
    op('stopWorkFlow', 'workflow', execution),
  ],
])

/**
 * Routes that take POST, PUT or DELETE and change nothing a trail records: invocations (audited
 * by their own logs, never here) and read-only searches.
 */
export const UNAUDITED_WRITES: ReadonlySet<string> = new Set([
  `POST ${F}/invocations`,
  `POST ${F}/invocations-async`,
  // A sync flow run is an invocation; a callback is a function's answer to its flow.
  `POST ${W}/:workflow_id/sync-executions`,
  `POST ${W}/:workflow_id/callback`,
  // showResInstanceInfo: a tag query sent as POST.
  'POST /v2/:project_id/:resource_type/resource-instances/:action',
])

/** The operation of a route (`method` as Fastify gives it, `url` its pattern), if it is one. */
export function managementOperationOf(
  method: string,
  url: string,
): ManagementOperation | undefined {
  return MANAGEMENT_OPERATIONS.get(`${method} ${url}`)
}

/** Every `service:resource_type:trace_name` the trail can record (the CTS trigger's choices). */
export function auditableOperations(): string[] {
  return [...MANAGEMENT_OPERATIONS.values()].map(
    (o) => `FunctionGraph:${o.resourceType}:${o.traceName}`,
  )
}
