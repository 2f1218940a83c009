/**
 * A Strato for the bench: `node dist/main.js` in its own process on a free port, with a fresh data
 * dir and the bench's keys. Stopping it also kills the process groups of function instances it
 * left behind (reported as a problem) and removes the data dir; both happen on Ctrl-C too.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  waitUntilReady,
  type Child,
  type ChildProcesses,
  type ReportProblem,
} from './child-processes.js'
import { freePort } from './free-port.js'
import { getJson } from './http-request.js'
import { STRATO_MAIN, stratoNodeArgs } from './settings.js'
import { BENCH_ACCESS_KEY, BENCH_PROJECT_ID, BENCH_SECRET_KEY } from './signed-request.js'

export interface StratoLog {
  readonly file: string
  readonly counts: { warn: number; error: number; other: number }
  /** The first few error lines, and lines that are not pino's. */
  readonly samples: string[]
}

export interface BenchStrato {
  readonly child: Child
  readonly url: string
  /** The API gateway's base URL, when `gateway` was asked for. */
  readonly gatewayUrl: string | undefined
  readonly dataDir: string
  /** What Strato printed, when `logFile` was given. */
  readonly log: StratoLog | undefined
  /** Stops Strato, kills instances it left behind and removes its data dir. */
  stop(): Promise<void>
}

export interface BenchStratoOptions {
  /** `STRATO_…` settings over the bench's (log level `warn`, the bench's keys). */
  readonly env?: Record<string, string>
  /** Start the API gateway on a free port too (otherwise it takes any port and goes unused). */
  readonly gateway?: boolean
  /** Write Strato's output there and count its levels; otherwise stderr is passed through. */
  readonly logFile?: string
  /** Prefix of the data dir's name under the OS temp dir. */
  readonly dataDirPrefix?: string
}

export async function startBenchStrato(
  processes: ChildProcesses,
  report: ReportProblem,
  options: BenchStratoOptions = {},
): Promise<BenchStrato> {
  if (!fs.existsSync(STRATO_MAIN)) {
    throw new Error(`${STRATO_MAIN} is missing: run 'npm run build' first (npm run bench does)`)
  }
  const port = await freePort()
  const gatewayPort = options.gateway === true ? await freePort() : 0
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), options.dataDirPrefix ?? 'strato-bench-'))
  const removeDataDir = (): void => {
    const leftovers = reapInstances(dataDir)
    if (leftovers > 0) {
      report(
        `${leftovers} function instance process group(s) were still alive after Strato stopped; killed`,
      )
    }
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
  const unregister = processes.afterStop(removeDataDir)
  const child = processes.start(
    'Strato',
    [...stratoNodeArgs(), STRATO_MAIN],
    {
      PATH: process.env.PATH,
      STRATO_PORT: String(port),
      STRATO_GATEWAY_PORT: String(gatewayPort),
      STRATO_HOST: '127.0.0.1',
      STRATO_DATA_DIR: dataDir,
      STRATO_PROJECT_ID: BENCH_PROJECT_ID,
      STRATO_ACCESS_KEY: BENCH_ACCESS_KEY,
      STRATO_SECRET_KEY: BENCH_SECRET_KEY,
      STRATO_LOG_LEVEL: 'warn',
      ...options.env,
    },
    {
      stdio: options.logFile === undefined ? ['ignore', 'ignore', 'inherit'] : undefined,
    },
  )
  const log = options.logFile === undefined ? undefined : writeLog(child, options.logFile)
  const url = `http://127.0.0.1:${port}`
  const strato: BenchStrato = {
    child,
    url,
    gatewayUrl: options.gateway === true ? `http://127.0.0.1:${gatewayPort}` : undefined,
    dataDir,
    log,
    async stop() {
      await processes.stop(child)
      if (unregister()) {
        removeDataDir()
      }
    },
  }
  await waitUntilReady('Strato health', child, async () => {
    const res = await fetch(`${url}/strato/health`, { signal: AbortSignal.timeout(1000) })
    return res.status === 200
  })
  return strato
}

/** Copies Strato's stdout and stderr to `file`, counting lines by pino level. */
function writeLog(child: Child, file: string): StratoLog {
  const out = fs.createWriteStream(file)
  const log: StratoLog = { file, counts: { warn: 0, error: 0, other: 0 }, samples: [] }
  const onLine = (line: string): void => {
    out.write(`${line}\n`)
    let level = 0
    try {
      const parsed = JSON.parse(line) as { level?: unknown }
      level = typeof parsed.level === 'number' ? parsed.level : 0
    } catch {
      // not pino output
    }
    if (level >= 50) {
      log.counts.error++
    } else if (level >= 40) {
      log.counts.warn++
    } else {
      log.counts.other++
    }
    if ((level >= 50 || level === 0) && log.samples.length < 5) {
      log.samples.push(line.length > 400 ? `${line.slice(0, 400)}...` : line)
    }
  }
  for (const stream of [child.proc.stdout, child.proc.stderr]) {
    if (stream !== null) {
      readline.createInterface({ input: stream }).on('line', onLine)
    }
  }
  void child.exited.then(() => out.end())
  return log
}

function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

/**
 * Kills the process groups of function instances still recorded under `<dataDir>/instances`
 * (each instance leads its own group and writes `pid <start time>` there). Returns how many.
 */
function reapInstances(dataDir: string): number {
  const dir = path.join(dataDir, 'instances')
  let ids: string[]
  try {
    ids = fs.readdirSync(dir)
  } catch {
    return 0
  }
  let killed = 0
  for (const id of ids) {
    let pidText: string | undefined
    let startTime: string | undefined
    try {
      ;[pidText, startTime] = fs
        .readFileSync(path.join(dir, id, 'pid'), 'utf8')
        .trim()
        .split(' ')
    } catch {
      continue
    }
    const pid = Number(pidText)
    if (!Number.isInteger(pid) || pid <= 1) {
      continue
    }
    const now = processStartTime(pid)
    if (now !== undefined && startTime !== undefined && startTime !== '' && now !== startTime) {
      continue // a recycled pid: not ours
    }
    try {
      process.kill(-pid, 'SIGKILL')
      killed++
    } catch {
      // the group is gone
    }
  }
  return killed
}

interface InstanceCounts {
  idle?: number
  busy?: number
  starting?: number
}

async function instanceCounts(url: string): Promise<InstanceCounts | undefined> {
  const info = (await getJson(`${url}/strato/info`)) as { instances?: InstanceCounts }
  return info.instances
}

/**
 * Waits (up to `timeoutMs`) until Strato has no busy or starting instance: autocannon closes its
 * connections at the end of a run, but requests already queued inside Strato still run.
 */
export async function waitIdle(url: string, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const i = await instanceCounts(url).catch(() => undefined)
    if (i !== undefined && (i.busy ?? 0) === 0 && (i.starting ?? 0) === 0) {
      return true
    }
    await sleep(50)
  }
  return false
}

/** How many instances Strato has (idle, busy or starting); undefined when it does not say. */
export async function liveInstances(url: string): Promise<number | undefined> {
  const i = await instanceCounts(url).catch(() => undefined)
  return i === undefined ? undefined : (i.idle ?? 0) + (i.busy ?? 0) + (i.starting ?? 0)
}
