/**
 * @module What the runtime subsystem knows of a runtime family: its interpreter, its guest, how a
 * cell of it boots and is confined, how its dependencies are found and how the host talks to it.
 * One file per family in this folder, registered in `index.ts`.
 */
import type { RuntimeFamily } from '../../core/index.js'

/** An interpreter guests run on. Several families may share one (Node.js and HTTP functions). */
export interface GuestInterpreter {
  /** Its name in logs and in GET /strato/info's `interpreters` (`node`, `python`). */
  readonly name: string
  /** The command run when `LauncherOptions.interpreterCommands` names none. */
  readonly defaultCommand: string
  /** Arguments that make it print the real path of its own executable (a shim costs per start). */
  readonly realPathProbe: readonly string[]
  /**
   * FunctionGraph's documented paths of this interpreter: inside a bubblewrap sandbox they lead to
   * it, so unmodified `bootstrap` files of HTTP functions find it.
   */
  readonly sandboxPaths: readonly string[]
  /**
   * Host dirs outside /usr it reads at start, given its resolved path (Debian's JDK links its
   * configuration to /etc/java-<N>-openjdk); a bubblewrap sandbox shows them read-only.
   */
  readonly hostConfigDirs?: (resolved: string) => readonly string[]
}

/** How the host reaches a family's invocations: frames on fd 3, or HTTP to the function's server. */
export type GuestTransportKind = 'frames' | 'http'

/** One runtime family, as the launcher and the sandbox need it. */
export interface RuntimeFamilySpec {
  /** Its row in core's `RUNTIME_FAMILIES` (FunctionGraph runtimes, source extensions, concurrency). */
  readonly name: RuntimeFamily
  /** The interpreter that runs the guest. */
  readonly interpreter: GuestInterpreter
  /**
   * The guest program: the folders of `runtimes/` it needs (the only ones a sandbox of this family
   * shows, read-only, under /opt/function/runtime/strato) and its script, relative to `runtimes/`.
   */
  readonly guest: { readonly folders: readonly string[]; readonly script: string }
  /** Interpreter flags placed before the guest script, for a cell of `memorySizeMb`. */
  interpreterArgs(memorySizeMb: number): readonly string[]
  /** The flags depend on the memory size (fixed at boot): pre-started cells are kept per size. */
  readonly cellsPerMemorySize: boolean
  /** Address space allowed beyond memory_size where no cgroup caps memory (the rlimits level). */
  readonly addressSpaceHeadroomBytes: number
  /**
   * The variable that lists attached dependency trees for the guest's module loader, and the
   * folders of each tree it lists, in order (`''` is the tree's root); none: dependencies are
   * only files under their mount.
   */
  readonly dependencyPath?: { readonly variable: string; readonly subdirs: readonly string[] }
  /** `http`: the instance needs its own network namespace (the sandbox's `network`). */
  readonly transport: GuestTransportKind
  /**
   * `always`: a cell is booted at start even when no function of the family exists yet (cheap
   * guests users start with). Otherwise (the default) only once the family has a function: a
   * Strato serving only Node.js never holds a JVM.
   */
  readonly prewarmAtStart?: 'always' | 'in-use'
  /**
   * `image`: the function's code is a container image and the sandbox's root file system; the
   * interpreter and the guest are shown under /.strato (only the bubblewrap level can do it).
   */
  readonly rootFileSystem?: 'image'
}
