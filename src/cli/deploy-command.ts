/**
 * @module `strato deploy`: creates or updates a function from a folder or a file, all or nothing.
 * Everything the CLI can check is checked before the first request (the configuration as the
 * server validates it, and that the handler's module is in the package); an update that changes
 * the configuration and then fails to change the code puts the previous configuration back.
 */
import fs from 'node:fs'
import path from 'node:path'
import { Command } from 'commander'
import { ApiError, type JsonObject, type StratoClient } from '../client/index.js'
import {
  codeFormatOf,
  fixedHandlerOf,
  handlerModuleOf,
  isRuntimeName,
  isStratoError,
  parseFunctionConfig,
  runtimeFamilyOf,
  supportedRuntimes,
  validateFunctionName,
  validatePackageName,
  type RuntimeFamily,
} from '../core/index.js'
import { UsageError, type CliContext } from './cli-context.js'
import {
  handlerModuleCandidates,
  inferRuntime,
  packageCode,
  type CodePackage,
} from './package-folder.js'
import { collectEnv, parseMemoryMb, parseTimeoutSeconds } from './parse-options.js'
import { uploadProgress } from './upload-progress.js'

interface DeployOptions {
  readonly name: string
  readonly runtime?: string
  readonly handler?: string
  readonly memory?: number
  readonly timeout?: number
  readonly env: Record<string, string>
  readonly initializer?: string
  readonly package: string
}

const DEFAULT_MEMORY_MB = 128
const DEFAULT_TIMEOUT_S = 30

/** The function's current configuration, or `undefined` when it does not exist (FSS.1051). */
async function findFunction(client: StratoClient, ref: string): Promise<JsonObject | undefined> {
  try {
    return await client.showConfig(ref)
  } catch (err) {
    if (err instanceof ApiError && err.errorCode === 'FSS.1051') {
      return undefined
    }
    throw err
  }
}

/** Runs core's own validation of a config body, turning its error into a usage error. */
function checkConfig(body: JsonObject): void {
  try {
    validateFunctionName(body.func_name)
    if (body.package !== undefined) {
      validatePackageName(body.package)
    }
    parseFunctionConfig(body)
  } catch (err) {
    if (isStratoError(err)) {
      throw new UsageError(err.message)
    }
    throw err
  }
}

/** Refuses a handler (or initializer) whose module the package does not have. */
function checkModule(
  pkg: CodePackage,
  family: RuntimeFamily,
  handler: string,
  what: string,
  target: string,
): void {
  if (codeFormatOf(family) === 'image') {
    // An image's entrypoint is in its config, not a file the handler names.
    return
  }
  const candidates = handlerModuleCandidates(family, handler)
  if (candidates.some((c) => pkg.files.has(c))) {
    return
  }
  if (handlerModuleOf(family) === 'javaClass' && [...pkg.files].some((f) => f.endsWith('.jar'))) {
    // The class may be in a JAR, which the server does not open either.
    return
  }
  const shown = [...pkg.files].slice(0, 8).join(', ')
  throw new UsageError(
    `the ${what} '${handler}' needs ${candidates.map((c) => `'${c}'`).join(' or ')} in ${target}, which holds ${shown}${pkg.files.size > 8 ? ', …' : ''}; ` +
      (family === 'http'
        ? 'an HTTP function starts its web server from a file named bootstrap'
        : family === 'custom'
          ? 'a custom runtime function runs an executable file named bootstrap'
          : "give --handler 'file.function' naming a file of the package"),
  )
}

function familyOrFail(runtime: string): RuntimeFamily {
  const family = isRuntimeName(runtime) ? runtimeFamilyOf(runtime) : undefined
  if (family === undefined) {
    throw new UsageError(
      `runtime '${runtime}' is not one Strato runs; it runs ${supportedRuntimes().join(', ')}`,
    )
  }
  return family
}

async function deploy(ctx: CliContext, target: string, o: DeployOptions): Promise<void> {
  if (!fs.existsSync(target)) {
    throw new UsageError(`${target} does not exist`)
  }
  let pkg: CodePackage
  try {
    pkg = await packageCode(target)
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const client = ctx.client()
  const ref = `${o.package}:${o.name}`
  const existing = await findFunction(client, ref)
  const userData = Object.keys(o.env).length > 0 ? JSON.stringify(o.env) : undefined
  const code = {
    code_type: 'zip',
    code_filename: `${path.basename(path.resolve(target)).replace(/\.[^.]+$/, '')}.zip`,
    func_code: { file: pkg.zip.toString('base64') },
  }

  if (existing === undefined) {
    const guess = inferRuntime(target)
    const runtime = o.runtime ?? guess.runtime
    const family = familyOrFail(runtime)
    const handler =
      o.handler ??
      (family === familyOrFail(guess.runtime)
        ? guess.handler
        : ((isRuntimeName(runtime) ? fixedHandlerOf(runtime) : undefined) ?? 'index.handler'))
    const body: JsonObject = {
      func_name: o.name,
      package: o.package,
      runtime,
      handler,
      memory_size: o.memory ?? DEFAULT_MEMORY_MB,
      timeout: o.timeout ?? DEFAULT_TIMEOUT_S,
      ...(userData !== undefined ? { user_data: userData } : {}),
      ...(o.initializer !== undefined ? { initializer_handler: o.initializer } : {}),
    }
    checkConfig(body)
    checkModule(pkg, family, handler, 'handler', target)
    if (o.initializer !== undefined && o.initializer !== '') {
      checkModule(pkg, family, o.initializer, 'initializer', target)
    }
    if (o.runtime === undefined) {
      console.log(`runtime ${runtime}, handler ${handler} (${guess.reason}; --runtime to choose)`)
    }
    const created = await client.createFunction(
      { ...body, ...code },
      { onUploadProgress: uploadProgress(pkg.zip.length) },
    )
    console.log(
      `created ${String(created.func_urn)} (${pkg.zip.length} bytes, digest ${String(created.digest).slice(0, 16)}…)`,
    )
    return
  }

  const runtime = o.runtime ?? String(existing.runtime)
  const handler = o.handler ?? String(existing.handler)
  const family = familyOrFail(runtime)
  if (o.runtime !== undefined && family !== familyOrFail(String(existing.runtime))) {
    throw new UsageError(
      `${o.name} is a ${String(existing.runtime)} function; its runtime cannot become ${runtime} (delete it and deploy again)`,
    )
  }
  const configChanged =
    o.runtime !== undefined ||
    o.handler !== undefined ||
    o.memory !== undefined ||
    o.timeout !== undefined ||
    userData !== undefined ||
    o.initializer !== undefined
  const config: JsonObject = {
    func_name: o.name,
    runtime,
    handler,
    memory_size: o.memory ?? existing.memory_size,
    timeout: o.timeout ?? existing.timeout,
    ...(userData !== undefined ? { user_data: userData } : {}),
    ...(o.initializer !== undefined ? { initializer_handler: o.initializer } : {}),
  }
  checkConfig(config)
  checkModule(pkg, family, handler, 'handler', target)
  const initializer =
    o.initializer ??
    (typeof existing.initializer_handler === 'string' ? existing.initializer_handler : '')
  if (initializer !== '') {
    checkModule(pkg, family, initializer, 'initializer', target)
  }

  if (configChanged) {
    await client.updateConfig(ref, config)
  }
  let updated: JsonObject
  try {
    updated = await client.updateCode(ref, code, {
      onUploadProgress: uploadProgress(pkg.zip.length),
    })
  } catch (err) {
    if (!configChanged) {
      throw err
    }
    // The new configuration is in but its code is not: put the previous configuration back, so
    // the function keeps running as it did before this deploy.
    const previous: JsonObject = {
      func_name: o.name,
      runtime: existing.runtime,
      handler: existing.handler,
      memory_size: existing.memory_size,
      timeout: existing.timeout,
      ...(userData !== undefined ? { user_data: existing.user_data ?? '' } : {}),
      ...(o.initializer !== undefined
        ? { initializer_handler: existing.initializer_handler ?? '' }
        : {}),
    }
    try {
      await client.updateConfig(ref, previous)
    } catch (restoreErr) {
      throw new Error(
        `the code update failed (${describe(err)}) and putting the previous configuration back failed too (${describe(restoreErr)}): ${o.name} now has the new configuration with its old code; deploy again`,
        { cause: err },
      )
    }
    if (err instanceof ApiError) {
      throw new ApiError(
        err.status,
        err.errorCode,
        `${err.message} (nothing changed: the previous configuration is back)`,
        err.requestId,
      )
    }
    throw err
  }
  console.log(
    `updated ${String(existing.func_urn)} (${pkg.zip.length} bytes, digest ${String(updated.digest).slice(0, 16)}…)`,
  )
}

function describe(err: unknown): string {
  return err instanceof ApiError ? `${err.errorCode}: ${err.message}` : (err as Error).message
}

/** The `deploy` command. */
export function deployCommand(ctx: CliContext): Command {
  return new Command('deploy')
    .description(
      'create or update a function from a folder or a single source file (all or nothing)',
    )
    .argument('<path>', 'folder (zipped as the code root) or source file')
    .requiredOption('-n, --name <name>', 'function name')
    .option(
      '-r, --runtime <runtime>',
      "runtime, e.g. Node.js20.15, Python3.10 or http (guessed from the code: 'bootstrap' means http, index.py Python)",
    )
    .option(
      '-H, --handler <handler>',
      "handler 'file.function' (default: index.handler, <file>.handler for one file, bootstrap for http)",
    )
    .option('-m, --memory <mb>', 'memory size in MB (default: 128)', parseMemoryMb)
    .option('-t, --timeout <s>', 'timeout in seconds (default: 30)', parseTimeoutSeconds)
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable)', collectEnv, {})
    .option('--initializer <handler>', "initializer 'file.function'")
    .option('--package <package>', 'package', 'default')
    .action((target: string, o: DeployOptions) => deploy(ctx, target, o))
}
