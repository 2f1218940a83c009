/**
 * Cold start and warm latency of every runtime family, measured in one run through the official
 * SDK: for each family in `bench/families/` (one module each, see `lib/family-fixture.ts`), COLD_N
 * new functions are each invoked once with a stem cell of the family ready (`STRATO_STEM_CELLS=1`,
 * the default) and again on a Strato that keeps none (`STRATO_STEM_CELLS=0`), then one function is
 * invoked BENCH_FAMILY_WARM_N times in a row. Part of `npm run bench`; timing never fails it.
 */
import fs from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { ChildProcesses } from './lib/child-processes.js'
import type { FamilyFixture } from './lib/family-fixture.js'
import { getJson } from './lib/http-request.js'
import { describeError, ms, summarize, table, type Summary } from './lib/report.js'
import { deleteFunction, fg, sdkClient, type SdkClient } from './lib/sdk-client.js'
import { BENCH_DIR, COLD_N, envInt, QUICK, RESULTS_DIR } from './lib/settings.js'
import { startBenchStrato, type BenchStrato } from './lib/strato-server.js'

const WARM_N = envInt('BENCH_FAMILY_WARM_N', 200, 20)
/** Longest wait for a family's stem cell to be back before the next cold start. */
const CELL_WAIT_MS = envInt('BENCH_CELL_WAIT_MS', 15_000)
/** Only these families (`BENCH_FAMILIES=Java17,PHP8.3`), by fixture name. */
const ONLY = (process.env.BENCH_FAMILIES ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '')

const problems: string[] = []
const report = (problem: string): void => {
  problems.push(problem)
}
const processes = new ChildProcesses(report)
processes.stopOnExit('bench families')

interface FamilyResult {
  family: string
  runtime: string
  coldStemCell?: Summary
  coldNoCell?: Summary
  warm?: Summary
  skipped?: string
}

async function loadFixtures(): Promise<FamilyFixture[]> {
  const dir = path.join(BENCH_DIR, 'families')
  const fixtures: FamilyFixture[] = []
  for (const file of fs.readdirSync(dir).sort()) {
    if (!file.endsWith('.ts')) {
      continue
    }
    const mod = (await import(path.join(dir, file))) as { family?: FamilyFixture }
    if (mod.family !== undefined && (ONLY.length === 0 || ONLY.includes(mod.family.name))) {
      fixtures.push(mod.family)
    }
  }
  // The built-in families first, as a baseline for the others.
  const first = ['Node.js', 'Python']
  return fixtures.sort(
    (a, b) =>
      (first.indexOf(a.name) + 1 || 99) - (first.indexOf(b.name) + 1 || 99) ||
      a.name.localeCompare(b.name),
  )
}

async function createFunction(
  client: SdkClient,
  name: string,
  fixture: FamilyFixture,
  zip: Buffer,
): Promise<string> {
  const res = await client.createFunction(
    new fg.CreateFunctionRequest().withBody(
      new fg.CreateFunctionRequestBody()
        .withFuncName(name)
        .withPackage('default')
        .withRuntime(fixture.runtime)
        .withHandler(fixture.handler)
        .withMemorySize(256)
        .withTimeout(30)
        .withCodeType('zip')
        .withFuncCode(new fg.FuncCode().withFile(zip.toString('base64'))),
    ),
  )
  const raw = res as unknown as { func_urn?: string }
  if (raw.func_urn === undefined) {
    throw new Error(`createFunction ${name}: no func_urn in the answer`)
  }
  return raw.func_urn
}

/** Invokes through the SDK with the v1 envelope; whether the function gave its hello answer. */
async function sdkInvoke(client: SdkClient, urn: string, fixture: FamilyFixture): Promise<boolean> {
  const res = await client.invokeFunction(
    new fg.InvokeFunctionRequest()
      .withFunctionUrn(urn)
      .withXCFFRequestVersion('v1')
      .withBody({ hello: 'world' } as unknown as Record<string, object>),
  )
  return (
    res.httpStatusCode === 200 &&
    res.status === 200 &&
    (res.result ?? '').includes(fixture.answerContains ?? 'hello')
  )
}

async function stemCells(strato: BenchStrato): Promise<number> {
  const info = (await getJson(`${strato.url}/strato/info`)) as { stemCells?: number }
  return info.stemCells ?? 0
}

/** Waits until the pre-started cells are back to `count` (the family's cell refilled). */
async function cellsBack(strato: BenchStrato, count: number): Promise<void> {
  const until = Date.now() + CELL_WAIT_MS
  while (Date.now() < until) {
    if ((await stemCells(strato)) >= count) {
      return
    }
    await sleep(25)
  }
  report(`stem cells did not come back to ${count} within ${CELL_WAIT_MS} ms`)
}

/** COLD_N first invokes of new functions; returns the summary and the functions made. */
async function coldStarts(
  strato: BenchStrato,
  client: SdkClient,
  fixture: FamilyFixture,
  zip: Buffer,
  tag: string,
  withCells: boolean,
): Promise<{ summary: Summary; urns: string[] }> {
  const urns: string[] = []
  const invoke = async (i: number): Promise<number> => {
    const urn = await createFunction(client, `bf-${tag}-${i}`, fixture, zip)
    urns.push(urn)
    if (withCells) {
      await cellsBack(strato, baseline)
    }
    const t0 = performance.now()
    try {
      if (!(await sdkInvoke(client, urn, fixture))) {
        report(`${fixture.name} cold start ${i}: not a 200 hello answer`)
      }
    } catch (err) {
      report(`${fixture.name} cold start ${i}: ${describeError(err)}`)
    }
    return performance.now() - t0
  }
  // One untimed first invoke: from then on the family's cells are kept at 256 MB. The number of
  // cells of every family once they are all booted is what "a cell is ready" means below.
  let baseline = 0
  await invoke(0)
  if (withCells) {
    await settle(strato)
    baseline = await stemCells(strato)
  }
  const samples: number[] = []
  for (let i = 1; i <= COLD_N; i++) {
    samples.push(await invoke(i))
  }
  return { summary: summarize(samples), urns }
}

/** Waits until the number of stem cells stops changing (cells of every family booted). */
async function settle(strato: BenchStrato): Promise<void> {
  let last = -1
  const until = Date.now() + CELL_WAIT_MS
  while (Date.now() < until) {
    const now = await stemCells(strato)
    if (now === last) {
      return
    }
    last = now
    await sleep(500)
  }
}

async function warm(client: SdkClient, urn: string, fixture: FamilyFixture): Promise<Summary> {
  const name = fixture.name
  for (let i = 0; i < 10; i++) {
    await sdkInvoke(client, urn, fixture)
  }
  const samples: number[] = []
  let failures = 0
  for (let i = 0; i < WARM_N; i++) {
    const t0 = performance.now()
    if (!(await sdkInvoke(client, urn, fixture).catch(() => false))) {
      failures++
    }
    samples.push(performance.now() - t0)
  }
  if (failures > 0) {
    report(`${name} warm: ${failures}/${WARM_N} failed`)
  }
  return summarize(samples)
}

async function main(): Promise<void> {
  const fixtures = await loadFixtures()
  const results: FamilyResult[] = []
  const zips = new Map<FamilyFixture, Buffer>()
  for (const fixture of fixtures) {
    const zip = await fixture.zip().catch((err: unknown) => {
      report(`${fixture.name}: building its package failed: ${describeError(err)}`)
      return undefined
    })
    if (zip === undefined) {
      results.push({
        family: fixture.name,
        runtime: fixture.runtime,
        skipped: fixture.skipReason?.() ?? 'its package could not be built',
      })
      continue
    }
    zips.set(fixture, zip)
  }
  const byName = new Map(results.map((r) => [r.family, r]))
  const resultOf = (f: FamilyFixture): FamilyResult => {
    let r = byName.get(f.name)
    if (r === undefined) {
      r = { family: f.name, runtime: f.runtime }
      byName.set(f.name, r)
      results.push(r)
    }
    return r
  }

  fs.mkdirSync(RESULTS_DIR, { recursive: true })
  for (const withCells of [true, false]) {
    const strato = await startBenchStrato(processes, report, {
      env: { STRATO_STEM_CELLS: withCells ? '1' : '0' },
      logFile: path.join(RESULTS_DIR, `families-strato-${withCells ? 'cells' : 'nocells'}.log`),
    })
    const client = sdkClient(strato.url)
    try {
      if (withCells) {
        await settle(strato)
      }
      for (const [fixture, zip] of zips) {
        const tag = `${fixture.name.replace(/[^A-Za-z0-9]/g, '').toLowerCase()}-${withCells ? 'c' : 'n'}`
        console.log(
          `${fixture.name}: cold starts ${withCells ? 'from a stem cell' : 'without stem cells'}`,
        )
        try {
          const { summary, urns } = await coldStarts(strato, client, fixture, zip, tag, withCells)
          const r = resultOf(fixture)
          if (withCells) {
            r.coldStemCell = summary
            const last = urns[urns.length - 1]
            if (last !== undefined) {
              console.log(`${fixture.name}: warm latency`)
              r.warm = await warm(client, last, fixture)
            }
          } else {
            r.coldNoCell = summary
          }
          for (const urn of urns) {
            await deleteFunction(client, urn, report)
          }
        } catch (err) {
          report(`${fixture.name}: ${describeError(err)}`)
        }
      }
    } finally {
      await strato.stop()
    }
  }

  const row = (s: Summary | undefined): string[] =>
    s === undefined ? ['n/a', 'n/a'] : [ms(s.p50), ms(s.p90)]
  console.log(
    '\nPer family (ms; SDK invoke of a hello function, 256 MB' +
      (QUICK ? ', BENCH_QUICK: not a measurement' : '') +
      ')',
  )
  console.log(
    table(
      [
        'family',
        'runtime',
        'cold, stem cell p50',
        'p90',
        'cold, no cell p50',
        'p90',
        'warm p50',
        'warm p99',
      ],
      results.map((r) =>
        r.skipped !== undefined
          ? [r.family, r.runtime, `skipped: ${r.skipped}`, '', '', '', '', '']
          : [
              r.family,
              r.runtime,
              ...row(r.coldStemCell),
              ...row(r.coldNoCell),
              r.warm === undefined ? 'n/a' : ms(r.warm.p50),
              r.warm === undefined ? 'n/a' : ms(r.warm.p99),
            ],
      ),
    ),
  )
  fs.mkdirSync(RESULTS_DIR, { recursive: true })
  fs.writeFileSync(
    path.join(RESULTS_DIR, 'families.json'),
    `${JSON.stringify({ at: new Date().toISOString(), coldN: COLD_N, warmN: WARM_N, results, problems }, null, 2)}\n`,
  )
  if (problems.length > 0) {
    console.log('\nProblems:')
    for (const p of problems) {
      console.log(`  - ${p}`)
    }
  }
  const unmeasured = results.filter((r) => r.skipped === undefined && r.coldStemCell === undefined)
  process.exitCode = unmeasured.length > 0 ? 1 : 0
}

main()
  .catch((err: unknown) => {
    console.error(describeError(err))
    process.exitCode = 1
  })
  .finally(() => processes.cleanup())
