/**
 * @module `GET /metrics`: Prometheus text on the API port. Open when Strato listens on loopback
 * only; otherwise it takes `Authorization: Bearer $STRATO_METRICS_TOKEN`, and is refused outright
 * while no token is set (function names and load are not for whoever can reach the port).
 */
import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { StratoError } from '../../core/index.js'
import type { ApiDeps } from '../deps.js'

/** Whether `host` (STRATO_HOST) accepts connections from this machine only. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

export function registerMetricsRoute(app: FastifyInstance, deps: ApiDeps): void {
  const metrics = deps.metrics
  if (metrics === undefined) {
    return
  }
  const open = isLoopbackHost(deps.config.host)
  const token = deps.config.metricsToken
  app.get('/metrics', async (request, reply) => {
    if (!open) {
      if (token === undefined) {
        throw new StratoError(
          'FORBIDDEN',
          `/metrics is served on a non-loopback host (STRATO_HOST=${deps.config.host}) only with STRATO_METRICS_TOKEN set.`,
        )
      }
      const header = request.headers.authorization ?? ''
      const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : ''
      if (!sameToken(given, token)) {
        throw new StratoError(
          'UNAUTHORIZED',
          '/metrics takes Authorization: Bearer <STRATO_METRICS_TOKEN>.',
        )
      }
    }
    const text = await metrics.registry.metrics()
    return reply.type(metrics.registry.contentType).send(text)
  })
}
