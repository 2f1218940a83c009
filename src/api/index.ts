/** @module api: the FunctionGraph v2 HTTP API (Fastify). */
export { buildApp } from './build-app.js'
export type { ApiDeps } from './deps.js'
