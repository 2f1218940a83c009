/**
 * @module Composition root: `startStrato` builds Strato from its settings (`build-strato.ts`) and
 * starts it; `main` runs it as a program, with signals and the first start's banner. With
 * build-strato.ts, the only module that names concrete implementations.
 */
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { AsyncDispatcher } from './async/index.js'
import { loadConfig, type Config, type Env } from './config/index.js'
import { StratoError } from './core/index.js'
import { createLogger, type Logger } from './observability/index.js'
import type { InstancePool } from './scheduler/index.js'
import { formatCredentialExports, type BootstrapOutcome, type Store } from './store/index.js'
import { buildStrato, type CreatedRootTenant, type StartHooks } from './build-strato.js'

export { buildStrato } from './build-strato.js'
export type { BuiltStrato, CreatedRootTenant, StartHooks } from './build-strato.js'

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
  const strato = await buildStrato(config, log, hooks)
  const { url, gatewayUrl } = await strato.start()
  return {
    config,
    url,
    app: strato.app,
    store: strato.store,
    pool: strato.pool,
    dispatcher: strato.dispatcher,
    bootstrap: strato.bootstrap,
    gatewayUrl,
    close: () => strato.close(),
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
    // Drains: readiness 503 and "draining" in membership at once, leadership handed over, work in
    // flight finished within the grace period, then slots, leases and membership given back.
    running.app.log.info({ signal }, 'draining, then shutting down')
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
