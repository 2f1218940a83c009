/**
 * @module How invocations reach a guest and how their answers come back: one `GuestTransport` per
 * protocol, chosen once per instance by `transportFor`. The instance keeps what every transport
 * shares (slots, the in-flight table, deadlines, the output ledger, judging deaths); a transport only
 * carries requests and reports answers through its `TransportHost`.
 *
 * Adding a protocol (the custom runtime's HTTP API, answering the guest's long-polls, is next): a
 * class implementing `GuestTransport` in its own file, a `TransportKind`, and a case in
 * `transportFor`. It sends in `send`, ends each invocation with `host.finish(id, …)`, and lets go
 * of what it holds in `close`.
 */
import type { ControlChannel } from './control-channel.js'
import type { InstanceEvidence } from './death-classifier.js'
import { FrameTransport } from './frame-transport.js'
import type { FunctionFailure, GuestOutcome, InvokeInput } from './guest-outcome.js'
import { HttpTransport } from './http-transport.js'
import type { InstanceNetwork } from './netns-dialer.js'
import type { GuestFrame } from './protocol.js'
import { StratoError } from '../core/index.js'

/** What a family's guest speaks for invocations: frames on fd 3, or HTTP to its own server. */
export type TransportKind = 'frames' | 'http'

/** Guest frames about invocations; the instance handles the life-cycle ones itself. */
export type InvocationFrame = Extract<GuestFrame, { readonly t: 'result' | 'exit' }>

/** One invocation in flight on an instance, by its id. */
export interface Invocation {
  readonly id: number
  readonly requestId: string
  readonly resolve: (o: GuestOutcome) => void
  readonly reject: (e: unknown) => void
  readonly timer: NodeJS.Timeout
  readonly timeoutMs: number
  /** The code the function passed to process.exit during it (the guest's `exit` frame). */
  exitCode: number | undefined
  /** Its log, set when it ends (`TransportHost.finish`). */
  log: string
}

/** What an instance offers its transport. */
export interface TransportHost {
  readonly instanceId: string
  /** Being stopped or gone: a broken request is the death's to explain (the instance judges it). */
  ending(): boolean
  /**
   * Ends invocation `id`: out of flight, its deadline disarmed, its `log` taken (start-up output
   * first, then fd 1 up to byte `outputEnd`, or all received when undefined). `answered`: the guest
   * answered, so the instance counts as used now. Undefined when it had already ended (a deadline
   * or the instance's death came first): the late answer is dropped.
   */
  finish(id: number, outputEnd: number | undefined, answered: boolean): Invocation | undefined
  /** The guest said the function exited during invocation `id`. */
  noteGuestExit(id: number, code: number): void
  /** A failure as an outcome, with the instance's peak memory. */
  failureOutcome(failure: FunctionFailure): GuestOutcome
  /** What the instance's death classifier needs to judge a failed result (reads the cgroup). */
  evidence(): InstanceEvidence
  /** The instance's peak memory (MB), read from the cgroup at most once a second. */
  recentMemoryUsedMb(): number
  /** The instance is spent (a resource limit hit): kill it. */
  stop(): Promise<void>
}

/** One protocol for carrying invocations to a guest and answers back. */
export interface GuestTransport {
  readonly kind: TransportKind
  /**
   * Called once, after the guest said `ready`; invocations are sent only after it resolved
   * (HTTP: holds the instance's network namespace and makes the connection pool).
   */
  open(): Promise<void>
  /** Why this transport cannot carry `input` (checked before it is tracked); undefined: it can. */
  refuses(input: InvokeInput): string | undefined
  /**
   * Sends invocation `id`, already in flight with its deadline armed. It must not allocate more
   * than the request needs: this is the warm path. The answer ends it through `host.finish`.
   */
  send(id: number, input: InvokeInput): void
  /** A guest frame about invocations (`result`, `exit`) from the control channel. */
  onGuestFrame(frame: InvocationFrame, payload: Buffer): void
  /** Lets go of connections and namespaces; the instance is stopping. Idempotent. */
  close(): void
}

/** What `transportFor` may need to build a transport. */
export interface TransportParts {
  readonly host: TransportHost
  readonly channel: ControlChannel
  /** HTTP functions: how to reach the server on port 8000 in the instance's namespace. */
  readonly network: InstanceNetwork | undefined
  /** The guest's pid (the namespace to open belongs to it). */
  readonly pid: number | undefined
  /** Invocations the instance may serve at once. */
  readonly capacity: number
}

/** The one place a protocol is chosen. */
export function transportFor(kind: TransportKind, parts: TransportParts): GuestTransport {
  switch (kind) {
    case 'frames':
      return new FrameTransport(parts.host, parts.channel)
    case 'http':
      if (parts.network === undefined) {
        throw new StratoError(
          'INSTANCE_START_FAILED',
          `Instance ${parts.host.instanceId} speaks HTTP but its sandbox has no network namespaces.`,
        )
      }
      return new HttpTransport(parts.host, parts.network, parts.pid, parts.capacity)
  }
}
