/**
 * @module Cluster mode's NATS-backed parts (docs/cluster.md).
 */
export { NatsCodeObjects, type StoredCodeObject } from './nats-code-objects.js'
