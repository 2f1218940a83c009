/**
 * @module The Go family (`Go1.x`): `runtimes/go/bootstrap.cjs` (on Node.js) starts the function's
 * executable, which serves Go's net/rpc on RUNTIME_API_ADDR, and calls `Function.Invoke` for each
 * invocation (frames on fd 3 between host and guest, as for Node.js and Python).
 */
import { NODE_INTERPRETER } from './node.js'
import type { RuntimeFamilySpec } from './runtime-family-spec.js'

const MIB = 1024 * 1024

export const GO_FAMILY: RuntimeFamilySpec = {
  name: 'go',
  interpreter: NODE_INTERPRETER,
  guest: { folders: ['go', 'common'], script: 'go/bootstrap.cjs' },
  // The guest only relays; the function's memory is the executable's, outside this heap.
  interpreterArgs: () => ['--max-old-space-size=64'],
  cellsPerMemorySize: false,
  // Both the guest (V8 reserves address space) and the Go runtime (its arenas) map far more than
  // they touch; memory_size itself is the cgroup's to enforce.
  addressSpaceHeadroomBytes: 2048 * MIB,
  transport: 'frames',
}
