import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Integration tests spawn Strato servers and function instances; two cores do not leave room
    // for running many files at once without distorting timeout assertions.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      {
        test: {
          name: 'unit',
          // The store contract suites (test/contract) open stores in temp dirs: no server, fast.
          include: ['src/**/*.test.ts', 'test/contract/**/*.test.ts'],
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/contract/**'],
          pool: 'forks',
          // One file at a time: these tests time deadlines and start instances in bursts, and two
          // cores shared with a second test file make starts take seconds (seen as flaky timeouts).
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
})
