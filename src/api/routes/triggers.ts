/**
 * @module Function triggers (reference §4.4): create, list, show, enable/disable, delete, delete all.
 * One store for every type; a type is created only if a registered trigger source serves it
 * (`deps.servedTriggerTypes`), which also checks its `event_data`.
 */
import type { FastifyInstance } from 'fastify'
import {
  MASKED_VALUE,
  SECRET_EVENT_DATA_FIELDS,
  asBody,
  formatFunctionUrn,
  isApigTrigger,
  parseTriggerInput,
  qualifierOf,
  StratoError,
  TRIGGER_TYPE_CODES,
  triggerErrorCodes,
  type ServedTriggerTypes,
  type TriggerEventData,
  type TriggerHealth,
  type TriggerRecord,
  type TriggerTargetCheck,
} from '../../core/index.js'
import type { ApiDeps } from '../deps.js'
import { resolveFunction, type FunctionPathParams } from '../resolve-function.js'

interface TriggerParams extends FunctionPathParams {
  trigger_type_code: string
  trigger_id: string
}

/**
 * Strato addition (issue 15): whether the trigger's source can fire it now, and what failed last
 * (`last_error` stays after recovery).
 */
function healthView(health: TriggerHealth): object {
  return {
    health: health.health,
    ...(health.lastError === undefined
      ? {}
      : { last_error: { message: health.lastError.message, at: health.lastError.at } }),
  }
}

/** The wire shape of a trigger: its settings plus what the gateway made of them, and its health. */
export function triggerView(
  t: TriggerRecord,
  gatewayUrl: string | undefined,
  health: TriggerHealth = { health: 'ok' },
): object {
  return { ...settingsView(t, gatewayUrl), ...healthView(health) }
}

function settingsView(t: TriggerRecord, gatewayUrl: string | undefined): object {
  if (!isApigTrigger(t)) {
    const eventData: Record<string, unknown> = { ...t.eventData, triggerid: t.id }
    // Secrets never leave: a set one shows masked, as encrypted variables do.
    for (const field of SECRET_EVENT_DATA_FIELDS) {
      if (typeof eventData[field] === 'string' && eventData[field] !== '') {
        eventData[field] = MASKED_VALUE
      }
    }
    return {
      trigger_id: t.id,
      trigger_type_code: t.typeCode,
      trigger_status: t.status,
      event_type_code: t.eventTypeCode,
      event_data: eventData,
      last_updated_time: t.updatedAt.toISOString(),
      created_time: t.createdAt.toISOString(),
    }
  }
  const d = t.eventData
  const version = t.qualifier.startsWith('!') ? t.qualifier.slice(1) : t.qualifier
  return {
    trigger_id: t.id,
    trigger_type_code: t.typeCode,
    trigger_status: t.status,
    event_type_code: t.eventTypeCode,
    event_data: {
      ...d,
      triggerid: t.id,
      api_id: t.id,
      api_name: d.name,
      invoke_url: gatewayUrl === undefined ? '' : `${gatewayUrl}${d.path}`,
      func_info: { ...d.func_info, function_urn: t.functionUrn, version },
      // Strato addition: the credentials an APP-auth caller signs with, as APIG's apps provide.
      ...(d.auth === 'APP' ? { app_key: t.appKey, app_secret: t.appSecret } : {}),
    },
    last_updated_time: t.updatedAt.toISOString(),
    created_time: t.createdAt.toISOString(),
  }
}

/**
 * The settings an update asks for: its `event_data` fields over the stored ones, checked by the
 * type's source as at create. The `name` stays (it identifies the trigger within its function);
 * an API route changes by delete and create, where its path is checked against every other route.
 */
function updatedEventData(
  current: TriggerRecord,
  raw: unknown,
  served: readonly ServedTriggerTypes[],
): TriggerEventData {
  const codes = triggerErrorCodes(current.typeCode)
  // FunctionGraph's update model sends event_data as a one-element array (reference §4.4).
  const given = Array.isArray(raw) && raw.length === 1 ? (raw[0] as unknown) : raw
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new StratoError(codes.invalid, 'event_data must be an object.')
  }
  const server = served.find((s) => s.types.includes(current.typeCode))
  if (server === undefined || isApigTrigger(current)) {
    throw new StratoError(
      codes.invalid,
      `The event_data of a ${current.typeCode} trigger cannot be updated; delete it and create another.`,
    )
  }
  const merged = { ...current.eventData, ...given } as Record<string, unknown>
  const before = (current.eventData as { readonly name?: unknown }).name
  if (before !== undefined && merged.name !== before) {
    throw new StratoError(codes.invalid, 'event_data.name cannot change.')
  }
  return server.parseEventData(current.typeCode, merged)
}

/** The source's own checks of what the trigger points at, if it has any. */
async function checkTarget(
  served: readonly ServedTriggerTypes[],
  trigger: TriggerTargetCheck,
): Promise<void> {
  await served.find((s) => s.types.includes(trigger.typeCode))?.checkTarget?.(trigger)
}

/**
 * `/strato/info`'s `triggers`: how many of each type and status, and the failing ones (health is
 * this node's view). `/strato/info` is unsigned, so a failing trigger is named by id and type with
 * when it failed, never its function or the error text (a broker's address or user name): the
 * signed trigger API shows those.
 */
export async function triggerSummary(deps: ApiDeps): Promise<object> {
  const all = await deps.store.triggers.listActive(TRIGGER_TYPE_CODES, true)
  const byType: Record<string, { ACTIVE: number; DISABLED: number }> = {}
  const failing: object[] = []
  for (const t of all) {
    const counts = (byType[t.typeCode] ??= { ACTIVE: 0, DISABLED: 0 })
    counts[t.status] += 1
    const health = deps.triggerHealth?.(t.id)
    if (health?.health === 'failing') {
      failing.push({
        trigger_id: t.id,
        trigger_type_code: t.typeCode,
        since: health.lastError?.at,
      })
    }
  }
  return { count: all.length, by_type: byType, failing }
}

export function registerTriggerRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const gatewayUrl = (): string | undefined => deps.gatewayUrl?.()
  const view = (t: TriggerRecord): object =>
    triggerView(t, gatewayUrl(), deps.triggerHealth?.(t.id))
  const target = async (
    params: FunctionPathParams,
  ): Promise<{ functionId: string; qualifier: string; functionUrn: string; latest: boolean }> => {
    const r = await resolveFunction(deps.resolution, params)
    const qualifier = qualifierOf(r.ref)
    return {
      functionId: r.latest.id,
      qualifier,
      latest: qualifier === 'latest',
      functionUrn: formatFunctionUrn(
        deps.config.region,
        r.ref.projectId,
        r.ref.packageName,
        r.ref.functionName,
        qualifier,
      ),
    }
  }

  app.post<{ Params: FunctionPathParams }>(
    '/v2/:project_id/fgs/triggers/:function_urn',
    async (request, reply) => {
      const t = await target(request.params)
      const input = parseTriggerInput(request.body, deps.servedTriggerTypes)
      await checkTarget(deps.servedTriggerTypes, {
        typeCode: input.typeCode,
        eventData: input.eventData,
        projectId: request.params.project_id,
        functionId: t.functionId,
      })
      const created = await deps.store.triggers.create(
        {
          projectId: request.params.project_id,
          functionId: t.functionId,
          qualifier: t.qualifier,
          functionUrn: t.functionUrn,
        },
        input,
      )
      return reply.code(201).send(view(created))
    },
  )

  app.get<{ Params: FunctionPathParams }>(
    '/v2/:project_id/fgs/triggers/:function_urn',
    async (request) => {
      const t = await target(request.params)
      const triggers = await deps.store.triggers.list(t.functionId, t.qualifier)
      return triggers.map(view)
    },
  )

  app.delete<{ Params: FunctionPathParams }>(
    '/v2/:project_id/fgs/triggers/:function_urn',
    async (request, reply) => {
      const t = await target(request.params)
      // latest (or no qualifier) means the whole function; a version or alias only its own.
      await deps.store.triggers.deleteAll(t.functionId, t.latest ? undefined : t.qualifier)
      return reply.code(204).send()
    },
  )

  app.get<{ Params: TriggerParams }>(
    '/v2/:project_id/fgs/triggers/:function_urn/:trigger_type_code/:trigger_id',
    async (request) => {
      const t = await target(request.params)
      const p = request.params
      return view(await deps.store.triggers.get(t.functionId, p.trigger_type_code, p.trigger_id))
    },
  )

  app.put<{ Params: TriggerParams }>(
    '/v2/:project_id/fgs/triggers/:function_urn/:trigger_type_code/:trigger_id',
    async (request) => {
      const t = await target(request.params)
      const p = request.params
      const body = asBody(request.body)
      const status = body.trigger_status
      const codes = triggerErrorCodes(p.trigger_type_code)
      if (status !== 'ACTIVE' && status !== 'DISABLED') {
        throw new StratoError(codes.invalid, "trigger_status is required: 'ACTIVE' or 'DISABLED'.")
      }
      const current = await deps.store.triggers.get(t.functionId, p.trigger_type_code, p.trigger_id)
      if (body.event_data === undefined || body.event_data === null) {
        return view(
          await deps.store.triggers.setStatus(t.functionId, current.typeCode, current.id, status),
        )
      }
      const eventData = updatedEventData(current, body.event_data, deps.servedTriggerTypes)
      await checkTarget(deps.servedTriggerTypes, {
        typeCode: current.typeCode,
        eventData,
        projectId: current.projectId,
        functionId: current.functionId,
        triggerId: current.id,
      })
      return view(
        await deps.store.triggers.update(t.functionId, current.typeCode, current.id, {
          status,
          eventData,
        }),
      )
    },
  )

  app.delete<{ Params: TriggerParams }>(
    '/v2/:project_id/fgs/triggers/:function_urn/:trigger_type_code/:trigger_id',
    async (request, reply) => {
      const t = await target(request.params)
      const p = request.params
      await deps.store.triggers.delete(t.functionId, p.trigger_type_code, p.trigger_id)
      return reply.code(204).send()
    },
  )
}
