import { describe, expect, test } from 'vitest'
import { wrappedHeadersOf } from './http-transport.js'

/** Raw name/value buffers as undici hands them over. */
function raw(...pairs: Array<[string, string]>): Buffer[] {
  return pairs.flatMap(([n, v]) => [Buffer.from(n, 'latin1'), Buffer.from(v, 'latin1')])
}

describe('wrappedHeadersOf', () => {
  test("keeps the server's first spelling and every value in order", () => {
    expect({
      ...wrappedHeadersOf(
        raw(['Content-type', 'text/plain'], ['X-A', '1'], ['x-a', '2'], ['Content-Length', '5']),
      ),
    }).toEqual({ 'Content-type': ['text/plain'], 'X-A': ['1', '2'], 'Content-Length': ['5'] })
  })

  test('drops hop-by-hop headers and those the Connection header names, wherever they come', () => {
    expect({
      ...wrappedHeadersOf(
        raw(
          ['X-Before', 'a'],
          ['Keep-Alive', 'timeout=5'],
          ['Connection', 'keep-alive, X-Before, x-after'],
          ['Transfer-Encoding', 'chunked'],
          ['X-After', 'b'],
          ['X-Kept', 'c'],
        ),
      ),
    }).toEqual({ 'X-Kept': ['c'] })
  })

  test('Content-Length stays even when the Connection header names it', () => {
    expect({
      ...wrappedHeadersOf(raw(['Connection', 'content-length'], ['content-length', '2'])),
    }).toEqual({ 'content-length': ['2'] })
  })

  test('a header named __proto__ is an ordinary header', () => {
    const out = wrappedHeadersOf(raw(['__proto__', 'x']))
    expect(Object.getPrototypeOf(out)).toBeNull()
    expect(out['__proto__']).toEqual(['x'])
  })
})
