/**
 * @module The project's quotas and their use (reference §4.6, `GET /fgs/quotas`).
 */
import type { FastifyInstance } from 'fastify'
import type { ApiDeps } from '../deps.js'
import { WORKFLOWS_PER_PROJECT } from './workflows.js'

const MIB = 1024 * 1024

export function registerQuotaRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store } = deps
  const q = deps.config.quotas
  app.get<{ Params: { project_id: string } }>('/v2/:project_id/fgs/quotas', async (request) => {
    const projectId = request.params.project_id
    return {
      quotas: {
        resources: [
          {
            type: 'fgs_func_num',
            quota: q.functionsPerProject,
            used: await store.functions.count(projectId),
          },
          {
            type: 'fgs_func_code_size',
            quota: Math.floor(q.codeTotalMaxBytes / MIB),
            used: Math.ceil((await store.functions.totalCodeSize(projectId)) / MIB),
            unit: 'MB',
          },
          {
            type: 'fgs_workflow_num',
            quota: WORKFLOWS_PER_PROJECT,
            used: await store.flows.countWorkflows(projectId),
          },
          { type: 'fgs_func_occurs', quota: deps.config.maxInstancesPerFunction, used: 0 },
          {
            type: 'fgs_func_pat_idle_time',
            quota: Math.round(deps.config.idleTtlMs / 1000),
            used: 0,
            unit: 's',
          },
        ],
      },
    }
  })
}
