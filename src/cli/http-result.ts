/**
 * @module Reads an HTTP function's wrapped response (`{"body":"<base64>","headers":{…},
 * "statusCode":…,"isBase64Encoded":true}`), so `invoke` can print the body as the app sent it.
 */

export interface HttpResponse {
  readonly statusCode: number
  readonly headers: Readonly<Record<string, readonly string[]>>
  readonly body: Buffer
}

/** The response inside `result`, or `undefined` when `result` is not a wrapped response. */
export function unwrapHttpResult(result: string): HttpResponse | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(result)
  } catch {
    return undefined
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return undefined
  }
  const r = parsed as Record<string, unknown>
  if (
    typeof r.statusCode !== 'number' ||
    typeof r.body !== 'string' ||
    (r.isBase64Encoded !== undefined && typeof r.isBase64Encoded !== 'boolean')
  ) {
    return undefined
  }
  const headers: Record<string, string[]> = {}
  if (r.headers !== null && typeof r.headers === 'object' && !Array.isArray(r.headers)) {
    for (const [name, value] of Object.entries(r.headers)) {
      headers[name] = Array.isArray(value) ? value.map(String) : [String(value)]
    }
  }
  return {
    statusCode: r.statusCode,
    headers,
    body: Buffer.from(r.body, r.isBase64Encoded === true ? 'base64' : 'utf8'),
  }
}

/** The status line and headers, one per line, as `curl -i` would show them. */
export function formatHttpHead(response: HttpResponse): string {
  const lines = [`HTTP ${response.statusCode}`]
  for (const [name, values] of Object.entries(response.headers)) {
    for (const v of values) {
      lines.push(`${name}: ${v}`)
    }
  }
  return `${lines.join('\n')}\n`
}
