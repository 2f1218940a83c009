/**
 * bench/run.ts's async phase: accepted/s (each 202 leaves after its event is committed) against
 * the async endpoint, then the end-to-end drain rate until no event waits or runs.
 */
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import { EVENT_BODY } from './lib/bare-server.js'
import type { ReportProblem } from './lib/child-processes.js'
import { round } from './lib/report.js'
import {
  createHelloFunction,
  deleteFunction,
  setMaxInstances,
  type SdkClient,
} from './lib/sdk-client.js'
import { BENCH_PROJECT_ID, signedRequest } from './lib/signed-request.js'

export interface AsyncResult {
  connections: number
  maxInstances: number
  acceptSeconds: number
  accepted: number
  acceptedPerSec: number
  acceptLatencyP50: number
  acceptLatencyP99: number
  non202: number
  errors: number
  /** Events that had already run when acceptance ended. */
  doneWhenAcceptEnded: number
  drainSeconds: number
  /** Everything accepted, divided by the time from the first accept to the last event done. */
  endToEndPerSec: number
  /** Events done after acceptance ended, per second: the drain rate with no accepts competing. */
  drainOnlyPerSec: number
  failedOrDiscarded: number
}

export interface AsyncSettings {
  readonly connections: number
  readonly maxInstances: number
  readonly durationS: number
}

/** How many records of the function have `status` ('active': WAIT or RUNNING). */
async function asyncCount(stratoUrl: string, urn: string, status: string): Promise<number> {
  const url =
    status === 'active'
      ? `${stratoUrl}/v2/${BENCH_PROJECT_ID}/fgs/functions/${urn}/active-async-invocations?limit=1`
      : `${stratoUrl}/v2/${BENCH_PROJECT_ID}/fgs/functions/${urn}/async-invocations?status=${status}&limit=1`
  const { headers } = signedRequest('GET', url, undefined)
  const res = await fetch(url, { headers })
  if (res.status !== 200) {
    throw new Error(`listing async records answered ${res.status}: ${await res.text()}`)
  }
  return ((await res.json()) as { count: number }).count
}

export async function asyncBench(
  stratoUrl: string,
  client: SdkClient,
  runId: string,
  settings: AsyncSettings,
  report: ReportProblem,
): Promise<AsyncResult> {
  const { connections, maxInstances, durationS } = settings
  const urn = await createHelloFunction(client, `async-${runId}`)
  await setMaxInstances(client, urn, maxInstances)
  const { url, headers } = signedRequest(
    'POST',
    `${stratoUrl}/v2/${BENCH_PROJECT_ID}/fgs/functions/${urn}/invocations-async`,
    EVENT_BODY,
  )
  const t0 = performance.now()
  const r = await autocannon({
    url,
    method: 'POST',
    headers,
    body: EVENT_BODY,
    connections,
    pipelining: 1,
    timeout: 10,
    duration: durationS,
  })
  const tAccepted = performance.now()
  const accepted = r.statusCodeStats['202']?.count ?? 0
  const doneWhenAcceptEnded = await asyncCount(stratoUrl, urn, 'SUCCESS')
  // Drain: until nothing waits or runs (or 5 minutes).
  for (const deadline = Date.now() + 300_000; Date.now() < deadline;) {
    const [waiting, running] = await Promise.all([
      asyncCount(stratoUrl, urn, 'WAIT'),
      asyncCount(stratoUrl, urn, 'RUNNING'),
    ])
    if (waiting + running === 0) {
      break
    }
    await sleep(100)
  }
  const tDrained = performance.now()
  const done = await asyncCount(stratoUrl, urn, 'SUCCESS')
  const failedOrDiscarded =
    (await asyncCount(stratoUrl, urn, 'FAIL')) + (await asyncCount(stratoUrl, urn, 'DISCARD'))
  const res: AsyncResult = {
    connections,
    maxInstances,
    acceptSeconds: round((tAccepted - t0) / 1000, 2),
    accepted,
    acceptedPerSec: accepted / ((tAccepted - t0) / 1000),
    acceptLatencyP50: r.latency.p50,
    acceptLatencyP99: r.latency.p99,
    non202: r.requests.total - accepted,
    errors: r.errors,
    doneWhenAcceptEnded,
    drainSeconds: round((tDrained - tAccepted) / 1000, 2),
    endToEndPerSec: done / ((tDrained - t0) / 1000),
    drainOnlyPerSec:
      tDrained > tAccepted ? (done - doneWhenAcceptEnded) / ((tDrained - tAccepted) / 1000) : 0,
    failedOrDiscarded,
  }
  if (res.non202 > 0 || res.errors > 0) {
    report(`async accept: ${res.non202} answers other than 202, ${res.errors} errors`)
  }
  // Requests still in flight when autocannon stopped may have been committed without their 202
  // being counted: at most one per connection.
  if (done < accepted || done > accepted + connections || failedOrDiscarded > 0) {
    report(
      `async drain: ${accepted} accepted, ${done} SUCCESS, ${failedOrDiscarded} FAIL or DISCARD`,
    )
  }
  console.log(
    `  accepted ${accepted} in ${res.acceptSeconds} s: ${Math.round(res.acceptedPerSec)}/s (p50 ${res.acceptLatencyP50} ms, p99 ${res.acceptLatencyP99} ms); ` +
      `drained in ${res.drainSeconds} s more: end to end ${Math.round(res.endToEndPerSec)}/s, after acceptance ${Math.round(res.drainOnlyPerSec)}/s`,
  )
  await deleteFunction(client, urn, report)
  return res
}
