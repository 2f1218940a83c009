/**
 * The official Huawei Cloud SDK pointed at a test Strato, and how its errors are caught in tests.
 */
import { createRequire } from 'node:module'
import { ApiError } from '../../src/client/index.js'
import { ACCESS_KEY, PROJECT_ID, SECRET_KEY } from './strato.js'

const require = createRequire(import.meta.url)
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core')

/** The SDK's FunctionGraph module (CommonJS, untyped here). */
export const fg = require('@huaweicloud/huaweicloud-sdk-functiongraph')

/** A FunctionGraph client signing with the test tenant's key (never `withRegion()`). */
export function sdkClient(endpoint: string, secretKey = SECRET_KEY): any {
  const cred = new BasicCredentials().withAk(ACCESS_KEY).withSk(secretKey).withProjectId(PROJECT_ID)
  return fg.FunctionGraphClient.newBuilder().withCredential(cred).withEndpoint(endpoint).build()
}

export interface SdkError {
  readonly httpStatusCode: number
  readonly errorCode: string
  readonly errorMsg: string
  readonly requestId: string
}

/** The error an SDK call throws; fails the test when it does not throw. */
export async function sdkError(call: Promise<unknown>): Promise<SdkError> {
  try {
    await call
  } catch (err) {
    return err as SdkError
  }
  throw new Error('expected the SDK to throw')
}

/** The ApiError a StratoClient call throws; fails the test when it does not throw. */
export async function apiError(call: Promise<unknown>): Promise<ApiError> {
  try {
    await call
  } catch (err) {
    if (err instanceof ApiError) {
      return err
    }
    throw err
  }
  throw new Error('expected an API error')
}
