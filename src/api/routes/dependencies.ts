/**
 * @module Dependency packages (reference §4.6): upload a zip as the next version of a named
 * dependency, list, show and delete versions.
 */
import type { FastifyInstance } from 'fastify'
import {
  Limits,
  StratoError,
  asBody,
  isRuntimeName,
  runtimeFamilyOf,
  validateDescription,
} from '../../core/index.js'
import type { DependencyVersion } from '../../store/index.js'
import type { ApiDeps } from '../deps.js'
import { parsePageQuery } from '../pagination.js'

interface DepParams {
  project_id: string
  depend_id: string
}
type DepVersionParams = DepParams & { version: string }

/** FunctionGraph's page of dependencies (and of one dependency's versions): 400 at most. */
const DEPENDENCIES_PAGE_MAX = 400

const DEP_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,95}$/
function dependencyView(v: DependencyVersion): Record<string, unknown> {
  return {
    id: v.id,
    dep_id: v.depId,
    owner: v.projectId,
    link: '',
    runtime: v.runtime,
    etag: v.etag,
    size: v.size,
    name: v.name,
    description: v.description,
    file_name: v.fileName,
    version: v.version,
    last_modified: v.lastModified,
    is_shared: false,
  }
}

function versionNumber(raw: string): number {
  if (!/^\d{1,9}$/.test(raw)) {
    throw new StratoError(
      'INVALID_PARAMETER',
      `A dependency version is a positive integer, not '${raw}'.`,
    )
  }
  return Number(raw)
}

export function registerDependencyRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store } = deps
  const DEPENDENCY_BODY_LIMIT_BYTES = Limits.bodyLimitForPackage(
    deps.config.quotas.codePackageMaxBytes,
  )

  app.post<{ Params: { project_id: string } }>(
    '/v2/:project_id/fgs/dependencies/version',
    { bodyLimit: DEPENDENCY_BODY_LIMIT_BYTES },
    async (request) => {
      const body = asBody(request.body)
      if (typeof body.name !== 'string' || !DEP_NAME.test(body.name)) {
        throw new StratoError(
          'INVALID_PARAMETER',
          "'name' must be 1 to 96 letters, digits, '.', '-' or '_', starting with a letter.",
        )
      }
      if (body.runtime === undefined || body.runtime === null || body.runtime === '') {
        throw new StratoError('INVALID_RUNTIME', "'runtime' is required.")
      }
      if (!isRuntimeName(body.runtime) || runtimeFamilyOf(body.runtime) === undefined) {
        throw new StratoError(
          'INVALID_RUNTIME',
          `Invalid runtime ${JSON.stringify(body.runtime).slice(0, 60)} for a dependency.`,
        )
      }
      if (body.depend_type !== 'zip') {
        throw new StratoError(
          'INVALID_PARAMETER',
          `depend_type ${JSON.stringify(body.depend_type)} cannot be used: upload the zip as depend_type 'zip' (Strato has no OBS).`,
        )
      }
      const file = body.depend_file
      if (
        typeof file !== 'string' ||
        file === '' ||
        file.length % 4 !== 0 ||
        !/^[A-Za-z0-9+/]*={0,2}$/.test(file)
      ) {
        throw new StratoError('INVALID_CODE', "'depend_file' must hold the base64 of a zip.")
      }
      const description = validateDescription(body.description)
      const created = await store.dependencies.createVersion({
        projectId: request.params.project_id,
        name: body.name,
        runtime: body.runtime,
        description,
        fileName: `${body.name}.zip`,
        zip: Buffer.from(file, 'base64'),
      })
      return dependencyView(created)
    },
  )

  app.get<{
    Params: { project_id: string }
    Querystring: { name?: string; runtime?: string; marker?: string; maxitems?: string }
  }>('/v2/:project_id/fgs/dependencies', async (request) => {
    const q = request.query
    const all = await store.dependencies.listLatest(request.params.project_id, {
      name: q.name === '' ? undefined : q.name,
      runtime: q.runtime === '' ? undefined : q.runtime,
    })
    const { marker, size } = parsePageQuery(q, { size: 'maxitems', max: DEPENDENCIES_PAGE_MAX })
    const page = all.slice(marker, marker + size)
    return {
      dependencies: page.map(dependencyView),
      next_marker: marker + page.length,
      count: all.length,
    }
  })

  app.get<{ Params: DepParams; Querystring: { marker?: string; maxitems?: string } }>(
    '/v2/:project_id/fgs/dependencies/:depend_id/version',
    async (request) => {
      const { marker, size } = parsePageQuery(request.query, {
        size: 'maxitems',
        max: DEPENDENCIES_PAGE_MAX,
      })
      const versions = await store.dependencies.listVersions(
        request.params.project_id,
        request.params.depend_id,
      )
      const page = versions.slice(marker, marker + size)
      return {
        dependencies: page.map(dependencyView),
        next_marker: marker + page.length,
        count: versions.length,
      }
    },
  )

  app.get<{ Params: DepVersionParams }>(
    '/v2/:project_id/fgs/dependencies/:depend_id/version/:version',
    async (request) => {
      const p = request.params
      const v = await store.dependencies.getVersion(
        p.project_id,
        p.depend_id,
        versionNumber(p.version),
      )
      return { ...dependencyView(v), download_link: '' }
    },
  )

  app.delete<{ Params: DepVersionParams }>(
    '/v2/:project_id/fgs/dependencies/:depend_id/version/:version',
    async (request, reply) => {
      const p = request.params
      await store.dependencies.deleteVersion(p.project_id, p.depend_id, versionNumber(p.version))
      deps.collectUnusedCode?.()
      return reply.code(204).send()
    },
  )
}
