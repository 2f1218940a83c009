/**
 * @module A typed client for Strato's API that signs like the official SDK (with auth's own
 * signRequest). The CLI and the tests use it.
 */
import { signRequest } from '../auth/index.js'

export interface ClientOptions {
  /** e.g. http://127.0.0.1:8080 */
  readonly endpoint: string
  readonly projectId: string
  readonly accessKey: string
  readonly secretKey: string
}

/** An error answer of the API: HTTP status plus FunctionGraph's error code and message. */
export class ApiError extends Error {
  readonly status: number
  readonly errorCode: string
  readonly requestId: string | undefined

  constructor(status: number, errorCode: string, message: string, requestId: string | undefined) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.errorCode = errorCode
    this.requestId = requestId
  }
}

export interface RawResponse {
  readonly status: number
  readonly headers: Headers
  readonly body: Buffer
}

/** The API's error answer as an ApiError; a body that is not FunctionGraph's error JSON is kept. */
function apiErrorOf(res: RawResponse, text: string): ApiError {
  let code = `HTTP ${res.status}`
  let message = text
  try {
    const parsed = JSON.parse(text) as { error_code?: string; error_msg?: string }
    code = parsed.error_code ?? code
    message = parsed.error_msg ?? message
  } catch {
    // not JSON: keep the text
  }
  return new ApiError(res.status, code, message, res.headers.get('x-request-id') ?? undefined)
}

export interface InvokeResult {
  readonly requestId: string
  readonly status: number
  /** The function's result as text (JSON or a string the handler returned). */
  readonly result: string
  readonly isFunctionError: boolean
  readonly summary: Record<string, number>
  /** The log tail, when asked for. */
  readonly log: string
}

export type JsonObject = Record<string, unknown>

export interface RequestOptions {
  /** Called as the body is sent, with the bytes handed to the connection so far and the total. */
  readonly onUploadProgress?: (sentBytes: number, totalBytes: number) => void
}

/** Who the client's key is, as `GET /strato/whoami` answers. */
export interface Identity {
  readonly project_id: string
  readonly access_key: string
  readonly region: string
}

const UPLOAD_CHUNK_BYTES = 256 * 1024

/**
 * The body as a stream of chunks, reporting each one as the connection pulls it, so a caller can
 * show how far a large upload has got (fetch reports nothing for a Buffer body).
 */
function uploadStream(
  body: Buffer,
  onProgress: (sentBytes: number, totalBytes: number) => void,
): ReadableStream<Uint8Array> {
  let sent = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= body.length) {
        controller.close()
        return
      }
      const chunk = body.subarray(sent, sent + UPLOAD_CHUNK_BYTES)
      sent += chunk.length
      controller.enqueue(chunk)
      onProgress(sent, body.length)
    },
  })
}

export class StratoClient {
  readonly #o: ClientOptions

  constructor(options: ClientOptions) {
    this.#o = { ...options, endpoint: options.endpoint.replace(/\/+$/, '') }
  }

  /** Sends a signed request and returns the raw answer, whatever its status. */
  async raw(
    method: string,
    pathAndQuery: string,
    body?: Buffer | string,
    headers: Record<string, string> = {},
    options: RequestOptions = {},
  ): Promise<RawResponse> {
    const url = `${this.#o.endpoint}${pathAndQuery}`
    const signed = signRequest({
      method,
      url,
      headers: {
        'content-type': 'application/json',
        'x-project-id': this.#o.projectId,
        ...headers,
      },
      body,
      accessKey: this.#o.accessKey,
      secretKey: this.#o.secretKey,
    })
    const onProgress = options.onUploadProgress
    const res =
      onProgress === undefined || body === undefined
        ? await fetch(url, { method, headers: signed, body })
        : await fetch(url, {
            method,
            headers: { ...signed, 'content-length': String(Buffer.byteLength(body)) },
            body: uploadStream(Buffer.from(body), onProgress),
            duplex: 'half',
          })
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) }
  }

  async #json(
    method: string,
    path: string,
    body?: JsonObject,
    options: RequestOptions = {},
    headers: Record<string, string> = {},
  ): Promise<JsonObject> {
    return (await this.#jsonValue(method, path, body, options, headers)) as JsonObject
  }

  /** Like #json for answers that are not objects (FunctionGraph lists some things as bare arrays). */
  async #jsonValue(
    method: string,
    path: string,
    body?: JsonObject,
    options: RequestOptions = {},
    headers: Record<string, string> = {},
  ): Promise<unknown> {
    const res = await this.raw(
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      headers,
      options,
    )
    const text = res.body.toString('utf8')
    if (res.status >= 400) {
      throw apiErrorOf(res, text)
    }
    return text === '' ? {} : (JSON.parse(text) as unknown)
  }

  #fn(urn: string, suffix = ''): string {
    return `/v2/${encodeURIComponent(this.#o.projectId)}/fgs/functions/${this.#expand(urn)}${suffix}`
  }

  /**
   * `name:!alias` (a shorthand no URN form has: a 2-field URN is `package:name`, and no function
   * name starts with `!`) becomes the 4-field `project:default:name:!alias`; anything else is
   * passed as given.
   */
  #expand(urn: string): string {
    const parts = urn.split(':')
    return parts.length === 2 && parts[1]?.startsWith('!') === true
      ? `${this.#o.projectId}:default:${urn}`
      : urn
  }

  createFunction(body: JsonObject, options: RequestOptions = {}): Promise<JsonObject> {
    return this.#json(
      'POST',
      `/v2/${encodeURIComponent(this.#o.projectId)}/fgs/functions`,
      body,
      options,
    )
  }

  /** The project id and access key the server sees this client's signature as. */
  async whoami(): Promise<Identity> {
    return (await this.#json('GET', '/strato/whoami')) as unknown as Identity
  }

  /** Publishes `latest` as a version (`version` named, or numbered by the server). */
  publishVersion(urn: string, body: JsonObject = {}): Promise<JsonObject> {
    return this.#json('POST', this.#fn(urn, '/versions'), body)
  }

  listVersions(urn: string): Promise<JsonObject> {
    return this.#json('GET', this.#fn(urn, '/versions'))
  }

  /** Deletes a published version: DELETE on the function URN qualified with it. */
  async deleteVersion(urn: string, version: string): Promise<void> {
    await this.#json('DELETE', this.#fn(this.#qualified(urn, version)))
  }

  createAlias(urn: string, body: JsonObject): Promise<JsonObject> {
    return this.#json('POST', this.#fn(urn, '/aliases'), body)
  }

  updateAlias(urn: string, alias: string, body: JsonObject): Promise<JsonObject> {
    return this.#json('PUT', this.#fn(urn, `/aliases/${encodeURIComponent(alias)}`), body)
  }

  /** The function's aliases (a bare array, as FunctionGraph answers). */
  async listAliases(urn: string): Promise<JsonObject[]> {
    return (await this.#jsonValue('GET', this.#fn(urn, '/aliases'))) as JsonObject[]
  }

  async deleteAlias(urn: string, alias: string): Promise<void> {
    await this.#json('DELETE', this.#fn(urn, `/aliases/${encodeURIComponent(alias)}`))
  }

  #trigger(urn: string, suffix = ''): string {
    return `/v2/${encodeURIComponent(this.#o.projectId)}/fgs/triggers/${this.#expand(urn)}${suffix}`
  }

  createTrigger(urn: string, body: JsonObject): Promise<JsonObject> {
    return this.#json('POST', this.#trigger(urn), body)
  }

  /** The function's triggers (a bare array, as FunctionGraph answers). */
  async listTriggers(urn: string): Promise<JsonObject[]> {
    return (await this.#jsonValue('GET', this.#trigger(urn))) as JsonObject[]
  }

  showTrigger(urn: string, type: string, triggerId: string): Promise<JsonObject> {
    return this.#json(
      'GET',
      this.#trigger(urn, `/${encodeURIComponent(type)}/${encodeURIComponent(triggerId)}`),
    )
  }

  async deleteTrigger(urn: string, type: string, triggerId: string): Promise<void> {
    await this.#json(
      'DELETE',
      this.#trigger(urn, `/${encodeURIComponent(type)}/${encodeURIComponent(triggerId)}`),
    )
  }

  getAsyncConfig(urn: string): Promise<JsonObject> {
    return this.#json('GET', this.#fn(urn, '/async-invoke-config'))
  }

  putAsyncConfig(urn: string, body: JsonObject): Promise<JsonObject> {
    return this.#json('PUT', this.#fn(urn, '/async-invoke-config'), body)
  }

  /**
   * `urn` with a version or alias qualifier (`!alias`), in the 4-field form for short names (the
   * project filled in) and the 8-field form for a 7-field URN.
   */
  #qualified(urn: string, qualifier: string): string {
    const parts = urn.split(':')
    switch (parts.length) {
      case 1:
        return `${this.#o.projectId}:default:${urn}:${qualifier}`
      case 2:
        return `${this.#o.projectId}:${urn}:${qualifier}`
      default:
        return `${urn}:${qualifier}`
    }
  }

  listFunctions(
    query: { marker?: number; maxitems?: number; func_name?: string } = {},
  ): Promise<JsonObject> {
    const qs = new URLSearchParams()
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined) {
        qs.set(k, String(v))
      }
    }
    const q = qs.size > 0 ? `?${qs.toString()}` : ''
    return this.#json('GET', `/v2/${encodeURIComponent(this.#o.projectId)}/fgs/functions${q}`)
  }

  /** The function's export package (or, with `type`, its code or its configuration alone). */
  async exportFunction(urn: string, type?: 'code' | 'config'): Promise<Buffer> {
    const res = await this.raw(
      'GET',
      this.#fn(urn, `/export${type === undefined ? '' : `?type=${type}`}`),
    )
    if (res.status >= 400) {
      throw apiErrorOf(res, res.body.toString('utf8'))
    }
    return res.body
  }

  /** Creates `name` from an export package. */
  importFunction(
    name: string,
    pkg: Buffer,
    options: { packageName?: string; fileName?: string } = {},
  ): Promise<JsonObject> {
    return this.#json('POST', `/v2/${encodeURIComponent(this.#o.projectId)}/fgs/functions/import`, {
      func_name: name,
      file_name: options.fileName ?? `${name}.zip`,
      file_type: 'zip',
      file_code: pkg.toString('base64'),
      ...(options.packageName === undefined ? {} : { package: options.packageName }),
    })
  }

  showConfig(urn: string): Promise<JsonObject> {
    return this.#json('GET', this.#fn(urn, '/config'))
  }

  updateConfig(urn: string, body: JsonObject): Promise<JsonObject> {
    return this.#json('PUT', this.#fn(urn, '/config'), body)
  }

  showCode(urn: string): Promise<JsonObject> {
    return this.#json('GET', this.#fn(urn, '/code'))
  }

  updateCode(urn: string, body: JsonObject, options: RequestOptions = {}): Promise<JsonObject> {
    return this.#json('PUT', this.#fn(urn, '/code'), body, options)
  }

  async deleteFunction(urn: string): Promise<void> {
    await this.#json('DELETE', this.#fn(urn))
  }

  /**
   * A function's invocation logs (Strato's search: `start_time`, `end_time`, `request_id`,
   * `level`, `status`, `contains`, `order`, `marker`, `limit`); undefined values are left out.
   */
  logs(urn: string, query: Record<string, string | number | undefined> = {}): Promise<JsonObject> {
    const qs = new URLSearchParams()
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) {
        qs.set(key, String(value))
      }
    }
    return this.#json('GET', this.#fn(urn, `/logs${qs.size > 0 ? `?${qs.toString()}` : ''}`))
  }

  /**
   * CTS's ListTraces over the audit trail: the project's management calls, newest first
   * (`trace_name`, `resource_name`, `from`/`to` in ms, `limit`, `next`, … as CTS takes them).
   */
  listTraces(query: Record<string, string> = {}): Promise<JsonObject> {
    const qs = new URLSearchParams({ trace_type: 'system', ...query })
    return this.#json('GET', `/v3/${encodeURIComponent(this.#o.projectId)}/traces?${qs.toString()}`)
  }

  /** Async invocation: resolves to the request id once Strato has stored the event (202). */
  async invokeAsync(urn: string, event: string): Promise<string> {
    const res = await this.raw('POST', this.#fn(urn, '/invocations-async'), event)
    const text = res.body.toString('utf8')
    if (res.status !== 202) {
      throw apiErrorOf(res, text)
    }
    return (JSON.parse(text) as { request_id: string }).request_id
  }

  /** Async invocation records (FunctionGraph's `async-invocations`), newest first. */
  asyncInvocations(
    urn: string,
    query: { request_id?: string; status?: string; marker?: number; limit?: number } = {},
  ): Promise<JsonObject> {
    const qs = new URLSearchParams()
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined) {
        qs.set(k, String(v))
      }
    }
    return this.#json(
      'GET',
      this.#fn(urn, `/async-invocations${qs.size > 0 ? `?${qs.toString()}` : ''}`),
    )
  }

  /** Sync invocation with the v1 response (result, status, log tail). */
  async invoke(
    urn: string,
    event: string,
    options: { tail?: boolean } = {},
  ): Promise<InvokeResult> {
    const res = await this.raw('POST', this.#fn(urn, '/invocations'), event, {
      'x-cff-request-version': 'v1',
      ...(options.tail === true ? { 'x-cff-log-type': 'tail' } : {}),
    })
    const text = res.body.toString('utf8')
    if (res.status >= 400) {
      throw apiErrorOf(res, text)
    }
    const v1 = JSON.parse(text) as {
      request_id: string
      result: string
      log: string
      status: number
    }
    return {
      requestId: v1.request_id,
      status: v1.status,
      result: v1.result,
      log: v1.log,
      isFunctionError: res.headers.get('x-is-func-err') === 'true',
      summary: JSON.parse(res.headers.get('x-cff-invoke-summary') ?? '{}') as Record<
        string,
        number
      >,
    }
  }

  /** Strato's hourly usage rows (requests, GB-seconds) per function within `[start, end)` ms. */
  usage(query: { start_time?: number; end_time?: number } = {}): Promise<JsonObject> {
    const qs = new URLSearchParams()
    if (query.start_time !== undefined) {
      qs.set('start_time', String(query.start_time))
    }
    if (query.end_time !== undefined) {
      qs.set('end_time', String(query.end_time))
    }
    const project = encodeURIComponent(this.#o.projectId)
    return this.#json('GET', `/v2/${project}/fgs/usage${qs.size > 0 ? `?${qs.toString()}` : ''}`)
  }

  #flows(suffix: string, query: Record<string, string | number | undefined> = {}): string {
    const qs = new URLSearchParams()
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined) {
        qs.set(k, String(v))
      }
    }
    const tail = qs.size > 0 ? `?${qs.toString()}` : ''
    return `/v2/${encodeURIComponent(this.#o.projectId)}/fgs/workflows${suffix}${tail}`
  }

  /** Creates a function flow (a Huawei v2 body, or `{name, asl: {…}}`). */
  createWorkflow(body: JsonObject): Promise<JsonObject> {
    return this.#json('POST', this.#flows(''), body)
  }

  updateWorkflow(id: string, body: JsonObject): Promise<JsonObject> {
    return this.#json('PUT', this.#flows(`/${encodeURIComponent(id)}`), body)
  }

  /** `{workflows, total, size}`; `workflow_name` matches part of the name. */
  listWorkflows(
    query: { workflow_name?: string; limit?: number; offset?: number } = {},
  ): Promise<JsonObject> {
    return this.#json('GET', this.#flows('', query))
  }

  showWorkflow(id: string): Promise<JsonObject> {
    return this.#json('GET', this.#flows(`/${encodeURIComponent(id)}`))
  }

  /** `{success: [urn], fail: [{workflow_urn, error_detail}]}` */
  deleteWorkflows(urns: readonly string[]): Promise<JsonObject> {
    return this.#json('DELETE', this.#flows(''), { workflow_urns: [...urns] })
  }

  /** Starts an execution; `runId` is a caller-chosen execution id (`X-WorkflowRun-ID`). */
  async startExecution(id: string, input: JsonObject, runId?: string): Promise<string> {
    const answer = await this.#json(
      'POST',
      this.#flows(`/${encodeURIComponent(id)}/executions`),
      { input },
      {},
      runId === undefined ? {} : { 'X-WorkflowRun-ID': runId },
    )
    return String(answer.execution_id)
  }

  /** `{executions, total, size}` (the last 3 days unless `start_time` says otherwise). */
  listExecutions(
    id: string,
    query: { status?: string; limit?: number; offset?: number; start_time?: string } = {},
  ): Promise<JsonObject> {
    return this.#json('GET', this.#flows(`/${encodeURIComponent(id)}/executions`, query))
  }

  /** An execution with its node details; `full` asks for untruncated inputs and outputs. */
  showExecution(id: string, executionId: string, full = false): Promise<JsonObject> {
    return this.#json(
      'GET',
      this.#flows(`/${encodeURIComponent(id)}/executions/${encodeURIComponent(executionId)}`),
      undefined,
      {},
      full ? { 'X-Get-Workflow-Full-History-Data': 'true' } : {},
    )
  }

  async retryExecution(id: string, executionId: string): Promise<void> {
    const e = `/${encodeURIComponent(id)}/executions/${encodeURIComponent(executionId)}`
    await this.#json('POST', this.#flows(`${e}/retry`))
  }

  async stopExecution(id: string, executionId: string): Promise<void> {
    const e = `/${encodeURIComponent(id)}/executions/${encodeURIComponent(executionId)}`
    await this.#json('POST', this.#flows(`${e}/terminate`))
  }
}
