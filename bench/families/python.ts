import { zipOf, type FamilyFixture } from '../lib/family-fixture.js'

export const family: FamilyFixture = {
  name: 'Python',
  runtime: 'Python3.10',
  handler: 'index.handler',
  zip: () =>
    zipOf({
      'index.py': "def handler(event, context):\n    return {'statusCode': 200, 'body': 'hello'}\n",
    }),
}
