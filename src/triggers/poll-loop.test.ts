import { setTimeout as sleep } from 'node:timers/promises'
import { expect, test } from 'vitest'
import { PollLoop } from './poll-loop.js'

test('PollLoop: passes never overlap, stop waits for the pass in progress, none starts after it', async () => {
  let running = 0
  let overlapped = false
  let passes = 0
  let ended = 0
  const loop = new PollLoop(5, async () => {
    running++
    overlapped ||= running > 1
    passes++
    await sleep(20)
    running--
    ended++
  })
  expect(loop.stopped).toBe(true)
  loop.start()
  expect(loop.stopped).toBe(false)
  await sleep(80)
  await loop.stop()
  expect(loop.stopped).toBe(true)
  expect(passes).toBeGreaterThan(1)
  expect(overlapped).toBe(false)
  // The pass in progress ended before stop resolved, and no other began afterwards.
  expect(ended).toBe(passes)
  await sleep(40)
  expect(passes).toBe(ended)
})
