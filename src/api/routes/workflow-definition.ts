/**
 * @module compileWorkflowBody: what create and update do with a body before storing it — compile
 * it (Huawei v2 with `compileHuaweiWorkflow`, or an ASL body `{name, asl: {…}}`), validate the IR,
 * and check that every function the flow calls exists in the project.
 */
import { StratoError, type FlowLanguage, type FlowMode } from '../../core/index.js'
import {
  compileAslWorkflowBody,
  compileHuaweiWorkflow,
  isAslWorkflowBody,
  validateDefinition,
} from '../../flows/index.js'
import type { ResolutionService } from '../../services/index.js'

/** A body ready to store. */
export interface WorkflowDefinition {
  readonly name: string
  readonly description: string
  readonly mode: FlowMode
  readonly enableStreamResponse: boolean
  readonly language: FlowLanguage
  readonly definitionJson: string
  readonly irJson: string
}

/** At most this many functions are looked up at once while checking a flow's URNs. */
const LOOKUPS_AT_ONCE = 8

/**
 * Compiles and validates `body` and checks its functions in `projectId`. Throws
 * `FLOW_INVALID_DEFINITION` (FGS.3002) naming the state and field, or the resolver's error naming
 * a missing function (FSS.1051).
 */
export async function compileWorkflowBody(
  body: unknown,
  projectId: string,
  resolution: Pick<ResolutionService, 'resolve'>,
): Promise<WorkflowDefinition> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new StratoError('FLOW_INVALID_DEFINITION', 'The request body must be a JSON object.')
  }
  const asl = isAslWorkflowBody(body)
  const compiled = asl ? compileAslWorkflowBody(body) : compileHuaweiWorkflow(body)
  const ir = validateDefinition(compiled.ir)
  const urns = [...new Set(compiled.functionUrns)]
  for (let i = 0; i < urns.length; i += LOOKUPS_AT_ONCE) {
    await Promise.all(
      urns.slice(i, i + LOOKUPS_AT_ONCE).map(async (urn) => {
        try {
          await resolution.resolve(projectId, urn)
        } catch (err) {
          if (err instanceof StratoError) {
            throw new StratoError(err.code, `The flow calls '${urn}': ${err.message}`, {
              cause: err,
            })
          }
          throw err
        }
      }),
    )
  }
  return {
    name: compiled.name,
    description: compiled.description,
    mode: compiled.mode,
    enableStreamResponse: compiled.enableStreamResponse,
    language: asl ? 'asl' : 'huawei-v2',
    definitionJson: JSON.stringify(body),
    irJson: JSON.stringify(ir),
  }
}
