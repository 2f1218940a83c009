/** @module auth: SDK-HMAC-SHA256 signing and verification. */
export { signRequest } from './sign-request.js'
export type { SignInput } from './sign-request.js'
export { RequestVerifier } from './verify-request.js'
export type {
  AccessKeyEntry,
  PrecheckedRequest,
  Principal,
  VerifierOptions,
  VerifyInput,
} from './verify-request.js'
export { formatSdkDate } from './canonical-request.js'
