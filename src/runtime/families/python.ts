/** @module The Python family: `runtimes/python/bootstrap.py` on the machine's `python3`. */
import type { GuestInterpreter, RuntimeFamilySpec } from './runtime-family-spec.js'

const MIB = 1024 * 1024

export const PYTHON_INTERPRETER: GuestInterpreter = {
  name: 'python',
  defaultCommand: 'python3',
  realPathProbe: ['-c', 'import os, sys; print(os.path.realpath(sys.executable))'],
  sandboxPaths: ['3.6', '3.9', '3.10', '3.12'].map(
    (v) => `/opt/function/runtime/python${v}/rtsp/python/bin/python3`,
  ),
}

export const PYTHON_FAMILY: RuntimeFamilySpec = {
  name: 'python',
  interpreter: PYTHON_INTERPRETER,
  guest: { folders: ['python'], script: 'python/bootstrap.py' },
  interpreterArgs: () => ['-B'],
  // Nothing of a Python cell is fixed at boot.
  cellsPerMemorySize: false,
  addressSpaceHeadroomBytes: 256 * MIB,
  dependencyPath: { variable: 'PYTHONPATH', subdirs: ['python', ''] },
  transport: 'frames',
  prewarmAtStart: 'always',
}
