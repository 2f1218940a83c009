/**
 * The Go1.x family for the per-family bench: the hello function is the test fixture
 * (`test/fixtures/go-function`, which answers "hello from Go" to an event without `action`), built
 * with the host's Go against the standard-library stand-in of FunctionGraph's Go runtime library
 * (module downloads are impossible here). Needs `go` on PATH (Debian's golang-go).
 */
import { goFunctionZip } from '../../test/helpers/go-toolchain.js'

export const family = {
  name: 'Go1.x',
  runtime: 'Go1.x',
  /** A Go function's handler is its executable's name in the ZIP. */
  handler: 'handler',
  zip: async (): Promise<Buffer> => goFunctionZip('handler'),
}
