/**
 * @module `strato <object> <verb>` commands for what hangs off a function: versions, aliases,
 * triggers (APIG), the async invoke config and async invocation records.
 */
import { Command } from 'commander'
import { ApiError, type JsonObject, type StratoClient } from '../client/index.js'
import { UsageError, printJson, type CliContext } from './cli-context.js'
import { formatTable, text } from './format-table.js'
import { collectWeight, wholeNumberIn } from './parse-options.js'

function versionCommand(ctx: CliContext): Command {
  const version = new Command('version').description(
    "publish, list and delete a function's versions",
  )
  version
    .command('publish')
    .description("publish the function's latest code and configuration as a version")
    .argument('<function>', 'function name or URN')
    .option(
      '--version <name>',
      'version name (default: one the server makes from the date and time)',
    )
    .option('--description <text>', 'version description')
    .action(async (fn: string, o: { version?: string; description?: string }) => {
      const published = await ctx.client().publishVersion(fn, {
        ...(o.version !== undefined ? { version: o.version } : {}),
        ...(o.description !== undefined ? { description: o.description } : {}),
      })
      console.log(`published version ${text(published.version)} (${text(published.func_urn)})`)
    })
  version
    .command('list')
    .description("list a function's versions (latest first)")
    .argument('<function>', 'function name or URN')
    .option('--json', 'print the full API answer')
    .action(async (fn: string, o: { json?: boolean }) => {
      const page = await ctx.client().listVersions(fn)
      if (o.json === true) {
        printJson(page)
        return
      }
      const versions = (page.versions as JsonObject[] | undefined) ?? []
      console.log(
        formatTable(
          ['VERSION', 'RUNTIME', 'HANDLER', 'LAST MODIFIED', 'DESCRIPTION'],
          versions.map((v) => [
            text(v.version),
            text(v.runtime),
            text(v.handler),
            text(v.last_modified),
            text(v.version_description),
          ]),
        ),
      )
    })
  version
    .command('delete')
    .description('delete a published version')
    .argument('<function>', 'function name or URN (without a version)')
    .argument('<version>', 'the version to delete')
    .action(async (fn: string, v: string) => {
      await ctx.client().deleteVersion(fn, v)
      console.log(`deleted version ${v} of ${fn}`)
    })
  return version
}

interface AliasOptions {
  version?: string
  description?: string
  weight: Record<string, number>
}

function aliasBody(name: string, o: AliasOptions, current?: JsonObject): JsonObject {
  const version = o.version ?? (current === undefined ? undefined : text(current.version))
  if (version === undefined) {
    throw new UsageError('--version is required: the version the alias points to')
  }
  return {
    name,
    version,
    ...(o.description !== undefined ? { description: o.description } : {}),
    ...(Object.keys(o.weight).length > 0 ? { additional_version_weights: o.weight } : {}),
  }
}

function aliasCommand(ctx: CliContext): Command {
  const alias = new Command('alias').description(
    "create, update, list and delete a function's aliases (invoke one as <function>:!<alias>)",
  )
  const weightHelp =
    'send PERCENT of invocations to VERSION instead (repeatable), e.g. --weight 2=10'
  alias
    .command('create')
    .description('create an alias pointing to a version, optionally splitting traffic')
    .argument('<function>', 'function name or URN')
    .argument('<alias>', 'alias name')
    .requiredOption('--version <version>', 'the version it points to (or latest)')
    .option('--description <text>', 'description')
    .option('--weight <VERSION=PERCENT>', weightHelp, collectWeight, {})
    .action(async (fn: string, name: string, o: AliasOptions) => {
      const created = await ctx.client().createAlias(fn, aliasBody(name, o))
      console.log(
        `created alias ${name} → version ${text(created.version)} (${text(created.alias_urn)})`,
      )
    })
  alias
    .command('update')
    .description('point an alias to another version or change its traffic split')
    .argument('<function>', 'function name or URN')
    .argument('<alias>', 'alias name')
    .option('--version <version>', 'the version it points to (default: unchanged)')
    .option('--description <text>', 'description')
    .option('--weight <VERSION=PERCENT>', weightHelp, collectWeight, {})
    .action(async (fn: string, name: string, o: AliasOptions) => {
      const client = ctx.client()
      const current = (await client.listAliases(fn)).find((a) => a.name === name)
      const updated = await client.updateAlias(fn, name, aliasBody(name, o, current))
      console.log(`updated alias ${name} → version ${text(updated.version)}`)
    })
  alias
    .command('list')
    .description("list a function's aliases")
    .argument('<function>', 'function name or URN')
    .option('--json', 'print the full API answer')
    .action(async (fn: string, o: { json?: boolean }) => {
      const aliases = await ctx.client().listAliases(fn)
      if (o.json === true) {
        printJson(aliases)
        return
      }
      console.log(
        formatTable(
          ['ALIAS', 'VERSION', 'WEIGHTS', 'LAST MODIFIED'],
          aliases.map((a) => [
            text(a.name),
            text(a.version),
            Object.entries((a.additional_version_weights as Record<string, number> | null) ?? {})
              .map(([v, w]) => `${v}=${w}%`)
              .join(' '),
            text(a.last_modified),
          ]),
        ),
      )
    })
  alias
    .command('delete')
    .description('delete an alias')
    .argument('<function>', 'function name or URN')
    .argument('<alias>', 'alias name')
    .action(async (fn: string, name: string) => {
      await ctx.client().deleteAlias(fn, name)
      console.log(`deleted alias ${name} of ${fn}`)
    })
  return alias
}

interface TriggerOptions {
  path: string
  method: string
  auth: string
  name?: string
  async?: boolean
  prefix?: boolean
}

function triggerCommand(ctx: CliContext): Command {
  const trigger = new Command('trigger')
    .alias('triggers')
    .description(
      "create, list, show and delete a function's triggers (APIG: served on the API gateway port)",
    )
  trigger
    .command('create')
    .description('create an APIG trigger: an HTTP route on the gateway that invokes the function')
    .argument('<function>', 'function name or URN (qualify it with :version or :!alias)')
    .requiredOption('--path <path>', 'route path, e.g. /hello/{name}')
    .option('--method <method>', 'HTTP method, or ANY', 'ANY')
    .option('--auth <auth>', 'NONE, IAM (signed with a project key) or APP', 'NONE')
    .option('--name <name>', 'API name (default: from the function name)')
    .option('--async', 'invoke asynchronously (the gateway answers 202)')
    .option('--prefix', 'match the path as a prefix (SWA) rather than exactly')
    .action(async (fn: string, o: TriggerOptions) => {
      const name =
        o.name ?? `api_${(fn.split(':').at(-1) ?? fn).replace(/[^A-Za-z0-9_]/g, '_')}`.slice(0, 64)
      const created = await ctx.client().createTrigger(fn, {
        trigger_type_code: 'APIG',
        trigger_status: 'ACTIVE',
        event_data: {
          name,
          path: o.path,
          req_method: o.method.toUpperCase(),
          auth: o.auth.toUpperCase(),
          match_mode: o.prefix === true ? 'SWA' : 'NORMAL',
          protocol: 'HTTP',
          func_info: { timeout: 5000, invocation_type: o.async === true ? 'async' : 'sync' },
        },
      })
      const data = (created.event_data as JsonObject | undefined) ?? {}
      console.log(
        `created trigger ${text(created.trigger_id)}: ${text(data.req_method)} ${text(data.invoke_url)}`,
      )
      if (typeof data.app_key === 'string') {
        // APP auth: the caller signs with this pair; the server shows it only in this answer.
        process.stderr.write(`app_key ${data.app_key}\napp_secret ${text(data.app_secret)}\n`)
      }
    })
  trigger
    .command('list')
    .description("list a function's triggers")
    .argument('<function>', 'function name or URN')
    .option('--json', 'print the full API answer')
    .action(async (fn: string, o: { json?: boolean }) => {
      const triggers = await ctx.client().listTriggers(fn)
      if (o.json === true) {
        printJson(triggers)
        return
      }
      console.log(
        formatTable(
          ['ID', 'TYPE', 'STATUS', 'HEALTH', 'WHAT', 'LAST ERROR'],
          triggers.map((t) => [
            text(t.trigger_id),
            text(t.trigger_type_code),
            text(t.trigger_status),
            text(t.health),
            triggerSummary(t),
            lastErrorOf(t),
          ]),
        ),
      )
    })
  trigger
    .command('show')
    .description('show one trigger: its settings, status and health')
    .argument('<function>', 'function name or URN')
    .argument('<trigger-id>', 'the trigger id (from trigger list)')
    .option('--type <type>', 'trigger type', 'APIG')
    .option('--json', 'print the full API answer')
    .action(async (fn: string, id: string, o: { type: string; json?: boolean }) => {
      const t = await ctx.client().showTrigger(fn, o.type.toUpperCase(), id)
      if (o.json === true) {
        printJson(t)
        return
      }
      console.log(
        [
          `id          ${text(t.trigger_id)}`,
          `type        ${text(t.trigger_type_code)}`,
          `status      ${text(t.trigger_status)}`,
          `health      ${text(t.health)}`,
          `last error  ${lastErrorOf(t) || '-'}`,
          `what        ${triggerSummary(t)}`,
          `event_data  ${JSON.stringify(t.event_data ?? {})}`,
        ].join('\n'),
      )
    })
  trigger
    .command('delete')
    .description('delete a trigger')
    .argument('<function>', 'function name or URN')
    .argument('<trigger-id>', 'the trigger id (from trigger list)')
    .option('--type <type>', 'trigger type', 'APIG')
    .action(async (fn: string, id: string, o: { type: string }) => {
      await ctx.client().deleteTrigger(fn, o.type, id)
      console.log(`deleted trigger ${id}`)
    })
  return trigger
}

/** One line of what a trigger does: an API route, a schedule, or its source's address. */
function triggerSummary(t: JsonObject): string {
  const data = (t.event_data as JsonObject | undefined) ?? {}
  switch (t.trigger_type_code) {
    case 'APIG':
    case 'DEDICATEDGATEWAY':
      return `${text(data.req_method)} ${text(data.invoke_url)}`
    case 'TIMER':
      return `${text(data.schedule_type)} ${text(data.schedule)}`
    default:
      return ''
  }
}

/** `<time> <message>` of the trigger's last error, or ''. */
function lastErrorOf(t: JsonObject): string {
  const last = t.last_error as JsonObject | undefined
  return last === undefined ? '' : `${text(last.at)} ${text(last.message)}`
}

// FSS code of ASYNC_CONFIG_NOT_FOUND: the function exists but has no config of its own yet.
const ASYNC_CONFIG_NOT_FOUND = 'FSS.0404'

/** The function's current async config, or `{}` when it has none yet. */
async function currentAsyncConfig(client: StratoClient, fn: string): Promise<JsonObject> {
  try {
    return await client.getAsyncConfig(fn)
  } catch (err) {
    if (err instanceof ApiError && err.errorCode === ASYNC_CONFIG_NOT_FOUND) {
      return {}
    }
    throw err
  }
}

/** A destination's `param` for a function given by name or URN (the server wants the URN). */
async function destination(client: StratoClient, fn: string): Promise<JsonObject> {
  const urn = fn.startsWith('urn:') ? fn : text((await client.showConfig(fn)).func_urn)
  return { destination: 'FunctionGraph', param: JSON.stringify({ func_urn: urn }) }
}

function asyncConfigCommand(ctx: CliContext): Command {
  const cmd = new Command('async-config').description(
    "get or set a function's async invocation config (retries, event age, destinations)",
  )
  cmd
    .command('get')
    .description("print the function's async invoke config")
    .argument('<function>', 'function name or URN (:version or :!alias for theirs)')
    .action(async (fn: string) => {
      const current = await currentAsyncConfig(ctx.client(), fn)
      if (Object.keys(current).length === 0) {
        console.log(
          'no async invoke config: the defaults apply (1 retry, events expire after 3600 s)',
        )
        return
      }
      printJson(current)
    })
  cmd
    .command('put')
    .description('set the async invoke config; options not given keep their current values')
    .argument('<function>', 'function name or URN (:version or :!alias for theirs)')
    .option('--retries <n>', 'retries after a function error', wholeNumberIn(0, 3, 'retries'))
    .option('--max-age <s>', 'how long an event may wait', wholeNumberIn(1, 86_400, 'seconds'))
    .option('--on-success <function>', 'function that receives the record of each success')
    .option('--on-failure <function>', 'function that receives the record of each failure')
    .action(
      async (
        fn: string,
        o: { retries?: number; maxAge?: number; onSuccess?: string; onFailure?: string },
      ) => {
        const client = ctx.client()
        const current = await currentAsyncConfig(client, fn)
        const destinations = (current.destination_config as JsonObject | undefined) ?? {}
        const body: JsonObject = {
          max_async_retry_attempts: o.retries ?? current.max_async_retry_attempts ?? 1,
          max_async_event_age_in_seconds:
            o.maxAge ?? current.max_async_event_age_in_seconds ?? 3600,
          destination_config: {
            ...destinations,
            ...(o.onSuccess !== undefined
              ? { on_success: await destination(client, o.onSuccess) }
              : {}),
            ...(o.onFailure !== undefined
              ? { on_failure: await destination(client, o.onFailure) }
              : {}),
          },
        }
        printJson(await client.putAsyncConfig(fn, body))
      },
    )
  return cmd
}

function asyncRecordsCommand(ctx: CliContext): Command {
  const cmd = new Command('async-records').description(
    "list a function's async invocations and their status",
  )
  cmd
    .command('list')
    .description('list async invocation records (newest first, the last hour)')
    .argument('<function>', 'function name or URN')
    .option('--status <status>', 'WAIT, RUNNING, SUCCESS, FAIL or DISCARD')
    .option('--request-id <id>', 'only this invocation')
    .option('-l, --limit <n>', 'how many records', wholeNumberIn(1, 500, 'records'), 20)
    .option('--json', 'print the full API answer')
    .action(
      async (
        fn: string,
        o: { status?: string; requestId?: string; limit: number; json?: boolean },
      ) => {
        const page = await ctx.client().asyncInvocations(fn, {
          status: o.status,
          request_id: o.requestId,
          limit: o.limit,
        })
        if (o.json === true) {
          printJson(page)
          return
        }
        const records = (page.invocations as JsonObject[] | undefined) ?? []
        console.log(
          formatTable(
            ['REQUEST ID', 'STATUS', 'ATTEMPTS', 'START', 'END', 'ERROR'],
            records.map((r) => [
              text(r.request_id),
              text(r.status),
              text(r.attempts),
              text(r.start_time),
              text(r.end_time),
              r.error_message === undefined || r.error_message === '' ? '' : text(r.error_message),
            ]),
          ),
        )
      },
    )
  return cmd
}

/** Every command of this module, to add to the root program. */
export function resourceCommands(ctx: CliContext): Command[] {
  return [
    versionCommand(ctx),
    aliasCommand(ctx),
    triggerCommand(ctx),
    asyncConfigCommand(ctx),
    asyncRecordsCommand(ctx),
  ]
}
