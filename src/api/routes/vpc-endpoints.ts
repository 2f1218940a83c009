/**
 * @module `POST /fgs/vpc-endpoint` (createVpcEndpoint) and `DELETE /fgs/vpc-endpoint/{vpc_id}/
 * {subnet_id}` (deleteVpcEndpoint). Strato has no VPCs: an endpoint is a project's registration to
 * use one of the operator's named networks (`vpc_id` = its name, `subnet_id` a label of the
 * caller's), and the answer says what that network opens and at which address functions reach
 * it (docs/sdk-interpretations.md). A function needs no endpoint to join a network.
 */
import type { FastifyInstance } from 'fastify'
import {
  cidrRange,
  isLoopback,
  numberToIpv4,
  type EgressSettings,
  type NamedNetwork,
} from '../../config/index.js'
import { StratoError, asBody } from '../../core/index.js'
import { unknownNetworkError } from '../../services/index.js'
import type { ApiDeps } from '../deps.js'

interface ProjectParams {
  project_id: string
}

interface EndpointParams extends ProjectParams {
  vpc_id: string
  subnet_id: string
}

/** The name an instance's `/etc/hosts` gives its gateway (ADR 0023). */
const HOST_NAME = 'host.strato.internal'

/** A `subnet_id` must fit one path segment of the delete; real ones are ids like these. */
const SUBNET_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** `CreateVpcEndpointResponse`: what the network opens, as a function dials it, and where. */
export function endpointView(
  network: NamedNetwork,
  egress: Pick<EgressSettings, 'subnet'>,
): { endpoints: string[]; address: string } {
  const onHost = network.endpoints.some((e) => isLoopback(e.address))
  return {
    endpoints: [
      ...network.cidrs,
      ...network.endpoints.map((e) => `${isLoopback(e.address) ? HOST_NAME : e.address}:${e.port}`),
    ],
    // A host service is reached by name; otherwise every packet leaves through the gateway.
    address: onHost ? HOST_NAME : numberToIpv4(cidrRange(egress.subnet).first + 1),
  }
}

function requiredString(body: Readonly<Record<string, unknown>>, field: string): string {
  const value = body[field]
  if (typeof value !== 'string' || value === '') {
    throw new StratoError('INVALID_PARAMETER', `'${field}' is required and must be a string.`)
  }
  return value
}

function optionalString(body: Readonly<Record<string, unknown>>, field: string): string {
  const value = body[field]
  if (value === undefined || value === null) {
    return ''
  }
  if (typeof value !== 'string' || value.length > 256) {
    throw new StratoError(
      'INVALID_PARAMETER',
      `'${field}' must be a string of up to 256 characters.`,
    )
  }
  return value
}

export function registerVpcEndpointRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { egress } = deps.config
  const defined = egress.networks.map((n) => n.name)

  app.post<{ Params: ProjectParams }>('/v2/:project_id/fgs/vpc-endpoint', async (request) => {
    const body = asBody(request.body)
    const vpcId = requiredString(body, 'vpc_id')
    const subnetId = requiredString(body, 'subnet_id')
    if (!SUBNET_ID.test(subnetId)) {
      throw new StratoError(
        'INVALID_PARAMETER',
        `subnet_id '${subnetId}' is invalid: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.`,
      )
    }
    const network = egress.networks.find((n) => n.name === vpcId)
    if (network === undefined) {
      throw unknownNetworkError(vpcId, 'vpc_id', defined)
    }
    await deps.store.vpcEndpoints.put({
      projectId: request.params.project_id,
      vpcId,
      subnetId,
      flavor: optionalString(body, 'flavor'),
      xrole: optionalString(body, 'xrole'),
      createdAt: Date.now(),
    })
    return endpointView(network, egress)
  })

  app.delete<{ Params: EndpointParams }>(
    '/v2/:project_id/fgs/vpc-endpoint/:vpc_id/:subnet_id',
    async (request, reply) => {
      const { project_id: projectId, vpc_id: vpcId, subnet_id: subnetId } = request.params
      // No check of the network: an endpoint outlives the operator removing it, and goes here.
      if (!(await deps.store.vpcEndpoints.delete(projectId, vpcId, subnetId))) {
        throw new StratoError(
          'VPC_ENDPOINT_NOT_FOUND',
          `The project has no VPC endpoint for network '${vpcId}' and subnet '${subnetId}'.`,
        )
      }
      return reply.code(204).send()
    },
  )
}
