/**
 * @module Function URNs in every form FunctionGraph's API accepts (reference §1.2).
 */
import { StratoError } from './errors.js'

/** What an invocation or management call names: a function and, optionally, a version or alias. */
export interface FunctionRef {
  readonly projectId: string
  readonly packageName: string
  readonly functionName: string
  /** `undefined` when the URN has no qualifier (which means `latest`). */
  readonly qualifier: Qualifier | undefined
}

export type Qualifier =
  | { readonly kind: 'version'; readonly version: string }
  | { readonly kind: 'alias'; readonly alias: string }

// FunctionGraph version and alias names: letters, digits, '.', '-' and '_' (reference §4.3).
const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const ALIAS_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/

/** Validates a version name for publishing (FSS.1015); `latest` is reserved. */
export function validateVersionName(name: string): string {
  if (!VERSION_NAME.test(name) || name === 'latest') {
    throw new StratoError(
      'INVALID_VERSION',
      `Invalid version '${name}': up to 64 letters, digits, '.', '-' or '_', starting with a letter or digit; 'latest' is reserved.`,
    )
  }
  return name
}

/** Validates an alias name (FSS.1014). */
export function validateAliasName(name: unknown): string {
  if (typeof name !== 'string' || !ALIAS_NAME.test(name)) {
    throw new StratoError(
      'INVALID_ALIAS',
      `Invalid alias name ${JSON.stringify(name)}: 1 to 64 letters, digits, '-' or '_', starting with a letter.`,
    )
  }
  return name
}

function parseQualifier(raw: string): Qualifier {
  if (raw.startsWith('!')) {
    const alias = raw.slice(1)
    if (!ALIAS_NAME.test(alias)) {
      throw new StratoError('INVALID_ALIAS', `Invalid alias '${alias}' in the function URN.`)
    }
    return { kind: 'alias', alias }
  }
  if (!VERSION_NAME.test(raw)) {
    throw new StratoError('INVALID_VERSION', `Invalid version '${raw}' in the function URN.`)
  }
  return { kind: 'version', version: raw }
}

/**
 * Parses a function URN in any of its 1, 2, 3, 4, 7 or 8 field forms. `projectId` fills in the
 * project of the short forms; a URN naming another project is refused by the caller, not here.
 */
export function parseFunctionUrn(urn: string, projectId: string): FunctionRef {
  const parts = urn.split(':')
  const bad = (why: string): StratoError =>
    new StratoError('INVALID_PARAMETER', `Invalid function URN '${urn}': ${why}.`)
  if (parts.some((p) => p.length === 0)) {
    throw bad('it has an empty field')
  }
  const field = (i: number): string => parts[i] ?? ''
  switch (parts.length) {
    case 1:
      return { projectId, packageName: 'default', functionName: field(0), qualifier: undefined }
    case 2:
      return { projectId, packageName: field(0), functionName: field(1), qualifier: undefined }
    case 3:
      return {
        projectId: field(0),
        packageName: field(1),
        functionName: field(2),
        qualifier: undefined,
      }
    case 4:
      return {
        projectId: field(0),
        packageName: field(1),
        functionName: field(2),
        qualifier: parseQualifier(field(3)),
      }
    case 7:
    case 8: {
      if (field(0) !== 'urn' || field(1) !== 'fss' || field(4) !== 'function') {
        throw bad("a long URN has the form 'urn:fss:<region>:<project>:function:<package>:<name>'")
      }
      return {
        projectId: field(3),
        packageName: field(5),
        functionName: field(6),
        qualifier: parts.length === 8 ? parseQualifier(field(7)) : undefined,
      }
    }
    default:
      throw bad(`it has ${parts.length} fields; 1, 2, 3, 4, 7 or 8 are accepted`)
  }
}

/** The URN FunctionGraph returns as `func_urn`: always 8 fields. */
export function formatFunctionUrn(
  region: string,
  projectId: string,
  packageName: string,
  functionName: string,
  qualifier = 'latest',
): string {
  return `urn:fss:${region}:${projectId}:function:${packageName}:${functionName}:${qualifier}`
}
