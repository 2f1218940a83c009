/**
 * Tracing end to end: a real OTLP/HTTP receiver on loopback takes the spans Strato's exporter
 * sends (the exporter's JSON protocol), and functions in Node.js and Python report the trace id
 * their context gives them. The switch is set through the official SDK.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { StratoClient } from '../../src/client/index.js'
import { b64, httpFunction, inlineFunction, zipFiles } from '../helpers/code.js'
import { fg, sdkClient } from '../helpers/sdk.js'
import {
  PROJECT_ID,
  REPO_ROOT,
  startTestStrato,
  tmpDir,
  waitFor,
  type TestStrato,
} from '../helpers/strato.js'

/** One span as OTLP/JSON carries it (ids in hex). */
interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  startTimeUnixNano: string
  endTimeUnixNano: string
  attributes?: Array<{ key: string; value: Record<string, unknown> }>
  status?: { code?: number }
}

interface OtlpBody {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: Record<string, unknown> }> }
    scopeSpans: Array<{ spans: OtlpSpan[] }>
  }>
}

const SPAN_KIND = { INTERNAL: 1, SERVER: 2, PRODUCER: 4, CONSUMER: 5 }

/** The collector: every span posted to /v1/traces, and the service names they came with. */
const received: OtlpSpan[] = []
const services = new Set<string>()
const receiver = http.createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end()
      return
    }
    expect(req.headers['content-type']).toContain('application/json')
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpBody
    for (const rs of body.resourceSpans) {
      const name = rs.resource.attributes.find((a) => a.key === 'service.name')
      services.add(String(name?.value.stringValue))
      for (const ss of rs.scopeSpans) {
        received.push(...ss.spans)
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
  })
})

function attr(span: OtlpSpan, key: string): unknown {
  const v = span.attributes?.find((a) => a.key === key)?.value
  return v === undefined ? undefined : Object.values(v)[0]
}

function spansOf(traceId: string): OtlpSpan[] {
  return received.filter((s) => s.traceId === traceId)
}

/** Waits until the trace has `count` spans (the exporter batches every 50 ms here). */
async function traceOf(traceId: string, count: number): Promise<OtlpSpan[]> {
  await waitFor(() => spansOf(traceId).length >= count, 10_000)
  // Anything more would arrive with the next batch.
  await new Promise((r) => setTimeout(r, 300))
  return spansOf(traceId)
}

function only(spans: OtlpSpan[], name: string): OtlpSpan {
  const found = spans.filter((s) => s.name === name)
  expect(found, `one span named '${name}'`).toHaveLength(1)
  return found[0]!
}

function newTraceparent(sampled: boolean): { traceId: string; parentId: string; header: string } {
  const traceId = randomBytes(16).toString('hex')
  const parentId = randomBytes(8).toString('hex')
  return { traceId, parentId, header: `00-${traceId}-${parentId}-${sampled ? '01' : '00'}` }
}

const NODE_TRACE = `exports.handler = async (event, context) => ({ traceId: context.getTraceID() })`
const PYTHON_TRACE = `
def handler(event, context):
    return {"traceId": context.getTraceID()}
`
const PHP_TRACE = `<?php
function handler($event, $context) {
    return ['traceId' => $context->getTraceID()];
}`
/** Java: the same getter of Huawei's Context, compiled here against Strato's runtime jar. */
const JAVA_TRACE = `package strato.trace;
import com.huawei.services.runtime.Context;
import java.util.Collections;
import java.util.Map;
public class Trace {
    public Map<String, String> handler(Map<String, Object> event, Context context) {
        return Collections.singletonMap("traceId", context.getTraceID());
    }
}
`
const RUNTIME_JAR = path.join(REPO_ROOT, 'runtimes/java/build/strato-java-runtime.jar')
const GSON_JAR = path.join(REPO_ROOT, 'runtimes/java/build/gson.jar')
const hasJdk =
  spawnSync('javac', ['-version']).status === 0 &&
  fs.existsSync(RUNTIME_JAR) &&
  fs.existsSync(GSON_JAR)

/** Compiles JAVA_TRACE into a JAR (a JAR is a zip: uploaded as it is). */
function javaTraceJar(): Buffer {
  const work = tmpDir('strato-trace-java-')
  try {
    const source = path.join(work, 'Trace.java')
    fs.writeFileSync(source, JAVA_TRACE)
    const classes = path.join(work, 'classes')
    execFileSync('javac', ['-cp', `${RUNTIME_JAR}:${GSON_JAR}`, '-d', classes, source], {
      stdio: 'pipe',
    })
    const jar = path.join(work, 'trace.jar')
    execFileSync('jar', ['--create', '--file', jar, '-C', classes, '.'], { stdio: 'pipe' })
    return fs.readFileSync(jar)
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
  }
}

/** A plain Node web server (no npm packages) answering with the trace headers it received. */
const HTTP_APP = `require('http').createServer((req, res) => {
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ traceparent: req.headers.traceparent, traceId: req.headers['x-cff-trace-id'] }))
}).listen(8000, '127.0.0.1')
`

let strato: TestStrato
let client: StratoClient
let sdk: ReturnType<typeof sdkClient>
const previousDelay = process.env.OTEL_BSP_SCHEDULE_DELAY

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const { port } = receiver.address() as AddressInfo
  // The SDK's own batch setting: export every 50 ms instead of 5 s, so the test waits less.
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50'
  strato = await startTestStrato({ STRATO_OTLP_ENDPOINT: `http://127.0.0.1:${port}/` })
  client = strato.client
  sdk = sdkClient(strato.url)
  await client.createFunction(inlineFunction('trace-node', NODE_TRACE))
  await client.createFunction(
    inlineFunction('trace-python', PYTHON_TRACE, { runtime: 'Python3.10' }),
  )
  await client.createFunction({
    ...inlineFunction('trace-php', '', { runtime: 'PHP8.3' }),
    code_type: 'zip',
    func_code: { file: b64(await zipFiles({ 'index.php': PHP_TRACE })) },
  })
  if (hasJdk) {
    await client.createFunction({
      ...inlineFunction('trace-java', '', { runtime: 'Java17', memory_size: 256 }),
      handler: 'strato.trace.Trace.handler',
      code_type: 'zip',
      code_filename: 'trace.jar',
      func_code: { file: b64(javaTraceJar()) },
    })
  }
}, 60_000)

afterAll(async () => {
  await strato?.close()
  receiver.close()
  if (previousDelay === undefined) {
    delete process.env.OTEL_BSP_SCHEDULE_DELAY
  } else {
    process.env.OTEL_BSP_SCHEDULE_DELAY = previousDelay
  }
})

const urnOf = (name: string): string =>
  `urn:fss:local-1:${PROJECT_ID}:function:default:${name}:latest`

/** A sync invoke through the API with the caller's headers; returns the request id and result. */
async function invoke(
  name: string,
  headers: Record<string, string> = {},
): Promise<{ requestId: string; traceId: string }> {
  const res = await client.raw(
    'POST',
    `/v2/${PROJECT_ID}/fgs/functions/${urnOf(name)}/invocations`,
    '{}',
    headers,
  )
  expect(res.status).toBe(200)
  const out = JSON.parse(res.body.toString('utf8')) as { traceId: string }
  return { requestId: res.headers.get('x-cff-request-id') ?? '', traceId: out.traceId }
}

function traceSwitch(name: string, ak: string, sk?: string): Promise<unknown> {
  const body = new fg.UpdateTracingRequestBody().withTracingAk(ak)
  return sdk.updateTracing(
    new fg.UpdateTracingRequest()
      .withFunctionUrn(urnOf(name))
      .withBody(sk === undefined ? body : body.withTracingSk(sk)),
  )
}

function showTracing(name: string): Promise<{ tracing_ak: string; tracing_sk: string }> {
  return sdk.showTracing(new fg.ShowTracingRequest().withFunctionUrn(urnOf(name)))
}

describe('a caller that sends a sampled traceparent', () => {
  test.each([
    ['Node.js', 'trace-node'],
    ['Python', 'trace-python'],
    ['PHP', 'trace-php'],
    ...(hasJdk ? [['Java', 'trace-java']] : []),
  ])(
    '%s: one trace, the caller as its parent: invoke → queue wait (→ cold start) → execute; getTraceID() is its id',
    async (_family, name) => {
      const caller = newTraceparent(true)
      const cold = await invoke(name, { traceparent: caller.header })
      expect(cold.traceId).toBe(caller.traceId)

      const spans = await traceOf(caller.traceId, 4)
      expect(spans.map((s) => s.name).sort()).toEqual([
        'cold start',
        'execute',
        `invoke ${name}`,
        'queue wait',
      ])
      const root = only(spans, `invoke ${name}`)
      expect(root.kind).toBe(SPAN_KIND.SERVER)
      expect(root.parentSpanId).toBe(caller.parentId)
      expect(attr(root, 'faas.invocation.id')).toBe(cold.requestId)
      expect(attr(root, 'faas.name')).toBe(name)
      expect(attr(root, 'faas.trigger')).toBe('http')
      expect(attr(root, 'faas.coldstart')).toBe(true)
      const wait = only(spans, 'queue wait')
      const start = only(spans, 'cold start')
      const execute = only(spans, 'execute')
      expect(wait.parentSpanId).toBe(root.spanId)
      expect(start.parentSpanId).toBe(wait.spanId)
      expect(execute.parentSpanId).toBe(root.spanId)
      // In order, and inside the request: the SDK anchors each span to the millisecond clock
      // when it starts, so spans may be placed up to 1 ms apart from each other.
      const ms = (t: string): number => Number(BigInt(t) / 1000n) / 1000
      expect(ms(wait.startTimeUnixNano)).toBeGreaterThanOrEqual(ms(root.startTimeUnixNano) - 1)
      expect(ms(start.startTimeUnixNano)).toBeGreaterThanOrEqual(ms(wait.startTimeUnixNano) - 1)
      expect(ms(start.endTimeUnixNano)).toBeLessThanOrEqual(ms(wait.endTimeUnixNano) + 1)
      expect(ms(execute.startTimeUnixNano)).toBeGreaterThanOrEqual(ms(wait.endTimeUnixNano) - 1)
      expect(ms(root.endTimeUnixNano)).toBeGreaterThanOrEqual(ms(execute.endTimeUnixNano) - 1)
      // A cold start takes a part of the wait (a pre-started cell is specialised in a few ms).
      expect(ms(start.endTimeUnixNano) - ms(start.startTimeUnixNano)).toBeGreaterThan(0)
      expect(services).toEqual(new Set(['strato']))

      // Warm: the same shape without a cold start.
      const next = newTraceparent(true)
      const warm = await invoke(name, { traceparent: next.header })
      expect(warm.traceId).toBe(next.traceId)
      const warmSpans = await traceOf(next.traceId, 3)
      expect(warmSpans.map((s) => s.name).sort()).toEqual([
        'execute',
        `invoke ${name}`,
        'queue wait',
      ])
      expect(attr(only(warmSpans, 'queue wait'), 'faas.coldstart')).toBe(false)
    },
    60_000,
  )
})

describe('the per-function switch (updateTracing / showTracing through the SDK)', () => {
  test('off by default; on records traces named by the request id; off again records none', async () => {
    expect(await showTracing('trace-node')).toMatchObject({ tracing_ak: '', tracing_sk: '' })

    // Off, and no traceparent: nothing is recorded; the function gets the request id's trace id.
    const untraced = await invoke('trace-node')
    expect(untraced.traceId).toBe(untraced.requestId.replaceAll('-', ''))
    // Off, and an unsampled traceparent: nothing recorded; the caller's trace id goes on.
    const unsampled = newTraceparent(false)
    const passed = await invoke('trace-node', { traceparent: unsampled.header })
    expect(passed.traceId).toBe(unsampled.traceId)

    const updated = await traceSwitch('trace-node', 'apm-ak', 'apm-sk')
    expect((updated as { httpStatusCode: number }).httpStatusCode).toBe(200)
    // The secret is sealed at rest and never shown.
    expect(await showTracing('trace-node')).toMatchObject({
      tracing_ak: 'apm-ak',
      tracing_sk: '******',
    })
    const traced = await invoke('trace-node')
    const traceId = traced.requestId.replaceAll('-', '')
    expect(traced.traceId).toBe(traceId)
    const spans = await traceOf(traceId, 3)
    const root = only(spans, 'invoke trace-node')
    expect(root.parentSpanId ?? '').toBe('')
    expect(spans.map((s) => s.name).sort()).toEqual(['execute', 'invoke trace-node', 'queue wait'])

    await traceSwitch('trace-node', '')
    expect(await showTracing('trace-node')).toMatchObject({ tracing_ak: '', tracing_sk: '' })
    const after = await invoke('trace-node')

    // The exporter sends every 50 ms: by now the untraced calls would have arrived.
    await new Promise((r) => setTimeout(r, 500))
    for (const id of [untraced.traceId, unsampled.traceId, after.traceId]) {
      expect(spansOf(id)).toEqual([])
    }
  })
})

describe('asynchronous invocations', () => {
  test('accept → attempt → queue wait → execute, in the caller’s trace', async () => {
    const caller = newTraceparent(true)
    const res = await client.raw(
      'POST',
      `/v2/${PROJECT_ID}/fgs/functions/${urnOf('trace-node')}/invocations-async`,
      '{}',
      { traceparent: caller.header },
    )
    expect(res.status).toBe(202)
    const spans = await traceOf(caller.traceId, 4)
    const accept = only(spans, 'accept trace-node')
    const attempt = only(spans, 'attempt trace-node')
    expect(accept.kind).toBe(SPAN_KIND.PRODUCER)
    expect(accept.parentSpanId).toBe(caller.parentId)
    expect(attempt.kind).toBe(SPAN_KIND.CONSUMER)
    expect(attempt.parentSpanId).toBe(accept.spanId)
    expect(Number(attr(attempt, 'strato.async.attempt'))).toBe(1)
    expect(attr(attempt, 'faas.trigger')).toBe('pubsub')
    expect(only(spans, 'queue wait').parentSpanId).toBe(attempt.spanId)
    expect(only(spans, 'execute').parentSpanId).toBe(attempt.spanId)
  }, 30_000)
})

describe('the API gateway and HTTP functions', () => {
  test('an HTTP function behind an APIG trigger gets a traceparent whose parent is its execute span', async () => {
    const zip = await zipFiles({
      'app.js': HTTP_APP,
      bootstrap:
        '/opt/function/runtime/nodejs20.15/rtsp/nodejs/bin/node $RUNTIME_CODE_ROOT/app.js\n',
    })
    await client.createFunction(httpFunction('trace-http', zip))
    await sdk.createFunctionTrigger(
      new fg.CreateFunctionTriggerRequest().withFunctionUrn(urnOf('trace-http')).withBody(
        new fg.CreateFunctionTriggerRequestBody()
          .withTriggerTypeCode('APIG')
          .withTriggerStatus('ACTIVE')
          .withEventData(
            new fg.TriggerEventDataRequestBody()
              .withName('trace_api')
              .withPath('/traced')
              .withReqMethod('GET')
              .withAuth('NONE')
              .withMatchMode('NORMAL')
              .withProtocol('HTTPS')
              .withEnvName('RELEASE')
              .withType(1)
              .withFuncInfo(
                new fg.ApigTriggerFuncInfo().withTimeout(10_000).withInvocationType('sync'),
              ),
          ),
      ),
    )
    const caller = newTraceparent(true)
    const res = await fetch(`${strato.running.gatewayUrl}/traced`, {
      headers: { traceparent: caller.header },
    })
    expect(res.status).toBe(200)
    const seen = (await res.json()) as { traceparent: string; traceId: string }
    expect(seen.traceId).toBe(caller.traceId)
    const spans = await traceOf(caller.traceId, 4)
    const execute = only(spans, 'execute')
    expect(seen.traceparent).toBe(`00-${caller.traceId}-${execute.spanId}-01`)
    const root = only(spans, 'invoke trace-http')
    expect(root.parentSpanId).toBe(caller.parentId)
    expect(attr(root, 'faas.trigger')).toBe('http')
  }, 60_000)
})

describe('a collector that never answers', () => {
  test('invocations do not wait for it, and closing Strato waits for it 2 s at most', async () => {
    // Accepts connections and reads requests, never answers.
    const sockets = new Set<Socket>()
    const silent = http.createServer(() => {})
    silent.on('connection', (s) => sockets.add(s))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address() as AddressInfo
    const other = await startTestStrato({ STRATO_OTLP_ENDPOINT: `http://127.0.0.1:${port}` })
    try {
      await other.client.createFunction(inlineFunction('hung-collector', NODE_TRACE))
      const path = `/v2/${PROJECT_ID}/fgs/functions/${urnOf('hung-collector')}/invocations`
      // Warm the instance, then time warm invocations that are all recorded.
      await other.client.raw('POST', path, '{}', { traceparent: newTraceparent(true).header })
      const started = performance.now()
      for (let i = 0; i < 20; i++) {
        const res = await other.client.raw('POST', path, '{}', {
          traceparent: newTraceparent(true).header,
        })
        expect(res.status).toBe(200)
      }
      const perCallMs = (performance.now() - started) / 20
      // A warm call takes a few ms here; a call that waited for the exporter would take seconds.
      expect(perCallMs).toBeLessThan(250)
      // Let the batch processor start an export that hangs, then close.
      await new Promise((r) => setTimeout(r, 200))
      const closing = performance.now()
      await other.close()
      // The exporter's own timeout is 10 s: only the 2 s bound keeps this short.
      expect(performance.now() - closing).toBeLessThan(4_000)
    } finally {
      for (const s of sockets) {
        s.destroy()
      }
      silent.close()
    }
  }, 60_000)
})
