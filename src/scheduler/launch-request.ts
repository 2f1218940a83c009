/**
 * @module What a function learns about itself from the platform: the environment its instance is
 * launched with, and the headers FunctionGraph adds to each request an HTTP function receives.
 */
import {
  codeFormatOf,
  cpuMillicoresOf,
  functionEgressOf,
  imageOverridesOf,
  userDataEntries,
  type FunctionRecord,
  type InvocationRequest,
  type RuntimeFamily,
} from '../core/index.js'
import type { LaunchRequest } from '../runtime/index.js'

/**
 * The function's own variables: `user_data`, then the opened `encrypted_user_data`. The plaintext
 * goes only into the instance's environment.
 */
export function variablesOf(
  fn: FunctionRecord,
  openSecret: (sealed: string) => string,
): Record<string, string> {
  return {
    ...userDataEntries(fn.userData),
    ...(fn.encryptedUserData === ''
      ? {}
      : (JSON.parse(openSecret(fn.encryptedUserData)) as Record<string, string>)),
  }
}

/** What the pool found out before a start: the verified trees and the opened variables. */
export interface LaunchInputs {
  readonly family: RuntimeFamily
  readonly codeDir: string
  readonly dependencyDirs: readonly string[]
  readonly variables: Readonly<Record<string, string>>
  readonly region: string
}

/** The launch request of one instance of `fn`; the platform's `RUNTIME_*` variables come last. */
export function launchRequestOf(fn: FunctionRecord, inputs: LaunchInputs): LaunchRequest {
  return {
    family: inputs.family,
    codeDir: inputs.codeDir,
    dependencyDirs: inputs.dependencyDirs,
    memorySizeMb: fn.memorySizeMb,
    cpuMillicores: cpuMillicoresOf(fn.memorySizeMb),
    timeoutS: fn.timeoutS,
    handler: fn.handler,
    initializerHandler: fn.initializerHandler,
    initializerTimeoutS: fn.initializerTimeoutS,
    concurrency: fn.concurrentNum,
    egress: functionEgressOf(fn),
    env: {
      ...inputs.variables,
      RUNTIME_PROJECT_ID: fn.projectId,
      RUNTIME_FUNC_NAME: fn.name,
      RUNTIME_FUNC_VERSION: fn.version,
      RUNTIME_PACKAGE: fn.packageName,
      RUNTIME_USERDATA: JSON.stringify(inputs.variables),
      RUNTIME_REGION: inputs.region,
      // What custom_image changes of the image's run config, for the image guest only.
      ...(codeFormatOf(inputs.family) === 'image'
        ? { STRATO_IMAGE_OVERRIDES: JSON.stringify(imageOverridesOf(fn)) }
        : {}),
    },
  }
}

/** The `x-cff-*` headers FunctionGraph adds to every request an HTTP function's server receives. */
export function functionHeadersOf(
  request: InvocationRequest,
  region: string,
): Record<string, string> {
  const fn = request.fn
  return {
    'x-cff-request-id': request.requestId,
    'x-cff-memory': String(fn.memorySizeMb),
    'x-cff-timeout': String(fn.timeoutS),
    'x-cff-func-version': fn.version,
    'x-cff-func-name': fn.name,
    'x-cff-project-id': fn.projectId,
    'x-cff-package': fn.packageName,
    'x-cff-region': region,
    'x-cff-invoke-type': request.invokeType,
  }
}
