/** @module cli: the `strato` command. */
export { buildProgram, runCli } from './main.js'
