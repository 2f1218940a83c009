/**
 * @module Versions (publish, list) and aliases (create, list, show, update, delete), reference §4.3.
 * Deleting a version goes through the function URN (functions.ts).
 */
import type { FastifyInstance } from 'fastify'
import {
  StratoError,
  asBody,
  formatFunctionUrn,
  validateAliasName,
  validateDescription,
  validateVersionName,
  type FunctionRecord,
} from '../../core/index.js'
import type { Alias, Store, VersionRule, VersionStrategy } from '../../store/index.js'
import type { ApiDeps } from '../deps.js'
import { parsePageQuery } from '../pagination.js'
import { formatLastModified, functionView } from '../function-view.js'
import { resolveLatest, type FunctionPathParams } from '../resolve-function.js'

type AliasParams = FunctionPathParams & { alias_name: string }

function aliasView(latest: FunctionRecord, alias: Alias, region: string): Record<string, unknown> {
  return {
    name: alias.name,
    version: alias.version,
    description: alias.description,
    last_modified: formatLastModified(alias.lastModified),
    alias_urn: formatFunctionUrn(
      region,
      latest.projectId,
      latest.packageName,
      latest.name,
      `!${alias.name}`,
    ),
    additional_version_weights: alias.weights,
    additional_version_strategy: Object.fromEntries(
      Object.entries(alias.strategy).map(([v, st]) => [
        v,
        {
          combine_type: st.combineType,
          rules: st.rules.map((r) => ({
            rule_type: r.ruleType,
            param: r.param,
            op: r.op,
            value: r.value,
          })),
        },
      ]),
    ),
  }
}

async function versionExists(
  store: Store,
  latest: FunctionRecord,
  version: string,
): Promise<boolean> {
  return version === 'latest' || (await store.versions.get(latest, version)) !== undefined
}

/** Validates one `additional_version_strategy` entry: rules on headers or cookies. */
function parseStrategy(version: string, raw: unknown): VersionStrategy {
  const bad = (why: string): StratoError =>
    new StratoError('INVALID_PARAMETER', `additional_version_strategy of '${version}': ${why}.`)
  const body = asBody(raw)
  const combine = body.combine_type ?? 'and'
  if (combine !== 'and' && combine !== 'or') {
    throw bad("combine_type must be 'and' or 'or'")
  }
  if (!Array.isArray(body.rules) || body.rules.length === 0 || body.rules.length > 10) {
    throw bad('rules must be an array of 1 to 10 rules')
  }
  const rules = body.rules.map((r: unknown): VersionRule => {
    const rule = asBody(r)
    const type = typeof rule.rule_type === 'string' ? rule.rule_type.toLowerCase() : ''
    if (type !== 'header' && type !== 'cookie') {
      throw bad("rule_type must be 'header' or 'cookie'")
    }
    if (typeof rule.param !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(rule.param)) {
      throw bad('param must name a header or cookie')
    }
    const op = rule.op ?? '='
    if (op !== '=' && op !== 'in') {
      throw bad("op must be '=' or 'in'")
    }
    if (typeof rule.value !== 'string' || rule.value.length > 256) {
      throw bad('value must be a string of at most 256 characters')
    }
    return { ruleType: type, param: rule.param, op, value: rule.value }
  })
  return { combineType: combine, rules }
}

/** Validates an alias body: its version, its additional versions and their weights. */
async function parseAlias(
  store: Store,
  latest: FunctionRecord,
  name: string,
  raw: unknown,
): Promise<Omit<Alias, 'lastModified'>> {
  const body = asBody(raw)
  const version = body.version
  if (typeof version !== 'string' || version === '') {
    throw new StratoError('INVALID_VERSION', "'version' is required.")
  }
  if (!(await versionExists(store, latest, version))) {
    throw new StratoError('VERSION_NOT_FOUND', `Not found the function version '${version}'.`)
  }
  const description = validateDescription(body.description)
  const weights: Record<string, number> = {}
  let total = 0
  const rawWeights = body.additional_version_weights
  for (const [extra, weight] of Object.entries(
    rawWeights === undefined || rawWeights === null ? {} : asBody(rawWeights),
  )) {
    if (extra === version) {
      throw new StratoError(
        'ADDITIONAL_VERSION_IS_MAJOR',
        `The additional version '${extra}' is the alias's own version.`,
      )
    }
    if (!(await versionExists(store, latest, extra))) {
      throw new StratoError(
        'INVALID_ADDITIONAL_VERSION',
        `The additional version '${extra}' does not exist.`,
      )
    }
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > 100) {
      throw new StratoError(
        'INVALID_VERSION_WEIGHT',
        `The weight of '${extra}' must be an integer from 0 to 100.`,
      )
    }
    weights[extra] = weight
    total += weight
  }
  if (total > 100) {
    throw new StratoError(
      'INVALID_VERSION_WEIGHT',
      `The additional weights add up to ${total}; at most 100.`,
    )
  }
  const strategy: Record<string, VersionStrategy> = {}
  const rawStrategy = body.additional_version_strategy
  for (const [extra, value] of Object.entries(
    rawStrategy === undefined || rawStrategy === null ? {} : asBody(rawStrategy),
  )) {
    if (extra === version) {
      throw new StratoError(
        'ADDITIONAL_VERSION_IS_MAJOR',
        `The rule-routed version '${extra}' is the alias's own version.`,
      )
    }
    if (!(await versionExists(store, latest, extra))) {
      throw new StratoError(
        'INVALID_ADDITIONAL_VERSION',
        `The rule-routed version '${extra}' does not exist.`,
      )
    }
    strategy[extra] = parseStrategy(extra, value)
  }
  return { name, version, description, weights, strategy }
}

export function registerVersionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store } = deps
  const region = deps.config.region

  const existingAlias = async (latest: FunctionRecord, name: string): Promise<Alias> => {
    const alias = await store.versions.getAlias(latest, name)
    if (alias === undefined) {
      throw new StratoError('ALIAS_NOT_FOUND', `The alias '${name}' does not exist.`)
    }
    return alias
  }

  app.post<{ Params: FunctionPathParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/versions',
    async (request) => {
      const latest = await resolveLatest(store, request.params)
      const body = request.body === undefined ? {} : asBody(request.body)
      if (
        body.digest !== undefined &&
        body.digest !== null &&
        body.digest !== '' &&
        body.digest !== latest.digest
      ) {
        throw new StratoError(
          'INVALID_PARAMETER',
          "'digest' is not the digest of the function's current code: it changed since you read it.",
        )
      }
      if (body.version !== undefined && body.version !== null && typeof body.version !== 'string') {
        throw new StratoError('INVALID_VERSION', "'version' must be a string.")
      }
      const name =
        body.version === undefined || body.version === null || body.version === ''
          ? undefined
          : validateVersionName(body.version)
      const description = validateDescription(body.description)
      const published = await store.versions.publish(latest, name, description)
      return {
        ...functionView(published.fn, region, store.secrets),
        version_description: published.description,
      }
    },
  )

  app.get<{ Params: FunctionPathParams; Querystring: { marker?: string; maxitems?: string } }>(
    '/v2/:project_id/fgs/functions/:function_urn/versions',
    async (request) => {
      const latest = await resolveLatest(store, request.params)
      const { marker, size } = parsePageQuery(request.query, {
        size: 'maxitems',
        max: deps.config.quotas.versionsPerFunction,
      })
      const all = [
        { ...functionView(latest, region, store.secrets), version_description: '' },
        ...(await store.versions.list(latest)).map((v) => ({
          ...functionView(v.fn, region, store.secrets),
          version_description: v.description,
        })),
      ]
      const page = all.slice(marker, marker + size)
      return { versions: page, next_marker: marker + page.length, count: all.length }
    },
  )

  app.post<{ Params: FunctionPathParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/aliases',
    async (request) => {
      const latest = await resolveLatest(store, request.params)
      const name = validateAliasName(asBody(request.body).name)
      const alias = await store.versions.putAlias(
        latest,
        await parseAlias(store, latest, name, request.body),
        'create',
      )
      return aliasView(latest, alias, region)
    },
  )

  app.get<{ Params: FunctionPathParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/aliases',
    async (request) => {
      const latest = await resolveLatest(store, request.params)
      // FunctionGraph answers a bare array here (reference §2).
      return (await store.versions.listAliases(latest)).map((a) => aliasView(latest, a, region))
    },
  )

  app.get<{ Params: AliasParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/aliases/:alias_name',
    async (request) => {
      const latest = await resolveLatest(store, request.params)
      return aliasView(latest, await existingAlias(latest, request.params.alias_name), region)
    },
  )

  app.put<{ Params: AliasParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/aliases/:alias_name',
    async (request) => {
      const latest = await resolveLatest(store, request.params)
      const name = request.params.alias_name
      const alias = await store.versions.putAlias(
        latest,
        await parseAlias(store, latest, name, request.body),
        'update',
      )
      return aliasView(latest, alias, region)
    },
  )

  app.delete<{ Params: AliasParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/aliases/:alias_name',
    async (request, reply) => {
      const latest = await resolveLatest(store, request.params)
      await existingAlias(latest, request.params.alias_name)
      await store.versions.deleteAlias(latest, request.params.alias_name)
      // Its async events are discarded; none still waiting for an instance runs.
      await deps.asyncQueue.discardDeleted({
        functionId: latest.id,
        qualifier: `!${request.params.alias_name}`,
      })
      // The alias's triggers (stored under the qualifier `!alias`) go with it, and the gateway
      // drops their routes at once.
      await store.triggers.deleteAll(latest.id, `!${request.params.alias_name}`)
      return reply.code(204).send()
    },
  )
}
