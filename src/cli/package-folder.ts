/**
 * @module Zips a folder or a single file into a code package for deploy, guesses its runtime, and
 * finds a handler's module in it the way the server will.
 */
import fs from 'node:fs'
import path from 'node:path'
import yazl from 'yazl'
import {
  HTTP_FUNCTION_HANDLER,
  SOURCE_EXTENSIONS,
  handlerModuleOf,
  type RuntimeFamily,
} from '../core/index.js'

const SKIP = new Set(['.git', '.DS_Store'])

/** A code package: the zip's bytes and the paths of the files in it. */
export interface CodePackage {
  readonly zip: Buffer
  /** Paths inside the package, `/`-separated, as the server will see them. */
  readonly files: ReadonlySet<string>
}

function addTree(zip: yazl.ZipFile, root: string, rel: string, files: Set<string>): void {
  for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
    if (SKIP.has(entry.name)) {
      continue
    }
    const r = rel === '' ? entry.name : `${rel}/${entry.name}`
    const full = path.join(root, r)
    if (entry.isDirectory()) {
      addTree(zip, root, r, files)
    } else if (entry.isFile()) {
      const mode = fs.statSync(full).mode
      zip.addFile(full, r, { mode })
      files.add(r)
    }
    // Symlinks are left out: Strato refuses them in packages.
  }
}

/** The zip of `target` (a folder's contents at the zip root, or one file). */
export async function packageCode(target: string): Promise<CodePackage> {
  const zip = new yazl.ZipFile()
  const files = new Set<string>()
  const st = fs.statSync(target)
  if (st.isDirectory()) {
    addTree(zip, target, '', files)
    if (files.size === 0) {
      throw new Error(`${target} holds no files to deploy`)
    }
  } else {
    zip.addFile(target, path.basename(target), { mode: st.mode })
    files.add(path.basename(target))
  }
  zip.end()
  const chunks: Buffer[] = []
  for await (const chunk of zip.outputStream) {
    chunks.push(chunk as Buffer)
  }
  return { zip: Buffer.concat(chunks), files }
}

/** A guessed runtime and handler, and what the guess rests on (printed by deploy). */
export interface RuntimeGuess {
  readonly runtime: string
  readonly handler: string
  readonly reason: string
}

// The newest FunctionGraph names of each family: Node.js functions run on the node running Strato
// (>= 20), Python ones on the machine's python3.
const NODE_RUNTIME = 'Node.js20.15'
const PYTHON_RUNTIME = 'Python3.10'

/** A bootstrap that polls the custom runtime's API (a script or a binary naming the variable). */
function callsRuntimeApi(bootstrap: string): boolean {
  try {
    return (
      fs.statSync(bootstrap).isFile() && fs.readFileSync(bootstrap).includes('RUNTIME_API_ADDR')
    )
  } catch {
    return false
  }
}

/** Guesses runtime and handler from what the target holds. */
export function inferRuntime(target: string): RuntimeGuess {
  const st = fs.statSync(target)
  if (!st.isDirectory()) {
    const file = path.basename(target)
    const base = file.replace(/\.[^.]+$/, '')
    if (file === HTTP_FUNCTION_HANDLER) {
      return { runtime: 'http', handler: HTTP_FUNCTION_HANDLER, reason: `the file is ${file}` }
    }
    return target.endsWith('.py')
      ? { runtime: PYTHON_RUNTIME, handler: `${base}.handler`, reason: `${file} is Python` }
      : { runtime: NODE_RUNTIME, handler: `${base}.handler`, reason: `${file} is not Python` }
  }
  const has = (name: string): boolean => fs.existsSync(path.join(target, name))
  if (has(HTTP_FUNCTION_HANDLER) && callsRuntimeApi(path.join(target, HTTP_FUNCTION_HANDLER))) {
    return {
      runtime: 'Custom',
      handler: HTTP_FUNCTION_HANDLER,
      reason: `found ${HTTP_FUNCTION_HANDLER} using RUNTIME_API_ADDR: a custom runtime`,
    }
  }
  if (has(HTTP_FUNCTION_HANDLER)) {
    return {
      runtime: 'http',
      handler: HTTP_FUNCTION_HANDLER,
      reason: `found ${HTTP_FUNCTION_HANDLER}: an HTTP function`,
    }
  }
  if (has('index.py')) {
    return { runtime: PYTHON_RUNTIME, handler: 'index.handler', reason: 'found index.py' }
  }
  if (has('index.php')) {
    return { runtime: 'PHP8.3', handler: 'index.handler', reason: 'found index.php' }
  }
  const nodeIndex = SOURCE_EXTENSIONS.node.map((e) => `index${e}`).find(has)
  if (nodeIndex !== undefined) {
    return { runtime: NODE_RUNTIME, handler: 'index.handler', reason: `found ${nodeIndex}` }
  }
  const names = fs.readdirSync(target)
  if (names.some((n) => n.endsWith('.py')) && !names.some((n) => /\.[cm]?js$/.test(n))) {
    return {
      runtime: PYTHON_RUNTIME,
      handler: 'index.handler',
      reason: 'found .py files and no .js files',
    }
  }
  return {
    runtime: NODE_RUNTIME,
    handler: 'index.handler',
    reason: 'found no bootstrap, index.py or index.js; Node.js is the default',
  }
}

/** The files a handler's module may be, in the order the runtime looks (as the server checks). */
export function handlerModuleCandidates(family: RuntimeFamily, handler: string): string[] {
  // The handler is the file itself: a bootstrap, or a Go executable.
  if (family === 'http' || family === 'custom' || family === 'go') {
    return [handler]
  }
  const dot = handler.lastIndexOf('.')
  if (handlerModuleOf(family) === 'javaClass') {
    // `pkg.Class.method`: the class file (a JAR in the package may hold it instead).
    return [`${handler.slice(0, Math.max(0, dot)).replaceAll('.', '/')}.class`]
  }
  const module = dot < 0 ? handler : handler.slice(0, dot)
  return SOURCE_EXTENSIONS[family].map((e) => `${module}${e}`)
}
