/** @module The Node.js family: `runtimes/node/bootstrap.cjs` on the machine's `node`. */
import type { GuestInterpreter, RuntimeFamilySpec } from './runtime-family-spec.js'

const MIB = 1024 * 1024

export const NODE_INTERPRETER: GuestInterpreter = {
  name: 'node',
  defaultCommand: process.execPath,
  realPathProbe: ['-p', 'require("fs").realpathSync(process.execPath)'],
  sandboxPaths: ['6.10', '8.10', '10.16', '12.13', '14.18', '16.17', '18.15', '20.15'].map(
    (v) => `/opt/function/runtime/nodejs${v}/rtsp/nodejs/bin/node`,
  ),
}

export const NODE_FAMILY: RuntimeFamilySpec = {
  name: 'node',
  interpreter: NODE_INTERPRETER,
  guest: { folders: ['node', 'common'], script: 'node/bootstrap.cjs' },
  // V8's heap gets most of memory_size; the rest is for buffers and the runtime itself.
  interpreterArgs: (memorySizeMb) => [
    `--max-old-space-size=${Math.max(32, Math.floor(memorySizeMb * 0.8))}`,
  ],
  cellsPerMemorySize: true,
  // V8 reserves much more address space than it uses.
  addressSpaceHeadroomBytes: 1024 * MIB,
  dependencyPath: { variable: 'NODE_PATH', subdirs: ['node_modules', 'nodejs/node_modules', ''] },
  transport: 'frames',
  prewarmAtStart: 'always',
}
