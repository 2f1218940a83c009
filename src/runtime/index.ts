/** @module runtime: the host side of function instances (processes, protocol, sandbox). */
export { FunctionFailure, InitFailure, Instance } from './instance.js'
export type { GuestOutcome, InstanceState, InvokeInput } from './instance.js'
export { InstanceLauncher } from './launcher.js'
export type { LaunchRequest, LauncherOptions } from './launcher.js'
export { detectSandbox, sandboxScope } from './sandbox.js'
export type { IsolationLevel, Sandbox, SandboxOptions } from './sandbox.js'
export { reapLeftovers } from './reap-leftovers.js'
