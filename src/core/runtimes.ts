/**
 * @module FunctionGraph runtime names, and the runtime families Strato runs them with: what the
 * API, the store and the async dispatcher may know of a family. How a family's guest boots is the
 * runtime subsystem's (`src/runtime/families/`).
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

/** What every subsystem may know of a runtime family, whatever runs it. */
export interface RuntimeFamilyTraits {
  readonly name: string
  /** The FunctionGraph runtimes it runs; each runtime belongs to at most one family. */
  readonly runtimes: readonly RuntimeName[]
  /** File extensions the handler's module may have, in lookup order (the first names inline source). */
  readonly sourceExtensions: readonly string[]
  /** Invocations one instance serves at once whatever `concurrent_num` says (no such cap if absent). */
  readonly maxConcurrencyPerInstance?: number
  /**
   * How the code store finds the handler's module: `path` (the default) is a file path plus one
   * of `sourceExtensions`; `javaClass` is a class name (`pkg.Class` as `pkg/Class.class`), or any
   * `.jar` in the code, which the store does not open. A `javaClass` family takes no inline code.
   */
  readonly handlerModule?: 'path' | 'javaClass'
  /** What its code is: a zip of files (the default), or a container image archive (`image`). */
  readonly codeFormat?: 'zip' | 'image'
  /** The function is its own web server on port 8000: invocations reach it as HTTP requests. */
  readonly servesHttp?: boolean
  /** The one handler its functions have (a file at the code root, not `module.function`). */
  readonly fixedHandler?: string
}

/**
 * The families Strato runs, one row each (the runtime subsystem registers how each boots in
 * `src/runtime/families/index.ts`). Every Node.js version runs on the machine's `node`, every
 * Python version on its `python3` (Python2.7 code that is not Python 3 compatible fails at load
 * with a SyntaxError; see README), every PHP version on its `php` CLI (Debian's PHP 8), every
 * Java version on its JDK's `java` (17 on Debian 12). `http` runs the function's own web server
 * (`bootstrap`), which Strato connects to inside the instance's network namespace.
 */
export const RUNTIME_FAMILIES = [
  {
    name: 'node',
    runtimes: [
      'Node.js6.10',
      'Node.js8.10',
      'Node.js10.16',
      'Node.js12.13',
      'Node.js14.18',
      'Node.js16.17',
      'Node.js18.15',
      'Node.js20.15',
    ],
    sourceExtensions: ['.js', '.cjs', '.mjs'],
  },
  {
    name: 'python',
    runtimes: ['Python2.7', 'Python3.6', 'Python3.9', 'Python3.10', 'Python3.12'],
    sourceExtensions: ['.py'],
    // The Python guest serves one invocation at a time: its requests queue on the control socket.
    maxConcurrencyPerInstance: 1,
  },
  {
    name: 'http',
    runtimes: ['http'],
    sourceExtensions: [''],
    servesHttp: true,
    fixedHandler: 'bootstrap',
  },
  {
    name: 'php',
    runtimes: ['PHP7.3', 'PHP8.3'],
    sourceExtensions: ['.php'],
    // PHP is single-threaded: the worker serves one invocation at a time.
    maxConcurrencyPerInstance: 1,
  },
  {
    name: 'java',
    runtimes: ['Java8', 'Java11', 'Java17', 'Java21'],
    sourceExtensions: ['.class'],
    handlerModule: 'javaClass',
    // One JVM thread per invocation in flight; beyond this a JVM of FunctionGraph's sizes spends
    // its memory on stacks and its time switching (docs/decisions/0010-java-guest.md).
    maxConcurrencyPerInstance: 100,
  },
  // A container image's entrypoint is an HTTP server on port 8000, as FunctionGraph's images are.
  {
    name: 'image',
    runtimes: ['Custom Image'],
    sourceExtensions: [],
    codeFormat: 'image',
    servesHttp: true,
  },
  // The handler names the executable; one instance serves `concurrent_num` calls at once.
  { name: 'go', runtimes: ['Go1.x', 'Go1.8'], sourceExtensions: [''] },
  // The custom runtime: the function's own `bootstrap` long-polls the runtime API its guest serves.
  { name: 'custom', runtimes: ['Custom'], sourceExtensions: [''], fixedHandler: 'bootstrap' },
] as const satisfies readonly RuntimeFamilyTraits[]

/** The name of a family Strato has a guest runtime for. */
export type RuntimeFamily = (typeof RUNTIME_FAMILIES)[number]['name']

const RUNTIME_NAMES: ReadonlySet<string> = new Set(FUNCTIONGRAPH_RUNTIMES)
const FAMILY_BY_RUNTIME: ReadonlyMap<RuntimeName, RuntimeFamilyTraits & { name: RuntimeFamily }> =
  new Map(RUNTIME_FAMILIES.flatMap((family) => family.runtimes.map((r) => [r, family] as const)))
const FAMILY_BY_NAME: ReadonlyMap<string, RuntimeFamilyTraits> = new Map(
  RUNTIME_FAMILIES.map((family) => [family.name, family]),
)

export function isRuntimeName(value: unknown): value is RuntimeName {
  return typeof value === 'string' && RUNTIME_NAMES.has(value)
}

/** The family a runtime runs in, or `undefined` when Strato does not run it yet. */
export function runtimeFamilyOf(runtime: RuntimeName): RuntimeFamily | undefined {
  return FAMILY_BY_RUNTIME.get(runtime)?.name
}

/**
 * Invocations one instance of `family` serves at once when the function asks for `concurrentNum`
 * (the family's own cap, if it has one, wins).
 */
export function instanceConcurrencyOf(
  family: RuntimeFamily | undefined,
  concurrentNum: number,
): number {
  const cap =
    family === undefined ? undefined : FAMILY_BY_NAME.get(family)?.maxConcurrencyPerInstance
  return cap === undefined ? concurrentNum : Math.min(cap, concurrentNum)
}

/** File extensions the handler's module may have, by family, in lookup order. */
export const SOURCE_EXTENSIONS: Readonly<Record<RuntimeFamily, readonly string[]>> =
  RUNTIME_FAMILIES.reduce(
    (byFamily, family) => ({ ...byFamily, [family.name]: family.sourceExtensions }),
    {} as Record<RuntimeFamily, readonly string[]>,
  )

/** How the code store finds a family's handler module (`path` unless the family says otherwise). */
export function handlerModuleOf(family: RuntimeFamily): 'path' | 'javaClass' {
  return FAMILY_BY_NAME.get(family)?.handlerModule ?? 'path'
}

/** What code `family` takes: a zip of files, or a container image archive. */
export function codeFormatOf(family: RuntimeFamily): 'zip' | 'image' {
  return FAMILY_BY_NAME.get(family)?.codeFormat ?? 'zip'
}

/** Whether functions of `runtime` are web servers that invocations reach as HTTP requests. */
export function servesHttp(runtime: RuntimeName): boolean {
  return FAMILY_BY_RUNTIME.get(runtime)?.servesHttp === true
}

/** The handler FunctionGraph gives a Custom Image function (its image says what runs). */
export const IMAGE_FUNCTION_HANDLER = '-'

/** The one handler an HTTP function has: the file that starts its web server. */
export const HTTP_FUNCTION_HANDLER = 'bootstrap'

/** The one handler `runtime`'s functions must have (`bootstrap`), or undefined when any is valid. */
export function fixedHandlerOf(runtime: RuntimeName): string | undefined {
  return FAMILY_BY_RUNTIME.get(runtime)?.fixedHandler
}

/** The runtimes this build can run, for error messages and docs. */
export function supportedRuntimes(): RuntimeName[] {
  return FUNCTIONGRAPH_RUNTIMES.filter((r) => runtimeFamilyOf(r) !== undefined)
}
