/** @module services: the domain operations the API, trigger sources, timers and flows share. */
export { FunctionLifecycleService } from './function-lifecycle-service.js'
export type { FunctionBody, FunctionLifecycleDeps } from './function-lifecycle-service.js'
export { ResolutionService, routeAlias } from './resolution-service.js'
export type { ResolvedAsyncTarget, ResolvedFunctionWithAlias } from './resolution-service.js'
export { checkFunctionNetwork, unknownNetworkError } from './network-check.js'
