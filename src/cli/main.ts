/**
 * @module The `strato` command: deploy, list, show, invoke, logs and delete functions, manage their
 * versions, aliases, triggers and async settings, signing requests with the same code the server
 * verifies them with.
 */
import fs from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { Command, CommanderError } from 'commander'
import { ApiError, type JsonObject, type StratoClient } from '../client/index.js'
import {
  UsageError,
  clientFrom,
  endpointOf,
  printJson,
  type CliContext,
  type GlobalOptions,
} from './cli-context.js'
import { deployCommand } from './deploy-command.js'
import { flowsCommand } from './flows-command.js'
import { formatTable, text } from './format-table.js'
import { formatHttpHead, unwrapHttpResult } from './http-result.js'
import { initCommand } from './init-command.js'
import { transferCommands } from './transfer-commands.js'
import { parseLevel, parseSince, wholeNumberIn } from './parse-options.js'
import { resourceCommands } from './resource-commands.js'
import { usageCommand } from './usage-command.js'

/** How often `logs --follow` asks for new invocations. */
const FOLLOW_POLL_MS = 1000
const FOLLOW_PAGE_LIMIT = 200

function listCommand(ctx: CliContext): Command {
  return new Command('list')
    .description('list functions')
    .option('--json', 'print the full API answer')
    .action(async (o: { json?: boolean }) => {
      const page = await ctx.client().listFunctions()
      if (o.json === true) {
        printJson(page)
        return
      }
      const fns = (page.functions as JsonObject[] | undefined) ?? []
      if (fns.length === 0) {
        console.log('no functions')
        return
      }
      console.log(
        formatTable(
          ['NAME', 'RUNTIME', 'MEMORY', 'TIMEOUT', 'LAST MODIFIED'],
          fns.map((f) => [
            f.package === 'default' ? text(f.func_name) : `${text(f.package)}:${text(f.func_name)}`,
            text(f.runtime),
            `${text(f.memory_size)} MB`,
            `${text(f.timeout)} s`,
            text(f.last_modified),
          ]),
        ),
      )
    })
}

async function invoke(
  client: StratoClient,
  name: string,
  o: { data: string; file?: string; log: boolean; async?: boolean; raw?: boolean },
): Promise<void> {
  let event: string
  try {
    event = o.file !== undefined ? fs.readFileSync(o.file, 'utf8') : o.data
  } catch (err) {
    throw new UsageError(`cannot read the event file: ${(err as Error).message}`)
  }
  try {
    JSON.parse(event)
  } catch (err) {
    throw new UsageError(`the event is not valid JSON: ${(err as Error).message}`)
  }
  if (o.async === true) {
    console.log(JSON.stringify({ request_id: await client.invokeAsync(name, event) }))
    return
  }
  const res = await client.invoke(name, event, { tail: o.log })
  if (o.log && res.log !== '') {
    process.stderr.write(res.log.endsWith('\n') ? res.log : `${res.log}\n`)
  }
  const http = res.isFunctionError || o.raw === true ? undefined : unwrapHttpResult(res.result)
  // An event function may answer the same shape (for APIG triggers); only an HTTP function's
  // answer is its wrapped response, so ask which this is (one more request, only then).
  if (http !== undefined && (await client.showConfig(name)).runtime === 'http') {
    process.stderr.write(formatHttpHead(http))
    process.stdout.write(http.body)
    if (process.stdout.isTTY && !http.body.toString('utf8').endsWith('\n')) {
      process.stdout.write('\n')
    }
    return
  }
  console.log(res.result)
  if (res.isFunctionError) {
    process.exitCode = 1
  }
}

function invokeCommand(ctx: CliContext): Command {
  return new Command('invoke')
    .description(
      'invoke a function synchronously and print its result (an HTTP function: the body, with status and headers on stderr), or with --async print the request id',
    )
    .argument('<name>', 'function name or URN (name:version, name:!alias)')
    .option('-d, --data <json>', 'event as JSON', '{}')
    .option('-f, --file <path>', 'read the event from a file')
    .option('--no-log', 'do not print the log tail')
    .option('--raw', "print an HTTP function's wrapped response as it comes")
    .option('--async', 'queue the event (202) and print its request id; see `logs --request-id`')
    .action(
      (
        name: string,
        o: { data: string; file?: string; log: boolean; async?: boolean; raw?: boolean },
      ) => invoke(ctx.client(), name, o),
    )
}

/** Resolves after `ms`, or at once when `signal` aborts. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal })
  } catch {
    // aborted: the caller checks the signal
  }
}

interface LogsOptions {
  requestId?: string
  limit: number
  follow?: boolean
  since?: number
  level?: string
  grep?: string
}

/** An entry's identity: a follow's first pages may overlap the recent ones it printed first. */
const entryKey = (l: JsonObject): string => `${text(l.request_id)}#${text(l.attempt)}`

async function logs(client: StratoClient, name: string, o: LogsOptions): Promise<void> {
  const filters = { request_id: o.requestId, level: o.level, contains: o.grep }
  const printed = new Set<string>()
  const print = (entries: JsonObject[]): void => {
    for (const l of entries) {
      const key = entryKey(l)
      if (!printed.has(key)) {
        printed.add(key)
        process.stdout.write(text(l.log))
      }
    }
  }
  const followFrom = Date.now()
  if (o.follow !== true || o.since === undefined) {
    // The newest `limit` entries, printed oldest first as a log reads.
    const page = await client.logs(name, { ...filters, start_time: o.since, limit: o.limit })
    const entries = ((page.logs as JsonObject[] | undefined) ?? []).reverse()
    if (entries.length === 0 && o.follow !== true) {
      console.log('no logs')
    }
    print(entries)
    if (o.follow !== true) {
      return
    }
  }
  const stop = new AbortController()
  const onSigint = (): void => stop.abort()
  process.once('SIGINT', onSigint)
  try {
    // In write order from a cursor: an invocation that started earlier but finished later is
    // still printed. Without --since the first read starts at entries begun since the follow did.
    let cursor: string | undefined
    while (!stop.signal.aborted) {
      const page = await client.logs(name, {
        ...filters,
        order: 'asc',
        start_time: o.since ?? (cursor === undefined ? followFrom : undefined),
        marker: cursor,
        limit: FOLLOW_PAGE_LIMIT,
      })
      const entries = (page.logs as JsonObject[] | undefined) ?? []
      print(entries)
      cursor = text(page.next_marker) === '' ? cursor : text(page.next_marker)
      if (printed.size > 10_000) {
        printed.clear() // only the first pages can overlap what was printed before them
      }
      if (entries.length < FOLLOW_PAGE_LIMIT) {
        await pause(FOLLOW_POLL_MS, stop.signal)
      }
    }
  } finally {
    process.removeListener('SIGINT', onSigint)
  }
}

function logsCommand(ctx: CliContext): Command {
  return new Command('logs')
    .description("show a function's recent invocation logs (oldest first); --follow for new ones")
    .argument('<name>', 'function name or URN')
    .option('--request-id <id>', 'only this invocation')
    .option('-l, --limit <n>', 'how many invocations', wholeNumberIn(1, 500, 'invocations'), 10)
    .option('-f, --follow', 'keep printing new invocations as they finish (Ctrl-C stops)')
    .option(
      '--since <when>',
      'only invocations started since: 10m, 2h, 1d or an ISO time',
      parseSince,
    )
    .option(
      '--level <level>',
      'only invocations with a line at this level or above (DEBUG, INFO, WARN, ERROR)',
      parseLevel,
    )
    .option('--grep <text>', 'only invocations whose output contains this text (case-sensitive)')
    .action((name: string, o: LogsOptions) => logs(ctx.client(), name, o))
}

function whoamiCommand(ctx: CliContext): Command {
  return new Command('whoami')
    .description('print the project id and endpoint the current key acts on')
    .action(async () => {
      const me = await ctx.client().whoami()
      console.log(
        [
          `project_id  ${me.project_id}`,
          `access_key  ${me.access_key}`,
          `region      ${me.region}`,
          `endpoint    ${ctx.endpoint()}`,
        ].join('\n'),
      )
    })
}

export function buildProgram(): Command {
  const program = new Command()
  program
    .name('strato')
    .description('Deploy and run functions on Strato (FunctionGraph v2 API).')
    // No option defaults from the environment: commander prints defaults in help and usage, and
    // the secret key must never be printed. clientFrom reads the environment instead.
    .option(
      '--endpoint <url>',
      'Strato API endpoint (default: $STRATO_ENDPOINT, else http://127.0.0.1:8080)',
    )
    .option('--project-id <id>', 'project id (default: $STRATO_PROJECT_ID)')
    .option('--access-key <ak>', 'access key (default: $STRATO_ACCESS_KEY)')
    .option('--secret-key <sk>', 'secret key (default: $STRATO_SECRET_KEY)')
    .showHelpAfterError()
    // Set before the commands are added, so that they inherit them: every usage mistake throws
    // (runCli exits 2) instead of commander calling process.exit(1).
    .exitOverride()

  const globals = (): GlobalOptions => program.opts<GlobalOptions>()
  const ctx: CliContext = {
    client: () => clientFrom(globals()),
    endpoint: () => endpointOf(globals()),
  }

  program.addCommand(deployCommand(ctx))
  program.addCommand(listCommand(ctx))
  program.addCommand(
    new Command('show')
      .description("show a function's configuration")
      .argument('<name>', 'function name or URN')
      .action(async (name: string) => printJson(await ctx.client().showConfig(name))),
  )
  program.addCommand(invokeCommand(ctx))
  program.addCommand(logsCommand(ctx))
  program.addCommand(usageCommand(ctx))
  program.addCommand(
    new Command('delete')
      .description('delete a function (with its versions, aliases and triggers)')
      .argument('<name>', 'function name or URN')
      .action(async (name: string) => {
        await ctx.client().deleteFunction(name)
        console.log(`deleted ${name}`)
      }),
  )
  for (const c of resourceCommands(ctx)) {
    program.addCommand(c)
  }
  program.addCommand(flowsCommand(ctx))
  program.addCommand(whoamiCommand(ctx))
  program.addCommand(initCommand())
  for (const c of transferCommands(ctx)) {
    program.addCommand(c)
  }
  configureTree(program)
  return program
}

/** Gives every (sub)command the root's error behaviour: throw on mistakes, show help after. */
function configureTree(command: Command): void {
  for (const c of command.commands) {
    c.exitOverride().showHelpAfterError()
    configureTree(c)
  }
}

export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof ApiError) {
      console.error(`strato: ${err.errorCode} (HTTP ${err.status}): ${err.message}`)
      return 1
    }
    if (err instanceof UsageError) {
      console.error(`strato: ${err.message}`)
      return 2
    }
    if (err instanceof CommanderError) {
      // commander printed the message or the help already; `--help` and `--version` exit 0,
      // every mistake (an unknown command, a bad option, no command at all) is a usage error.
      return err.exitCode === 0 ? 0 : 2
    }
    if (err instanceof TypeError && err.message === 'fetch failed') {
      // undici hides the socket error in `cause` (ECONNREFUSED, ENOTFOUND, …).
      const cause = (err as { cause?: { code?: string; message?: string } }).cause
      console.error(
        `strato: cannot reach Strato at ${endpointOf(program.opts<GlobalOptions>())} (${cause?.code ?? cause?.message ?? 'network error'})`,
      )
      return 1
    }
    console.error(`strato: ${(err as Error).message}`)
    return 1
  }
}
