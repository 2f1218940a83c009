/**
 * @module buildApp: the Fastify application with every route, the auth hook and the one error
 * mapper. It never listens; main.ts does, and tests may use inject().
 */
import http from 'node:http'
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
import { StratoError, newRequestId } from '../core/index.js'
import type { PrecheckedRequest, Principal } from '../auth/index.js'
import type { ApiDeps } from './deps.js'
import { installAuditHooks } from './audit-hooks.js'
import { answerClientError } from './client-error.js'
import { handleRouteError, sendError } from './error-handler.js'
import { parseJsonBody } from './json-body.js'
import { leanInvokeRoute } from './lean-invoke-route.js'
import {
  registerAsyncInvocationRoutes,
  registerAsyncInvokeRoute,
} from './routes/async-invocations.js'
import { registerDependencyRoutes } from './routes/dependencies.js'
import { registerFunctionRoutes } from './routes/functions.js'
import { registerInvocationRoutes } from './routes/invocations.js'
import { registerLogRoutes } from './routes/logs.js'
import { registerMetricsRoute } from './routes/metrics.js'
import { registerQuotaRoutes } from './routes/quotas.js'
import { registerStatisticsRoutes } from './routes/statistics.js'
import { registerReservedInstanceRoutes } from './routes/reserved-instances.js'
import { registerTagRoutes } from './routes/tags.js'
import { registerFunctionAppRoutes } from './routes/function-apps.js'
import { registerFunctionTransferRoutes } from './routes/function-transfer.js'
import { registerCollectStateRoutes } from './routes/collect-state.js'
import { registerResourceInstanceRoutes } from './routes/resource-instances.js'
import { registerServiceBridgeRoutes } from './routes/service-bridge.js'
import { registerSnapshotRoutes } from './routes/snapshots.js'
import { registerTestEventRoutes } from './routes/test-events.js'
import { registerTraceRoutes } from './routes/traces.js'
import { registerTriggerRoutes, triggerSummary } from './routes/triggers.js'
import { registerTracingRoutes } from './routes/tracing.js'
import { registerVersionRoutes } from './routes/versions.js'
import { registerVpcEndpointRoutes } from './routes/vpc-endpoints.js'
import { registerWhoamiRoutes } from './routes/whoami.js'
import { registerWorkflowExecutionRoutes } from './routes/workflow-executions.js'
import { registerWorkflowRoutes } from './routes/workflows.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The body bytes as received, for signature verification. */
    rawBody: Buffer | undefined
    /** The signature headers as checked before the body was read. */
    prechecked: PrecheckedRequest | undefined
    /** Who signed the request, once verified (the audit trail's `user`). */
    principal: Principal | undefined
  }
}

interface ProjectScoped {
  project_id?: string
}

export function buildApp(deps: ApiDeps): FastifyInstance {
  // Fastify's logger type is a structural subset of pino's Logger.
  const logger: FastifyBaseLogger = deps.logger
  // The sync invoke route is served before Fastify (see lean-invoke-route.ts); the same route
  // registered below answers what it leaves (and `inject`).
  const maxParamLength = 1024
  let closing = false
  const lean = leanInvokeRoute(deps, maxParamLength, () => closing)
  const app = Fastify({
    loggerInstance: logger,
    // Per-request access logs cost more than the invocations they describe; errors are logged.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: newRequestId,
    // A 136-character URN is ordinary; the default 100 would answer 414.
    routerOptions: { maxParamLength },
    // The default for bodies is 1 MiB; routes that take code or events set their own limits.
    bodyLimit: 1024 * 1024,
    // Node checks request and header deadlines only every `connectionsCheckingInterval` (30 s by
    // default), so a slow body would hold its socket far past the limit; check every second.
    serverFactory: (handler) =>
      http.createServer(
        {
          requestTimeout: deps.config.requestTimeoutMs,
          headersTimeout: Math.min(deps.config.requestTimeoutMs, 10_000),
          connectionsCheckingInterval: 1_000,
          keepAliveTimeout: 65_000,
        },
        (req, res) => {
          if (!lean(req, res)) {
            handler(req, res)
          }
        },
      ),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // While closing, requests on kept-alive connections still get answers (503 FSS.0503 from the
    // pool once it stops), in FunctionGraph's error format rather than Fastify's.
    return503OnClosing: false,
    // Bad percent-encoding, over-long parameters: Fastify's own errors, answered in FSS format.
    frameworkErrors: (err, request, reply) => {
      void sendError(err, request, reply)
    },
    // Node's own errors before a request exists (slow bodies, malformed or oversized heads).
    clientErrorHandler: (err, socket) => answerClientError(err, socket),
  })
  app.addHook('preClose', (done) => {
    closing = true
    done()
  })
  app.decorateRequest('rawBody', undefined)
  app.decorateRequest('prechecked', undefined)
  app.decorateRequest('principal', undefined)

  app.setErrorHandler((err, request, reply) => handleRouteError(err, request, reply))
  app.setNotFoundHandler((request, reply) =>
    sendError(
      new StratoError(
        'ROUTE_NOT_FOUND',
        `No API at ${request.method} ${request.url.split('?')[0] ?? ''}.`,
      ),
      request,
      reply,
    ),
  )

  // Management bodies are JSON, and only JSON: Fastify's default text/plain parser would hand
  // routes a string and the signature check no raw bytes. An empty body is no body: the SDK sends
  // content-type on DELETE too.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const raw = body as Buffer
    request.rawBody = raw
    if (raw.length === 0) {
      done(null, undefined)
      return
    }
    try {
      done(null, parseJsonBody(raw.toString('utf8')))
    } catch (err) {
      done(err as Error, undefined)
    }
  })

  // Liveness: 200 whenever the process answers. Readiness (`?ready`, or /ready): 503 while
  // starting, draining, or when the store or NATS do not answer (a load balancer stops sending).
  const ready = async (reply: FastifyReply): Promise<Record<string, unknown>> => {
    const report = (await deps.readiness?.()) ?? { ready: true }
    void reply.code(report.ready ? 200 : 503)
    return { status: report.ready ? 'ok' : 'unavailable', ...report }
  }
  app.get('/strato/health', (request, reply) =>
    Object.hasOwn(request.query as object, 'ready') ? ready(reply) : { status: 'ok' },
  )
  app.get('/strato/health/ready', (_request, reply) => ready(reply))
  app.get('/strato/info', async () => ({
    ...deps.info(),
    triggers: await triggerSummary(deps),
    ...(deps.clusterInfo === undefined ? {} : { cluster: await deps.clusterInfo() }),
  }))
  registerMetricsRoute(app, deps)

  // Everything under /v2 is signed. The cheap checks run before the body is read.
  const authenticate = (request: FastifyRequest): void => {
    const principal = deps.verifier.verify(
      {
        method: request.method,
        target: request.raw.url ?? '/',
        headers: request.headers,
        body: Buffer.isBuffer(request.body) ? request.body : request.rawBody,
      },
      request.prechecked,
    )
    request.principal = principal
    const projectId = (request.params as ProjectScoped).project_id
    if (projectId !== undefined && projectId !== principal.projectId) {
      throw new StratoError('FORBIDDEN', `The access key may not act on project '${projectId}'.`)
    }
  }
  void app.register((api, _opts, done) => {
    // First: it hooks the management routes registered below.
    installAuditHooks(api, deps)
    api.addHook('onRequest', (request, _reply, next) => {
      // As in bodies (json-body.ts): no text PostgreSQL stores may hold a NUL.
      if (request.raw.url?.includes('%00') === true) {
        next(
          new StratoError(
            'INVALID_PARAMETER',
            'The request path or query holds a NUL character (%00), which no text may hold.',
          ),
        )
        return
      }
      request.prechecked = deps.verifier.precheck(request.headers)
      next()
    })
    api.addHook('preHandler', (request, _reply, next) => {
      authenticate(request)
      next()
    })
    registerFunctionRoutes(api, deps)
    registerLogRoutes(api, deps)
    registerVersionRoutes(api, deps)
    registerTestEventRoutes(api, deps)
    registerTagRoutes(api, deps)
    registerDependencyRoutes(api, deps)
    registerQuotaRoutes(api, deps)
    registerStatisticsRoutes(api, deps)
    registerReservedInstanceRoutes(api, deps)
    registerAsyncInvocationRoutes(api, deps)
    registerTriggerRoutes(api, deps)
    registerTracingRoutes(api, deps)
    registerWhoamiRoutes(api, deps)
    registerTraceRoutes(api, deps)
    registerWorkflowRoutes(api, deps)
    registerWorkflowExecutionRoutes(api, deps)
    registerFunctionAppRoutes(api, deps)
    registerFunctionTransferRoutes(api, deps)
    registerCollectStateRoutes(api, deps)
    registerResourceInstanceRoutes(api, deps)
    registerServiceBridgeRoutes(api, deps)
    registerSnapshotRoutes(api, deps)
    registerVpcEndpointRoutes(api, deps)
    void api.register((raw, _o, d) => {
      // Invocation bodies stay bytes, whatever their content type.
      raw.removeAllContentTypeParsers()
      raw.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, cb) => cb(null, body))
      registerInvocationRoutes(raw, deps)
      registerAsyncInvokeRoute(raw, deps)
      d()
    })
    done()
  })
  return app
}
