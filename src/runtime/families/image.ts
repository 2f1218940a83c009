/**
 * @module Custom Image functions: the function's container image is the sandbox's root file
 * system; the machine's Node.js, its libraries and `runtimes/image/bootstrap.cjs` are shown
 * read-only under /.strato and run through the host's dynamic loader, so the image's own /lib is
 * untouched. The guest starts the image's entrypoint, a web server Strato reaches over HTTP
 * inside the instance's network namespace, as for HTTP functions (ADR 0011).
 */
import { NODE_INTERPRETER } from './node.js'
import type { RuntimeFamilySpec } from './runtime-family-spec.js'

const MIB = 1024 * 1024

export const IMAGE_FAMILY: RuntimeFamilySpec = {
  name: 'image',
  interpreter: NODE_INTERPRETER,
  guest: { folders: ['image', 'common'], script: 'image/bootstrap.cjs' },
  // The guest only starts and watches the image's server, which lives outside this heap.
  interpreterArgs: () => ['--max-old-space-size=64'],
  cellsPerMemorySize: false,
  addressSpaceHeadroomBytes: 2048 * MIB,
  transport: 'http',
  rootFileSystem: 'image',
}
