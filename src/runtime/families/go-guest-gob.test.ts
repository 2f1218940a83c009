/**
 * The Go guest's gob codec and net/rpc client (runtimes/go/gob.cjs, go-rpc-client.cjs) against
 * real Go: a peer program decodes what the codec encodes (into net/rpc's own rpc.Request and the
 * runtime library's argument shapes) and encodes replies, with fields and types the guest does
 * not know, for the codec to decode. Built with the host's Go and the standard library only;
 * skipped when there is no Go toolchain.
 */
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  GO_FUNCTION_SOURCE,
  NO_GO_REASON,
  buildGo,
  hostGoVersion,
} from '../../../test/helpers/go-toolchain.js'

const require = createRequire(import.meta.url)
interface GobType {
  readonly kind: string
}
const gob = require('../../../runtimes/go/gob.cjs') as {
  GobEncoder: new () => { encode(type: GobType, value: unknown): Buffer }
  GobDecoder: new () => { push(chunk: Buffer): Array<{ typeId: number; value: unknown }> }
  types: {
    string: GobType
    uint: GobType
    int: GobType
    bytes: GobType
    bool: GobType
    float: GobType
    struct(name: string, fields: Array<[string, GobType]>): GobType
    slice(name: string, elem: GobType): GobType
    map(name: string, key: GobType, elem: GobType): GobType
  }
}
interface RpcClient {
  call(method: string, type: GobType, args: unknown): Promise<Record<string, unknown>>
  close(): void
}
const rpc = require('../../../runtimes/go/go-rpc-client.cjs') as {
  dialHttp(host: string, port: number): Promise<RpcClient>
  RpcError: new (message: string) => Error
}
const { types } = gob

const PEER = `package main

import (
	"encoding/gob"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/rpc"
	"os"
)

type InvokeRequest struct {
	Payload []byte
	Header  http.Header
}

type HealthCheckRequest struct{}

type InvokeResponse struct {
	StatusCode int
	Payload    []byte
}

// What a newer server might send: fields and types the guest has never seen.
type Nested struct {
	Name  string
	Score float64
}

type ExtendedResponse struct {
	StatusCode int
	Extra      struct {
		F float64
		N int64
		B bool
		L []string
		M map[int]string
		A [3]int
		S []Nested
		U uint64
		C complex128
	}
	Payload []byte
	Neg     int
	Ptr     *Nested
}

func main() {
	if os.Args[1] == "decode" {
		dec := gob.NewDecoder(os.Stdin)
		out := json.NewEncoder(os.Stdout)
		for {
			var req rpc.Request
			if err := dec.Decode(&req); err == io.EOF {
				return
			} else if err != nil {
				panic(err)
			}
			if req.ServiceMethod == "Function.HealthCheck" {
				var args HealthCheckRequest
				if err := dec.Decode(&args); err != nil {
					panic(err)
				}
				out.Encode(map[string]interface{}{"method": req.ServiceMethod, "seq": fmt.Sprint(req.Seq)})
				continue
			}
			var args InvokeRequest
			if err := dec.Decode(&args); err != nil {
				panic(err)
			}
			out.Encode(map[string]interface{}{"method": req.ServiceMethod, "seq": fmt.Sprint(req.Seq),
				"payload": string(args.Payload), "nil": args.Payload == nil, "header": args.Header})
		}
	}
	enc := gob.NewEncoder(os.Stdout)
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(enc.Encode(rpc.Response{ServiceMethod: "Function.Invoke", Seq: 7}))
	must(enc.Encode(InvokeResponse{StatusCode: 200, Payload: []byte("hello")}))
	must(enc.Encode(rpc.Response{ServiceMethod: "Function.Invoke", Seq: 1 << 40, Error: "boom"}))
	must(enc.Encode(struct{}{}))
	var x ExtendedResponse
	x.StatusCode = 200
	x.Extra.F = -2.5
	x.Extra.N = -1 << 40
	x.Extra.B = true
	x.Extra.L = []string{"a", "", "ü"}
	x.Extra.M = map[int]string{3: "three"}
	x.Extra.A = [3]int{1, 0, -1}
	x.Extra.S = []Nested{{"n", 0.5}}
	x.Extra.U = 1<<63 + 5
	x.Extra.C = complex(1, -1)
	x.Payload = make([]byte, 70000)
	for i := range x.Payload {
		x.Payload[i] = byte(i)
	}
	x.Neg = -300
	x.Ptr = &Nested{"p", 1}
	must(enc.Encode(rpc.Response{ServiceMethod: "Function.Invoke", Seq: 8}))
	must(enc.Encode(x))
	must(enc.Encode(InvokeResponse{StatusCode: 0}))
}
`

const HEADER = types.map('Header', types.string, types.slice('', types.string))
const INVOKE_REQUEST = types.struct('InvokeRequest', [
  ['Payload', types.bytes],
  ['Header', HEADER],
])
const HEALTH_CHECK_REQUEST = types.struct('HealthCheckRequest', [])
const REQUEST = types.struct('Request', [
  ['ServiceMethod', types.string],
  ['Seq', types.uint],
])

let peer = ''
beforeAll(() => {
  if (hostGoVersion() === null) {
    return
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strato-gob-peer-'))
  fs.writeFileSync(path.join(dir, 'go.mod'), 'module gobpeer\n\ngo 1.19\n')
  fs.writeFileSync(path.join(dir, 'main.go'), PEER)
  peer = buildGo(dir)
}, 200_000)

describe.skipIf(hostGoVersion() === null)(
  `gob codec against Go${hostGoVersion() === null ? ` (skipped: ${NO_GO_REASON})` : ''}`,
  () => {
    test("Go's decoder reads rpc.Request and the library's argument structs, type definitions sent once", () => {
      const enc = new gob.GobEncoder()
      const big = 'x'.repeat(70_000)
      const stream = Buffer.concat([
        enc.encode(REQUEST, { ServiceMethod: 'Function.HealthCheck', Seq: 0 }),
        enc.encode(HEALTH_CHECK_REQUEST, {}),
        enc.encode(REQUEST, { ServiceMethod: 'Function.Invoke', Seq: 1 }),
        enc.encode(INVOKE_REQUEST, {
          Payload: Buffer.from('{"k":"ü"}'),
          Header: { 'X-Cff-Request-Id': ['r-1'], Accept: ['a', 'b'], Empty: [] },
        }),
        enc.encode(REQUEST, { ServiceMethod: 'Function.Invoke', Seq: 2 ** 40 + 3 }),
        enc.encode(INVOKE_REQUEST, { Payload: Buffer.from(big), Header: {} }),
      ])
      const r = spawnSync(peer, ['decode'], { input: stream, encoding: 'utf8' })
      expect(r.stderr).toBe('')
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
      expect(lines).toEqual([
        { method: 'Function.HealthCheck', seq: '0' },
        {
          method: 'Function.Invoke',
          seq: '1',
          payload: '{"k":"ü"}',
          nil: false,
          header: { 'X-Cff-Request-Id': ['r-1'], Accept: ['a', 'b'], Empty: null },
        },
        {
          method: 'Function.Invoke',
          seq: String(2 ** 40 + 3),
          payload: big,
          nil: false,
          header: null,
        },
      ])
    })

    test("the decoder reads Go's replies, error replies and types it does not know, fed byte by byte", () => {
      const r = spawnSync(peer, ['encode'])
      expect(r.stderr.toString()).toBe('')
      const dec = new gob.GobDecoder()
      const values: unknown[] = []
      // Every split point: messages and length prefixes cut anywhere still decode.
      for (let i = 0; i < r.stdout.length; i += 997) {
        for (const v of dec.push(r.stdout.subarray(i, i + 997))) {
          values.push(v.value)
        }
      }
      expect(values).toHaveLength(7)
      expect(values[0]).toEqual({ ServiceMethod: 'Function.Invoke', Seq: 7 })
      expect(values[1]).toEqual({ StatusCode: 200, Payload: Buffer.from('hello') })
      expect(values[2]).toEqual({ ServiceMethod: 'Function.Invoke', Seq: 2 ** 40, Error: 'boom' })
      expect(values[3]).toEqual({})
      const x = values[5] as Record<string, unknown>
      expect(x.StatusCode).toBe(200)
      expect(x.Neg).toBe(-300)
      expect(x.Ptr).toEqual({ Name: 'p', Score: 1 })
      expect((x.Payload as Buffer).length).toBe(70_000)
      expect((x.Payload as Buffer)[69_999]).toBe(69_999 % 256)
      const extra = x.Extra as Record<string, unknown>
      expect(extra.F).toBe(-2.5)
      expect(extra.N).toBe(-(2 ** 40))
      expect(extra.B).toBe(true)
      expect(extra.L).toEqual(['a', '', 'ü'])
      expect(extra.M).toEqual(new Map([[3, 'three']]))
      expect(extra.A).toEqual([1, 0, -1])
      expect(extra.S).toEqual([{ Name: 'n', Score: 0.5 }])
      expect(extra.C).toEqual([1, -1])
      // A zero-valued struct sends no fields at all.
      expect(values[6]).toEqual({})
    })
  },
)

describe.skipIf(hostGoVersion() === null)('net/rpc client against a real Go server', () => {
  let server: ReturnType<typeof spawn> | undefined
  let port = 0
  beforeAll(async () => {
    const exe = buildGo(GO_FUNCTION_SOURCE)
    port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port
        s.close(() => resolve(p))
      })
    })
    server = spawn(exe, [], {
      env: { RUNTIME_API_ADDR: `127.0.0.1:${port}`, RUNTIME_FUNC_NAME: 'fn' },
      stdio: 'ignore',
    })
  }, 200_000)
  afterAll(() => {
    server?.kill('SIGKILL')
  })

  async function dial(): Promise<RpcClient> {
    for (;;) {
      try {
        return await rpc.dialHttp('127.0.0.1', port)
      } catch {
        await new Promise((r) => setTimeout(r, 20))
      }
    }
  }

  test('concurrent calls on one connection each get their own reply; errors come back as RpcError', async () => {
    const client = await dial()
    expect(await client.call('Function.HealthCheck', HEALTH_CHECK_REQUEST, {})).toEqual({})
    const delays = [300, 10, 200, 50, 120, 0, 250, 30]
    const started = Date.now()
    const replies = await Promise.all(
      delays.map((ms) =>
        client.call('Function.Invoke', INVOKE_REQUEST, {
          Payload: Buffer.from(JSON.stringify({ action: 'sleep', ms })),
          Header: {},
        }),
      ),
    )
    expect(Date.now() - started).toBeLessThan(1500)
    expect(replies.map((r) => (r.Payload as Buffer).toString())).toEqual(
      delays.map((ms) => `slept ${ms} ms`),
    )
    const err = await client
      .call('Function.Invoke', INVOKE_REQUEST, {
        Payload: Buffer.from('{"action":"error"}'),
        Header: {},
      })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(rpc.RpcError)
    expect(JSON.parse((err as Error).message)).toMatchObject({
      errorMessage: 'the order was not found',
      errorType: 'FunctionReturnError',
    })
    const unknown = await client
      .call('Function.Nope', HEALTH_CHECK_REQUEST, {})
      .catch((e: unknown) => e)
    expect((unknown as Error).message).toMatch(/can't find method/)
    // The connection survives a failed call.
    expect(await client.call('Function.HealthCheck', HEALTH_CHECK_REQUEST, {})).toEqual({})
    client.close()
  })

  test('a server that is not net/rpc is refused with a clear message', async () => {
    const http = net.createServer((s) => s.end('HTTP/1.0 404 Not Found\n\n')).listen(0, '127.0.0.1')
    await new Promise((r) => http.once('listening', r))
    const p = (http.address() as net.AddressInfo).port
    await expect(rpc.dialHttp('127.0.0.1', p)).rejects.toThrow(/not a Go net\/rpc HTTP server/)
    http.close()
  })
})
