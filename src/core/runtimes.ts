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
  /** The one handler its functions have (a file at the code root, not `module.function`). */
  readonly fixedHandler?: string
}

/**
 * The families Strato runs, one row each (the runtime subsystem registers how each boots in
 * `src/runtime/families/index.ts`). Every Node.js version runs on the machine's `node`, every
 * Python version on its `python3` (Python2.7 code that is not Python 3 compatible fails at load
 * with a SyntaxError; see README). `http` runs the function's own web server (`bootstrap`), which
 * Strato connects to inside the instance's network namespace.
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
  { name: 'http', runtimes: ['http'], sourceExtensions: [''], fixedHandler: 'bootstrap' },
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
