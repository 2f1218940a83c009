/**
 * @module Composition root, the ends of a run: undoing a build or start that failed half-way, and
 * the graceful shutdown of a running Strato.
 */
import type { FastifyInstance } from 'fastify'
import type { AsyncDispatcher } from './async/index.js'
import type { Config } from './config/index.js'
import type { Logger } from './observability/index.js'
import type { InstanceLauncher, Sandbox } from './runtime/index.js'
import type { InstancePool } from './scheduler/index.js'
import type { CodeCollector, Store } from './store/index.js'
import type { TriggerSources } from './triggers/index.js'

/** What a build or start has opened so far, to close in reverse order if a later step fails. */
export class OpenedParts {
  readonly #log: Logger
  readonly #parts: Array<{ readonly what: string; readonly close: () => Promise<void> | void }> = []

  constructor(log: Logger) {
    this.#log = log
  }

  add(what: string, close: () => Promise<void> | void): void {
    this.#parts.push({ what, close })
  }

  /** Closes every part, last opened first; a part that fails to close is logged, not thrown. */
  async closeAll(): Promise<void> {
    for (const part of this.#parts.splice(0).reverse()) {
      try {
        await part.close()
      } catch (err) {
        this.#log.error({ err }, `closing ${part.what} after a failed start failed`)
      }
    }
  }
}

/** What the graceful shutdown stops, in its order. */
export interface RunningParts {
  readonly config: Pick<Config, 'shutdownGraceMs'>
  readonly app: FastifyInstance
  readonly triggers: TriggerSources
  readonly dispatcher: AsyncDispatcher
  readonly pool: InstancePool
  /** Keeps reserved instances; stopped first, so it starts none while the pool closes. */
  readonly reservations: { stop(): void }
  readonly launcher: InstanceLauncher
  readonly sandbox: Sandbox
  readonly store: Store
  readonly codeCollector: CodeCollector
  /** Writes the usage gathered since its last write, before the store closes. */
  readonly metrics?: { close(): Promise<void> }
  /** Stops driving flow executions (they stay running in the store; resumed at the next start). */
  readonly flows?: { close(): Promise<void> }
  /** Readiness goes 503 the moment shutdown begins (a load balancer stops sending requests). */
  readonly readiness?: { draining(): void }
  /** This node's part in the cluster: drained first, closed last (after the store). */
  readonly cluster?: {
    setDraining(): Promise<void>
    giveUpLeadership(): Promise<void>
    close(): Promise<void>
  }
}

/**
 * Stops taking work, lets what runs finish within the grace period, then stops every instance and
 * closes the store (docs/architecture.md, "Shutdown").
 */
export async function shutDownGracefully(parts: RunningParts): Promise<void> {
  const { app, triggers, dispatcher, pool, store } = parts
  // 0. Drain: not ready from now on, and marked draining in membership. Leadership goes at once so
  //    another node takes the leader's duties (timers, feeds, reservations) while this one finishes.
  parts.readiness?.draining()
  await parts.cluster?.setDraining().catch(() => undefined)
  await parts.cluster?.giveUpLeadership().catch(() => undefined)
  store.pruning.stop()
  parts.codeCollector.stop()
  parts.reservations.stop()
  // 1. Stop taking connections; let invocations in flight finish within the grace period.
  //    Kept-alive sockets go as soon as they are idle (Node closes idle ones only once, at the
  //    start of close(), and a per-response hook would cost every request).
  //    No new async attempts start; those running may finish within the same grace.
  dispatcher.stop()
  // Flow executions stop where they are: their history lets the next start resume them.
  await parts.flows?.close()
  const sweeper = setInterval(() => app.server.closeIdleConnections(), 100)
  const appClosed = Promise.all([app.close(), triggers.stop()])
  let graceTimer: NodeJS.Timeout | undefined
  await Promise.race([
    Promise.all([appClosed, dispatcher.idle()]),
    new Promise((resolve) => (graceTimer = setTimeout(resolve, parts.config.shutdownGraceMs))),
  ])
  clearTimeout(graceTimer)
  // 2. Async attempts still running keep their leases and are retried at the next start (a
  //    system retry), so killing their instances below never counts as a function error.
  dispatcher.abandon()
  // 3. Stop every instance: whatever still runs ends with an error its caller receives.
  await pool.close()
  await parts.launcher.close()
  await parts.sandbox.close()
  await appClosed
  clearInterval(sweeper)
  await parts.metrics?.close()
  await store.close()
  // Last: slots of the stopped instances, leases and membership go back to the cluster.
  await parts.cluster?.close()
}
