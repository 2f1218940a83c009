/**
 * @module The tracing switch of a function (reference §4.6): `updateTracing` (PUT) and
 * `showTracing` (GET) on `/v2/{project}/fgs/functions/{urn}/tracing`. A non-empty `tracing_ak`
 * turns tracing on; an empty one turns it off. Spans go to `STRATO_OTLP_ENDPOINT`; the key pair
 * is kept (the secret sealed) and shown, the secret masked, as FunctionGraph keeps its APM keys.
 */
import type { FastifyInstance } from 'fastify'
import { MASKED_VALUE, StratoError, asBody } from '../../core/index.js'
import type { ApiDeps } from '../deps.js'
import { resolveLatest, type FunctionPathParams } from '../resolve-function.js'

const MAX_KEY_CHARS = 256

function keyField(body: Record<string, unknown>, name: string, required: boolean): string {
  const value = body[name]
  if (value === undefined && !required) {
    return ''
  }
  if (typeof value !== 'string' || value.length > MAX_KEY_CHARS || /[\s]/.test(value)) {
    throw new StratoError(
      'INVALID_PARAMETER',
      `'${name}' must be a string of at most ${MAX_KEY_CHARS} characters without spaces.`,
    )
  }
  return value
}

export function registerTracingRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store } = deps

  app.put<{ Params: FunctionPathParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/tracing',
    async (request) => {
      const fn = await resolveLatest(deps.resolution, request.params)
      const body = asBody(request.body)
      const ak = keyField(body, 'tracing_ak', true)
      const sk = keyField(body, 'tracing_sk', false)
      // Off forgets the secret too: a later "on" must give it again.
      await store.tracing.put(fn.id, ak, ak === '' || sk === '' ? '' : store.secrets.seal(sk))
      return {}
    },
  )

  app.get<{ Params: FunctionPathParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/tracing',
    async (request) => {
      const fn = await resolveLatest(deps.resolution, request.params)
      const settings = await store.tracing.get(fn.id)
      return {
        tracing_ak: settings?.tracingAk ?? '',
        tracing_sk: settings === undefined || settings.tracingSkSealed === '' ? '' : MASKED_VALUE,
      }
    },
  )
}
