/**
 * The Custom Image family for the bench: a container image built from Debian's busybox-static
 * (`docker save` format), whose entrypoint is busybox httpd on 127.0.0.1:8000. An invocation with
 * an empty event is `GET /`, answered with a 19-byte static page.
 */
import { busyboxHttpImage } from '../../test/helpers/image-archive.js'

export const family = {
  name: 'Custom Image',
  runtime: 'Custom Image',
  handler: '-',
  zip: async (): Promise<Buffer> => busyboxHttpImage(),
  // An image function answers as an HTTP function: the page comes back base64 in `body`.
  answerContains: Buffer.from('hello from busybox\n').toString('base64'),
}
