/**
 * @module When a Wait state's wait ends: Seconds from the state's entered time (so a replay waits
 * for the same moment), or a Timestamp; the path and JSONata forms with AWS's error wording.
 */
import { AslError } from './asl-error.js'
import { parseTimestamp } from './choice-rules.js'
import type { JsonValue } from './definition.js'
import { readPath } from './json-path.js'
import type { Visit } from './run-scope.js'
import { jsonataField } from './state-data.js'

/** AWS refuses a wait longer than a signed 32-bit count of seconds. */
const MAX_DELAY_MS = (2 ** 31 - 1) * 1000

/** Epoch ms at which the Wait state `visit` ends; `input` is after InputPath. */
export async function waitUntilMs(visit: Visit, raw: JsonValue, input: JsonValue): Promise<number> {
  const until = await untilOf(visit, raw, input)
  if (until - visit.enteredAt > MAX_DELAY_MS) {
    throw new AslError('States.Runtime', 'Wait state delay is too long.')
  }
  return until
}

async function untilOf(visit: Visit, raw: JsonValue, input: JsonValue): Promise<number> {
  const { state } = visit
  const jsonata = visit.language === 'JSONata'
  if (state['Seconds'] !== undefined) {
    let seconds = state['Seconds'] as JsonValue
    if (jsonata) {
      seconds = await jsonataField(visit, seconds, 'Seconds', visit.states(raw))
    }
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0) {
      throw new AslError(
        jsonata ? 'States.QueryEvaluationError' : 'States.Runtime',
        `The Seconds field must be a non-negative integer, but was: ${JSON.stringify(seconds)}`,
      )
    }
    return visit.enteredAt + seconds * 1000
  }
  if (typeof state['SecondsPath'] === 'string') {
    const path = state['SecondsPath']
    const seconds = readPath(input, path, visit.pathScope())
    if (typeof seconds !== 'number' || !Number.isInteger(seconds)) {
      throw new AslError(
        'States.Runtime',
        `The SecondsPath parameter cannot be parsed as a long value: ${path} == ${display(seconds)}`,
      )
    }
    if (seconds < 0) {
      throw new AslError(
        'States.Runtime',
        `The SecondsPath parameter references a negative value: ${path} == ${display(seconds)}`,
      )
    }
    return visit.enteredAt + seconds * 1000
  }
  if (state['Timestamp'] !== undefined) {
    let timestamp = state['Timestamp'] as JsonValue
    if (jsonata) {
      timestamp = await jsonataField(visit, timestamp, 'Timestamp', visit.states(raw))
    }
    const until = typeof timestamp === 'string' ? parseTimestamp(timestamp) : undefined
    if (until === undefined) {
      throw new AslError(
        jsonata ? 'States.QueryEvaluationError' : 'States.Runtime',
        `The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: ${display(timestamp)}`,
      )
    }
    return until
  }
  const path = String(state['TimestampPath'])
  const timestamp = readPath(input, path, visit.pathScope())
  const until = typeof timestamp === 'string' ? parseTimestamp(timestamp) : undefined
  if (until === undefined) {
    throw new AslError(
      'States.Runtime',
      `The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: ${path} == ${display(timestamp)}`,
    )
  }
  return until
}

function display(value: JsonValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}
