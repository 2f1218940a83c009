/**
 * @module Reserved instances (reference §4.6): set a function version's or alias's count and
 * policies, list counts and configs, and the per-minute instance report. The scheduler's
 * `ReservationKeeper` applies what is stored here.
 */
import type { FastifyInstance } from 'fastify'
import {
  StratoError,
  asBody,
  formatFunctionUrn,
  parseReservedInstanceInput,
  peakReservedCount,
  reservedQuotaOf,
  tacticsConfigView,
  type FunctionRef,
  type ReservedInstanceConfig,
  type ReservedTarget,
} from '../../core/index.js'
import type { ApiDeps } from '../deps.js'
import { parsePageQuery } from '../pagination.js'
import { resolveFunction, type FunctionPathParams } from '../resolve-function.js'

const PAGE = { size: 'limit', fallback: 400, max: 400 } as const

type ListQuery = { marker?: string; limit?: string; urn?: string; function_urn?: string }

function targetOf(projectId: string, functionId: string, ref: FunctionRef): ReservedTarget {
  const q = ref.qualifier
  return q?.kind === 'alias'
    ? { projectId, functionId, qualifierType: 'alias', qualifier: q.alias }
    : { projectId, functionId, qualifierType: 'version', qualifier: q?.version ?? 'latest' }
}

/**
 * What the function's config shows of its reservation (of the qualifier its URN names):
 * FunctionGraph's `reserved_instance_count` and `reserved_instance_idle_mode`, and Strato's
 * `strato_reserved_status` while its instances fail to start or keep dying.
 */
export async function reservedFieldsOf(
  deps: Pick<ApiDeps, 'store' | 'reservations'>,
  functionId: string,
  ref: FunctionRef,
): Promise<Record<string, unknown>> {
  const target = targetOf('', functionId, ref)
  const config = await deps.store.reservedInstances.get(functionId, target.qualifier)
  if (config === undefined) {
    return { reserved_instance_count: 0 }
  }
  const status = deps.reservations?.status(functionId, target.qualifier)
  return {
    reserved_instance_count: config.count,
    reserved_instance_idle_mode: config.idleMode,
    ...(status === undefined || status.failures === 0
      ? {}
      : {
          strato_reserved_status: {
            target: status.target,
            ready: status.ready,
            failures: status.failures,
            ...(status.lastError === undefined ? {} : { last_error: status.lastError }),
          },
        }),
  }
}

export function registerReservedInstanceRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store } = deps
  const region = deps.config.region

  /** The URN of a config's qualifier (an alias's written `!name`, as the URN parser reads it). */
  const urnOf = async (c: ReservedInstanceConfig): Promise<string | undefined> => {
    const fn = await store.functions.getById(c.projectId, c.functionId)
    if (fn === undefined) {
      return undefined
    }
    const q = c.qualifierType === 'alias' ? `!${c.qualifier}` : c.qualifier
    return formatFunctionUrn(region, fn.projectId, fn.packageName, fn.name, q)
  }

  /** The project's configs, of one function (and qualifier, when the URN names one) if asked. */
  const configsFor = async (
    projectId: string,
    urn: string | undefined,
  ): Promise<ReservedInstanceConfig[]> => {
    const all = await store.reservedInstances.listOf(projectId)
    if (urn === undefined || urn === '') {
      return all
    }
    const { latest, ref } = await resolveFunction(deps.resolution, {
      project_id: projectId,
      function_urn: urn,
    })
    const only = ref.qualifier === undefined ? undefined : targetOf(projectId, latest.id, ref)
    return all.filter(
      (c) => c.functionId === latest.id && (only === undefined || only.qualifier === c.qualifier),
    )
  }

  const page = <T>(items: T[], query: ListQuery): { items: T[]; pageInfo: object } => {
    const { marker, size } = parsePageQuery(query, PAGE)
    const slice = items.slice(marker, marker + size)
    return {
      items: slice,
      pageInfo: {
        next_marker: marker + slice.length,
        previous_marker: Math.max(0, marker - size),
        current_count: slice.length,
      },
    }
  }

  app.put<{ Params: FunctionPathParams; Body: unknown }>(
    '/v2/:project_id/fgs/functions/:function_urn/reservedinstances',
    async (request) => {
      const projectId = request.params.project_id
      const { latest, ref } = await resolveFunction(deps.resolution, request.params)
      const target = targetOf(projectId, latest.id, ref)
      const input = parseReservedInstanceInput(asBody(request.body), (cron) =>
        deps.reservations?.checkCron(cron),
      )
      // FunctionGraph: all reserved instances of an account within 90% of its concurrency. A
      // config counts with the most its policies can ask for.
      const quota = reservedQuotaOf(deps.config.quotas.accountConcurrency)
      const others = (await store.reservedInstances.listOf(projectId))
        .filter((c) => !(c.functionId === target.functionId && c.qualifier === target.qualifier))
        .reduce((n, c) => n + peakReservedCount(c), 0)
      const wanted = peakReservedCount(input)
      if (others + wanted > quota) {
        throw new StratoError(
          'RESERVED_INSTANCE_QUOTA_EXCEEDED',
          `The project's reserved instances would be ${others + wanted}; at most ${quota} (90% of the account concurrency ${deps.config.quotas.accountConcurrency}) may be reserved.`,
        )
      }
      let stored: ReservedInstanceConfig | undefined
      if (input.count === 0 && input.cronPolicies.length === 0) {
        // Nothing to keep: the reservation goes, and its instances become on-demand ones.
        await store.reservedInstances.delete(target.functionId, target.qualifier)
        deps.reservations?.remove(target.functionId, target.qualifier)
      } else {
        stored = await store.reservedInstances.put(target, input)
        await deps.reservations?.set(stored)
      }
      return {
        count: input.count,
        idle_mode: stored?.idleMode ?? input.idleMode,
        tactics_config: tacticsConfigView(input),
      }
    },
  )

  app.get<{ Params: { project_id: string }; Querystring: ListQuery }>(
    '/v2/:project_id/fgs/functions/reservedinstances',
    async (request) => {
      const all = await configsFor(request.params.project_id, request.query.urn)
      const { items, pageInfo } = page(all, request.query)
      const reservedinstances = []
      for (const c of items) {
        reservedinstances.push({ func_urn: (await urnOf(c)) ?? '', count: c.count })
      }
      return { reservedinstances, page_info: pageInfo, count: all.length }
    },
  )

  app.get<{ Params: { project_id: string }; Querystring: ListQuery }>(
    '/v2/:project_id/fgs/functions/reservedinstanceconfigs',
    async (request) => {
      const all = await configsFor(request.params.project_id, request.query.function_urn)
      const { items, pageInfo } = page(all, request.query)
      const reserved_instances = []
      for (const c of items) {
        const status = deps.reservations?.status(c.functionId, c.qualifier)
        reserved_instances.push({
          function_urn: (await urnOf(c)) ?? '',
          qualifier_type: c.qualifierType,
          qualifier_name: c.qualifier,
          min_count: c.count,
          idle_mode: c.idleMode,
          tactics_config: tacticsConfigView(c),
          // Strato addition: how the reservation is doing (a dying instance backs off here).
          ...(status === undefined
            ? {}
            : {
                strato_status: {
                  target: status.target,
                  ready: status.ready,
                  failures: status.failures,
                  ...(status.lastError === undefined ? {} : { last_error: status.lastError }),
                  ...(status.retryAt === undefined
                    ? {}
                    : { retry_at: new Date(status.retryAt).toISOString() }),
                },
              }),
        })
      }
      return { reserved_instances, page_info: pageInfo, count: all.length }
    },
  )

  app.get<{ Params: FunctionPathParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/instancereports',
    async (request) => {
      const { latest } = await resolveFunction(deps.resolution, request.params)
      return (
        deps.reservations?.metricsOf(latest.id, Date.now()) ?? {
          instanceNum: [],
          reservedInstanceNum: [],
        }
      )
    },
  )
}
