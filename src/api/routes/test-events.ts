/**
 * @module Saved test events of a function (reference §4.5).
 */
import type { FastifyInstance } from 'fastify'
import { Limits, StratoError, asBody } from '../../core/index.js'
import type { ApiDeps } from '../deps.js'
import { parsePageQuery } from '../pagination.js'
import { resolveLatest, type FunctionPathParams } from '../resolve-function.js'

type EventParams = FunctionPathParams & { event_id: string }

const EVENT_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,24}$/

/** `content` is base64 of the event; its decoded size is limited to 4 KB (FSS.1069). */
function parseContent(value: unknown): string {
  if (
    typeof value !== 'string' ||
    value === '' ||
    value.length % 4 !== 0 ||
    !/^[A-Za-z0-9+/]*={0,2}$/.test(value)
  ) {
    throw new StratoError('INVALID_PARAMETER', "'content' must be the base64 of the event.")
  }
  const bytes = Buffer.from(value, 'base64').length
  if (bytes > Limits.TEST_EVENT_MAX_BYTES) {
    throw new StratoError(
      'TEST_EVENT_TOO_LARGE',
      `The test event is ${bytes} bytes; the limit is ${Limits.TEST_EVENT_MAX_BYTES}.`,
    )
  }
  return value
}

export function registerTestEventRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store } = deps

  app.post<{ Params: FunctionPathParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/events',
    async (request) => {
      const fn = await resolveLatest(deps.resolution, request.params)
      const body = asBody(request.body)
      if (typeof body.name !== 'string' || !EVENT_NAME.test(body.name)) {
        throw new StratoError(
          'INVALID_PARAMETER',
          "'name' must be 1 to 25 letters, digits, '-' or '_', starting with a letter.",
        )
      }
      const event = await store.testEvents.create(fn.id, body.name, parseContent(body.content))
      return { id: event.id, name: event.name }
    },
  )

  app.get<{ Params: FunctionPathParams; Querystring: { marker?: string; maxitems?: string } }>(
    '/v2/:project_id/fgs/functions/:function_urn/events',
    async (request) => {
      const { marker, size } = parsePageQuery(request.query, {
        size: 'maxitems',
        max: Limits.TEST_EVENTS_PER_FUNCTION,
      })
      const fn = await resolveLatest(deps.resolution, request.params)
      const events = await store.testEvents.list(fn.id)
      const page = events.slice(marker, marker + size)
      return {
        events: page.map((e) => ({ id: e.id, name: e.name, last_modified: e.last_modified })),
        next_marker: marker + page.length,
        count: events.length,
      }
    },
  )

  app.get<{ Params: EventParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/events/:event_id',
    async (request) => {
      const fn = await resolveLatest(deps.resolution, request.params)
      const e = await store.testEvents.get(fn.id, request.params.event_id)
      return { id: e.id, name: e.name, last_modified: e.last_modified, content: e.content }
    },
  )

  app.put<{ Params: EventParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/events/:event_id',
    async (request) => {
      const fn = await resolveLatest(deps.resolution, request.params)
      const e = await store.testEvents.update(
        fn.id,
        request.params.event_id,
        parseContent(asBody(request.body).content),
      )
      return { id: e.id, name: e.name }
    },
  )

  app.delete<{ Params: EventParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/events/:event_id',
    async (request, reply) => {
      const fn = await resolveLatest(deps.resolution, request.params)
      await store.testEvents.delete(fn.id, request.params.event_id)
      return reply.code(204).send()
    },
  )
}
