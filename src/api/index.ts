/** @module api: the FunctionGraph v2 HTTP API (Fastify). */
export { buildApp } from './build-app.js'
export type { ApiDeps } from './deps.js'
export { resolveAsyncTarget, resolveFunction } from './resolve-function.js'
export type { RoutingInput } from './resolve-function.js'
export type { ResolvedAsyncTarget } from './resolve-function.js'
