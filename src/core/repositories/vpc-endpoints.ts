/**
 * @module VPC endpoints (`createVpcEndpoint`, `deleteVpcEndpoint`): a project's registration to
 * use one of the operator's named networks (`vpc_id` is the network's name, `subnet_id` the
 * caller's own label). Functions may use a network without one; see docs/sdk-interpretations.md.
 */
export interface VpcEndpoint {
  readonly projectId: string
  /** The named network (`STRATO_NETWORKS`). */
  readonly vpcId: string
  /** Free-form: FunctionGraph's subnet id, kept and echoed; part of the endpoint's key. */
  readonly subnetId: string
  readonly flavor: string
  readonly xrole: string
  readonly createdAt: number
}

export interface VpcEndpointRepository {
  /** Creates the endpoint, or replaces the flavor and xrole of the one with its key. */
  put(endpoint: VpcEndpoint): Promise<void>
  /** False when the project has no such endpoint. */
  delete(projectId: string, vpcId: string, subnetId: string): Promise<boolean>
}
