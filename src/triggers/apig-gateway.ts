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
import type { RequestVerifier } from '../auth/index.js'
import {
  newRequestId,
  Limits,
  StratoError,
  HOP_BY_HOP_HEADERS,
  callerPresenceOf,
  type FunctionRecord,
  type Invoker,
  type TriggerRecord,
} from '../core/index.js'
import type { Logger } from '../observability/index.js'
import { ApigRouter, type RouteMatch } from './apig-router.js'
import { gatewayResponseHeaders } from './response-headers.js'

/** How a request chooses among an alias's versions (header and cookie rules). */
export interface GatewayRouting {
  readonly header: (name: string) => string | undefined
  readonly cookie: (name: string) => string | undefined
}

export interface ApigGatewayOptions {
  readonly host: string
  readonly port: number
  /** The active APIG triggers, read again whenever `onTriggersChanged` fires. */
  readonly loadTriggers: () => Promise<TriggerRecord[]>
  readonly onTriggersChanged: (listener: () => void) => () => void
  /** The function record a trigger's URN names now (an alias routed for this request). */
  readonly resolve: (
    trigger: TriggerRecord,
    routing: GatewayRouting,
  ) => Promise<{ fn: FunctionRecord; alias: string }>
  readonly invoker: Invoker
  /** Makes an event durable in the async queue (resolves once it is). */
  readonly enqueueAsync: (input: {
    trigger: TriggerRecord
    fn: FunctionRecord
    requestId: string
    payload: Buffer
  }) => Promise<void>
  /** Verifies `IAM` auth: the SDK signature of a key of the trigger's project. */
  readonly iamVerifier: RequestVerifier
  /** Builds a verifier for `APP` auth from the app keys of the current triggers. */
  readonly appVerifier: (
    lookup: (
      appKey: string,
    ) => { accessKey: string; secretKey: string; projectId: string } | undefined,
  ) => RequestVerifier
  readonly logger: Logger
}

function cookieOf(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const eq = pair.indexOf('=')
    if (eq !== -1 && pair.slice(0, eq).trim() === name) {
      return pair.slice(eq + 1).trim()
    }
  }
  return undefined
}

function singleValued(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined) {
      out[k] = Array.isArray(v) ? v.join(',') : v
    }
  }
  return out
}

export class ApigGateway {
  readonly #o: ApigGatewayOptions
  readonly #server: http.Server
  #router = new ApigRouter([])
  #appVerifier: RequestVerifier
  #reloading: Promise<void> | undefined
  #stale = false
  readonly #unsubscribe: () => void

  constructor(options: ApigGatewayOptions) {
    this.#o = options
    this.#appVerifier = options.appVerifier(() => undefined)
    this.#server = http.createServer((req, res) => {
      // One id per request: the invocation's, and the one an error body names.
      const requestId = newRequestId()
      this.#handle(req, res, requestId).catch((err: unknown) => this.#fail(res, err, requestId))
    })
    this.#unsubscribe = options.onTriggersChanged(() => void this.reload())
  }

  /** Re-reads the triggers; calls that arrive during a reload coalesce into one more. */
  reload(): Promise<void> {
    if (this.#reloading !== undefined) {
      this.#stale = true
      return this.#reloading
    }
    this.#reloading = (async () => {
      do {
        this.#stale = false
        const triggers = await this.#o.loadTriggers()
        const apps = new Map<string, { accessKey: string; secretKey: string; projectId: string }>()
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
        this.#appVerifier = this.#o.appVerifier((key) => apps.get(key))
      } while (this.#stale)
    })().finally(() => {
      this.#reloading = undefined
    })
    return this.#reloading
  }

  async listen(): Promise<string> {
    await this.reload()
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(this.#o.port, this.#o.host, () => {
        this.#server.off('error', reject)
        resolve()
      })
    })
    const address = this.#server.address() as AddressInfo
    return `http://${this.#o.host}:${address.port}`
  }

  async close(): Promise<void> {
    this.#unsubscribe()
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve())
      this.#server.closeIdleConnections()
    })
  }

  async #handle(
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
    this.#authenticate(trigger, req, rawUrl, body)
    const { fn, alias } = await this.#o.resolve(trigger, {
      header: (name) => {
        const v = req.headers[name.toLowerCase()]
        return Array.isArray(v) ? v[0] : v
      },
      cookie: (name) => cookieOf(req.headers.cookie, name),
    })
    if (fn.runtime === 'http') {
      if (async) {
        throw new StratoError(
          'INVALID_APIG_TRIGGER',
          'An HTTP function cannot be invoked asynchronously.',
        )
      }
      await this.#toHttpFunction(req, res, {
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
      await this.#o.enqueueAsync({ trigger, fn, requestId, payload: event })
      res.writeHead(202, { 'content-type': 'application/json', 'x-request-id': requestId })
      res.end(JSON.stringify({ request_id: requestId }))
      return
    }
    const result = await this.#withTimeout(
      trigger,
      this.#o.invoker.invoke({
        fn,
        version: fn.version,
        alias,
        requestId,
        payload: event,
        invokeType: 'sync',
        caller: callerPresenceOf(res),
      }),
    )
    if (result.kind === 'function-error') {
      throw functionError(result.body)
    }
    writeApigResponse(res, { requestId, method, result: result.body, isText: result.bodyIsText })
  }

  async #toHttpFunction(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    r: {
      fn: FunctionRecord
      alias: string
      requestId: string
      trigger: TriggerRecord
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
      this.#o.invoker.invoke({
        fn: r.fn,
        version: r.fn.version,
        alias: r.alias,
        requestId: r.requestId,
        payload: r.body,
        invokeType: 'sync',
        caller: callerPresenceOf(res),
        http: { method: r.method, path: r.path, query: r.query, headers },
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

  async #withTimeout<T>(trigger: TriggerRecord, work: Promise<T>): Promise<T> {
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
    trigger: TriggerRecord,
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
        principal = this.#appVerifier.verify(input)
      } catch (err) {
        throw new StratoError(
          'GATEWAY_UNAUTHORIZED',
          `App authentication failed: ${(err as Error).message}`,
          { cause: err },
        )
      }
      if (principal.accessKey !== trigger.appKey) {
        throw new StratoError('GATEWAY_UNAUTHORIZED', 'The app is not authorised for this API.')
      }
      return
    }
    const principal = this.#o.iamVerifier.verify(input)
    if (principal.projectId !== trigger.projectId) {
      throw new StratoError('FORBIDDEN', "The key does not belong to the function's project.")
    }
  }

  #fail(res: http.ServerResponse, err: unknown, requestId: string): void {
    const se =
      err instanceof StratoError ? err : new StratoError('INTERNAL', undefined, { cause: err })
    if (!se.spec.user) {
      this.#o.logger.error({ err: se.cause ?? se, code: se.code }, se.message)
    }
    if (res.headersSent) {
      res.destroy()
      return
    }
    const payload = JSON.stringify({
      error_code: se.spec.fss,
      error_msg: se.message,
      request_id: requestId,
    })
    res.writeHead(se.spec.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
    })
    res.end(payload)
  }
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) {
    req.resume()
    return Promise.reject(
      new StratoError(
        'REQUEST_TOO_LARGE',
        `The request body is ${declared} bytes; this API takes at most ${limit}.`,
      ),
    )
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > limit) {
        req.destroy()
        reject(new StratoError('REQUEST_TOO_LARGE', `The request body is over ${limit} bytes.`))
        return
      }
      chunks.push(c)
    })
    req.once('end', () =>
      resolve(chunks.length === 1 ? (chunks[0] ?? Buffer.alloc(0)) : Buffer.concat(chunks, size)),
    )
    req.once('error', reject)
  })
}

/** The APIG event of reference §6.1, as FunctionGraph's gateway sends it (body always base64). */
function apigEvent(
  req: http.IncomingMessage,
  r: {
    requestId: string
    trigger: TriggerRecord
    match: RouteMatch
    path: string
    query: string
    method: string
    body: Buffer
  },
): Buffer {
  const queryStringParameters: Record<string, string> = {}
  for (const [k, v] of new URLSearchParams(r.query)) {
    if (!(k in queryStringParameters)) {
      queryStringParameters[k] = v
    }
  }
  const sourceIp = req.socket.remoteAddress ?? ''
  return Buffer.from(
    JSON.stringify({
      body: r.body.toString('base64'),
      requestContext: {
        apiId: r.trigger.id,
        requestId: r.requestId,
        stage: r.trigger.eventData.env_name,
        sourceIp,
      },
      queryStringParameters,
      httpMethod: r.method,
      pathParameters: r.match.pathParameters,
      headers: { ...singleValued(req.headers), 'x-request-id': r.requestId, 'x-real-ip': sourceIp },
      path: r.path,
      isBase64Encoded: true,
    }),
  )
}

function functionError(body: Buffer): StratoError {
  let detail = body.toString('utf8')
  try {
    const e = JSON.parse(detail) as { errorType?: string; errorMessage?: string }
    detail = `${e.errorType ?? 'Error'}: ${e.errorMessage ?? ''}`
  } catch {
    // keep the raw text
  }
  return new StratoError('GATEWAY_FUNCTION_ERROR', `The function failed: ${detail.slice(0, 2000)}`)
}

/** Checks and sends an event function's `{statusCode, headers, body, isBase64Encoded}`. */
function writeApigResponse(
  res: http.ServerResponse,
  a: { requestId: string; method: string; result: Buffer; isText: boolean },
): void {
  const { result, isText } = a
  let parsed: unknown
  try {
    parsed = isText ? undefined : JSON.parse(result.toString('utf8'))
  } catch {
    parsed = undefined
  }
  const r = parsed as
    | { statusCode?: unknown; headers?: unknown; body?: unknown; isBase64Encoded?: unknown }
    | undefined
  const status = r?.statusCode
  if (
    r === undefined ||
    r === null ||
    typeof r !== 'object' ||
    typeof status !== 'number' ||
    !Number.isInteger(status) ||
    status < 100 ||
    status > 599 ||
    (r.headers !== undefined && (typeof r.headers !== 'object' || r.headers === null)) ||
    (r.body !== undefined && typeof r.body !== 'string')
  ) {
    throw new StratoError(
      'GATEWAY_BAD_FUNCTION_RESPONSE',
      `The function's answer is not {statusCode, headers, body, isBase64Encoded}: ${result.toString('utf8').slice(0, 200)}`,
    )
  }
  const text = typeof r.body === 'string' ? r.body : ''
  const body = r.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8')
  const headers = gatewayResponseHeaders({
    statusCode: status,
    method: a.method,
    headers: (r.headers ?? {}) as Record<string, unknown>,
    body,
  })
  // The gateway's request id, unless the function answers with its own.
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'x-request-id')) {
    headers['x-request-id'] = a.requestId
  }
  res.writeHead(status, headers)
  res.end(body)
}
