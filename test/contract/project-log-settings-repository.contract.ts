/**
 * The ProjectLogSettingsRepository contract: a project's async status log switch is off until set,
 * answers at once after it is set, is the project's alone, and survives a restart.
 */
import { describe, expect, test } from 'vitest'
import { backendPerTest, type OpenBackend } from './store-harness.js'

export function describeProjectLogSettingsContract(name: string, openBackend: OpenBackend): void {
  describe(`ProjectLogSettingsRepository contract: ${name}`, () => {
    const open = backendPerTest(openBackend)

    test('the async status log switch is per project, off by default, durable, and turns off again', async () => {
      const backend = await open()
      const { logSettings } = backend.repos
      expect(logSettings.asyncStatusLogEnabled('p1')).toBe(false)
      await logSettings.setAsyncStatusLog('p1', true)
      await logSettings.setAsyncStatusLog('p1', true)
      expect(logSettings.asyncStatusLogEnabled('p1')).toBe(true)
      expect(logSettings.asyncStatusLogEnabled('p2')).toBe(false)
      const reopened = await backend.reopen()
      expect(reopened.logSettings.asyncStatusLogEnabled('p1')).toBe(true)
      await reopened.logSettings.setAsyncStatusLog('p1', false)
      expect(reopened.logSettings.asyncStatusLogEnabled('p1')).toBe(false)
      const again = await backend.reopen()
      expect(again.logSettings.asyncStatusLogEnabled('p1')).toBe(false)
    })
  })
}
