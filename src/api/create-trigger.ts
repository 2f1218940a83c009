/**
 * @module A trigger created on a function's `latest` from a create body, as POST /fgs/triggers
 * does it: by function applications and by import, which make triggers of functions they create.
 */
import {
  formatFunctionUrn,
  parseTriggerInput,
  type FunctionRecord,
  type TriggerRecord,
} from '../core/index.js'
import type { ApiDeps } from './deps.js'

/** Creates the trigger `body` describes on `qualifier` (latest by default) of `fn`. */
export async function createTriggerOn(
  deps: Pick<ApiDeps, 'store' | 'servedTriggerTypes' | 'config'>,
  fn: FunctionRecord,
  body: unknown,
  qualifier = 'latest',
): Promise<TriggerRecord> {
  const input = parseTriggerInput(body, deps.servedTriggerTypes)
  await deps.servedTriggerTypes
    .find((s) => s.types.includes(input.typeCode))
    ?.checkTarget?.({
      typeCode: input.typeCode,
      eventData: input.eventData,
      projectId: fn.projectId,
      functionId: fn.id,
    })
  return deps.store.triggers.create(
    {
      projectId: fn.projectId,
      functionId: fn.id,
      qualifier,
      functionUrn: formatFunctionUrn(
        deps.config.region,
        fn.projectId,
        fn.packageName,
        fn.name,
        qualifier,
      ),
    },
    input,
  )
}
