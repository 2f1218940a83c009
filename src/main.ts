/**
 * @module Composition root: settings → store → sandbox and instance pool → API → listen, and a
 * graceful shutdown. The only module that names concrete implementations.
 */
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './api/index.js'
import { FunctionLifecycleService, ResolutionService } from './services/index.js'
import { ApigGateway, TriggerSources, type TriggerSource } from './triggers/index.js'
import { AsyncDispatcher, RetryPolicy } from './async/index.js'
import { RequestVerifier } from './auth/index.js'
import { loadConfig, type Config, type Env } from './config/index.js'
import { StratoError } from './core/index.js'
import { createLogger, type Logger } from './observability/index.js'
import {
  DEFAULT_UID_REGISTRY_FILE,
  InstanceLauncher,
  detectSandbox,
  reapLeftoverInstances,
  sandboxScope,
} from './runtime/index.js'
import { InstancePool } from './scheduler/index.js'
import {
  CodeCollector,
  formatCredentialExports,
  openStore,
  writeRootCredentialsFile,
  type BootstrapOutcome,
  type Store,
} from './store/index.js'

export interface RunningStrato {
  readonly config: Config
  readonly url: string
  readonly app: FastifyInstance
  readonly store: Store
  readonly pool: InstancePool
  readonly dispatcher: AsyncDispatcher
  /** The API gateway's base URL (APIG triggers). */
  readonly gatewayUrl: string
  readonly bootstrap: BootstrapOutcome | undefined
  close(): Promise<void>
}

/** A root tenant this start created, with what was made up for it. */
export interface CreatedRootTenant {
  readonly outcome: BootstrapOutcome
  /** Where its credentials were saved (mode 0600), before the tenant was committed. */
  readonly credentialsFile: string
  /** The API endpoint as configured (undefined with port 0: known only once listening). */
  readonly configuredEndpoint: string | undefined
}

export interface StartHooks {
  /**
   * Called as soon as a first start created the root tenant with something made up (key pair or
   * project id), before anything else can fail: whoever started Strato must show it even then.
   */
  readonly onRootTenantCreated?: (created: CreatedRootTenant) => void
}

/** Something a start has opened, and how to close it if a later step fails. */
interface OpenedPart {
  readonly what: string
  readonly close: () => Promise<void> | void
}

/** The URL clients use for a listen address (a wildcard address is reached on loopback). */
function endpointFor(host: string, port: number): string | undefined {
  if (port === 0) {
    return undefined
  }
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`
}

/**
 * Starts Strato with the given settings; resolves once it listens. A start that fails closes
 * whatever it had opened (store and its lock, sandboxes, listeners), so it can be retried at once.
 */
export async function startStrato(
  env: Env,
  logger?: Logger,
  hooks: StartHooks = {},
): Promise<RunningStrato> {
  const config = loadConfig(env)
  const log = logger ?? createLogger(config.logLevel)
  // What this start has opened, undone in reverse order if a later step fails.
  const opened: OpenedPart[] = []
  try {
    return await startOpening(config, log, hooks, opened)
  } catch (err) {
    for (const step of opened.reverse()) {
      try {
        await step.close()
      } catch (closeErr) {
        log.error({ err: closeErr }, `closing ${step.what} after a failed start failed`)
      }
    }
    throw err
  }
}

async function startOpening(
  config: Config,
  log: Logger,
  hooks: StartHooks,
  opened: OpenedPart[],
): Promise<RunningStrato> {
  const store = await openStore({
    dataDir: config.dataDir,
    quotas: config.quotas,
    onBackgroundError: (err) => log.error({ err }, 'background store write failed'),
    asyncQueue: { leaseGraceMs: config.async.leaseGraceMs, fsync: config.async.fsync },
  })
  opened.push({ what: 'the store', close: () => store.close() })
  // Generated credentials are saved before the tenant is committed and handed out at once: a start
  // that fails later (a port in use) must not make them unrecoverable.
  const configuredEndpoint = endpointFor(config.host, config.port)
  let created: CreatedRootTenant | undefined
  const bootstrap = await store.tenants.ensureBootstrap(config.bootstrap, {
    beforeCreate: (outcome) => {
      if (outcome.generated || outcome.projectIdGenerated) {
        const credentialsFile = writeRootCredentialsFile(
          config.dataDir,
          outcome,
          configuredEndpoint,
        )
        created = { outcome, credentialsFile, configuredEndpoint }
      }
    },
  })
  if (created !== undefined) {
    hooks.onRootTenantCreated?.(created)
  }

  // 1. The sandbox level this machine supports, said loudly when it is weak.
  const { sandbox, notes } = detectSandbox({
    isolation: config.isolation,
    // Names this data dir's cgroups, so that a restart reaps its own and nobody else's.
    scope: sandboxScope(config.dataDir),
    stateDir: path.join(config.dataDir, 'sandbox'),
    // Reserved host-wide: two Stratos on one host never run instances as the same uid.
    uids: {
      base: config.sandboxUidBase ?? 200_000,
      count: 65_536,
      fixed: config.sandboxUidBase !== undefined,
      registryFile: DEFAULT_UID_REGISTRY_FILE,
      holder: config.dataDir,
    },
    pythonCommand: config.pythonCommand,
  })
  opened.push({ what: 'the sandbox', close: () => sandbox.close() })
  if (config.isolation !== 'auto' && sandbox.level !== config.isolation) {
    throw new StratoError(
      'INVALID_PARAMETER',
      `STRATO_ISOLATION=${config.isolation} is not available here: ${notes.join('; ')}.`,
    )
  }
  if (sandbox.level === 'rlimits' || sandbox.level === 'none') {
    log.warn({ isolation: sandbox.level, why: notes }, sandbox.description)
  } else {
    log.info({ isolation: sandbox.level, notes }, sandbox.description)
  }

  // 2. Leftovers of a crashed run: instance processes, cgroups and dirs, then unreferenced code.
  const instancesDir = path.join(config.dataDir, 'instances')
  const leftovers = await reapLeftoverInstances(instancesDir, sandbox)
  if (leftovers.instances > 0) {
    log.warn(
      {
        reaped: leftovers.instances,
        instanceDirs: leftovers.instanceDirs,
        instanceCgroups: leftovers.instanceCgroups,
      },
      'removed instances left over by a previous run',
    )
  }
  const pruneLogs = (): void => {
    store.logs
      .prune({ before: new Date(Date.now() - config.logRetentionMs) })
      .catch((err: unknown) => log.error({ err }, 'pruning invocation logs failed'))
    // Finished async records and dead letters follow the same retention as logs.
    store.asyncQueue
      .prune(Date.now() - config.logRetentionMs)
      .catch((err: unknown) => log.error({ err }, 'pruning async records failed'))
  }
  pruneLogs()
  const pruneTimer = setInterval(pruneLogs, 3_600_000)
  pruneTimer.unref()
  opened.push({ what: 'the log pruning timer', close: () => clearInterval(pruneTimer) })

  const launcher = new InstanceLauncher({
    sandbox,
    instancesDir,
    interpreterCommands: { node: config.nodeCommand, python: config.pythonCommand },
    startTimeoutMs: config.instanceStartTimeoutMs,
    stemCells: config.stemCells,
    onBackgroundError: (err) => log.warn({ err }, 'starting a pre-started runtime sandbox failed'),
  })
  opened.push({ what: 'the launcher', close: () => launcher.close() })
  const interpreters = launcher.interpreters()
  for (const [family, path] of Object.entries(interpreters)) {
    if (path === undefined) {
      log.warn(
        { family },
        `no ${family} interpreter found: functions of this family will not start`,
      )
    }
  }
  // FunctionGraph's default memory size; other sizes get cells once they are launched.
  launcher.prewarmAvailable(128)
  const pool = new InstancePool({
    launcher,
    code: store.code,
    logs: store.logs,
    logger: log,
    region: config.region,
    idleTtlMs: config.idleTtlMs,
    queueWaitMs: config.queueWaitMs,
    maxInstancesPerFunction: config.maxInstancesPerFunction,
    openSecret: (sealed) => store.secrets.open(sealed),
    // Dependency trees are checked against their digests before an instance starts, like code.
    dependencyDirs: async (fn) => {
      const dirs: string[] = []
      for (const id of fn.dependVersionList) {
        const dep = await store.dependencies.getById(fn.projectId, id)
        dirs.push(await store.code.verify(dep.digest))
      }
      return dirs
    },
  })
  opened.push({ what: 'the instance pool', close: () => pool.close() })

  // Code no function references and no instance runs is removed at start, every 10 minutes and
  // right after a delete. What cannot be removed is logged and skipped: it never stops a start.
  const codeCollector = new CodeCollector({
    code: store.code,
    functions: store.functions,
    versions: store.versions,
    dependencies: store.dependencies,
    inUse: () => pool.digestsInUse(),
    onCollected: ({ removed, failures }) => {
      if (removed > 0) {
        log.info({ removed }, 'removed unreferenced code packages')
      }
      for (const { what, error } of failures) {
        log.warn({ err: error, what }, 'unreferenced code could not be removed; skipped')
      }
    },
    onError: (err) => log.error({ err }, 'code garbage collection failed'),
  })
  await codeCollector.collect()
  const gcTimer = setInterval(() => void codeCollector.collect(), 600_000)
  gcTimer.unref()
  opened.push({ what: 'the code collection timer', close: () => clearInterval(gcTimer) })

  // Domain services: what the API, the trigger sources and the dispatcher resolve and change through.
  const resolution = new ResolutionService(store, config.region)
  const lifecycle = new FunctionLifecycleService({
    store,
    quotas: config.quotas,
    invoker: pool,
    asyncQueue: store.asyncQueue,
    collectUnusedCode: () => codeCollector.collectSoon(),
  })

  // 3. Asynchronous invocations: leases of a crashed run go back to the queue before polling.
  const dispatcher = new AsyncDispatcher({
    queue: store.asyncQueue,
    invoker: pool,
    attemptLog: store.logs,
    resolve: (projectId, functionUrn) => resolution.resolveAsyncTarget(projectId, functionUrn),
    configOf: (functionId, qualifier) => store.asyncConfigs.get(functionId, qualifier),
    retryPolicy: new RetryPolicy({
      functionErrorBaseMs: config.async.retryBaseMs,
      systemErrorBaseMs: config.async.systemRetryBaseMs,
      systemErrorMaxMs: config.async.systemRetryMaxMs,
    }),
    logger: log,
    concurrency: config.async.concurrency,
    pollMs: config.async.pollMs,
    maxInstancesPerFunction: config.maxInstancesPerFunction,
  })
  await dispatcher.start()
  opened.push({
    what: 'the async dispatcher',
    // Attempts in flight keep their leases (retried at the next start); the pool stops them.
    close: () => dispatcher.abandon(),
  })

  // 4. The API.
  const verifier = new RequestVerifier({
    lookup: (ak) => store.tenants.lookup(ak),
    clockSkewMs: config.authClockSkewMs,
  })
  // Trigger sources, one per way triggers fire (register a new one in `triggerSources`). Built
  // before the API, which creates triggers only of the types they serve; started in step 5.
  const gateway = new ApigGateway({ host: config.host, port: config.gatewayPort })
  const triggerSources: readonly TriggerSource[] = [gateway]
  const triggers = new TriggerSources(triggerSources, {
    triggers: store.triggers,
    functions: resolution,
    invoker: pool,
    asyncQueue: store.asyncQueue,
    verifier,
    authClockSkewMs: config.authClockSkewMs,
    logger: log,
  })
  // Known once the gateway listens, after the API (which names it in triggers' invoke_url).
  let gatewayUrl = ''
  const app = buildApp({
    config,
    store,
    resolution,
    lifecycle,
    invoker: pool,
    asyncQueue: store.asyncQueue,
    verifier,
    logger: log,
    servedTriggerTypes: triggerSources,
    collectUnusedCode: () => codeCollector.collectSoon(),
    gatewayUrl: () => (gatewayUrl === '' ? undefined : gatewayUrl),
    info: () => ({
      region: config.region,
      isolation: {
        level: sandbox.level,
        description: sandbox.description,
        notes,
        // The host uids this server's instances run as; no other Strato here uses them.
        uids: sandbox.uids,
      },
      interpreters,
      async: dispatcher.stats(),
      instances: pool.stats(),
      stemCells: launcher.stemCellCount(),
    }),
  })
  opened.push({ what: 'the API', close: () => app.close() })
  const address = await app.listen({ host: config.host, port: config.port })
  log.info({ address, dataDir: config.dataDir }, 'Strato is listening')

  // 5. The trigger sources start: the API gateway listens on its own port.
  opened.push({ what: 'the trigger sources', close: () => triggers.stop() })
  await triggers.start()
  gatewayUrl = gateway.url
  log.info({ address: gatewayUrl }, 'API gateway is listening')

  let closing: Promise<void> | undefined
  return {
    config,
    url: address,
    app,
    store,
    pool,
    dispatcher,
    bootstrap,
    gatewayUrl,
    close() {
      closing ??= (async () => {
        clearInterval(pruneTimer)
        clearInterval(gcTimer)
        // 1. Stop taking connections; let invocations in flight finish within the grace period.
        //    Kept-alive sockets go as soon as they are idle (Node closes idle ones only once, at
        //    the start of close(), and a per-response hook would cost every request).
        //    No new async attempts start; those running may finish within the same grace.
        dispatcher.stop()
        const sweeper = setInterval(() => app.server.closeIdleConnections(), 100)
        const appClosed = Promise.all([app.close(), triggers.stop()])
        let graceTimer: NodeJS.Timeout | undefined
        await Promise.race([
          Promise.all([appClosed, dispatcher.idle()]),
          new Promise((resolve) => (graceTimer = setTimeout(resolve, config.shutdownGraceMs))),
        ])
        clearTimeout(graceTimer)
        // 2. Async attempts still running keep their leases and are retried at the next start
        //    (a system retry), so killing their instances below never counts as a function error.
        dispatcher.abandon()
        // 3. Stop every instance: whatever still runs ends with an error its caller receives.
        await pool.close()
        await launcher.close()
        await sandbox.close()
        await appClosed
        clearInterval(sweeper)
        await store.close()
      })()
      return closing
    },
  }
}

/** The first-start banner: the credentials as lines to paste into a shell, and where they are saved. */
function printRootTenant(created: CreatedRootTenant, endpoint: string | undefined): void {
  const generated = created.outcome.generated
  console.log(
    [
      '',
      generated
        ? 'Strato created its root tenant. The secret key is shown only this once; paste these lines into your shell:'
        : 'Strato created its root tenant with the key pair given in STRATO_ACCESS_KEY and STRATO_SECRET_KEY; its project id:',
      '',
      ...formatCredentialExports(created.outcome, endpoint),
      '',
      `They are also saved, readable by this user only, in ${created.credentialsFile}`,
      `(load them later with: . ${created.credentialsFile}).`,
      '',
    ].join('\n'),
  )
}

async function main(): Promise<void> {
  let running: RunningStrato
  let created: CreatedRootTenant | undefined
  try {
    running = await startStrato(process.env, undefined, {
      onRootTenantCreated: (c) => (created = c),
    })
  } catch (err) {
    // The root tenant may exist by now: its credentials are shown even though the start failed.
    if (created !== undefined) {
      printRootTenant(created, created.configuredEndpoint)
    }
    const message = err instanceof StratoError ? err.message : String(err)
    console.error(`strato: cannot start: ${message}`)
    if (!(err instanceof StratoError)) {
      console.error(err)
    }
    process.exit(1)
  }
  if (created !== undefined) {
    printRootTenant(created, running.url)
  }
  const stop = (signal: string): void => {
    running.app.log.info({ signal }, 'shutting down')
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        running.app.log.error({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))
}

// Run when executed directly (npm start), not when imported by tests or the bench.
if (
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)
) {
  void main()
}
