/**
 * @module The check that a function's `func_vpc.vpc_id`, or a VPC endpoint's, names one of the
 * operator's networks (`STRATO_NETWORKS`, ADR 0023): refused when it is written, rather than at
 * the first instance start, where the caller would only see failed invocations.
 */
import { StratoError, functionEgressOf, type FunctionConfig } from '../core/index.js'

/** 400 naming the network and the ones that exist (only names: what they open is not said). */
export function unknownNetworkError(
  name: string,
  field: string,
  defined: readonly string[],
): StratoError {
  const known =
    defined.length === 0
      ? 'this Strato defines no networks (STRATO_NETWORKS)'
      : `the defined networks are ${defined.map((n) => `'${n}'`).join(', ')}`
  return new StratoError(
    'UNKNOWN_NETWORK',
    `${field} names network '${name}', which this Strato does not define: ${known}.`,
  )
}

/** Throws when the config attaches the function to a network that `defined` does not hold. */
export function checkFunctionNetwork(
  cfg: Pick<FunctionConfig, 'extra'>,
  defined: readonly string[],
): void {
  const egress = functionEgressOf(cfg)
  if (egress.kind === 'network' && !defined.includes(egress.name)) {
    throw unknownNetworkError(egress.name, 'func_vpc.vpc_id', defined)
  }
}
