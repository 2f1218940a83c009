/**
 * @module Strato's settings: read once from the environment, validated, defaulted with units, frozen.
 * This is the only module that reads environment variables (main.ts hands it `process.env`).
 */
import { createHash } from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import { Limits, StratoError } from '../core/index.js'
import { parseEgressSettings, type EgressSettings } from './egress-settings.js'

export interface AsyncSettings {
  /** Async attempts running at once, all functions together. */
  readonly concurrency: number
  /** How often the dispatcher looks for due events when nothing wakes it earlier. */
  readonly pollMs: number
  /** Backoff before the retry after the first function error; doubles each time, jittered. */
  readonly retryBaseMs: number
  /** Backoff after the first system error (throttled, start failed, lost lease); doubles. */
  readonly systemRetryBaseMs: number
  /** Upper bound of the system-error backoff. */
  readonly systemRetryMaxMs: number
  /** A lease lasts the function's timeout plus this before the event is redelivered. */
  readonly leaseGraceMs: number
  /** Commit accepted events with an fsync (survives power loss), not only a WAL write. */
  readonly fsync: boolean
}

/**
 * Cluster mode (docs/cluster.md): where shared state lives. Both URLs unset is the embedded
 * default (SQLite, in-process queue and change feed); a cluster needs both.
 */
export interface ClusterSettings {
  /** `postgres://…` for the shared store; undefined: embedded SQLite in the data dir. */
  readonly storeUrl: string | undefined
  /** `nats://…` (JetStream) for changes, membership, leases and code objects; undefined: in-process. */
  readonly natsUrl: string | undefined
  /** Starts every NATS stream, subject, bucket and consumer name: several clusters share one NATS. */
  readonly natsPrefix: string
  /** This node's name in the cluster; stable across restarts of the same data dir by default. */
  readonly nodeId: string
  /** The master key sealing secrets; every node of a cluster must hold the same one. */
  readonly masterKeyFile: string
}

export interface Config {
  readonly host: string
  readonly port: number
  /** Absolute path of the data dir: database, code store, master key, instance dirs. */
  readonly dataDir: string
  readonly region: string
  /** The root tenant created on first start; generated when not given. */
  readonly bootstrap: {
    readonly projectId: string | undefined
    readonly accessKey: string | undefined
    readonly secretKey: string | undefined
  }
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** An idle instance is stopped after this long without a request. */
  readonly idleTtlMs: number
  /** How long a sync invocation waits for a free instance before 429. */
  readonly queueWaitMs: number
  /** Deadline for an instance to load its runtime and code (the initializer has its own). */
  readonly instanceStartTimeoutMs: number
  /** Accepted distance between `X-Sdk-Date` and the server clock. */
  readonly authClockSkewMs: number
  /** Upper bound on instances of one function, whatever `strategy_config` asks. */
  readonly maxInstancesPerFunction: number
  /** Quotas, FunctionGraph's by default, settable per deployment. */
  readonly quotas: Limits.Quotas
  /** Invocation logs older than this are deleted (checked hourly). */
  readonly logRetentionMs: number
  /** Bearer token `/metrics` requires when `host` is not loopback (unset: refused there). */
  readonly metricsToken: string | undefined
  /** Audit records (CTS traces) older than this are deleted (checked hourly). */
  readonly auditRetentionMs: number
  /** A request whose body has not fully arrived by then gets 408. */
  readonly requestTimeoutMs: number
  /** On shutdown, invocations still running after this long are stopped. */
  readonly shutdownGraceMs: number
  /** Asynchronous invocation: the queue's commit mode, the dispatcher and the retry policy. */
  readonly async: AsyncSettings
  /** Interpreters for the runtime families. */
  readonly nodeCommand: string
  readonly pythonCommand: string
  readonly phpCommand: string
  readonly javaCommand: string
  /** The API gateway's port (APIG triggers); `0` picks a free one. */
  readonly gatewayPort: number
  /** The sandbox level to use; `auto` takes the strongest this machine supports. */
  readonly isolation: IsolationSetting
  /**
   * Pre-started runtime sandboxes kept per runtime launched lately (one for a runtime only
   * prewarmed); 0 turns the pool off.
   */
  readonly stemCells: number
  /** Pre-started runtime sandboxes booted at most at once while the pool refills. */
  readonly stemCellBoots: number
  /** The nice value pre-started sandboxes boot at (0: off); they get 0 when specialised. */
  readonly stemCellBootNice: number
  /**
   * Instances run as host uids from here up (one per live instance), exactly this range; undefined:
   * the first range from 200000 up that no other Strato on this host holds.
   */
  readonly sandboxUidBase: number | undefined
  /** OTLP/HTTP collector base URL (spans go to `<base>/v1/traces`); undefined: no spans. */
  readonly otlpEndpoint: string | undefined
  /** Function flows: how long an engine's lease on an execution lasts unrenewed. */
  readonly flows: { readonly leaseMs: number }
  /** Instances' network beyond their loopback (ADR 0023). */
  readonly egress: EgressSettings
  /** Cluster mode: shared store, NATS, this node's id, the master key file. */
  readonly cluster: ClusterSettings
}

export const ISOLATION_SETTINGS = ['auto', 'bubblewrap', 'unshare', 'rlimits', 'none'] as const
export type IsolationSetting = (typeof ISOLATION_SETTINGS)[number]

export type Env = Readonly<Record<string, string | undefined>>

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

function bad(name: string, value: string, why: string): StratoError {
  return new StratoError('INVALID_PARAMETER', `Setting ${name}=${JSON.stringify(value)}: ${why}.`)
}

function intSetting(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') {
    return fallback
  }
  if (!/^-?\d+$/.test(raw)) {
    throw bad(name, raw, 'not an integer')
  }
  const n = Number(raw)
  if (n < min || n > max) {
    throw bad(name, raw, `must be from ${min} to ${max}`)
  }
  return n
}

/** An http(s) URL setting, without a trailing slash. */
function urlSetting(env: Env, name: string): string | undefined {
  const value = stringSetting(env, name)
  if (value === undefined) {
    return undefined
  }
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw bad(name, value, 'an http:// or https:// URL')
  }
  return value.replace(/\/+$/, '')
}

/** A URL setting of one of `protocols` (e.g. `['postgres:', 'postgresql:']`). */
function serviceUrlSetting(
  env: Env,
  name: string,
  protocols: readonly string[],
): string | undefined {
  const value = stringSetting(env, name)
  if (value === undefined) {
    return undefined
  }
  if (!URL.canParse(value) || !protocols.includes(new URL(value).protocol)) {
    throw bad(name, value, `a ${protocols.map((p) => `${p}//`).join(' or ')} URL`)
  }
  return value
}

/** The cluster settings; `dataDir` is absolute. */
function clusterSettings(env: Env, dataDir: string, cwd: string): ClusterSettings {
  const storeUrl = serviceUrlSetting(env, 'STRATO_STORE_URL', ['postgres:', 'postgresql:'])
  const natsUrl = serviceUrlSetting(env, 'STRATO_NATS_URL', ['nats:', 'tls:'])
  if (natsUrl !== undefined && storeUrl === undefined) {
    // Only the leader runs timers and the CTS/LTS feeds: on separate SQLite stores the other nodes'
    // triggers would never fire.
    throw new StratoError(
      'INVALID_PARAMETER',
      'Setting STRATO_NATS_URL needs STRATO_STORE_URL too: the nodes of a cluster share one PostgreSQL store.',
    )
  }
  const natsPrefix = stringSetting(env, 'STRATO_NATS_PREFIX') ?? 'strato'
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(natsPrefix)) {
    // It starts stream and bucket names too, which allow no '.', '*', '>' or spaces.
    throw bad('STRATO_NATS_PREFIX', natsPrefix, "letters, digits, '-' and '_' only (at most 32)")
  }
  // Stable for a data dir on a host, so a restarted node takes back what it held.
  const fallbackId = `${os.hostname()}-${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}`
  const nodeId = stringSetting(env, 'STRATO_NODE_ID') ?? fallbackId
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(nodeId)) {
    throw bad('STRATO_NODE_ID', nodeId, "letters, digits, '-' and '_' only (at most 64)")
  }
  const keyFile = stringSetting(env, 'STRATO_MASTER_KEY_FILE')
  return Object.freeze({
    storeUrl,
    natsUrl,
    natsPrefix,
    nodeId,
    masterKeyFile:
      keyFile === undefined ? path.join(dataDir, 'master.key') : path.resolve(cwd, keyFile),
  })
}

function stringSetting(env: Env, name: string): string | undefined {
  const raw = env[name]
  return raw === undefined || raw === '' ? undefined : raw
}

/**
 * Parses Strato's settings. `cwd` resolves a relative `STRATO_DATA_DIR`.
 * @example loadConfig({ STRATO_PORT: '0', STRATO_DATA_DIR: '/tmp/x' })
 */
export function loadConfig(env: Env, cwd: string = process.cwd()): Readonly<Config> {
  const projectId = stringSetting(env, 'STRATO_PROJECT_ID')
  if (projectId !== undefined && !/^[A-Za-z0-9]{1,64}$/.test(projectId)) {
    throw bad('STRATO_PROJECT_ID', projectId, 'letters and digits only (FunctionGraph uses 32)')
  }
  const accessKey = stringSetting(env, 'STRATO_ACCESS_KEY')
  const secretKey = stringSetting(env, 'STRATO_SECRET_KEY')
  if ((accessKey === undefined) !== (secretKey === undefined)) {
    throw new StratoError(
      'INVALID_PARAMETER',
      'Settings STRATO_ACCESS_KEY and STRATO_SECRET_KEY go together: give both or neither.',
    )
  }
  if (accessKey !== undefined && !/^[A-Za-z0-9_-]{1,128}$/.test(accessKey)) {
    throw bad('STRATO_ACCESS_KEY', accessKey, "letters, digits, '-' and '_' only")
  }
  const region = stringSetting(env, 'STRATO_REGION') ?? 'local-1'
  if (!/^[a-z0-9-]{1,64}$/.test(region)) {
    throw bad('STRATO_REGION', region, "lowercase letters, digits and '-' only")
  }
  const logLevel = stringSetting(env, 'STRATO_LOG_LEVEL') ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw bad('STRATO_LOG_LEVEL', logLevel, `one of ${LOG_LEVELS.join(', ')}`)
  }
  const isolation = stringSetting(env, 'STRATO_ISOLATION') ?? 'auto'
  if (!(ISOLATION_SETTINGS as readonly string[]).includes(isolation)) {
    throw bad('STRATO_ISOLATION', isolation, `one of ${ISOLATION_SETTINGS.join(', ')}`)
  }
  const dataDir = path.resolve(cwd, stringSetting(env, 'STRATO_DATA_DIR') ?? '.strato-data')
  const config: Config = {
    host: stringSetting(env, 'STRATO_HOST') ?? '127.0.0.1',
    port: intSetting(env, 'STRATO_PORT', 8080, 0, 65535),
    dataDir,
    region,
    bootstrap: { projectId, accessKey, secretKey },
    logLevel: logLevel as Config['logLevel'],
    idleTtlMs: intSetting(env, 'STRATO_IDLE_TTL_MS', 300_000, 1_000, 86_400_000),
    queueWaitMs: intSetting(env, 'STRATO_QUEUE_WAIT_MS', 10_000, 0, 900_000),
    instanceStartTimeoutMs: intSetting(
      env,
      'STRATO_INSTANCE_START_TIMEOUT_MS',
      10_000,
      100,
      600_000,
    ),
    authClockSkewMs: intSetting(env, 'STRATO_AUTH_CLOCK_SKEW_MS', 15 * 60_000, 0, 86_400_000),
    maxInstancesPerFunction: intSetting(env, 'STRATO_MAX_INSTANCES_PER_FUNCTION', 1000, 1, 100_000),
    quotas: {
      functionsPerProject: intSetting(
        env,
        'STRATO_FUNCTIONS_PER_PROJECT',
        Limits.DEFAULT_QUOTAS.functionsPerProject,
        1,
        1_000_000,
      ),
      versionsPerFunction: intSetting(
        env,
        'STRATO_VERSIONS_PER_FUNCTION',
        Limits.DEFAULT_QUOTAS.versionsPerFunction,
        1,
        10_000,
      ),
      aliasesPerFunction: intSetting(
        env,
        'STRATO_ALIASES_PER_FUNCTION',
        Limits.DEFAULT_QUOTAS.aliasesPerFunction,
        0,
        10_000,
      ),
      codePackageMaxBytes: intSetting(
        env,
        'STRATO_CODE_PACKAGE_MAX_BYTES',
        Limits.DEFAULT_QUOTAS.codePackageMaxBytes,
        1024,
        1024 ** 3,
      ),
      codeUnzippedMaxBytes: intSetting(
        env,
        'STRATO_CODE_UNZIPPED_MAX_BYTES',
        Limits.DEFAULT_QUOTAS.codeUnzippedMaxBytes,
        1024,
        64 * 1024 ** 3,
      ),
      codeTotalMaxBytes: intSetting(
        env,
        'STRATO_CODE_TOTAL_MAX_BYTES',
        Limits.DEFAULT_QUOTAS.codeTotalMaxBytes,
        1024,
        1024 ** 4,
      ),
      accountConcurrency: intSetting(
        env,
        'STRATO_ACCOUNT_CONCURRENCY',
        Limits.DEFAULT_QUOTAS.accountConcurrency,
        1,
        1_000_000,
      ),
    },
    logRetentionMs: intSetting(env, 'STRATO_LOG_RETENTION_HOURS', 168, 1, 87_600) * 3_600_000,
    metricsToken: stringSetting(env, 'STRATO_METRICS_TOKEN'),
    auditRetentionMs: intSetting(env, 'STRATO_AUDIT_RETENTION_DAYS', 7, 1, 3_650) * 86_400_000,
    requestTimeoutMs: intSetting(env, 'STRATO_REQUEST_TIMEOUT_MS', 120_000, 1_000, 3_600_000),
    shutdownGraceMs: intSetting(env, 'STRATO_SHUTDOWN_GRACE_MS', 10_000, 0, 3_600_000),
    async: Object.freeze({
      concurrency: intSetting(env, 'STRATO_ASYNC_CONCURRENCY', 64, 1, 10_000),
      pollMs: intSetting(env, 'STRATO_ASYNC_POLL_MS', 100, 5, 60_000),
      retryBaseMs: intSetting(env, 'STRATO_ASYNC_RETRY_BASE_MS', 60_000, 1, 3_600_000),
      systemRetryBaseMs: intSetting(env, 'STRATO_ASYNC_SYSTEM_RETRY_BASE_MS', 1_000, 1, 3_600_000),
      systemRetryMaxMs: intSetting(env, 'STRATO_ASYNC_SYSTEM_RETRY_MAX_MS', 300_000, 1, 86_400_000),
      leaseGraceMs: intSetting(env, 'STRATO_ASYNC_LEASE_GRACE_MS', 30_000, 100, 3_600_000),
      fsync: intSetting(env, 'STRATO_ASYNC_FSYNC', 1, 0, 1) === 1,
    }),
    nodeCommand: stringSetting(env, 'STRATO_NODE') ?? process.execPath,
    pythonCommand: stringSetting(env, 'STRATO_PYTHON') ?? 'python3',
    phpCommand: stringSetting(env, 'STRATO_PHP') ?? 'php',
    javaCommand: stringSetting(env, 'STRATO_JAVA') ?? 'java',
    isolation: isolation as IsolationSetting,
    gatewayPort: intSetting(env, 'STRATO_GATEWAY_PORT', 8081, 0, 65535),
    stemCells: intSetting(env, 'STRATO_STEM_CELLS', 20, 0, 64),
    stemCellBoots: intSetting(env, 'STRATO_STEM_CELL_BOOTS', 2, 1, 16),
    stemCellBootNice: intSetting(env, 'STRATO_STEM_CELL_BOOT_NICE', 10, 0, 19),
    sandboxUidBase:
      stringSetting(env, 'STRATO_SANDBOX_UID_BASE') === undefined
        ? undefined
        : intSetting(env, 'STRATO_SANDBOX_UID_BASE', 0, 1_000, 4_000_000_000),
    otlpEndpoint: urlSetting(env, 'STRATO_OTLP_ENDPOINT'),
    flows: Object.freeze({
      leaseMs: intSetting(env, 'STRATO_FLOW_LEASE_MS', 30_000, 100, 3_600_000),
    }),
    egress: parseEgressSettings(env),
    cluster: clusterSettings(env, dataDir, cwd),
  }
  return Object.freeze({
    ...config,
    bootstrap: Object.freeze(config.bootstrap),
    quotas: Object.freeze(config.quotas),
  })
}
