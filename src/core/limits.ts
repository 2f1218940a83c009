/**
 * @module FunctionGraph's documented limits (reference §9), as constants with units in their names.
 */

export const MEMORY_SIZES_MB: readonly number[] = [
  128, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096, 8192, 10240,
]
export const TIMEOUT_MIN_S = 3
export const TIMEOUT_MAX_S = 259_200
export const INITIALIZER_TIMEOUT_MIN_S = 1
export const INITIALIZER_TIMEOUT_MAX_S = 300
export const FUNCTION_NAME_MAX_CHARS = 60
export const HANDLER_MIN_CHARS = 3
export const HANDLER_MAX_CHARS = 128
export const PACKAGE_NAME_MAX_CHARS = 64
export const DESCRIPTION_MAX_CHARS = 512
export const USER_DATA_MAX_KEYS = 20
export const USER_DATA_MAX_CHARS = 4096
/** 6 MiB: FunctionGraph's sync request and response limit (`RUNTIME_MAX_RESP_BODY_SIZE`). */
export const SYNC_PAYLOAD_MAX_BYTES = 6 * 1024 * 1024
/** 256 KiB: FunctionGraph's async invocation event limit (413 above it). */
export { ASYNC_PAYLOAD_MAX_BYTES } from './async-invocation.js'
/** 50 MiB: a zip or jar uploaded through the API. */
export const CODE_PACKAGE_MAX_BYTES = 50 * 1024 * 1024
/** 10 KiB: inline raw source (FSS.1072). */
export const INLINE_SOURCE_MAX_BYTES = 10 * 1024
/** 1.5 GiB: a code package once unzipped. */
export const CODE_UNZIPPED_MAX_BYTES = 1536 * 1024 * 1024
/** Entries in one code package; a guard against archives made of millions of empty files. */
export const CODE_MAX_ENTRIES = 65_536
/**
 * Bytes (UTF-8) of one path inside a code package. Linux's PATH_MAX is 4096 for the whole host
 * path (data dir, `code/trees/<128-char digest>/`, then this), so 1024 leaves room for a long data
 * dir; real packages (deep `node_modules` included) stay far below it.
 */
export const CODE_PATH_MAX_BYTES = 1024
/** Bytes (UTF-8) of one file or folder name in a code package: Linux's NAME_MAX. */
export const CODE_NAME_MAX_BYTES = 255
/** Folders a code package's path may nest (`a/b/c.js` nests 2); npm trees nest a few dozen at most. */
export const CODE_PATH_MAX_DEPTH = 128
/** Functions per project (FSS.1041). */
export const FUNCTIONS_PER_PROJECT = 400
/** Bytes of log returned in `X-Cff-Function-Log`. */
export const LOG_TAIL_HEADER_BYTES = 2000
/** Bytes of log returned in the v1 body's `log` field. */
export const LOG_TAIL_BODY_BYTES = 4096
/** Bytes of log kept for one invocation; past that the log is cut with a marker. */
export const LOG_MAX_BYTES_PER_INVOCATION = 1024 * 1024
/** `strategy_config.concurrency` range (max instances); -1 means the platform's cap. */
export const MAX_INSTANCES_MIN = -1
export const MAX_INSTANCES_MAX = 1000
/** Default max instances of a new function when `strategy_config` is not given. */
export const DEFAULT_MAX_INSTANCES = 400
/** Versions per function, `latest` included. */
export const VERSIONS_PER_FUNCTION = 20
/** Aliases per function. */
export const ALIASES_PER_FUNCTION = 10
/** Test events per function, and the size of one (decoded). */
export const TEST_EVENTS_PER_FUNCTION = 10
export const TEST_EVENT_MAX_BYTES = 4096
/** Tags per function. */
export const TAGS_PER_FUNCTION = 20

/** The limits a deployment may set (FunctionGraph's values by default), each with its FSS code. */
export interface Quotas {
  /** FSS.1041 */
  readonly functionsPerProject: number
  /** `latest` included; FSS.0403 */
  readonly versionsPerFunction: number
  /** FSS.1043 */
  readonly aliasesPerFunction: number
  /** One zip or jar upload; FSS.1071 */
  readonly codePackageMaxBytes: number
  /** One package once unzipped; FSS.1071 */
  readonly codeUnzippedMaxBytes: number
  /** All code packages of one project together; FSS.1071 */
  readonly codeTotalMaxBytes: number
  /** The account's concurrency; reserved instances may take 90% of it (FSS.0403). */
  readonly accountConcurrency: number
}

export const DEFAULT_QUOTAS: Quotas = {
  functionsPerProject: FUNCTIONS_PER_PROJECT,
  versionsPerFunction: VERSIONS_PER_FUNCTION,
  aliasesPerFunction: ALIASES_PER_FUNCTION,
  codePackageMaxBytes: CODE_PACKAGE_MAX_BYTES,
  codeUnzippedMaxBytes: CODE_UNZIPPED_MAX_BYTES,
  codeTotalMaxBytes: 10 * 1024 * 1024 * 1024,
  accountConcurrency: 100,
}

/** The JSON body that carries a package of `packageBytes` as base64, with room for the rest. */
export function bodyLimitForPackage(packageBytes: number): number {
  return Math.ceil((packageBytes * 4) / 3) + 1024 * 1024
}
