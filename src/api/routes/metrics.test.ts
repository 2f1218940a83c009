/**
 * Who may scrape `/metrics`: anyone on a loopback host; elsewhere only the bearer of
 * STRATO_METRICS_TOKEN, and nobody while it is unset.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, expect, test } from 'vitest'
import type { ApiDeps } from '../deps.js'
import { handleRouteError } from '../error-handler.js'
import { isLoopbackHost, registerMetricsRoute } from './metrics.js'

let app: FastifyInstance | undefined

function appFor(host: string, metricsToken: string | undefined): FastifyInstance {
  app = Fastify()
  app.setErrorHandler((err, request, reply) => handleRouteError(err, request, reply))
  // Only what the route reads of its deps.
  const deps = {
    config: { host, metricsToken },
    logger: app.log,
    metrics: {
      registry: {
        contentType: 'text/plain; version=0.0.4; charset=utf-8',
        metrics: () => Promise.resolve('strato_up 1\n'),
      },
    },
  } as unknown as ApiDeps
  registerMetricsRoute(app, deps)
  return app
}

afterEach(async () => {
  await app?.close()
})

test('loopback hosts are the 127/8 addresses, ::1 and localhost', () => {
  expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].map(isLoopbackHost)).toEqual([
    true,
    true,
    true,
    true,
  ])
  expect(['0.0.0.0', '::', '10.0.0.1', '127.0.0.1.example'].map(isLoopbackHost)).toEqual([
    false,
    false,
    false,
    false,
  ])
})

test('on a loopback host /metrics is open', async () => {
  const res = await appFor('127.0.0.1', undefined).inject('/metrics')
  expect(res.statusCode).toBe(200)
  expect(res.headers['content-type']).toContain('text/plain; version=0.0.4')
  expect(res.body).toBe('strato_up 1\n')
})

test('elsewhere it takes the bearer token, and refuses any other', async () => {
  const a = appFor('0.0.0.0', 's3cret-token')
  expect(
    (await a.inject({ url: '/metrics', headers: { authorization: 'Bearer s3cret-token' } }))
      .statusCode,
  ).toBe(200)
  for (const authorization of [
    undefined,
    'Bearer wrong',
    'Basic s3cret-token',
    'Bearer s3cret-token2',
  ]) {
    const res = await a.inject({
      url: '/metrics',
      headers: authorization === undefined ? {} : { authorization },
    })
    expect(res.statusCode, authorization).toBe(401)
    expect(res.json()).toMatchObject({ error_code: 'FSS.0401' })
  }
})

test('on a non-loopback host without STRATO_METRICS_TOKEN it is refused, saying why', async () => {
  const res = await appFor('0.0.0.0', undefined).inject({
    url: '/metrics',
    headers: { authorization: 'Bearer anything' },
  })
  expect(res.statusCode).toBe(403)
  expect(res.json().error_msg).toContain('STRATO_METRICS_TOKEN')
})
