/**
 * @module What every `strato` command shares: the global options, the client they make, and the
 * usage error that exits 2.
 */
import { StratoClient } from '../client/index.js'

/** The global options as commander parsed them (credentials fall back to the environment). */
export interface GlobalOptions {
  readonly endpoint?: string
  readonly projectId?: string
  readonly accessKey?: string
  readonly secretKey?: string
}

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8080'

/** A mistake in how the command was called: `runCli` prints it and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** The endpoint in effect: the option, else `STRATO_ENDPOINT`, else the local default. */
export function endpointOf(opts: GlobalOptions): string {
  return nonEmpty(opts.endpoint) ?? nonEmpty(process.env.STRATO_ENDPOINT) ?? DEFAULT_ENDPOINT
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

/**
 * A client from the options, each credential falling back to its environment variable. The
 * values are read here rather than given to commander as option defaults: commander prints
 * defaults in `--help` and in the usage it shows after a mistake, and CI logs keep that.
 */
export function clientFrom(opts: GlobalOptions): StratoClient {
  const projectId = nonEmpty(opts.projectId) ?? nonEmpty(process.env.STRATO_PROJECT_ID)
  const accessKey = nonEmpty(opts.accessKey) ?? nonEmpty(process.env.STRATO_ACCESS_KEY)
  const secretKey = nonEmpty(opts.secretKey) ?? nonEmpty(process.env.STRATO_SECRET_KEY)
  const missing = [
    ['--project-id / STRATO_PROJECT_ID', projectId],
    ['--access-key / STRATO_ACCESS_KEY', accessKey],
    ['--secret-key / STRATO_SECRET_KEY', secretKey],
  ].filter(([, v]) => v === undefined)
  if (projectId === undefined || accessKey === undefined || secretKey === undefined) {
    throw new UsageError(
      `missing credentials: ${missing.map(([n]) => n).join(', ')} (Strato prints them on its first start)`,
    )
  }
  return new StratoClient({ endpoint: endpointOf(opts), projectId, accessKey, secretKey })
}

/** What a command's action needs from the root program: its client, made when first asked. */
export interface CliContext {
  client(): StratoClient
  /** The endpoint in effect, for messages. */
  endpoint(): string
}

/** Prints a JSON value, indented, on stdout. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2))
}
