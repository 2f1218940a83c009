/**
 * The bench's tenant and its signed requests: signed once with `signRequest` from `src/auth`, as
 * the official SDK signs, and replayable for 15 minutes (Strato keeps no replay cache), so a load
 * generator can send the same bytes again and again.
 */
import { signRequest } from '../../src/auth/index.js'

export const BENCH_PROJECT_ID = '0123456789abcdef0123456789abcdef'
export const BENCH_ACCESS_KEY = 'bench-ak'
export const BENCH_SECRET_KEY = 'bench-sk'

export interface SignedRequest {
  readonly url: string
  readonly headers: Record<string, string>
}

/** `method url` with `body` (a JSON text, or none), signed with the bench's keys. */
export function signedRequest(
  method: string,
  url: string,
  body: string | undefined,
): SignedRequest {
  const headers = signRequest({
    method,
    url,
    headers: { 'content-type': 'application/json', 'x-project-id': BENCH_PROJECT_ID },
    body,
    accessKey: BENCH_ACCESS_KEY,
    secretKey: BENCH_SECRET_KEY,
  })
  return { url, headers }
}

/**
 * A signed JSON call to Strato's API (`pathname` under `base`): the answer's JSON, `{}` for a 204.
 * Throws on a status of 300 or more.
 */
export async function callApi(
  base: string,
  method: string,
  pathname: string,
  body?: object,
): Promise<unknown> {
  const text = body === undefined ? undefined : JSON.stringify(body)
  const { url, headers } = signedRequest(method, `${base}${pathname}`, text)
  const res = await fetch(url, { method, headers, body: text })
  if (res.status === 204) {
    return {}
  }
  const json = (await res.json()) as Record<string, unknown>
  if (res.status >= 300) {
    throw new Error(`${method} ${pathname}: ${res.status} ${JSON.stringify(json)}`)
  }
  return json
}
