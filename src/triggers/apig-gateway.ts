/**
 * @module The API gateway: a plain `node:http` listener of its own (`STRATO_GATEWAY_PORT`) that
 * serves APIG triggers. An event function receives the APIG event (reference §6.1) and answers
 * `{statusCode, headers, body, isBase64Encoded}`; an HTTP function receives the request as it came
 * and its response goes back as it is. Auth `NONE`, `APP` (the trigger's app key and secret, signed
 * like the SDK signs) or `IAM` (a key of the function's project).
 *
 * Not Fastify: the gateway's hot path is one route lookup and one invocation, and its error bodies
 * are the gateway's own.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { RequestVerifier } from '../auth/index.js'
import {
  APIG_TRIGGER_TYPES,
  newRequestId,
  Limits,
  StratoError,
  HOP_BY_HOP_HEADERS,
  errorResponse,
  callerPresenceOf,
  isApigTrigger,
  servesHttp,
  type ApigEventData,
  type ApigTriggerRecord,
  type FunctionRecord,
  type TriggerTypeCode,
} from '../core/index.js'
import { parseApigEventData } from './apig-event-data.js'
import { apigEvent, functionError, readBody, writeApigResponse } from './apig-exchange.js'
import { ApigRouter } from './apig-router.js'
import { gatewayResponseHeaders } from './response-headers.js'
import type { TriggerSource, TriggerSourceContext } from './trigger-source.js'

export interface ApigGatewayOptions {
  readonly host: string
  /** `STRATO_GATEWAY_PORT`; 0 picks a free one (see `url`). */
  readonly port: number
}

type AppKeys = Map<string, { accessKey: string; secretKey: string; projectId: string }>

function cookieOf(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const eq = pair.indexOf('=')
    if (eq !== -1 && pair.slice(0, eq).trim() === name) {
      return pair.slice(eq + 1).trim()
    }
  }
  return undefined
}

/** The first trigger source: APIG and DEDICATEDGATEWAY triggers as HTTP routes. */
export class ApigGateway implements TriggerSource {
  readonly types: readonly TriggerTypeCode[] = APIG_TRIGGER_TYPES
  readonly #options: ApigGatewayOptions
  /** Set by `start`, with the server: requests arrive only after both. */
  #ctx: TriggerSourceContext | undefined
  #server: http.Server | undefined
  #url = ''
  #router = new ApigRouter([])
  #appVerifier: RequestVerifier | undefined
  #reloading: Promise<void> | undefined
  #stale = false

  constructor(options: ApigGatewayOptions) {
    this.#options = options
  }

  /** The gateway's base URL once it listens ('' before). */
  get url(): string {
    return this.#url
  }

  parseEventData(_typeCode: TriggerTypeCode, raw: unknown): ApigEventData {
    return parseApigEventData(raw)
  }

  /** Loads the route table, then listens. */
  async start(ctx: TriggerSourceContext): Promise<void> {
    this.#ctx = ctx
    this.#appVerifier = new RequestVerifier({
      lookup: () => undefined,
      clockSkewMs: ctx.authClockSkewMs,
    })
    const server = http.createServer((req, res) => {
      // One id per request: the invocation's, and the one an error body names.
      const requestId = newRequestId()
      this.#handle(ctx, req, res, requestId).catch((err: unknown) =>
        this.#fail(ctx, res, err, requestId),
      )
    })
    this.#server = server
    await this.reload()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.#options.port, this.#options.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const address = server.address() as AddressInfo
    this.#url = `http://${this.#options.host}:${address.port}`
  }

  /** Any change of an APIG trigger rebuilds the whole table (from the store, not the change). */
  onChange(): void {
    this.reload().catch((err: unknown) =>
      this.#ctx?.logger.error(
        { err },
        'reloading the gateway routes failed; the previous ones stay',
      ),
    )
  }

  resync(): Promise<void> {
    return this.reload()
  }

  /** Re-reads the triggers; calls that arrive during a reload coalesce into one more. */
  reload(): Promise<void> {
    const ctx = this.#ctx
    if (ctx === undefined) {
      return Promise.resolve()
    }
    if (this.#reloading !== undefined) {
      this.#stale = true
      return this.#reloading
    }
    this.#reloading = (async () => {
      do {
        this.#stale = false
        const triggers = (await ctx.loadTriggers()).filter(isApigTrigger)
        const apps: AppKeys = new Map()
        for (const t of triggers) {
          if (t.eventData.auth === 'APP') {
            apps.set(t.appKey, {
              accessKey: t.appKey,
              secretKey: t.appSecret,
              projectId: t.projectId,
            })
          }
        }
        this.#router = new ApigRouter(triggers)
        this.#appVerifier = new RequestVerifier({
          lookup: (key) => apps.get(key),
          clockSkewMs: ctx.authClockSkewMs,
        })
      } while (this.#stale)
    })().finally(() => {
      this.#reloading = undefined
    })
    return this.#reloading
  }

  /** Stops listening; requests in flight finish. */
  async stop(): Promise<void> {
    const server = this.#server
    if (server === undefined) {
      return
    }
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeIdleConnections()
    })
  }

  async #handle(
    ctx: TriggerSourceContext,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    requestId: string,
  ): Promise<void> {
    const rawUrl = req.url ?? '/'
    const q = rawUrl.indexOf('?')
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q)
    const query = q === -1 ? '' : rawUrl.slice(q + 1)
    const method = (req.method ?? 'GET').toUpperCase()
    const match = this.#router.match(method, path)
    if (match === undefined) {
      req.resume()
      throw new StratoError('GATEWAY_NO_ROUTE', `No API matches ${method} ${path}.`)
    }
    const trigger = match.trigger
    const async = trigger.eventData.func_info.invocation_type === 'async'
    const body = await readBody(
      req,
      async ? Limits.ASYNC_PAYLOAD_MAX_BYTES : Limits.SYNC_PAYLOAD_MAX_BYTES,
    )
    this.#authenticate(ctx, trigger, req, rawUrl, body)
    const resolved = await ctx.functions.resolve(trigger.projectId, trigger.functionUrn, {
      header: (name) => {
        const v = req.headers[name.toLowerCase()]
        return Array.isArray(v) ? v[0] : v
      },
      cookie: (name) => cookieOf(req.headers.cookie, name),
    })
    const fn = resolved.fn
    const alias = resolved.alias?.name ?? ''
    const traceparent =
      typeof req.headers.traceparent === 'string' ? req.headers.traceparent : undefined
    if (servesHttp(fn.runtime)) {
      if (async) {
        throw new StratoError(
          'INVALID_APIG_TRIGGER',
          'An HTTP function (or Custom Image) cannot be invoked asynchronously.',
        )
      }
      await this.#toHttpFunction(ctx, req, res, {
        fn,
        alias,
        requestId,
        trigger,
        path,
        query,
        method,
        body,
      })
      return
    }
    const event = apigEvent(req, { requestId, trigger, match, path, query, method, body })
    if (async) {
      await ctx.acceptAsync(trigger, fn, requestId, event, traceparent)
      res.writeHead(202, { 'content-type': 'application/json', 'x-request-id': requestId })
      res.end(JSON.stringify({ request_id: requestId }))
      return
    }
    const result = await this.#withTimeout(
      trigger,
      ctx.invoker.invoke({
        fn,
        version: fn.version,
        alias,
        requestId,
        payload: event,
        invokeType: 'sync',
        caller: callerPresenceOf(res),
        ...(traceparent === undefined ? {} : { traceparent }),
      }),
    )
    if (result.kind === 'function-error') {
      throw functionError(result.body)
    }
    writeApigResponse(res, { requestId, method, result: result.body, isText: result.bodyIsText })
  }

  async #toHttpFunction(
    ctx: TriggerSourceContext,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    r: {
      fn: FunctionRecord
      alias: string
      requestId: string
      trigger: ApigTriggerRecord
      path: string
      query: string
      method: string
      body: Buffer
    },
  ): Promise<void> {
    const headers: Record<string, string | string[]> = {}
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined && !HOP_BY_HOP_HEADERS.has(k)) {
        headers[k] = v
      }
    }
    headers['x-request-id'] = r.requestId
    headers['x-real-ip'] = req.socket.remoteAddress ?? ''
    const result = await this.#withTimeout(
      r.trigger,
      ctx.invoker.invoke({
        fn: r.fn,
        version: r.fn.version,
        alias: r.alias,
        requestId: r.requestId,
        payload: r.body,
        invokeType: 'sync',
        caller: callerPresenceOf(res),
        http: { method: r.method, path: r.path, query: r.query, headers },
        ...(typeof req.headers.traceparent === 'string'
          ? { traceparent: req.headers.traceparent }
          : {}),
      }),
    )
    if (result.kind === 'function-error' || result.http === undefined) {
      throw functionError(result.body)
    }
    const statusCode = result.http.statusCode
    res.writeHead(
      statusCode,
      gatewayResponseHeaders({
        statusCode,
        method: r.method,
        headers: result.http.headers,
        body: result.body,
      }),
    )
    res.end(result.body)
  }

  async #withTimeout<T>(trigger: ApigTriggerRecord, work: Promise<T>): Promise<T> {
    const ms = trigger.eventData.func_info.timeout
    let timer: NodeJS.Timeout | undefined
    try {
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new StratoError(
                  'GATEWAY_TIMEOUT',
                  `The function did not answer within the API's timeout of ${ms} ms.`,
                ),
              ),
            ms,
          )
        }),
      ])
    } finally {
      clearTimeout(timer)
    }
  }

  #authenticate(
    ctx: TriggerSourceContext,
    trigger: ApigTriggerRecord,
    req: http.IncomingMessage,
    target: string,
    body: Buffer,
  ): void {
    const auth = trigger.eventData.auth
    if (auth === 'NONE') {
      return
    }
    const input = { method: req.method ?? 'GET', target, headers: req.headers, body }
    if (auth === 'APP') {
      let principal
      try {
        // Set by `start`, before the server exists.
        principal = this.#appVerifier?.verify(input)
      } catch (err) {
        throw new StratoError(
          'GATEWAY_UNAUTHORIZED',
          `App authentication failed: ${(err as Error).message}`,
          { cause: err },
        )
      }
      if (principal?.accessKey !== trigger.appKey) {
        throw new StratoError('GATEWAY_UNAUTHORIZED', 'The app is not authorised for this API.')
      }
      return
    }
    const principal = ctx.verifier.verify(input)
    if (principal.projectId !== trigger.projectId) {
      throw new StratoError('FORBIDDEN', "The key does not belong to the function's project.")
    }
  }

  #fail(
    ctx: TriggerSourceContext,
    res: http.ServerResponse,
    err: unknown,
    requestId: string,
  ): void {
    const answer = errorResponse(err)
    const se = answer.error
    if (!se.spec.user) {
      ctx.logger.error({ err: se.cause ?? se, code: se.code }, se.message)
    }
    if (res.headersSent) {
      res.destroy()
      return
    }
    // The gateway's answers name the request in the body too.
    const payload = JSON.stringify({ ...answer.body, request_id: requestId })
    res.writeHead(answer.status, {
      ...answer.headers,
      'content-length': Buffer.byteLength(payload),
    })
    res.end(payload)
  }
}
