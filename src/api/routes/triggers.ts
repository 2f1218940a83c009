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
  type TriggerRecord,
} from '../../core/index.js'
import type { ApiDeps } from '../deps.js'
import { resolveFunction, type FunctionPathParams } from '../resolve-function.js'

interface TriggerParams extends FunctionPathParams {
  trigger_type_code: string
  trigger_id: string
}

/** The wire shape of a trigger: its settings plus what the gateway made of them. */
export function triggerView(t: TriggerRecord, gatewayUrl: string | undefined): object {
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

export function registerTriggerRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const gatewayUrl = (): string | undefined => deps.gatewayUrl?.()
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
      const created = await deps.store.triggers.create(
        {
          projectId: request.params.project_id,
          functionId: t.functionId,
          qualifier: t.qualifier,
          functionUrn: t.functionUrn,
        },
        input,
      )
      return reply.code(201).send(triggerView(created, gatewayUrl()))
    },
  )

  app.get<{ Params: FunctionPathParams }>(
    '/v2/:project_id/fgs/triggers/:function_urn',
    async (request) => {
      const t = await target(request.params)
      const triggers = await deps.store.triggers.list(t.functionId, t.qualifier)
      return triggers.map((tr) => triggerView(tr, gatewayUrl()))
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
      return triggerView(
        await deps.store.triggers.get(t.functionId, p.trigger_type_code, p.trigger_id),
        gatewayUrl(),
      )
    },
  )

  app.put<{ Params: TriggerParams }>(
    '/v2/:project_id/fgs/triggers/:function_urn/:trigger_type_code/:trigger_id',
    async (request) => {
      const t = await target(request.params)
      const p = request.params
      const status = asBody(request.body).trigger_status
      if (status !== 'ACTIVE' && status !== 'DISABLED') {
        throw new StratoError(
          'INVALID_APIG_TRIGGER',
          "trigger_status is required: 'ACTIVE' or 'DISABLED'.",
        )
      }
      return triggerView(
        await deps.store.triggers.setStatus(
          t.functionId,
          p.trigger_type_code,
          p.trigger_id,
          status,
        ),
        gatewayUrl(),
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
