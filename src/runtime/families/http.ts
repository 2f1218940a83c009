/**
 * @module HTTP functions: `runtimes/http/bootstrap.cjs` (on Node.js) starts the function's own
 * `bootstrap`, whose server Strato reaches over HTTP inside the instance's network namespace.
 */
import { NODE_INTERPRETER } from './node.js'
import type { RuntimeFamilySpec } from './runtime-family-spec.js'

const MIB = 1024 * 1024

export const HTTP_FAMILY: RuntimeFamilySpec = {
  name: 'http',
  interpreter: NODE_INTERPRETER,
  guest: { folders: ['http', 'common'], script: 'http/bootstrap.cjs' },
  // The guest is small; the function's server starts at specialisation, outside this heap.
  interpreterArgs: () => ['--max-old-space-size=64'],
  cellsPerMemorySize: false,
  // The guest is Node; the function's own server is whatever its bootstrap starts.
  addressSpaceHeadroomBytes: 2048 * MIB,
  transport: 'http',
  prewarmAtStart: 'always',
}
