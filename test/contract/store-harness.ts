/**
 * What every store contract suite runs against: a backend's repositories (core's ports), opened on
 * fresh storage, reopenable on the same storage (a restart), and closed. A backend's test file
 * passes an opener to each `describe…Contract`; `sqlite-backend.ts` is the embedded store's.
 */
import { afterEach } from 'vitest'
import {
  parseFunctionConfig,
  type AliasRepository,
  type AsyncConfigRepository,
  type AsyncQueue,
  type AsyncRecordRepository,
  type AuditTrailRepository,
  type FlowRepository,
  type CodeRepository,
  type DependencyRepository,
  type FunctionRecord,
  type FunctionRepository,
  type InvocationLogRepository,
  type Limits,
  type ProjectLogSettingsRepository,
  type ReservedInstanceRepository,
  type StoredCode,
  type TagRepository,
  type TenantRepository,
  type TestEventRepository,
  type TracingRepository,
  type TriggerRepository,
  type VersionRepository,
} from '../../src/core/index.js'

/** The repositories of one backend, as `Store` holds them. */
export interface Repositories {
  readonly functions: FunctionRepository
  readonly versions: VersionRepository & AliasRepository
  readonly triggers: TriggerRepository
  readonly tenants: TenantRepository
  readonly asyncQueue: AsyncQueue
  readonly asyncRecords: AsyncRecordRepository
  readonly asyncConfigs: AsyncConfigRepository
  readonly logs: InvocationLogRepository
  readonly audit: AuditTrailRepository
  readonly logSettings: ProjectLogSettingsRepository
  readonly code: CodeRepository
  readonly tags: TagRepository
  readonly testEvents: TestEventRepository
  readonly dependencies: DependencyRepository
  readonly reservedInstances: ReservedInstanceRepository
  readonly tracing: TracingRepository
  readonly flows: FlowRepository
}

export interface BackendUnderTest {
  readonly repos: Repositories
  /** Closes the backend and opens it again on the same storage. */
  reopen(): Promise<Repositories>
  close(): Promise<void>
  /**
   * The rows of `table` as stored (what is at rest, secrets sealed): backends that can read their
   * storage directly offer it, for tests of what a store keeps at rest.
   */
  storedRows?(table: string): Promise<unknown[]>
}

/** Opens a backend on fresh storage, with these quotas over the defaults. */
export type OpenBackend = (quotas?: Partial<Limits.Quotas>) => Promise<BackendUnderTest>

/** Call inside a `describe`: opens a backend per test (`open()` inside it) and closes it after. */
export function backendPerTest(openBackend: OpenBackend): OpenBackend {
  let current: BackendUnderTest | undefined
  afterEach(async () => {
    await current?.close()
    current = undefined
  })
  return async (quotas) => {
    current = await openBackend(quotas)
    return current
  }
}

/** Inline Node.js source stored through the code repository, as a create body's code becomes. */
export function storeCode(
  code: CodeRepository,
  source = 'exports.handler = () => 1\n',
): Promise<StoredCode> {
  return code.ingest(
    { codeType: 'inline', bytes: Buffer.from(source), codeFilename: undefined },
    'node',
    'index.handler',
  )
}

/** A function `name` in project `projectId`, created through the repositories. */
export async function createFunction(
  repos: Pick<Repositories, 'functions' | 'code'>,
  name: string,
  options: { projectId?: string; packageName?: string; source?: string; memorySize?: number } = {},
): Promise<FunctionRecord> {
  return repos.functions.create({
    projectId: options.projectId ?? 'p1',
    packageName: options.packageName ?? 'default',
    name,
    config: parseFunctionConfig({
      runtime: 'Node.js20.15',
      handler: 'index.handler',
      memory_size: options.memorySize ?? 128,
      timeout: 3,
    }),
    code: await storeCode(repos.code, options.source),
  })
}
