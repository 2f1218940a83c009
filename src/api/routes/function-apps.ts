/**
 * @module Function applications (`/fgs/applications`): a named group of functions created together
 * from an app template (its `params` fill the functions' names and triggers) and deleted together.
 * A failed create takes back what it made; the row says `creating` until every function is in.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import {
  StratoError,
  asBody,
  formatFunctionUrn,
  isStratoError,
  validateDescription,
  type FunctionApp,
  type FunctionAppMember,
  type FunctionRecord,
} from '../../core/index.js'
import { appTemplate, type AppTemplate } from '../../templates/index.js'
import { createTriggerOn } from '../create-trigger.js'
import type { ApiDeps } from '../deps.js'
import { parsePageQuery } from '../pagination.js'
import { registerTemplateRoutes, withTemplate } from './templates.js'

interface AppParams {
  project_id: string
  id: string
}

const APP_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,59}$/

/** The template's params filled from the body's: defaults for those left out, each checked. */
function paramsFor(t: AppTemplate, raw: unknown): Record<string, string> {
  const given = raw === undefined || raw === null ? {} : asBody(raw)
  for (const key of Object.keys(given)) {
    if (!t.params.some((p) => p.name === key)) {
      throw new StratoError(
        'INVALID_PARAMETER',
        `The template '${t.name}' has no parameter '${key}'; it has ${t.params.map((p) => p.name).join(', ')}.`,
      )
    }
  }
  const out: Record<string, string> = {}
  for (const p of t.params) {
    const v = given[p.name] ?? p.default
    if (v === undefined || v === null || v === '') {
      throw new StratoError('INVALID_PARAMETER', `params.${p.name} is required: ${p.description}`)
    }
    if (typeof v !== 'string' || !new RegExp(p.pattern).test(v)) {
      throw new StratoError(
        'INVALID_PARAMETER',
        `params.${p.name} ${JSON.stringify(v)} must match ${p.pattern}: ${p.description}`,
      )
    }
    out[p.name] = v
  }
  return out
}

/** `${param}` replaced in every string of `value` (objects and arrays walked). */
function fill(value: unknown, params: Readonly<Record<string, string>>): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_]\w*)\}/g, (m, name: string) => params[name] ?? m)
  }
  if (Array.isArray(value)) {
    return value.map((v) => fill(v, params))
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, params)]))
  }
  return value
}

function summary(app: FunctionApp): object {
  return {
    id: app.id,
    name: app.name,
    status: app.status,
    last_modified_time: app.updatedAt,
    description: app.description,
  }
}

export function registerFunctionAppRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store, lifecycle } = deps
  registerTemplateRoutes(app, deps, (projectId, templateId) =>
    store.apps.countByTemplate(projectId, templateId),
  )

  /** Deletes the functions (and so their triggers) of an application that still exist. */
  const deleteMembers = async (
    projectId: string,
    members: readonly FunctionAppMember[],
  ): Promise<void> => {
    for (const m of members) {
      const fn = await store.functions.getById(projectId, m.functionId)
      if (fn !== undefined) {
        await lifecycle.deleteFunction(fn)
      }
    }
  }

  app.post<{ Params: { project_id: string } }>(
    '/v2/:project_id/fgs/applications',
    async (request) => {
      const projectId = request.params.project_id
      const body = asBody(request.body)
      if (typeof body.name !== 'string' || !APP_NAME.test(body.name)) {
        throw new StratoError(
          'INVALID_PARAMETER',
          `Invalid application name ${JSON.stringify(body.name)}: 1 to 60 letters, digits, - and _, starting with a letter.`,
        )
      }
      if (typeof body.template_id !== 'string' || body.template_id === '') {
        throw new StratoError(
          'INVALID_PARAMETER',
          "'template_id' is required: Strato creates applications from its app templates (GET /fgs/application/templates).",
        )
      }
      const t = appTemplate(body.template_id)
      const params = paramsFor(t, body.params)
      const now = Date.now()
      let current: FunctionApp = {
        id: randomUUID(),
        projectId,
        name: body.name,
        templateId: t.id,
        description: validateDescription(body.description),
        params,
        status: 'creating',
        members: [],
        createdAt: now,
        updatedAt: now,
      }
      await store.apps.create(current)
      const members: FunctionAppMember[] = []
      try {
        for (const f of t.functions) {
          const fn: FunctionRecord = await lifecycle.create(
            projectId,
            await withTemplate({
              func_name: fill(f.name, params),
              package: 'default',
              description: fill(f.description, params),
              template_id: f.functionTemplate,
            }),
          )
          // Pushed before its triggers: a failing trigger still takes the function back.
          const triggerIds: string[] = []
          members.push({
            functionId: fn.id,
            packageName: fn.packageName,
            name: fn.name,
            triggerIds,
          })
          for (const trig of f.triggers) {
            const created = await createTriggerOn(deps, fn, {
              trigger_type_code: trig.triggerType,
              event_type_code: trig.eventType,
              trigger_status: 'ACTIVE',
              event_data: fill(trig.eventData, params),
            })
            triggerIds.push(created.id)
          }
        }
      } catch (err) {
        // All or nothing: what was made goes, and so does the row.
        await deleteMembers(projectId, members)
        await store.apps.delete(projectId, current.id)
        throw err
      }
      current = { ...current, members, status: 'success', updatedAt: Date.now() }
      await store.apps.update(current)
      return { application_id: current.id }
    },
  )

  app.get<{ Params: { project_id: string }; Querystring: Record<string, string | undefined> }>(
    '/v2/:project_id/fgs/applications',
    async (request) => {
      const { marker, size } = parsePageQuery(request.query, {
        size: 'limit',
        fallback: 100,
        max: 500,
      })
      const page = await store.apps.list(request.params.project_id, { marker, limit: size })
      return {
        applications: page.apps.map(summary),
        next_marker: marker + page.apps.length,
        count: page.count,
      }
    },
  )

  const get = async (params: AppParams): Promise<FunctionApp> => {
    const found = await store.apps.get(params.project_id, params.id)
    if (found === undefined) {
      throw new StratoError('APP_NOT_FOUND', `The application '${params.id}' does not exist.`)
    }
    return found
  }

  app.get<{ Params: AppParams }>('/v2/:project_id/fgs/applications/:id', async (request) => {
    const a = await get(request.params)
    const gateway = deps.gatewayUrl?.()
    const resources: object[] = []
    let apigUrl = ''
    for (const m of a.members) {
      const fn = await store.functions.getById(a.projectId, m.functionId)
      const urn = formatFunctionUrn(deps.config.region, a.projectId, m.packageName, m.name)
      resources.push({
        physical_resource_id: m.functionId,
        physical_resource_name: urn,
        logical_resource_name: m.name,
        logical_resource_type: 'huaweicloud_fgs_function',
        resource_status: fn === undefined ? 'DELETE_COMPLETE' : 'CREATE_COMPLETE',
        status_message: fn === undefined ? 'The function was deleted on its own.' : '',
        href: `/v2/${a.projectId}/fgs/functions/${urn}/config`,
        display_name: m.name,
      })
      if (fn === undefined) {
        continue
      }
      for (const id of m.triggerIds) {
        const trig = (await store.triggers.list(fn.id)).find((x) => x.id === id)
        const path = (trig?.eventData as { path?: unknown } | undefined)?.path
        if (apigUrl === '' && gateway !== undefined && typeof path === 'string') {
          apigUrl = `${gateway}${path}`
        }
      }
    }
    return {
      name: a.name,
      last_modified_time: a.updatedAt,
      // FunctionGraph's SDK types this as one StackResource; an application has one per
      // function, so Strato sends the list (docs/sdk-interpretations.md).
      stack_resources: resources,
      status: a.status,
      stack_name: a.name,
      stack_id: a.id,
      repo_name: '',
      description: a.description,
      pipeline_id: '',
      project_id: a.projectId,
      apig_url: apigUrl,
      // Strato additions: what the application was made from.
      template_id: a.templateId,
      params: a.params,
    }
  })

  app.delete<{ Params: AppParams }>(
    '/v2/:project_id/fgs/applications/:id',
    async (request, reply) => {
      const a = await get(request.params)
      try {
        await deleteMembers(a.projectId, a.members)
      } catch (err) {
        if (!isStratoError(err, 'FUNCTION_NOT_FOUND')) {
          throw err
        }
      }
      await store.apps.delete(a.projectId, a.id)
      return reply.code(200).send({})
    },
  )
}
