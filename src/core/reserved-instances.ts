/**
 * @module Reserved-instance configs (reference §4.6, `updateFunctionReservedInstancesCount`): how
 * many initialised instances of one function version or alias stay alive, never reclaimed when
 * idle, and the scheduled policies that change that number over the day.
 */
import { StratoError } from './errors.js'

/** `tactics_config.cron_configs[]`: from each firing of `cron` on, keep `count` instances. */
export interface ReservedCronPolicy {
  readonly name: string
  /** FunctionGraph's six-field cron, seconds first (five fields: day of week added as `?`). */
  readonly cron: string
  readonly count: number
  /** Epoch seconds; the policy applies only from here (0: always)… */
  readonly startTime: number
  /** …until here (0: never expires). */
  readonly expiredTime: number
}

/** `tactics_config.metric_configs[]`: stored and echoed; Strato does not scale on metrics. */
export interface ReservedMetricPolicy {
  readonly name: string
  readonly type: 'Concurrency'
  readonly threshold: number
  readonly min: number
}

export interface ReservedInstanceInput {
  readonly count: number
  readonly idleMode: boolean
  readonly cronPolicies: readonly ReservedCronPolicy[]
  readonly metricPolicies: readonly ReservedMetricPolicy[]
}

/** What a reservation keeps instances of: `qualifier` (`latest`, a version or an alias). */
export interface ReservedTarget {
  readonly projectId: string
  readonly functionId: string
  readonly qualifierType: 'version' | 'alias'
  readonly qualifier: string
}

/** One stored reservation. */
export interface ReservedInstanceConfig extends ReservedInstanceInput, ReservedTarget {
  readonly updatedAt: Date
}

/** FunctionGraph's account concurrency share reserved instances may take at most. */
export const RESERVED_SHARE_OF_CONCURRENCY = 0.9

/** The most instances a project may reserve with this account concurrency. */
export function reservedQuotaOf(accountConcurrency: number): number {
  return Math.floor(accountConcurrency * RESERVED_SHARE_OF_CONCURRENCY)
}

type Body = Readonly<Record<string, unknown>>

function fail(detail: string): never {
  throw new StratoError('INVALID_PARAMETER', detail)
}

function count(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    fail(`'${field}' must be an integer of 0 or more.`)
  }
  return value
}

function optionalNumber(value: unknown, field: string): number {
  if (value === undefined || value === null) {
    return 0
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(`'${field}' must be a number of 0 or more.`)
  }
  return value
}

function objects(value: unknown, field: string): Body[] {
  if (value === undefined || value === null) {
    return []
  }
  if (!Array.isArray(value) || value.some((v) => v === null || typeof v !== 'object')) {
    fail(`'${field}' must be an array of objects.`)
  }
  return value as Body[]
}

function name(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') {
    fail(`'${field}' must be a non-empty string.`)
  }
  return value
}

/**
 * Parses an `UpdateFunctionReservedInstancesCountRequestBody`. Cron expressions are checked by
 * `checkCron` (the scheduler's parser), so a policy that can never fire is refused here.
 */
export function parseReservedInstanceInput(
  body: Body,
  checkCron: (cron: string) => void,
): ReservedInstanceInput {
  const tactics = body['tactics_config']
  if (tactics !== undefined && tactics !== null && typeof tactics !== 'object') {
    fail("'tactics_config' must be an object.")
  }
  const t = (tactics ?? {}) as Body
  const cronPolicies = objects(t['cron_configs'], 'tactics_config.cron_configs').map((c, i) => {
    const at = `tactics_config.cron_configs[${i}]`
    const cron = name(c['cron'], `${at}.cron`)
    try {
      checkCron(cron)
    } catch (err) {
      fail(`'${at}.cron': ${err instanceof Error ? err.message : String(err)}`)
    }
    const policy: ReservedCronPolicy = {
      name: name(c['name'], `${at}.name`),
      cron,
      count: count(c['count'], `${at}.count`),
      startTime: optionalNumber(c['start_time'], `${at}.start_time`),
      expiredTime: optionalNumber(c['expired_time'], `${at}.expired_time`),
    }
    if (policy.expiredTime !== 0 && policy.expiredTime <= policy.startTime) {
      fail(`'${at}.expired_time' must be after its start_time.`)
    }
    return policy
  })
  const metricPolicies = objects(t['metric_configs'], 'tactics_config.metric_configs').map(
    (m, i): ReservedMetricPolicy => {
      const at = `tactics_config.metric_configs[${i}]`
      if (m['type'] !== undefined && m['type'] !== 'Concurrency') {
        fail(`'${at}.type' must be 'Concurrency'.`)
      }
      return {
        name: name(m['name'], `${at}.name`),
        type: 'Concurrency',
        threshold: optionalNumber(m['threshold'], `${at}.threshold`),
        min: count(m['min'] ?? 0, `${at}.min`),
      }
    },
  )
  const idleMode = body['idle_mode'] ?? false
  if (typeof idleMode !== 'boolean') {
    fail("'idle_mode' must be a boolean.")
  }
  return { count: count(body['count'], 'count'), idleMode, cronPolicies, metricPolicies }
}

/** The most instances a config can ask for at any time: what the quota is checked against. */
export function peakReservedCount(input: ReservedInstanceInput): number {
  return Math.max(input.count, ...input.cronPolicies.map((p) => p.count))
}

/** `tactics_config` as FunctionGraph returns it. */
export function tacticsConfigView(input: ReservedInstanceInput): Record<string, unknown> {
  return {
    cron_configs: input.cronPolicies.map((p) => ({
      name: p.name,
      cron: p.cron,
      count: p.count,
      start_time: p.startTime,
      expired_time: p.expiredTime,
    })),
    metric_configs: input.metricPolicies.map((m) => ({
      name: m.name,
      type: m.type,
      threshold: m.threshold,
      min: m.min,
    })),
  }
}
