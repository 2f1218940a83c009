/** @module client: a typed, signing client for Strato's API. */
export { ApiError, StratoClient } from './strato-client.js'
export type { ClientOptions, InvokeResult, JsonObject, RawResponse } from './strato-client.js'
