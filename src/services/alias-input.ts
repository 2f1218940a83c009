/**
 * @module An alias as a create or update body gives it (reference §4.3), checked against the
 * function's versions: its version, additional versions with weights, and rule-routed versions.
 */
import { StratoError, asBody, validateDescription, type FunctionRecord } from '../core/index.js'
import type { Alias, Store, VersionRule, VersionStrategy } from '../store/index.js'

/** An alias to store: everything but its modification time. */
export type AliasInput = Omit<Alias, 'lastModified'>

async function versionExists(
  versions: Store['versions'],
  latest: FunctionRecord,
  version: string,
): Promise<boolean> {
  return version === 'latest' || (await versions.get(latest, version)) !== undefined
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
export async function parseAlias(
  versions: Store['versions'],
  latest: FunctionRecord,
  name: string,
  raw: unknown,
): Promise<AliasInput> {
  const body = asBody(raw)
  const version = body.version
  if (typeof version !== 'string' || version === '') {
    throw new StratoError('INVALID_VERSION', "'version' is required.")
  }
  if (!(await versionExists(versions, latest, version))) {
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
    if (!(await versionExists(versions, latest, extra))) {
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
    if (!(await versionExists(versions, latest, extra))) {
      throw new StratoError(
        'INVALID_ADDITIONAL_VERSION',
        `The rule-routed version '${extra}' does not exist.`,
      )
    }
    strategy[extra] = parseStrategy(extra, value)
  }
  return { name, version, description, weights, strategy }
}
