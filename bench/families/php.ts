/**
 * The PHP family for the per-family bench (cold start with and without a stem cell, warm latency):
 * FunctionGraph's PHP hello, the same answer as the Node.js bench handler.
 */
import { zipFiles } from '../../test/helpers/code.js'

const HELLO = `<?php
function handler($event, $context) {
    return ['statusCode' => 200, 'body' => 'hello'];
}
`

export const family = {
  name: 'PHP8.3',
  runtime: 'PHP8.3',
  handler: 'index.handler',
  zip: async (): Promise<Buffer> => zipFiles({ 'index.php': HELLO }),
}
