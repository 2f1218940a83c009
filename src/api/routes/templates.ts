/**
 * @module Function and app templates (`/fgs/templates`, `/fgs/application/templates`): the
 * built-in catalogue of `src/templates/`, and a create-function body completed from a template
 * (`template_id`, a Strato extension: FunctionGraph's create body has no template field).
 */
import type { FastifyInstance } from 'fastify'
import { StratoError } from '../../core/index.js'
import {
  APP_TEMPLATES,
  FUNCTION_TEMPLATES,
  functionTemplate,
  appTemplate,
  templatePackage,
  type AppTemplate,
  type FunctionTemplate,
  type TemplateTrigger,
} from '../../templates/index.js'
import type { ApiDeps } from '../deps.js'
import { parsePageQuery } from '../pagination.js'

type Query = Record<string, string | undefined>

/** The catalogue is built into this release: its templates were "created" with it. */
const CATALOGUE_TIME_MS = Date.parse('2026-01-01T00:00:00Z')

function triggerMetadata(t: TemplateTrigger): object {
  return {
    trigger_name: t.triggerName,
    trigger_type: t.triggerType,
    event_type: t.eventType,
    event_data: JSON.stringify(t.eventData),
  }
}

/** `ShowFunctionTemplateResponseBody`; `code` (the base64 zip) only when shown alone. */
export async function functionTemplateView(
  t: FunctionTemplate,
  withCode: boolean,
): Promise<object> {
  return {
    id: t.id,
    // 1: a public (built-in) template; FunctionGraph's own numbering is not documented.
    type: 1,
    title: t.title,
    template_name: t.name,
    description: t.description,
    runtime: t.runtime,
    handler: t.handler,
    code_type: 'zip',
    ...(withCode ? { code: (await templatePackage(t)).toString('base64') } : {}),
    timeout: t.timeout,
    memory_size: t.memorySize,
    trigger_metadata_list: t.triggers.map(triggerMetadata),
    temp_detail: {
      input: t.example.input,
      output: t.example.output,
      warning: t.buildFirst === undefined ? '' : `Build first: ${t.buildFirst}.`,
    },
    user_data: '',
    encrypted_user_data: '',
    dependencies: [],
    scene: t.scene,
    service: t.service,
  }
}

function appTemplateSummary(t: AppTemplate): object {
  return {
    id: t.id,
    name: t.name,
    runtime: t.runtime,
    category: t.category,
    description: t.description,
    image: '',
  }
}

function appTemplateView(t: AppTemplate, deployCount: number): object {
  return {
    id: t.id,
    name: t.name,
    description: t.description,
    runtime: t.runtime,
    category: t.category,
    // FunctionGraph's model types params as a string: the parameters as JSON.
    params: JSON.stringify(
      t.params.map((p) => ({
        name: p.name,
        description: p.description,
        ...(p.default === undefined ? { required: true } : { default: p.default }),
        pattern: p.pattern,
      })),
    ),
    image: '',
    deploy_count: deployCount,
    version: 1,
    template_guide: t.guide,
    create_time: CATALOGUE_TIME_MS,
    update_time: CATALOGUE_TIME_MS,
    resources: t.functions.map((f) => ({
      resource_name: f.name,
      icon: '',
      href: `/fgs/templates/${functionTemplate(f.functionTemplate).id}`,
    })),
  }
}

/** `field` is absent or empty, or equals `value` (case-insensitive, as filters are typed). */
function matches(field: string | undefined, value: string): boolean {
  return field === undefined || field === '' || field.toLowerCase() === value.toLowerCase()
}

/**
 * A create-function body from a template: the template's runtime, handler, timeout, memory and
 * code, under whatever the body gives itself (its own code wins too). Without `template_id`, the
 * body as it is.
 */
export async function withTemplate(
  body: Readonly<Record<string, unknown>>,
): Promise<Readonly<Record<string, unknown>>> {
  const id = body.template_id
  if (id === undefined || id === null || id === '') {
    return body
  }
  if (typeof id !== 'string') {
    throw new StratoError('INVALID_PARAMETER', "'template_id' must be a string.")
  }
  const t = functionTemplate(id)
  if (t.buildFirst !== undefined) {
    throw new StratoError(
      'TEMPLATE_NOT_DEPLOYABLE',
      `A function cannot be created from '${t.name}' as it is: ${t.buildFirst}.`,
    )
  }
  const rest = { ...body }
  delete rest.template_id
  const given = (name: string): boolean =>
    rest[name] !== undefined && rest[name] !== null && rest[name] !== ''
  const ownCode =
    rest.func_code !== null &&
    typeof rest.func_code === 'object' &&
    typeof (rest.func_code as Record<string, unknown>).file === 'string'
  return {
    ...rest,
    runtime: given('runtime') ? rest.runtime : t.runtime,
    handler: given('handler') ? rest.handler : t.handler,
    timeout: given('timeout') ? rest.timeout : t.timeout,
    memory_size: given('memory_size') ? rest.memory_size : t.memorySize,
    description: given('description') ? rest.description : t.description,
    package: given('package') ? rest.package : 'default',
    ...(ownCode
      ? {}
      : {
          code_type: 'zip',
          code_filename: `${t.name}.zip`,
          func_code: { file: (await templatePackage(t)).toString('base64') },
        }),
  }
}

export function registerTemplateRoutes(
  app: FastifyInstance,
  deps: ApiDeps,
  deployCount: (projectId: string, templateId: string) => Promise<number> = () =>
    Promise.resolve(0),
): void {
  void deps
  app.get<{ Params: { project_id: string }; Querystring: Query }>(
    '/v2/:project_id/fgs/templates',
    async (request) => {
      const q = request.query
      const { marker, size } = parsePageQuery(q, {
        size: 'maxitems',
        max: FUNCTION_TEMPLATES.length,
      })
      // Every built-in template is public: ispublic=false asks for the project's own, of which
      // there are none.
      const publicOnes = q.ispublic === undefined || q.ispublic === '' || q.ispublic === 'true'
      const found = FUNCTION_TEMPLATES.filter(
        (t) =>
          publicOnes &&
          matches(q.runtime, t.runtime) &&
          matches(q.scene, t.scene) &&
          matches(q.service, t.service),
      )
      const page = found.slice(marker, marker + size)
      return {
        func_templates: await Promise.all(page.map((t) => functionTemplateView(t, false))),
        next_marker: marker + page.length < found.length ? marker + page.length : found.length,
        count: found.length,
      }
    },
  )

  app.get<{ Params: { project_id: string; template_id: string } }>(
    '/v2/:project_id/fgs/templates/:template_id',
    (request) => functionTemplateView(functionTemplate(request.params.template_id), true),
  )

  app.get<{ Params: { project_id: string }; Querystring: Query }>(
    '/v2/:project_id/fgs/application/templates',
    (request) => {
      const q = request.query
      const { marker, size } = parsePageQuery(q, { size: 'maxitems', max: APP_TEMPLATES.length })
      const found = APP_TEMPLATES.filter(
        (t) => matches(q.runtime, t.runtime) && matches(q.category, t.category),
      )
      const page = found.slice(marker, marker + size)
      return {
        templates: page.map(appTemplateSummary),
        next_marker: marker + page.length < found.length ? marker + page.length : found.length,
        count: found.length,
      }
    },
  )

  app.get<{ Params: { project_id: string; id: string } }>(
    '/v2/:project_id/fgs/application/templates/:id',
    async (request) => {
      const t = appTemplate(request.params.id)
      return appTemplateView(t, await deployCount(request.params.project_id, t.id))
    },
  )
}
