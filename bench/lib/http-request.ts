/** Plain HTTP requests the bench makes outside autocannon: over a chosen agent, and JSON reads. */
import http from 'node:http'

export interface Reply {
  status: number
  body: string
}

/** One request over `agent` (e.g. a kept-alive one), its whole answer as text; 30 s at most. */
export function sendRequest(
  agent: http.Agent,
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${url}: no answer in 30 s`)))
    req.end(body)
  })
}

/** GET `url` (5 s at most) and parse its JSON; throws unless it answers 200. */
export async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
  if (res.status !== 200) {
    throw new Error(`GET ${url}: ${res.status}`)
  }
  return res.json()
}
