/**
 * After a known workload (N invocations, M function errors, K throttles) the official SDK's four
 * statistics methods, the Prometheus text on `/metrics`, the usage rows and `strato usage` agree
 * with it and with each other.
 */
import { execFile } from 'node:child_process'
import path from 'node:path'
import { beforeAll, expect, test } from 'vitest'
import { b64 } from '../helpers/code.js'
import { fg, sdkClient, sdkError } from '../helpers/sdk.js'
import { ACCESS_KEY, PROJECT_ID, REPO_ROOT, SECRET_KEY } from '../helpers/strato.js'
import { useStrato } from '../helpers/use-strato.js'

// One instance per function and a short wait: concurrent calls beyond the first are throttled.
const strato = useStrato({ STRATO_MAX_INSTANCES_PER_FUNCTION: '1', STRATO_QUEUE_WAIT_MS: '150' })
let client: any

const NAME = 'metrics-workload'
const SOURCE = `exports.handler = async (event) => {
  if (event.fail) throw new Error('asked to fail')
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs))
  return { ok: true }
}`
const OK_CALLS = 5
const FAILING_CALLS = 2
const THROTTLED_CALLS = 2
/** The one call that holds the only instance while the throttled ones wait. */
const HOLD_MS = 1_500
const INVOCATIONS = OK_CALLS + FAILING_CALLS + 1

let urn = ''

type Series = Array<{ timestamp: number; value: number }>
const total = (s: Series): number => s.reduce((n, p) => n + Math.max(0, p.value), 0)

function invoke(body: Record<string, unknown>): Promise<any> {
  return client.invokeFunction(new fg.InvokeFunctionRequest().withFunctionUrn(urn).withBody(body))
}

beforeAll(async () => {
  client = sdkClient(strato.url)
  const created = await client.createFunction(
    new fg.CreateFunctionRequest().withBody(
      new fg.CreateFunctionRequestBody()
        .withFuncName(NAME)
        .withPackage('default')
        .withRuntime('Node.js18.15')
        .withHandler('index.handler')
        .withMemorySize(256)
        .withTimeout(30)
        .withCodeType('inline')
        .withFuncCode(new fg.FuncCode().withFile(b64(SOURCE))),
    ),
  )
  urn = created.func_urn
  for (let i = 0; i < OK_CALLS; i++) {
    expect((await invoke({})).httpStatusCode).toBe(200)
  }
  for (let i = 0; i < FAILING_CALLS; i++) {
    const res = await invoke({ fail: true })
    expect(res.httpStatusCode).toBe(200) // a function error is the function's answer
  }
  const holder = invoke({ sleepMs: HOLD_MS })
  // Let the holder take the only instance before the others ask for one.
  await new Promise((r) => setTimeout(r, 300))
  const throttled = await Promise.all(
    Array.from({ length: THROTTLED_CALLS }, () => sdkError(invoke({}))),
  )
  for (const err of throttled) {
    expect(err.httpStatusCode).toBe(429)
  }
  expect((await holder).httpStatusCode).toBe(200)
}, 60_000)

test('listFunctionStatistics counts invocations, errors and throttles of the last minutes', async () => {
  const res = await client.listFunctionStatistics(
    new fg.ListFunctionStatisticsRequest().withFuncUrn(urn).withPeriod('60'),
  )
  expect(res.httpStatusCode).toBe(200)
  expect(res.count).toHaveLength(60)
  expect(res.count[0]).toEqual({ timestamp: expect.any(Number), value: expect.any(Number) })
  expect(total(res.count)).toBe(INVOCATIONS)
  expect(total(res.fail_count)).toBe(FAILING_CALLS)
  expect(total(res.function_error_count)).toBe(FAILING_CALLS)
  expect(total(res.system_error_count)).toBe(0)
  expect(total(res.reject_count)).toBe(THROTTLED_CALLS)
  expect(
    Math.max(...res.max_duration.map((p: { value: number }) => p.value)),
  ).toBeGreaterThanOrEqual(HOLD_MS)
  const ran = res.min_duration.filter((p: { value: number }) => p.value >= 0)
  expect(ran.length).toBeGreaterThan(0)
  // Minutes where nothing ran have no duration.
  expect(res.duration.some((p: { value: number }) => p.value === -1)).toBe(true)
  expect(Math.max(...res.concurrency_num.map((p: { value: number }) => p.value))).toBe(1)
  expect(res).not.toHaveProperty('instance_num')
})

test('showFunctionMetrics answers the same series plus instance_num', async () => {
  const res = await client.showFunctionMetrics(
    new fg.ShowFunctionMetricsRequest().withFuncUrn(urn).withPeriod('5'),
  )
  expect(res.httpStatusCode).toBe(200)
  expect(res.count).toHaveLength(5)
  expect(total(res.count)).toBe(INVOCATIONS)
  expect(total(res.reject_count)).toBe(THROTTLED_CALLS)
  expect(res.instance_num).toHaveLength(5)
  expect(res.reserved_instance_num).toHaveLength(5)
})

test('a period that is not a whole number of minutes is refused', async () => {
  const err = await sdkError(
    client.listFunctionStatistics(
      new fg.ListFunctionStatisticsRequest().withFuncUrn(urn).withPeriod('soon'),
    ),
  )
  expect(err.httpStatusCode).toBe(400)
})

test('listStatistics: monitor_data series of the project and the monthly usage report', async () => {
  const monitor = await client.listStatistics(
    new fg.ListStatisticsRequest().withFilter('monitor_data').withPeriod('60'),
  )
  expect(total(monitor.statistics.count)).toBe(INVOCATIONS)
  expect(total(monitor.statistics.reject_count)).toBe(THROTTLED_CALLS)
  const report = await client.listStatistics(
    new fg.ListStatisticsRequest().withFilter('monthly_report'),
  )
  const month = new Date().toISOString().slice(0, 7)
  expect(report.count).toEqual([{ date: month, value: INVOCATIONS }])
  // 256 MB for at least HOLD_MS in all.
  expect(report.gbs[0].date).toBe(month)
  expect(report.gbs[0].value).toBeGreaterThanOrEqual(0.25 * (HOLD_MS / 1000))
  expect(report.gpu_gbs).toEqual([{ date: month, value: 0 }])
})

test('listFunctionAsMetric ranks the project functions by a metric', async () => {
  const res = await client.listFunctionAsMetric(
    new fg.ListFunctionAsMetricRequest()
      .withType('reject_count')
      .withStartTime(String(Date.now() - 3_600_000))
      .withEndTime(String(Date.now() + 1))
      .withLimit('5'),
  )
  expect(res.values).toEqual([{ key: `default/${NAME}`, value: THROTTLED_CALLS }])
  expect(res.count).toBe(1)
  const byCount = await client.listFunctionAsMetric(new fg.ListFunctionAsMetricRequest())
  expect(byCount.values).toEqual([{ key: `default/${NAME}`, value: INVOCATIONS }])
})

/** One sample of the Prometheus text, by its name and exact label text. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
}

test('/metrics, scraped after the workload, counts it', async () => {
  const res = await fetch(`${strato.url}/metrics`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toContain('text/plain')
  const text = await res.text()
  const fn = `project="${PROJECT_ID}",function="default/${NAME}"`
  expect(sample(text, 'strato_invocations_total', fn)).toBe(INVOCATIONS)
  expect(sample(text, 'strato_throttles_total', fn)).toBe(THROTTLED_CALLS)
  expect(
    sample(text, 'strato_invocation_errors_total', `${fn},kind="function",error_type="Error"`),
  ).toBe(FAILING_CALLS)
  expect(sample(text, 'strato_cold_starts_total', fn)).toBe(1)
  expect(sample(text, 'strato_invocation_duration_seconds_count', fn)).toBe(INVOCATIONS)
  expect(sample(text, 'strato_invocation_duration_seconds_bucket', `${fn},le="+Inf"`)).toBe(
    INVOCATIONS,
  )
  expect(sample(text, 'strato_invocation_duration_seconds_sum', fn)).toBeGreaterThanOrEqual(
    HOLD_MS / 1000,
  )
  expect(sample(text, 'strato_init_duration_seconds_count', fn)).toBe(1)
  expect(sample(text, 'strato_queue_wait_seconds_count', fn)).toBe(INVOCATIONS)
  expect(sample(text, 'strato_instances', 'state="idle"')).toBe(1)
  expect(sample(text, 'strato_instances', 'state="busy"')).toBe(0)
  expect(text).toMatch(/^strato_async_queue_depth 0$/m)
  // The GB-seconds Prometheus sees are the ones billed.
  const gbs = sample(text, 'strato_gb_seconds_total', fn) ?? -1
  const report = await client.listStatistics(
    new fg.ListStatisticsRequest().withFilter('monthly_report'),
  )
  expect(gbs).toBeCloseTo(report.gbs[0].value, 4)
})

test('strato usage shows the requests and GB-seconds of the hour', async () => {
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, 'bin/strato.js'), 'usage', '--hours', '2'],
      {
        encoding: 'utf8',
        timeout: 30_000,
        env: {
          PATH: process.env.PATH ?? '',
          STRATO_ENDPOINT: strato.url,
          STRATO_PROJECT_ID: PROJECT_ID,
          STRATO_ACCESS_KEY: ACCESS_KEY,
          STRATO_SECRET_KEY: SECRET_KEY,
        },
      },
      (err, stdout, stderr) =>
        err === null ? resolve(stdout) : reject(new Error(`${err.message}\n${stderr}`)),
    )
  })
  const report = await client.listStatistics(
    new fg.ListStatisticsRequest().withFilter('monthly_report'),
  )
  const row = out.split('\n').find((l) => l.startsWith(`default/${NAME} `))
  expect(row).toBeDefined()
  const [, requests, gbSeconds] = (row ?? '').trim().split(/\s+/)
  expect(Number(requests)).toBe(INVOCATIONS)
  expect(Number(gbSeconds)).toBeCloseTo(report.gbs[0].value, 4)
  expect(out).toMatch(/^TOTAL\s+8\s+/m)
})
