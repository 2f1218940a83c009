/**
 * @module FunctionGraph runtime names and the language family Strato runs each with.
 */

/** Every runtime name FunctionGraph's API accepts (SDK enum plus the newer documented ones). */
export const FUNCTIONGRAPH_RUNTIMES = [
  'Java8',
  'Java11',
  'Java17',
  'Java21',
  'Python2.7',
  'Python3.6',
  'Python3.9',
  'Python3.10',
  'Python3.12',
  'Go1.8',
  'Go1.x',
  'Node.js6.10',
  'Node.js8.10',
  'Node.js10.16',
  'Node.js12.13',
  'Node.js14.18',
  'Node.js16.17',
  'Node.js18.15',
  'Node.js20.15',
  'C#(.NET Core 2.0)',
  'C#(.NET Core 2.1)',
  'C#(.NET Core 3.1)',
  'C#(.NET Core 6.0)',
  'Custom',
  'PHP7.3',
  'PHP8.3',
  'Cangjie1.0',
  'http',
  'Custom Image',
] as const

export type RuntimeName = (typeof FUNCTIONGRAPH_RUNTIMES)[number]

/**
 * The families Strato has a guest runtime for. `http` runs the function's own web server
 * (`bootstrap`), which Strato connects to inside the instance's network namespace.
 */
export type RuntimeFamily = 'node' | 'python' | 'http'

const RUNTIME_NAMES: ReadonlySet<string> = new Set(FUNCTIONGRAPH_RUNTIMES)

export function isRuntimeName(value: unknown): value is RuntimeName {
  return typeof value === 'string' && RUNTIME_NAMES.has(value)
}

/**
 * The family a runtime runs in, or `undefined` when Strato does not run it yet. Every Node.js
 * version runs on the machine's `node`, every Python version on its `python3` (Python2.7 code
 * that is not Python 3 compatible will fail at load with a SyntaxError; see README).
 */
export function runtimeFamilyOf(runtime: RuntimeName): RuntimeFamily | undefined {
  if (runtime.startsWith('Node.js')) {
    return 'node'
  }
  if (runtime.startsWith('Python')) {
    return 'python'
  }
  if (runtime === 'http') {
    return 'http'
  }
  return undefined
}

/** File extensions the handler's module may have, in lookup order. */
export const SOURCE_EXTENSIONS: Readonly<Record<RuntimeFamily, readonly string[]>> = {
  node: ['.js', '.cjs', '.mjs'],
  python: ['.py'],
  http: [''],
}

/** The one handler an HTTP function has: the file that starts its web server. */
export const HTTP_FUNCTION_HANDLER = 'bootstrap'

/** The runtimes this build can run, for error messages and docs. */
export function supportedRuntimes(): RuntimeName[] {
  return FUNCTIONGRAPH_RUNTIMES.filter((r) => runtimeFamilyOf(r) !== undefined)
}
