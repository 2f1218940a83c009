/**
 * @module Test support (not exported): a separate process that joins a cluster and competes for a
 * lease, printing `leader <token>` when it takes it; the failover test kills it with SIGKILL, so
 * nothing is given back and the others must wait for the lease to expire.
 * Usage: tsx lease-holder-child.ts <natsUrl> <prefix> <nodeId> <leaseName>
 */
import { pino } from 'pino'
import { FAST_TIMINGS } from './cluster-test-kit.js'
import { openCluster } from './open-cluster.js'

const [natsUrl, prefix, nodeId, leaseName] = process.argv.slice(2)
if (
  natsUrl === undefined ||
  prefix === undefined ||
  nodeId === undefined ||
  leaseName === undefined
) {
  throw new Error('usage: lease-holder-child <natsUrl> <prefix> <nodeId> <leaseName>')
}
const cluster = await openCluster({
  settings: { natsUrl, natsPrefix: prefix, nodeId, storeUrl: undefined, masterKeyFile: '/none' },
  logger: pino({ level: 'silent' }),
  timings: FAST_TIMINGS,
})
const lease = cluster.leadership(leaseName)
lease.onChange((isLeader) => {
  process.stdout.write(isLeader ? `leader ${lease.token() ?? 0}\n` : 'follower\n')
})
process.stdout.write('joined\n')
