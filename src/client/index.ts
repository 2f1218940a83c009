/** @module client: a typed, signing client for Strato's API. */
export { ApiError, StratoClient } from './strato-client.js'
export type {
  ClientOptions,
  Identity,
  InvokeResult,
  JsonObject,
  RawResponse,
  RequestOptions,
} from './strato-client.js'
