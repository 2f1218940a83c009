/**
 * @module The custom runtime (`Custom`): `runtimes/custom/bootstrap.cjs` (on Node.js) serves
 * FunctionGraph's runtime API on 127.0.0.1 inside the instance and starts the function's own
 * executable `bootstrap`, which long-polls it for events (ADR 0013). Invocations reach the guest
 * as frames; the function never sees them.
 */
import { NODE_INTERPRETER } from './node.js'
import type { RuntimeFamilySpec } from './runtime-family-spec.js'

const MIB = 1024 * 1024

export const CUSTOM_FAMILY: RuntimeFamilySpec = {
  name: 'custom',
  interpreter: NODE_INTERPRETER,
  guest: { folders: ['custom', 'common'], script: 'custom/bootstrap.cjs' },
  // The guest only relays events; the function's own process lives outside this heap.
  interpreterArgs: () => ['--max-old-space-size=64'],
  cellsPerMemorySize: false,
  // The guest is Node; the bootstrap is whatever binary or script the function brings.
  addressSpaceHeadroomBytes: 2048 * MIB,
  transport: 'frames',
}
