import { expect, test } from 'vitest'
import { StratoError, type TimerEventData } from '../core/index.js'
import { parseTimerEventData, tickTime, timerSchedule } from './timer-schedule.js'

function refusal(raw: unknown): { code: string; message: string } {
  try {
    parseTimerEventData(raw)
  } catch (err) {
    if (err instanceof StratoError) {
      return { code: err.code, message: err.message }
    }
    throw err
  }
  throw new Error('expected a refusal')
}

const rate = (schedule: string): unknown => ({ name: 'every', schedule_type: 'Rate', schedule })
const cron = (schedule: string): unknown => ({ name: 'cron', schedule_type: 'Cron', schedule })

test("Rate: <n>m 1-60, <n>h 1-24, <n>d 1-30; anything else is the timer's own FSS code", () => {
  for (const ok of ['1m', '60m', '1h', '24h', '1d', '30d']) {
    expect(parseTimerEventData(rate(ok))).toMatchObject({ schedule: ok })
  }
  for (const bad of ['0m', '61m', '25h', '31d', '5s', '3', 'm', '1.5h', ' 3 m', '03x']) {
    expect(refusal(rate(bad)).code).toBe('INVALID_TIMER_TRIGGER')
  }
  expect(refusal(rate('61m')).message).toContain('at most 60m')
})

test('Cron: six fields seconds first, ? allowed, day of week optional, CRON_TZ, @every; croner errors surface', () => {
  for (const ok of [
    '*/2 * * * * ?',
    '0 30 12 ? * MON-FRI',
    '0 0 1 * *',
    'CRON_TZ=Europe/Berlin 0 0 8 * * ?',
    '@every 30m',
    '@every 1h30m',
  ]) {
    expect(parseTimerEventData(cron(ok))).toMatchObject({ schedule: ok })
  }
  expect(refusal(cron('0 0 25 * * ?')).message).toContain('hour')
  expect(refusal(cron('* * * *')).message).toContain('six fields')
  expect(refusal(cron('CRON_TZ=Mars/Olympus 0 0 * * * ?')).message).toContain('time zone')
  expect(refusal(cron('@every 500ms')).message).toContain('one second')
  expect(refusal(cron('@every soon')).code).toBe('INVALID_TIMER_TRIGGER')
  expect(refusal(cron('0 0 0 30 2 ?')).message).toContain('never fires')
})

test('event_data: name, schedule_type and user_event are checked; user_event is kept', () => {
  expect(refusal(null).code).toBe('INVALID_TIMER_TRIGGER')
  expect(refusal({ schedule_type: 'Rate', schedule: '3m' }).message).toContain('name')
  expect(refusal({ name: 'x', schedule_type: 'Weekly', schedule: '3m' }).message).toContain(
    'schedule_type',
  )
  expect(refusal({ name: 'x', schedule_type: 'Rate', schedule: '3m', user_event: 5 }).code).toBe(
    'INVALID_TIMER_TRIGGER',
  )
  expect(
    parseTimerEventData({
      name: 'Timer-l8v2',
      schedule_type: 'Rate',
      schedule: '3m',
      user_event: 'hi',
    }),
  ).toEqual({ name: 'Timer-l8v2', schedule_type: 'Rate', schedule: '3m', user_event: 'hi' })
})

test('a cron ticks on the wall clock to the second; the latest tick at or before a time includes it', () => {
  const s = timerSchedule({ name: 'c', schedule_type: 'Cron', schedule: '*/2 * * * * ?' }, 0)
  const at = Date.parse('2026-01-01T00:00:01.500Z')
  expect(s.nextAfter(at)).toBe(Date.parse('2026-01-01T00:00:02Z'))
  expect(s.nextAfter(Date.parse('2026-01-01T00:00:02Z'))).toBe(Date.parse('2026-01-01T00:00:04Z'))
  expect(s.latestAtOrBefore(Date.parse('2026-01-01T00:00:02Z'))).toBe(
    Date.parse('2026-01-01T00:00:02Z'),
  )
  expect(s.latestAtOrBefore(Date.parse('2026-01-01T00:00:03.999Z'))).toBe(
    Date.parse('2026-01-01T00:00:02Z'),
  )
})

test('Rate and @every count from the anchor (when the trigger took effect), which never ticks', () => {
  const data: TimerEventData = { name: 'r', schedule_type: 'Rate', schedule: '3m' }
  const s = timerSchedule(data, 1_000)
  expect(s.nextAfter(0)).toBe(181_000)
  expect(s.nextAfter(181_000)).toBe(361_000)
  expect(s.latestAtOrBefore(180_999)).toBeUndefined()
  expect(s.latestAtOrBefore(400_000)).toBe(361_000)
  const every = timerSchedule({ name: 'e', schedule_type: 'Cron', schedule: '@every 90s' }, 0)
  expect(every.nextAfter(1)).toBe(90_000)
})

test("the event's time is the tick in the schedule's zone, UTC by default", () => {
  const tick = Date.parse('2023-06-01T00:30:00Z')
  expect(tickTime(tick, undefined)).toBe('2023-06-01T00:30:00+00:00')
  expect(tickTime(tick, 'Asia/Shanghai')).toBe('2023-06-01T08:30:00+08:00')
  const berlin = timerSchedule(
    { name: 'b', schedule_type: 'Cron', schedule: 'CRON_TZ=Europe/Berlin 0 0 8 * * ?' },
    0,
  )
  expect(berlin.timeZone).toBe('Europe/Berlin')
  // 08:00 in Berlin in summer is 06:00 UTC.
  expect(berlin.nextAfter(Date.parse('2023-06-01T00:00:00Z'))).toBe(
    Date.parse('2023-06-01T06:00:00Z'),
  )
})
