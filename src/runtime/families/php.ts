/**
 * @module The PHP family: `runtimes/php/bootstrap.php` (the output pump) and `worker.php` (the
 * function) on the machine's PHP CLI, which serves both PHP7.3 and PHP8.3.
 */
import type { GuestInterpreter, RuntimeFamilySpec } from './runtime-family-spec.js'

const MIB = 1024 * 1024

export const PHP_INTERPRETER: GuestInterpreter = {
  name: 'php',
  defaultCommand: 'php',
  realPathProbe: ['-n', '-r', 'echo realpath(PHP_BINARY), "\\n";'],
  sandboxPaths: ['7.3', '8.3'].map((v) => `/opt/function/runtime/php${v}/rtsp/php/bin/php`),
}

export const PHP_FAMILY: RuntimeFamilySpec = {
  name: 'php',
  interpreter: PHP_INTERPRETER,
  guest: { folders: ['php'], script: 'php/bootstrap.php' },
  // No host php.ini: every sandbox level runs the same configuration; the worker loads the
  // machine's shared extensions itself and sets memory_limit from memory_size at specialisation.
  interpreterArgs: () => ['-n', '-d', 'display_errors=stderr', '-d', 'log_errors=0'],
  cellsPerMemorySize: false,
  // Two PHP processes (pump and worker), each confined by the address-space limit on its own.
  addressSpaceHeadroomBytes: 256 * MIB,
  // Attached dependency trees join include_path: `require 'vendor/autoload.php'` finds them.
  dependencyPath: { variable: 'PHP_INCLUDE_PATH', subdirs: ['', 'vendor'] },
  transport: 'frames',
}
