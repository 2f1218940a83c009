/**
 * @module The one table of Strato's error codes: internal name → FunctionGraph (FSS) code, HTTP status
 * and default message. `api/error-handler.ts` is the only place that turns them into responses, and
 * `docs/errors.md` documents every row (a test checks that it does).
 */

/** One row of the error table. `user` errors are the caller's fault and are logged at `info`. */
export interface ErrorSpec {
  readonly status: number
  readonly fss: string
  readonly message: string
  readonly user: boolean
}

export const ErrorCodes = {
  INVALID_PARAMETER: { status: 400, fss: 'FSS.0400', message: 'Invalid parameter.', user: true },
  INVALID_EVENT: {
    status: 400,
    fss: 'FSS.0400',
    message: 'The invocation body is not valid JSON.',
    user: true,
  },
  INVALID_QUERY: { status: 400, fss: 'FSS.1001', message: 'Invalid query parameter.', user: true },
  INVALID_REQUEST_ID: { status: 400, fss: 'FSS.0400', message: 'Invalid RequestId', user: true },
  UNSUPPORTED_DESTINATION: {
    status: 400,
    fss: 'FSS.0400',
    message: 'Unsupported async invocation destination.',
    user: true,
  },
  UNKNOWN_NETWORK: {
    status: 400,
    fss: 'FSS.0400',
    message: 'The network is not defined on this Strato.',
    user: true,
  },
  INVALID_FUNCTION_NAME: {
    status: 400,
    fss: 'FSS.1002',
    message: 'Invalid function name.',
    user: true,
  },
  INVALID_HANDLER: { status: 400, fss: 'FSS.1003', message: 'Invalid handler.', user: true },
  INVALID_PACKAGE: { status: 400, fss: 'FSS.1004', message: 'Invalid package.', user: true },
  INVALID_RUNTIME: { status: 400, fss: 'FSS.1005', message: 'Invalid runtime.', user: true },
  INVALID_CODE_TYPE: { status: 400, fss: 'FSS.1006', message: 'Invalid code type.', user: true },
  INVALID_MEMORY: { status: 400, fss: 'FSS.1007', message: 'Invalid memory size.', user: true },
  INVALID_TIMEOUT: { status: 400, fss: 'FSS.1008', message: 'Invalid timeout.', user: true },
  INVALID_USER_DATA: { status: 400, fss: 'FSS.1009', message: 'Invalid UserData.', user: true },
  INVALID_CODE: { status: 400, fss: 'FSS.1011', message: 'Invalid function code.', user: true },
  CODE_REQUIRED: {
    status: 400,
    fss: 'FSS.1012',
    message: 'The function code must be configured.',
    user: true,
  },
  INVALID_ALIAS: { status: 400, fss: 'FSS.1014', message: 'Invalid function alias.', user: true },
  INVALID_VERSION: {
    status: 400,
    fss: 'FSS.1015',
    message: 'Invalid function version.',
    user: true,
  },
  NOTHING_TO_PUBLISH: {
    status: 400,
    fss: 'FSS.1016',
    message:
      'The function cannot be published because no changes have been made since last publication.',
    user: true,
  },
  USER_DATA_TOO_MANY: {
    status: 400,
    fss: 'FSS.1017',
    message: 'UserData has more than 20 items.',
    user: true,
  },
  USER_DATA_TOO_LARGE: {
    status: 400,
    fss: 'FSS.1018',
    message: 'UserData exceeds the size limit.',
    user: true,
  },
  DESCRIPTION_TOO_LONG: {
    status: 400,
    fss: 'FSS.1019',
    message: 'The description is too long.',
    user: true,
  },
  INVALID_ADDITIONAL_VERSION: {
    status: 400,
    fss: 'FSS.1091',
    message: 'Invalid additional version.',
    user: true,
  },
  INVALID_VERSION_WEIGHT: { status: 400, fss: 'FSS.1092', message: 'Invalid weight.', user: true },
  ADDITIONAL_VERSION_IS_MAJOR: {
    status: 400,
    fss: 'FSS.1093',
    message: 'The additional version is the same as the major version.',
    user: true,
  },
  INVALID_INITIALIZER: {
    status: 400,
    fss: 'FSS.1404',
    message: 'Invalid function initializer.',
    user: true,
  },
  INVALID_INITIALIZER_TIMEOUT: {
    status: 400,
    fss: 'FSS.1405',
    message: 'Invalid initialization timeout.',
    user: true,
  },
  UNAUTHORIZED: { status: 401, fss: 'FSS.0401', message: 'Unauthorized access.', user: true },
  SIGNATURE_MISMATCH: {
    status: 401,
    fss: 'FSS.0401',
    message: 'verify aksk signature fail',
    user: true,
  },
  FORBIDDEN: { status: 403, fss: 'FSS.0403', message: 'Forbidden.', user: true },
  FUNCTION_QUOTA_EXCEEDED: {
    status: 403,
    fss: 'FSS.1041',
    message: 'The number of functions exceeds the maximum allowed limit.',
    user: true,
  },
  RESERVED_INSTANCE_QUOTA_EXCEEDED: {
    status: 403,
    fss: 'FSS.0403',
    message: 'The number of reserved instances exceeds the quota.',
    user: true,
  },
  INVALID_INSTANCE_MEMORY: {
    status: 406,
    fss: 'FSS.0406',
    message: 'Not acceptable.',
    user: true,
  },
  VERSION_QUOTA_EXCEEDED: {
    status: 403,
    fss: 'FSS.0403',
    message: 'The number of versions exceeds the maximum allowed limit.',
    user: true,
  },
  ALIAS_QUOTA_EXCEEDED: {
    status: 403,
    fss: 'FSS.1043',
    message: 'The number of aliases exceeds the maximum allowed limit.',
    user: true,
  },
  VERSION_REFERENCED: {
    status: 403,
    fss: 'FSS.1094',
    message: 'The version cannot be deleted because an alias uses it.',
    user: true,
  },
  TEST_EVENT_QUOTA_EXCEEDED: {
    status: 403,
    fss: 'FSS.1068',
    message: 'The number of test events exceeds the maximum allowed limit.',
    user: true,
  },
  TEST_EVENT_TOO_LARGE: {
    status: 403,
    fss: 'FSS.1069',
    message: 'The test event is larger than 4 KB.',
    user: true,
  },
  TAG_QUOTA_EXCEEDED: {
    status: 403,
    fss: 'FSS.0403',
    message: 'The number of tags exceeds the maximum allowed limit.',
    user: true,
  },
  FUNCTION_DISABLED: {
    status: 403,
    fss: 'FSS.0403',
    message: 'The function is disabled (its maximum instance count is 0).',
    user: true,
  },
  ROUTE_NOT_FOUND: {
    status: 404,
    fss: 'FSS.0404',
    message: 'The specified resource was not found.',
    user: true,
  },
  FUNCTION_NOT_FOUND: {
    status: 404,
    fss: 'FSS.1051',
    message: 'Not found the function',
    user: true,
  },
  VERSION_NOT_FOUND: {
    status: 404,
    fss: 'FSS.1052',
    message: 'Not found the function version',
    user: true,
  },
  ALIAS_NOT_FOUND: {
    status: 404,
    fss: 'FSS.1053',
    message: 'The alias does not exist.',
    user: true,
  },
  ASYNC_CONFIG_NOT_FOUND: {
    status: 404,
    fss: 'FSS.0404',
    message: 'The function has no async invoke config.',
    user: true,
  },
  DEPENDENCY_NOT_FOUND: {
    status: 404,
    fss: 'FSS.1056',
    message: 'The dependency does not exist.',
    user: true,
  },
  VPC_ENDPOINT_NOT_FOUND: {
    status: 404,
    fss: 'FSS.0404',
    message: 'The VPC endpoint does not exist.',
    user: true,
  },
  TEST_EVENT_NOT_FOUND: {
    status: 404,
    fss: 'FSS.1070',
    message: 'The event cannot be found.',
    user: true,
  },
  METHOD_NOT_ALLOWED: { status: 405, fss: 'FSS.0405', message: 'Method not allowed.', user: true },
  REQUEST_TIMEOUT: { status: 408, fss: 'FSS.0408', message: 'Request timeout.', user: true },
  FUNCTION_EXISTS: {
    status: 409,
    fss: 'FSS.1061',
    message: 'The function already exists.',
    user: true,
  },
  VERSION_EXISTS: {
    status: 409,
    fss: 'FSS.1062',
    message: 'The version already exists.',
    user: true,
  },
  RESOURCE_EXISTS: {
    status: 409,
    fss: 'FSS.0409',
    message: 'The specified resource already exists.',
    user: true,
  },
  ALIAS_EXISTS: { status: 409, fss: 'FSS.1063', message: 'The alias already exists.', user: true },
  VERSION_HAS_ALIAS: {
    status: 409,
    fss: 'FSS.1066',
    message: 'The version is already in use by another alias.',
    user: true,
  },
  DEPENDENCY_IN_USE: {
    status: 412,
    fss: 'FSS.1033',
    message: 'The dependency version is in use by a function.',
    user: true,
  },
  REQUEST_TOO_LARGE: {
    status: 413,
    fss: 'FSS.0413',
    message: 'The request body is too large.',
    user: true,
  },
  CODE_TOO_LARGE: {
    status: 413,
    fss: 'FSS.1071',
    message: 'The code package is larger than the limit.',
    user: true,
  },
  INLINE_CODE_TOO_LARGE: {
    status: 413,
    fss: 'FSS.1072',
    message: 'The inline code is larger than the limit.',
    user: true,
  },
  URI_TOO_LONG: {
    status: 414,
    fss: 'FSS.0414',
    message: 'The request URI is too long.',
    user: true,
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    fss: 'FSS.0415',
    message: 'Unsupported content type.',
    user: true,
  },
  HEADERS_TOO_LARGE: {
    status: 431,
    fss: 'FSS.0431',
    message: 'The request headers are too large.',
    user: true,
  },
  CLIENT_CLOSED: {
    status: 499,
    fss: 'FSS.0499',
    message: 'The client closed the request before it ran.',
    user: true,
  },
  INVALID_TRIGGER_TYPE: {
    status: 400,
    fss: 'FSS.1101',
    message: 'Invalid trigger type.',
    user: true,
  },
  INVALID_APIG_TRIGGER: {
    status: 400,
    fss: 'FSS.1107',
    message: 'Invalid APIG trigger parameters.',
    user: true,
  },
  INVALID_TIMER_TRIGGER: {
    status: 400,
    fss: 'FSS.1109',
    message: 'Invalid timer trigger parameters.',
    user: true,
  },
  INVALID_LTS_TRIGGER: {
    status: 400,
    fss: 'FSS.1110',
    message: 'Invalid LTS trigger parameters.',
    user: true,
  },
  TIMER_TRIGGER_NOT_FOUND: {
    status: 404,
    fss: 'FSS.1140',
    message: 'The timer trigger does not exist.',
    user: true,
  },
  LTS_TRIGGER_NOT_FOUND: {
    status: 404,
    fss: 'FSS.1160',
    message: 'The LTS trigger does not exist.',
    user: true,
  },
  TIMER_TRIGGER_EXISTS: {
    status: 409,
    fss: 'FSS.1148',
    message: 'The timer trigger already exists.',
    user: true,
  },
  LTS_TRIGGER_EXISTS: {
    status: 409,
    fss: 'FSS.1149',
    message: 'The LTS trigger already exists.',
    user: true,
  },
  TRIGGER_QUOTA_EXCEEDED: {
    status: 403,
    fss: 'FSS.1123',
    message: 'The number of triggers exceeds the maximum allowed limit.',
    user: true,
  },
  TRIGGER_NOT_FOUND: {
    status: 404,
    fss: 'FSS.1131',
    message: 'The trigger does not exist.',
    user: true,
  },
  APIG_TRIGGER_NOT_FOUND: {
    status: 404,
    fss: 'FSS.1138',
    message: 'The APIG trigger does not exist.',
    user: true,
  },
  APIG_TRIGGER_EXISTS: {
    status: 409,
    fss: 'FSS.1146',
    message: 'The APIG trigger already exists.',
    user: true,
  },
  APIG_PATH_EXISTS: {
    status: 409,
    fss: 'FSS.1147',
    message: 'The request path already exists.',
    user: true,
  },
  GATEWAY_NO_ROUTE: {
    status: 404,
    fss: 'APIG.0101',
    message: 'The API does not exist or has not been published in the environment.',
    user: true,
  },
  GATEWAY_UNAUTHORIZED: {
    status: 401,
    fss: 'APIG.0301',
    message: 'Incorrect app authentication information.',
    user: true,
  },
  GATEWAY_BAD_FUNCTION_RESPONSE: {
    status: 502,
    fss: 'FSS.1202',
    message:
      'The response body or callback body is invalid because they do not contain any status code.',
    user: true,
  },
  GATEWAY_TIMEOUT: {
    status: 504,
    fss: 'APIG.0201',
    message: 'Backend timeout.',
    user: true,
  },
  GATEWAY_FUNCTION_ERROR: {
    status: 502,
    fss: 'FSS.1198',
    message: 'The function behind this API failed.',
    user: true,
  },
  FLOW_INVALID_DEFINITION: {
    status: 400,
    fss: 'FGS.3002',
    message: 'Invalid parameters.',
    user: true,
  },
  FLOW_INVALID_EXECUTION: {
    status: 400,
    fss: 'FGS.3003',
    message: 'The execution cannot do this in its current state.',
    user: true,
  },
  FLOW_NAME_EXISTS: {
    status: 409,
    fss: 'FGS.3004',
    message: 'A workflow with this name already exists.',
    user: true,
  },
  FLOW_QUOTA_EXCEEDED: {
    status: 400,
    fss: 'FGS.3005',
    message: 'The number of workflows has reached the quota.',
    user: true,
  },
  FLOW_EXECUTION_ID_IN_USE: {
    status: 409,
    fss: 'FGS.3006',
    message: 'The execution id is in use by another workflow.',
    user: true,
  },
  FLOW_NOT_FOUND: {
    status: 404,
    fss: 'FGS.5002',
    message: 'The workflow does not exist.',
    user: true,
  },
  FLOW_EXECUTION_NOT_FOUND: {
    status: 404,
    fss: 'FGS.5003',
    message: 'The workflow execution does not exist.',
    user: true,
  },
  FLOW_LEASE_LOST: {
    status: 409,
    fss: 'FGS.5009',
    message: 'Another engine took over this execution.',
    user: false,
  },
  TOO_MANY_REQUESTS: { status: 429, fss: 'FSS.0429', message: 'Too many requests.', user: true },
  INTERNAL: { status: 500, fss: 'FSS.0500', message: 'Internal server error.', user: false },
  CODE_INTEGRITY: {
    status: 500,
    fss: 'FSS.0500',
    message: 'The stored function code does not match its digest; refusing to run it.',
    user: false,
  },
  INSTANCE_START_FAILED: {
    status: 500,
    fss: 'FSS.0500',
    message: 'The function instance failed to start.',
    user: false,
  },
  ASYNC_ENQUEUE_FAILED: {
    status: 500,
    fss: 'FSS.0500',
    message: 'The async invocation could not be stored; it was not accepted.',
    user: false,
  },
  DATA_DIR_IN_USE: {
    status: 500,
    fss: 'FSS.0500',
    message: 'The data dir is in use by another Strato process.',
    user: false,
  },
  SERVICE_UNAVAILABLE: {
    status: 503,
    fss: 'FSS.0503',
    message: 'Service unavailable.',
    user: false,
  },
  // Helper G (issue 18): templates, function applications, import/export.
  TEMPLATE_NOT_FOUND: {
    status: 404,
    fss: 'FSS.0404',
    message: 'The template does not exist.',
    user: true,
  },
  TEMPLATE_NOT_DEPLOYABLE: {
    status: 400,
    fss: 'FSS.0400',
    message: 'A function cannot be created from this template as it is.',
    user: true,
  },
  APP_NOT_FOUND: {
    status: 404,
    fss: 'FSS.0404',
    message: 'The application does not exist.',
    user: true,
  },
  APP_EXISTS: {
    status: 409,
    fss: 'FSS.0409',
    message: 'The application already exists.',
    user: true,
  },
  INVALID_FUNCTION_PACKAGE: {
    status: 400,
    fss: 'FSS.0400',
    message: 'The import package is not a Strato function export.',
    user: true,
  },
} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof ErrorCodes

/**
 * The one error class of Strato. `detail` replaces the table's message when given; messages carry
 * the numbers ("Payload is 7340032 bytes; the limit is 6291456").
 */
export class StratoError extends Error {
  readonly code: ErrorCode
  readonly spec: ErrorSpec

  constructor(code: ErrorCode, detail?: string, options?: ErrorOptions) {
    const spec = ErrorCodes[code]
    super(detail ?? spec.message, options)
    this.name = 'StratoError'
    this.code = code
    this.spec = spec
  }
}

/** True when `err` is a StratoError carrying `code` (or any code when none is given). */
export function isStratoError(err: unknown, code?: ErrorCode): err is StratoError {
  return err instanceof StratoError && (code === undefined || err.code === code)
}
