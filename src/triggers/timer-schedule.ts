/**
 * @module A TIMER trigger's `event_data` (reference §4.4) and the ticks its schedule makes. Cron
 * expressions are parsed by croner (see docs/decisions/0014-timer-and-log-triggers.md); `Rate` and
 * `@every` are fixed intervals counted from when the schedule took effect.
 */
import { Cron } from 'croner'
import { StratoError, type TimerEventData } from '../core/index.js'

function fail(detail: string): never {
  throw new StratoError('INVALID_TIMER_TRIGGER', detail)
}

const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS
const DAY_MS = 24 * HOUR_MS

/** FunctionGraph's `Rate` ranges: `<n>m` 1-60, `<n>h` 1-24, `<n>d` 1-30. */
const RATE_UNITS: Readonly<Record<string, { readonly ms: number; readonly max: number }>> = {
  m: { ms: MINUTE_MS, max: 60 },
  h: { ms: HOUR_MS, max: 24 },
  d: { ms: DAY_MS, max: 30 },
}

/** A Go duration as `@every` takes it (`1h30m`, `90s`, `500ms`): units and their ms. */
const GO_DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: MINUTE_MS,
  h: HOUR_MS,
}
const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/
const GO_DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g

/** `user_event` is passed to the function in the event: bounded like a test event (4 KB). */
const USER_EVENT_MAX_CHARS = 4096

/** When the ticks of a schedule fall: pure arithmetic on ms since the epoch. */
export interface TimerSchedule {
  /** The first tick strictly after `afterMs`, or undefined when there is none (a cron that ended). */
  nextAfter(afterMs: number): number | undefined
  /** The last tick at or before `atMs`, or undefined when there is none since the anchor. */
  latestAtOrBefore(atMs: number): number | undefined
  /** The zone the event's `time` is written in (`CRON_TZ`), else UTC. */
  readonly timeZone: string | undefined
}

function rateMs(schedule: string): number {
  const m = /^([1-9]\d*)([mhd])$/.exec(schedule)
  const unit = m === null ? undefined : RATE_UNITS[m[2] ?? '']
  if (m === null || unit === undefined) {
    fail(`Rate schedule '${schedule}' must be <n>m (1-60), <n>h (1-24) or <n>d (1-30).`)
  }
  const n = Number(m[1])
  if (n > unit.max) {
    fail(`Rate schedule '${schedule}': at most ${unit.max}${m[2] ?? ''}.`)
  }
  return n * unit.ms
}

function everyMs(duration: string): number {
  if (!GO_DURATION.test(duration)) {
    fail(`'@every ${duration}' needs a duration such as 30s, 5m or 1h30m.`)
  }
  let ms = 0
  for (const [, n, unit] of duration.matchAll(GO_DURATION_PART)) {
    ms += Number(n) * (GO_DURATION_UNITS[unit ?? ''] ?? 0)
  }
  // As robfig/cron (FunctionGraph's Go scheduler): whole seconds, at least one.
  const whole = Math.floor(ms / 1000) * 1000
  if (whole < 1000) {
    fail(`'@every ${duration}' is shorter than one second.`)
  }
  return whole
}

/** Ticks every `periodMs` from `anchorMs` (excluded): Rate and `@every`. */
function intervalSchedule(periodMs: number, anchorMs: number): TimerSchedule {
  return {
    timeZone: undefined,
    nextAfter: (afterMs) =>
      afterMs < anchorMs
        ? anchorMs + periodMs
        : anchorMs + (Math.floor((afterMs - anchorMs) / periodMs) + 1) * periodMs,
    latestAtOrBefore: (atMs) => {
      const n = Math.floor((atMs - anchorMs) / periodMs)
      return n < 1 ? undefined : anchorMs + n * periodMs
    },
  }
}

interface CronParts {
  readonly pattern: string
  readonly timeZone: string | undefined
}

/** Splits `CRON_TZ=<zone> <fields>` and fills in an omitted day of week (FunctionGraph's five fields). */
function cronParts(schedule: string): CronParts {
  let rest = schedule.trim()
  let timeZone: string | undefined
  const tz = /^(?:CRON_)?TZ=(\S+)\s+(.*)$/.exec(rest)
  if (tz !== null) {
    timeZone = tz[1]
    rest = tz[2] ?? ''
    try {
      new Intl.DateTimeFormat('en', { timeZone })
    } catch {
      fail(`Cron schedule '${schedule}': unknown time zone '${timeZone ?? ''}'.`)
    }
  }
  const fields = rest.split(/\s+/)
  if (fields.length === 5) {
    // Seconds first, day of week optional (reference §4.4).
    fields.push('?')
  }
  if (fields.length !== 6) {
    fail(
      `Cron schedule '${schedule}' must have six fields, seconds first ('0 30 12 ? * MON-FRI'), or be '@every <duration>'.`,
    )
  }
  return { pattern: fields.join(' '), timeZone }
}

function cronSchedule(parts: CronParts): TimerSchedule {
  // Paused: croner only computes dates here, the source keeps the timers.
  const cron = new Cron(parts.pattern, {
    paused: true,
    mode: '6-part',
    ...(parts.timeZone === undefined ? { timezone: 'Etc/UTC' } : { timezone: parts.timeZone }),
  })
  return {
    timeZone: parts.timeZone,
    nextAfter: (afterMs) => cron.nextRun(new Date(afterMs))?.getTime(),
    latestAtOrBefore: (atMs) => {
      // previousRuns looks strictly before its reference: one ms later includes atMs itself.
      const [latest] = cron.previousRuns(1, new Date(atMs + 1))
      return latest?.getTime()
    },
  }
}

/** Checks a Cron schedule by building it (croner's own errors say what is wrong). */
function checkCron(schedule: string): void {
  const every = /^@every\s+(\S+)$/.exec(schedule.trim())
  if (every !== null) {
    everyMs(every[1] ?? '')
    return
  }
  const parts = cronParts(schedule)
  let schedules: TimerSchedule
  try {
    schedules = cronSchedule(parts)
  } catch (err) {
    fail(`Cron schedule '${schedule}': ${err instanceof Error ? err.message : String(err)}`)
  }
  if (schedules.nextAfter(Date.now()) === undefined) {
    fail(`Cron schedule '${schedule}' never fires.`)
  }
}

/**
 * The schedule of a TIMER trigger whose settings took effect at `anchorMs` (created, enabled or
 * changed): intervals count from there; a cron is wall-clock time and ignores it.
 */
export function timerSchedule(data: TimerEventData, anchorMs: number): TimerSchedule {
  if (data.schedule_type === 'Rate') {
    return intervalSchedule(rateMs(data.schedule), anchorMs)
  }
  const every = /^@every\s+(\S+)$/.exec(data.schedule.trim())
  if (every !== null) {
    return intervalSchedule(everyMs(every[1] ?? ''), anchorMs)
  }
  return cronSchedule(cronParts(data.schedule))
}

/** Checks a create (or update) request's TIMER `event_data` and normalises it. */
export function parseTimerEventData(raw: unknown): TimerEventData {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail('event_data must be an object with name, schedule_type and schedule.')
  }
  const data = raw as Record<string, unknown>
  const name = data.name
  if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(name)) {
    fail(
      'event_data.name must be 1-64 letters, digits, _ or -, starting with a letter (e.g. Timer-l8v2).',
    )
  }
  const type = data.schedule_type
  if (type !== 'Rate' && type !== 'Cron') {
    fail("event_data.schedule_type must be 'Rate' or 'Cron'.")
  }
  const schedule = data.schedule
  if (typeof schedule !== 'string' || schedule.trim() === '' || schedule.length > 256) {
    fail('event_data.schedule must be a non-empty string (at most 256 characters).')
  }
  if (type === 'Rate') {
    rateMs(schedule)
  } else {
    checkCron(schedule)
  }
  const userEvent = data.user_event
  if (
    userEvent !== undefined &&
    userEvent !== null &&
    (typeof userEvent !== 'string' || userEvent.length > USER_EVENT_MAX_CHARS)
  ) {
    fail(`event_data.user_event must be a string of at most ${USER_EVENT_MAX_CHARS} characters.`)
  }
  return {
    name,
    schedule_type: type,
    schedule: schedule.trim(),
    ...(typeof userEvent === 'string' ? { user_event: userEvent } : {}),
  }
}

/** `2023-06-01T08:30:00+08:00`: the tick in the schedule's zone (UTC: `+00:00`), as §6.2 shows. */
export function tickTime(ms: number, timeZone: string | undefined): string {
  const zone = timeZone ?? 'UTC'
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'longOffset',
  }).formatToParts(new Date(ms))
  const part = (type: Intl.DateTimeFormatPartTypes): string =>
    parts.find((p) => p.type === type)?.value ?? ''
  // 'GMT+08:00', or 'GMT' for an offset of zero.
  const offset = part('timeZoneName').replace('GMT', '') || '+00:00'
  return `${part('year')}-${part('month')}-${part('day')}T${part('hour')}:${part('minute')}:${part('second')}${offset}`
}
