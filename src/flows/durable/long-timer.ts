/**
 * Node fires a setTimeout whose delay exceeds 2^31-1 ms (~24.8 days) after 1 ms, so every timer
 * whose length a user controls (Wait states, task and execution timeouts, retry intervals) goes
 * through here: it re-arms in capped steps until the deadline is really reached.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** Calls `fire` once `ms` have passed (any length); the returned function cancels it. */
export function setLongTimeout(fire: () => void, ms: number): () => void {
  const deadline = Date.now() + Math.max(0, ms)
  let timer: ReturnType<typeof setTimeout> | undefined
  const arm = (): void => {
    const remaining = deadline - Date.now()
    if (remaining <= 0) {
      timer = undefined
      fire()
      return
    }
    timer = setTimeout(arm, Math.min(remaining, MAX_TIMER_MS))
  }
  timer = setTimeout(arm, Math.min(Math.max(0, ms), MAX_TIMER_MS))
  return () => clearTimeout(timer)
}
