/** @module triggers: what invokes functions from outside the API (the APIG gateway; timers next). */
export { ApigGateway } from './apig-gateway.js'
export type { ApigGatewayOptions, GatewayRouting } from './apig-gateway.js'
export { ApigRouter } from './apig-router.js'
export type { RouteMatch } from './apig-router.js'
