/**
 * @module Composition root, part one: `buildStrato` opens the store, the sandbox and the pool and
 * wires every subsystem to the others, listening nowhere; `start()` then starts the periodic jobs,
 * the async dispatcher and the listeners. With main.ts, the only module that names concrete
 * implementations.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './api/index.js'
import { DurableFlowEngine } from './flows/index.js'
import { tenantCreatedRecord } from './audit/index.js'
import { AsyncDispatcher, AsyncStatusLog, RetryPolicy, terminalSettlement } from './async/index.js'
import { RequestVerifier } from './auth/index.js'
import {
  LEADER_DUTY,
  NatsCodeObjects,
  type Leadership,
  Readiness,
  openCluster,
  type Cluster,
} from './cluster/index.js'
import type { Config } from './config/index.js'
import {
  StratoError,
  acceptAsyncEvent,
  isRuntimeName,
  runtimeFamilyOf,
  type FunctionRecord,
  type FunctionRepository,
  type RuntimeFamily,
} from './core/index.js'
import {
  FunctionMetrics,
  Tracing,
  createMetricsRegistry,
  type Logger,
} from './observability/index.js'
import {
  DEFAULT_UID_REGISTRY_FILE,
  InstanceLauncher,
  detectSandbox,
  reapLeftoverInstances,
  sandboxScope,
} from './runtime/index.js'
import { InstancePool, ReservationKeeper, reservedTargetResolver } from './scheduler/index.js'
import { FunctionLifecycleService, ResolutionService } from './services/index.js'
import {
  CodeCollector,
  lockDataDir,
  openStore,
  writeRootCredentialsFile,
  type BootstrapOutcome,
  type Store,
} from './store/index.js'
import {
  ApigGateway,
  CtsSource,
  LtsSource,
  TimerSource,
  LeaderOnlySource,
  RabbitmqSource,
  TriggerSources,
  type TriggerSource,
} from './triggers/index.js'
import { OpenedParts, shutDownGracefully } from './strato-lifecycle.js'

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

/** A built Strato: everything wired, nothing listening yet. */
export interface BuiltStrato {
  readonly config: Config
  readonly store: Store
  readonly pool: InstancePool
  readonly dispatcher: AsyncDispatcher
  readonly app: FastifyInstance
  readonly bootstrap: BootstrapOutcome | undefined
  /** This node's part in the cluster (a cluster of one without `STRATO_NATS_URL`). */
  readonly cluster: Cluster
  /**
   * Starts the periodic jobs (log pruning, code collection), the stem cells, the async dispatcher,
   * the API and the trigger sources; resolves once all listen. If a step fails, everything built
   * and started is closed before the error is rethrown, so a start can be retried at once.
   */
  start(): Promise<{ readonly url: string; readonly gatewayUrl: string }>
  /** The graceful shutdown (see docs/architecture.md): runs once, later calls share it. */
  close(): Promise<void>
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
 * Builds Strato from its settings. A build that fails closes whatever it had opened (store and its
 * lock, sandbox and its uid reservation, launcher, pool) before rethrowing.
 */
export async function buildStrato(
  config: Config,
  log: Logger,
  hooks: StartHooks = {},
): Promise<BuiltStrato> {
  const opened = new OpenedParts(log)
  try {
    return await wire(config, log, hooks, opened)
  } catch (err) {
    await opened.closeAll()
    throw err
  }
}

async function wire(
  config: Config,
  log: Logger,
  hooks: StartHooks,
  opened: OpenedParts,
): Promise<BuiltStrato> {
  const configuredEndpoint = endpointFor(config.host, config.port)
  // The data dir's lock before anything else: a second process on this data dir must be refused
  // before it joins the cluster and gives back the live node's slots.
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
  const dataDirLock = lockDataDir(config.dataDir)
  let lockHandedOver = false
  opened.add('the data dir lock', () => {
    if (!lockHandedOver) {
      dataDirLock.release()
    }
    return Promise.resolve()
  })
  // The cluster next, closed last: the store and everything else may announce changes and hold
  // slots and leases until they are closed.
  const cluster = await openCluster({
    settings: config.cluster,
    logger: log,
    advertise: configuredEndpoint === undefined ? {} : { apiUrl: configuredEndpoint },
  })
  opened.add('the cluster', () => cluster.close())
  // One leader per cluster runs what must happen once: timers, the CTS and LTS feeds, and the
  // reserved instances (ADR 0027). A single node always leads.
  // The lease is competed for only once this node can do the duties (just before the trigger
  // sources start): a node still migrating or resuming must not hold them up for the cluster.
  let leaderLease: Leadership | undefined
  const leadership = (): Leadership => (leaderLease ??= cluster.leadership(LEADER_DUTY))
  const clustered = cluster.mode === 'cluster'
  if (!clustered && config.cluster.storeUrl !== undefined) {
    log.warn(
      'STRATO_STORE_URL without STRATO_NATS_URL: run one node only on this store (other nodes would ' +
        'serve stale caches, and each would run timers as if it led)',
    )
  }
  // Shared packages only with the shared store: the bucket's sweep trusts this node's
  // references to be the whole cluster's (ADR 0028).
  const codeObjects =
    cluster.nats !== undefined && config.cluster.storeUrl !== undefined
      ? await NatsCodeObjects.open(cluster.nats, config.cluster.natsPrefix)
      : undefined
  lockHandedOver = true // the store releases it on close, or when its open fails
  const store = await openStore({
    dataDirLock,
    dataDir: config.dataDir,
    quotas: config.quotas,
    onBackgroundError: (err) => log.error({ err }, 'background store write failed'),
    asyncQueue: { leaseGraceMs: config.async.leaseGraceMs, fsync: config.async.fsync },
    cluster: {
      nodeId: config.cluster.nodeId,
      storeUrl: config.cluster.storeUrl,
      masterKeyFile: config.cluster.masterKeyFile,
      changes: cluster.changes,
      codeObjects,
    },
  })
  opened.add('the store', () => store.close())
  // Generated credentials are saved before the tenant is committed and handed out at once: a start
  // that fails later (a port in use) must not make them unrecoverable.
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
  if (bootstrap?.created === true) {
    store.audit.append(tenantCreatedRecord(bootstrap, Date.now()))
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
    egress: config.egress,
  })
  opened.add('the sandbox', () => sandbox.close())
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

  if (!sandbox.egress.enabled && config.egress.enabled) {
    log.warn({ why: sandbox.egress.reason }, 'instances have no network beyond their loopback')
  }

  // 2. Leftovers of a crashed run: instance processes, cgroups and dirs (code goes at start()).
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

  const launcher = new InstanceLauncher({
    sandbox,
    instancesDir,
    interpreterCommands: {
      node: config.nodeCommand,
      python: config.pythonCommand,
      php: config.phpCommand,
      java: config.javaCommand,
    },
    startTimeoutMs: config.instanceStartTimeoutMs,
    stemCells: config.stemCells,
    stemCellBoots: config.stemCellBoots,
    stemCellBootNiceness: config.stemCellBootNice,
    onBackgroundError: (err) => log.warn({ err }, 'starting a pre-started runtime sandbox failed'),
  })
  opened.add('the launcher', () => launcher.close())
  const interpreters = launcher.interpreters()
  for (const [family, path] of Object.entries(interpreters)) {
    if (path === undefined) {
      log.warn(
        { family },
        `no ${family} interpreter found: functions of this family will not start`,
      )
    }
  }
  // Fed by the pool on every outcome; usage goes to the store once a minute, off the hot path.
  const metrics: FunctionMetrics = new FunctionMetrics({
    usage: store.usage,
    instances: (): ReadonlyMap<string, number> => pool.instancesByFunction(),
    onError: (err) => log.error({ err }, 'writing usage failed'),
  })
  const pool: InstancePool = new InstancePool({
    observer: metrics,
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
    dependencyDirs: (fn) => verifiedDependencyDirs(store, fn),
    onReservedExit: (functionId, version) => reservations.instanceDied(functionId, version),
    // Cluster mode: max instances holds across nodes (slots claimed at launch, never when warm).
    ...(cluster.instanceSlots === undefined ? {} : { slots: cluster.instanceSlots }),
  })
  opened.add('the instance pool', () => pool.close())
  // Every caller reaches the pool through the tracing invoker (spans only with an OTLP endpoint).
  const tracing = new Tracing({
    endpoint: config.otlpEndpoint,
    region: config.region,
    switchOf: (functionId) => store.tracing.isOn(functionId),
  })
  const invoker = tracing.wrap(pool)
  // Reserved instances: loaded from the store at start, kept alive in the pool from then on.
  const reservations = new ReservationKeeper({
    pool,
    configs: store.reservedInstances,
    resolve: reservedTargetResolver(store),
    logger: log,
    // The leader keeps every reservation; it reads configs other nodes stored.
    ...(clustered ? { reloadEveryMs: 5_000 } : {}),
  })
  opened.add('the reservation keeper', () => reservations.stop())
  if (clustered) {
    // Kept only while this node leads; taken over by the next leader when it dies.
    await reservations.setActive(false)
  }

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
  opened.add('the code collection timer', () => codeCollector.stop())

  // 3. Domain services: what the API, the trigger sources and the dispatcher resolve and change
  //    functions through.
  const resolution = new ResolutionService(store, config.region)
  // Every async status change passes through this queue: projects that turned their async status
  // log on get each one in their async-status log stream.
  const asyncQueue = new AsyncStatusLog(store.asyncQueue, {
    enabled: (projectId) => store.logSettings.asyncStatusLogEnabled(projectId),
    log: store.logs,
  })
  const lifecycle = new FunctionLifecycleService({
    store,
    quotas: config.quotas,
    invoker: pool,
    asyncQueue,
    collectUnusedCode: () => codeCollector.collectSoon(),
    logger: log,
    networkNames: config.egress.networks.map((n) => n.name),
  })

  // 4. Asynchronous invocations (the dispatcher polls once started).
  const retryPolicy = new RetryPolicy({
    functionErrorBaseMs: config.async.retryBaseMs,
    systemErrorBaseMs: config.async.systemRetryBaseMs,
    systemErrorMaxMs: config.async.systemRetryMaxMs,
  })
  const resolveAsyncTarget = (projectId: string, functionUrn: string) =>
    resolution.resolveAsyncTarget(projectId, functionUrn)
  const dispatcher = new AsyncDispatcher({
    queue: asyncQueue,
    invoker,
    attemptLog: store.logs,
    resolve: resolveAsyncTarget,
    configOf: (functionId, qualifier) => store.asyncConfigs.get(functionId, qualifier),
    retryPolicy,
    logger: log,
    concurrency: config.async.concurrency,
    pollMs: config.async.pollMs,
    maxInstancesPerFunction: config.maxInstancesPerFunction,
    nodeId: config.cluster.nodeId,
  })

  // Function flows: executions are driven under leases; the owner is this node's, stable across
  // restarts, so a restarted Strato takes its executions back without waiting for leases to lapse.
  const flowEngine = new DurableFlowEngine({
    repository: store.flows,
    functions: resolution,
    invoker,
    // A callback task's function goes through the async queue, as any async call: its async
    // config applies and its records show it.
    asyncQueue: {
      region: config.region,
      accept: (target, event) => acceptAsyncEvent(asyncQueue, target, event),
      record: async (functionId, requestId) =>
        (await store.asyncRecords.list({ functionId, requestId, offset: 0, limit: 1 })).records[0],
    },
    // Each node drives executions under its own lease owner, stable across its restarts.
    owner: config.cluster.nodeId,
    leaseMs: config.flows.leaseMs,
    logger: log,
  })

  // 5. The API and the trigger sources, one per way triggers fire (register a new one in
  //    `triggerSources`). The API creates triggers only of the types they serve.
  const verifier = new RequestVerifier({
    lookup: (ak) => store.tenants.lookup(ak),
    clockSkewMs: config.authClockSkewMs,
  })
  const gateway = new ApigGateway({ host: config.host, port: config.gatewayPort })
  const rabbitmq = new RabbitmqSource({
    region: config.region,
    maxInstancesPerFunction: config.maxInstancesPerFunction,
  })
  // Sources reading shared feeds with cursors run on the leader only in a cluster; the gateway
  // (every node serves it) and RabbitMQ (competing consumers) run everywhere.
  const onLeader = (make: () => TriggerSource): TriggerSource =>
    clustered
      ? new LeaderOnlySource(make, { onChange: (listener) => leadership().onChange(listener) })
      : make()
  const triggerSources: readonly TriggerSource[] = [
    gateway,
    onLeader(() => new TimerSource()),
    onLeader(() => new LtsSource({ logs: store.logs, functions: store.functions })),
    onLeader(() => new CtsSource({ trail: store.audit })),
    rabbitmq,
  ]
  const triggers = new TriggerSources(triggerSources, {
    triggers: store.triggers,
    functions: resolution,
    invoker,
    asyncQueue,
    verifier,
    authClockSkewMs: config.authClockSkewMs,
    logger: log,
    // Broker batches are attempted by their source and end as async events do.
    ownAttempts: {
      configOf: (functionId, qualifier) => store.asyncConfigs.get(functionId, qualifier),
      retryPolicy,
      async end(event, ran, outcome) {
        const config = await store.asyncConfigs.get(event.functionId, event.qualifier)
        const asLeased = { ...event, leaseToken: '', attempt: ran.attempts }
        const settlement = await terminalSettlement(
          { resolve: resolveAsyncTarget, logger: log },
          { ...asLeased, functionErrors: 0, systemErrors: 0 },
          config,
          outcome.status,
          { ...outcome, invokeCount: ran.attempts },
        )
        if (settlement.kind === 'done') {
          await asyncQueue.record(event, ran, settlement)
        }
      },
    },
  })
  // Trigger changes other nodes announced while this one was cut off from NATS are not resent.
  cluster.changes.onResync(() => void triggers.resync())
  const metricsRegistry = createMetricsRegistry(metrics, {
    instances: () => pool.stats(),
    asyncBacklog: () => store.asyncBacklog.backlog(),
    asyncInflight: () => dispatcher.stats().inflight,
  })
  // 503 on /strato/health/ready until started, once draining, and while the store fails.
  const readiness = new Readiness([
    {
      name: 'store',
      // A one-row read: answers only when the store does (no ping in the store's surface).
      check: async () => {
        await store.tenants.rootProjectId()
        return true
      },
    },
    // Not NATS: while it is down warm instances keep serving, and a balancer must not lose every
    // node at once (launches needing a slot answer 503 meanwhile; ADR 0027).
  ])
  // Known once the gateway listens, after the API (which names it in triggers' invoke_url).
  let gatewayUrl = ''
  const app = buildApp({
    config,
    store,
    flowEngine,
    resolution,
    lifecycle,
    invoker,
    tracing,
    reservations,
    asyncQueue,
    verifier,
    logger: log,
    servedTriggerTypes: triggerSources,
    triggerHealth: (id) => triggers.healthOf(id),
    collectUnusedCode: () => codeCollector.collectSoon(),
    gatewayUrl: () => (gatewayUrl === '' ? undefined : gatewayUrl),
    metrics: { registry: metricsRegistry, functions: metrics, usage: store.usage },
    readiness: () => readiness.report(),
    clusterInfo: () => clusterInfoOf(cluster),
    info: () => ({
      region: config.region,
      isolation: {
        level: sandbox.level,
        description: sandbox.description,
        notes,
        // The host uids this server's instances run as; no other Strato here uses them.
        uids: sandbox.uids,
      },
      // Whether instances reach beyond their loopback (ADR 0023), and if not, why.
      egress: sandbox.egress,
      interpreters,
      async: dispatcher.stats(),
      instances: pool.stats(),
      stemCells: launcher.stemCellCount(),
      // The pool's learned depth per runtime key (ADR 0029): what it refills each key to.
      stemCellDepths: launcher.stemCellDepths(),
    }),
  })
  opened.add('the API', () => app.close())

  let closing: Promise<void> | undefined
  return {
    config,
    store,
    pool,
    dispatcher,
    app,
    bootstrap,
    cluster,
    async start() {
      try {
        store.pruning.start({
          maxAgeMs: config.logRetentionMs,
          auditMaxAgeMs: config.auditRetentionMs,
          onError: (err, what) => log.error({ err }, `pruning ${what} failed`),
        })
        // FunctionGraph's default memory size; other sizes get cells once they are launched.
        launcher.prewarmAvailable(128, await familiesInUse(store.functions))
        await codeCollector.start()
        metrics.start()
        opened.add('the function metrics', () => metrics.close())
        await reservations.start()
        // Leases of a crashed run go back to the queue before polling.
        await dispatcher.start()
        // Attempts in flight keep their leases (retried at the next start); the pool stops them.
        opened.add('the async dispatcher', () => dispatcher.abandon())
        // Executions a crash left running resume from their histories (functions through the pool).
        opened.add('the flow engine', () => flowEngine.close())
        await flowEngine.resume()
        const url = await app.listen({ host: config.host, port: config.port })
        log.info({ address: url, dataDir: config.dataDir }, 'Strato is listening')
        // The trigger sources start: the API gateway listens on its own port.
        opened.add('the trigger sources', () => triggers.stop())
        if (clustered) {
          leadership().onChange((isLeader) => {
            reservations
              .setActive(isLeader)
              .catch((err: unknown) =>
                log.error({ err }, 'switching the reservation keeper failed'),
              )
          })
        }
        await triggers.start()
        gatewayUrl = gateway.url
        log.info({ address: gatewayUrl }, 'API gateway is listening')
        readiness.running()
        return { url, gatewayUrl }
      } catch (err) {
        await opened.closeAll()
        throw err
      }
    },
    close() {
      closing ??= shutDownGracefully({
        config,
        app,
        triggers,
        dispatcher,
        pool,
        reservations,
        launcher,
        sandbox,
        store,
        codeCollector,
        metrics,
        flows: flowEngine,
        readiness,
        cluster: {
          setDraining: () => cluster.setDraining(),
          giveUpLeadership: () => leaderLease?.close() ?? Promise.resolve(),
          close: () => cluster.close(),
        },
      }).finally(() => tracing.shutdown())
      return closing
    },
  }
}

/** The verified trees of the dependency versions a function attaches, in its order. */
async function verifiedDependencyDirs(store: Store, fn: FunctionRecord): Promise<string[]> {
  const dirs: string[] = []
  for (const id of fn.dependVersionList) {
    const dep = await store.dependencies.getById(fn.projectId, id)
    dirs.push(await store.code.verify(dep.digest))
  }
  return dirs
}

/** The families of the functions that exist (drafts), whose cells are worth booting at start. */
async function familiesInUse(
  functions: Pick<FunctionRepository, 'runtimesInUse'>,
): Promise<Set<RuntimeFamily>> {
  const families = new Set<RuntimeFamily>()
  for (const runtime of await functions.runtimesInUse()) {
    const family = isRuntimeName(runtime) ? runtimeFamilyOf(runtime) : undefined
    if (family !== undefined) {
      families.add(family)
    }
  }
  return families
}

/** `cluster` of `/strato/info`: who this node is, who is up, who leads. */
async function clusterInfoOf(cluster: Cluster): Promise<Record<string, unknown>> {
  const leadership = cluster.leadership(LEADER_DUTY)
  const [members, holder] = await Promise.all([
    cluster.members().catch(() => []),
    leadership.holder().catch(() => undefined),
  ])
  return {
    nodeId: cluster.nodeId,
    mode: cluster.mode,
    draining: cluster.draining,
    members,
    leader:
      holder === undefined
        ? null
        : { nodeId: holder.nodeId, token: holder.revision, self: leadership.isLeader() },
  }
}
