/**
 * @module ASL runtime errors and how Retry/Catch `ErrorEquals` lists match them.
 *
 * An `AslError` is what a state raises while the interpreter runs it: the error name (`States.*`
 * or a user/function error) and an optional cause. The cause our data-flow functions give is the
 * part AWS writes after its "An error occurred while executing the state 'X' (entered at the
 * event id #N)." prefix; adding that prefix is the interpreter's choice.
 */

export class AslError extends Error {
  constructor(
    readonly error: string,
    override readonly cause?: string,
  ) {
    super(cause === undefined ? error : `${error}: ${cause}`)
    this.name = 'AslError'
  }
}

/**
 * Whether a retrier's or catcher's `ErrorEquals` covers `error`.
 * * `States.Runtime` is terminal: nothing matches it, not even an explicit `States.Runtime`
 *   (AWS-recorded: a Catch on `States.Runtime` still fails the execution).
 * * `States.ALL` matches everything else except `States.DataLimitExceeded` (which only an
 *   explicit name matches).
 * * `States.TaskFailed` matches every error but `States.Timeout` and the terminal ones.
 */
export function errorMatches(errorEquals: readonly string[], error: string): boolean {
  if (error === 'States.Runtime') {
    return false
  }
  return errorEquals.some((name) => {
    if (name === error) {
      return true
    }
    if (name === 'States.ALL') {
      return error !== 'States.DataLimitExceeded'
    }
    if (name === 'States.TaskFailed') {
      return error !== 'States.Timeout' && error !== 'States.DataLimitExceeded'
    }
    return false
  })
}
