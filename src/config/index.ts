/** @module config: Strato's settings, parsed once. */
export { loadConfig } from './load-config.js'
export type { AsyncSettings, ClusterSettings, Config, Env } from './load-config.js'
export {
  canonicalCidr,
  cidrRange,
  ipv4ToNumber,
  isLoopback,
  numberToIpv4,
  parseEgressSettings,
} from './egress-settings.js'
export type { Cidr, EgressSettings, NamedNetwork, NetworkEndpoint } from './egress-settings.js'
