/**
 * @module The `strato` command: deploy, list, show, invoke, logs and delete functions, signing
 * requests with the same code the server verifies them with.
 */
import fs from 'node:fs'
import path from 'node:path'
import { Command, InvalidArgumentError } from 'commander'
import { ApiError, StratoClient, type JsonObject } from '../client/index.js'
import { inferRuntime, packageCode } from './package-folder.js'

interface GlobalOptions {
  endpoint: string
  projectId?: string
  accessKey?: string
  secretKey?: string
}

class UsageError extends Error {}

function clientFrom(opts: GlobalOptions): StratoClient {
  const missing = [
    ['--project-id / STRATO_PROJECT_ID', opts.projectId],
    ['--access-key / STRATO_ACCESS_KEY', opts.accessKey],
    ['--secret-key / STRATO_SECRET_KEY', opts.secretKey],
  ].filter(([, v]) => v === undefined || v === '')
  if (missing.length > 0) {
    throw new UsageError(
      `missing credentials: ${missing.map(([n]) => n).join(', ')} (Strato prints them on its first start)`,
    )
  }
  return new StratoClient({
    endpoint: opts.endpoint,
    projectId: opts.projectId ?? '',
    accessKey: opts.accessKey ?? '',
    secretKey: opts.secretKey ?? '',
  })
}

function toInt(value: string): number {
  if (!/^\d+$/.test(value)) {
    throw new InvalidArgumentError('not a whole number')
  }
  return Number(value)
}

function collectEnv(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=')
  if (eq <= 0) {
    throw new InvalidArgumentError(`expected KEY=VALUE, got '${value}'`)
  }
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) }
}

function print(value: unknown): void {
  console.log(JSON.stringify(value, null, 2))
}

async function findFunction(client: StratoClient, name: string): Promise<JsonObject | undefined> {
  try {
    return await client.showConfig(name)
  } catch (err) {
    if (err instanceof ApiError && err.errorCode === 'FSS.1051') {
      return undefined
    }
    throw err
  }
}

export function buildProgram(): Command {
  const program = new Command()
  program
    .name('strato')
    .description('Deploy and run functions on Strato (FunctionGraph v2 API).')
    .option(
      '--endpoint <url>',
      'Strato API endpoint',
      process.env.STRATO_ENDPOINT ?? 'http://127.0.0.1:8080',
    )
    .option('--project-id <id>', 'project id', process.env.STRATO_PROJECT_ID)
    .option('--access-key <ak>', 'access key', process.env.STRATO_ACCESS_KEY)
    .option('--secret-key <sk>', 'secret key', process.env.STRATO_SECRET_KEY)
    .showHelpAfterError()

  const globals = (): GlobalOptions => program.opts<GlobalOptions>()

  program
    .command('deploy')
    .description('create or update a function from a folder or a single source file')
    .argument('<path>', 'folder (zipped as the code root) or source file')
    .requiredOption('-n, --name <name>', 'function name')
    .option(
      '-r, --runtime <runtime>',
      'runtime, e.g. Node.js18.15 or Python3.10 (guessed from the code)',
    )
    .option('-H, --handler <handler>', "handler 'file.function' (default: index.handler)")
    .option('-m, --memory <mb>', 'memory size in MB', toInt)
    .option('-t, --timeout <s>', 'timeout in seconds', toInt)
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable)', collectEnv, {})
    .option('--initializer <handler>', "initializer 'file.function'")
    .option('--package <package>', 'package', 'default')
    .action(
      async (
        target: string,
        o: {
          name: string
          runtime?: string
          handler?: string
          memory?: number
          timeout?: number
          env: Record<string, string>
          initializer?: string
          package: string
        },
      ) => {
        if (!fs.existsSync(target)) {
          throw new UsageError(`${target} does not exist`)
        }
        const client = clientFrom(globals())
        const guess = inferRuntime(target)
        const zip = await packageCode(target)
        const code = {
          code_type: 'zip',
          code_filename: `${path.basename(path.resolve(target)).replace(/\.[^.]+$/, '')}.zip`,
          func_code: { file: zip.toString('base64') },
        }
        const ref = `${o.package}:${o.name}`
        const existing = await findFunction(client, ref)
        const userData = Object.keys(o.env).length > 0 ? JSON.stringify(o.env) : undefined
        if (existing === undefined) {
          const created = await client.createFunction({
            func_name: o.name,
            package: o.package,
            runtime: o.runtime ?? guess.runtime,
            handler: o.handler ?? guess.handler,
            memory_size: o.memory ?? 128,
            timeout: o.timeout ?? 30,
            ...(userData !== undefined ? { user_data: userData } : {}),
            ...(o.initializer !== undefined ? { initializer_handler: o.initializer } : {}),
            ...code,
          })
          console.log(
            `created ${String(created.func_urn)} (${zip.length} bytes, digest ${String(created.digest).slice(0, 16)}…)`,
          )
          return
        }
        const configChanged =
          o.runtime !== undefined ||
          o.handler !== undefined ||
          o.memory !== undefined ||
          o.timeout !== undefined ||
          userData !== undefined ||
          o.initializer !== undefined
        if (configChanged) {
          await client.updateConfig(ref, {
            func_name: o.name,
            runtime: o.runtime ?? existing.runtime,
            handler: o.handler ?? existing.handler,
            memory_size: o.memory ?? existing.memory_size,
            timeout: o.timeout ?? existing.timeout,
            ...(userData !== undefined ? { user_data: userData } : {}),
            ...(o.initializer !== undefined ? { initializer_handler: o.initializer } : {}),
          })
        }
        const updated = await client.updateCode(ref, code)
        console.log(
          `updated ${String(existing.func_urn)} (${zip.length} bytes, digest ${String(updated.digest).slice(0, 16)}…)`,
        )
      },
    )

  program
    .command('list')
    .description('list functions')
    .option('--json', 'print the full API answer')
    .action(async (o: { json?: boolean }) => {
      const page = await clientFrom(globals()).listFunctions()
      if (o.json === true) {
        print(page)
        return
      }
      const fns = (page.functions as JsonObject[] | undefined) ?? []
      if (fns.length === 0) {
        console.log('no functions')
      }
      for (const f of fns) {
        console.log(
          `${String(f.package)}:${String(f.func_name)}\t${String(f.runtime)}\t${String(f.memory_size)} MB\t${String(f.timeout)} s\t${String(f.last_modified)}`,
        )
      }
    })

  program
    .command('show')
    .description("show a function's configuration")
    .argument('<name>', 'function name or URN')
    .action(async (name: string) => {
      print(await clientFrom(globals()).showConfig(name))
    })

  program
    .command('invoke')
    .description(
      'invoke a function synchronously and print its result, or with --async print the request id',
    )
    .argument('<name>', 'function name or URN')
    .option('-d, --data <json>', 'event as JSON', '{}')
    .option('-f, --file <path>', 'read the event from a file')
    .option('--no-log', 'do not print the log tail')
    .option('--async', 'queue the event (202) and print its request id; see `logs --request-id`')
    .action(
      async (name: string, o: { data: string; file?: string; log: boolean; async?: boolean }) => {
        const event = o.file !== undefined ? fs.readFileSync(o.file, 'utf8') : o.data
        try {
          JSON.parse(event)
        } catch (err) {
          throw new UsageError(`the event is not valid JSON: ${(err as Error).message}`)
        }
        if (o.async === true) {
          console.log(
            JSON.stringify({ request_id: await clientFrom(globals()).invokeAsync(name, event) }),
          )
          return
        }
        const res = await clientFrom(globals()).invoke(name, event, { tail: o.log })
        if (o.log && res.log !== '') {
          process.stderr.write(res.log.endsWith('\n') ? res.log : `${res.log}\n`)
        }
        console.log(res.result)
        if (res.isFunctionError) {
          process.exitCode = 1
        }
      },
    )

  program
    .command('logs')
    .description("show a function's recent invocation logs (newest first)")
    .argument('<name>', 'function name or URN')
    .option('--request-id <id>', 'only this invocation')
    .option('-l, --limit <n>', 'how many invocations', toInt, 10)
    .action(async (name: string, o: { requestId?: string; limit: number }) => {
      const page = await clientFrom(globals()).logs(name, {
        request_id: o.requestId,
        limit: o.limit,
      })
      const logs = (page.logs as JsonObject[] | undefined) ?? []
      if (logs.length === 0) {
        console.log('no logs')
      }
      for (const l of logs) {
        process.stdout.write(String(l.log))
      }
    })

  program
    .command('delete')
    .description('delete a function')
    .argument('<name>', 'function name or URN')
    .action(async (name: string) => {
      await clientFrom(globals()).deleteFunction(name)
      console.log(`deleted ${name}`)
    })

  return program
}

export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram()
  program.exitOverride()
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
    const code = (err as { code?: string }).code
    if (typeof code === 'string' && code.startsWith('commander.')) {
      // commander printed the message or the help already
      return code === 'commander.helpDisplayed' || code === 'commander.version' ? 0 : 2
    }
    if (err instanceof TypeError && err.message === 'fetch failed') {
      // undici hides the socket error in `cause` (ECONNREFUSED, ENOTFOUND, …).
      const cause = (err as { cause?: { code?: string; message?: string } }).cause
      console.error(
        `strato: cannot reach Strato at ${program.opts<GlobalOptions>().endpoint} (${cause?.code ?? cause?.message ?? 'network error'})`,
      )
      return 1
    }
    console.error(`strato: ${(err as Error).message}`)
    return 1
  }
}
