/**
 * @module Strato extension: `GET /strato/whoami` tells a signed caller which project its key acts
 * on (FunctionGraph takes the project id from IAM, so a key alone does not say it).
 */
import type { FastifyInstance } from 'fastify'
import { StratoError } from '../../core/index.js'
import type { ApiDeps } from '../deps.js'

/**
 * Registers the route. Call it inside the signed plugin of `buildApp`: the signature is verified
 * in its `preHandler` before this handler runs, so `request.prechecked` names a proven key.
 */
export function registerWhoamiRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/strato/whoami', (request) => {
    const key = request.prechecked?.key
    if (key === undefined) {
      // Unreachable behind the signed plugin's hooks; refuse rather than answer for nobody.
      throw new StratoError('UNAUTHORIZED', 'The request is not signed.')
    }
    return { project_id: key.projectId, access_key: key.accessKey, region: deps.config.region }
  })
}
