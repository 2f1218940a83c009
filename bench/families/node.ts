import { HELLO_HANDLER_SOURCE } from '../lib/bare-server.js'
import { zipOf, type FamilyFixture } from '../lib/family-fixture.js'

export const family: FamilyFixture = {
  name: 'Node.js',
  runtime: 'Node.js20.15',
  handler: 'index.handler',
  zip: () => zipOf({ 'index.js': HELLO_HANDLER_SOURCE }),
}
