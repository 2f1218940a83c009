/**
 * @module VPC endpoints: a row per project, network and subnet label. Durable so that an endpoint
 * created through the SDK is still there (and deletable) after a restart.
 */
import type { Kysely } from 'kysely'
import type { VpcEndpoint, VpcEndpointRepository } from '../core/index.js'
import type { Database } from './database.js'

export class VpcEndpointStore implements VpcEndpointRepository {
  readonly #db: Kysely<Database>

  constructor(db: Kysely<Database>) {
    this.#db = db
  }

  async put(endpoint: VpcEndpoint): Promise<void> {
    await this.#db
      .insertInto('vpc_endpoints')
      .values({
        project_id: endpoint.projectId,
        vpc_id: endpoint.vpcId,
        subnet_id: endpoint.subnetId,
        flavor: endpoint.flavor,
        xrole: endpoint.xrole,
        created_at: endpoint.createdAt,
      })
      .onConflict((oc) =>
        oc
          .columns(['project_id', 'vpc_id', 'subnet_id'])
          .doUpdateSet({ flavor: endpoint.flavor, xrole: endpoint.xrole }),
      )
      .execute()
  }

  async delete(projectId: string, vpcId: string, subnetId: string): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('vpc_endpoints')
      .where('project_id', '=', projectId)
      .where('vpc_id', '=', vpcId)
      .where('subnet_id', '=', subnetId)
      .executeTakeFirst()
    return result.numDeletedRows > 0n
  }
}
