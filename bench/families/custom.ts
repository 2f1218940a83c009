/**
 * The custom runtime's hello function for the bench: a `bootstrap` in the style of FunctionGraph's
 * documented one (sh and curl, mode 755), answering what the Node.js hello handler answers. Each
 * event costs it two curl runs, so its warm latency is mostly its own process starts.
 */
import yazl from 'yazl'

const HELLO_BOOTSTRAP = `#!/bin/sh
set -o pipefail
API="http://$RUNTIME_API_ADDR/v1/runtime/invocation"
while true; do
  HEADERS="$(mktemp)"
  curl -sS -o /dev/null -D "$HEADERS" "$API/request"
  REQUEST_ID=$(grep -Fi x-cff-request-id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  rm -f "$HEADERS"
  if [ -z "$REQUEST_ID" ]; then continue; fi
  curl -sS "$API/response/$REQUEST_ID" -d '{"statusCode":200,"body":"hello"}'
done
`

async function helloZip(): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  zip.addBuffer(Buffer.from(HELLO_BOOTSTRAP), 'bootstrap', { mode: 0o100755 })
  zip.end()
  const chunks: Buffer[] = []
  for await (const c of zip.outputStream) {
    chunks.push(c as Buffer)
  }
  return Buffer.concat(chunks)
}

export const family = {
  name: 'Custom',
  runtime: 'Custom',
  handler: 'bootstrap',
  zip: async (): Promise<Buffer> => helloZip(),
}
