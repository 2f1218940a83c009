/**
 * A Strato cluster on this machine for integration tests: N real `dist/main.js` processes, each with
 * its own ports, data dir and node id, on one fresh PostgreSQL database and one fresh NATS prefix
 * (the machine's services), sharing one master key file. `close` stops every node and removes the
 * database, the NATS streams and buckets of the prefix, the data dirs and the nodes' cgroups.
 */
import fs from 'node:fs'
import path from 'node:path'
import { connect } from 'nats'
import { NATS_TEST_URL, freshPgDatabase, uniqueName } from './cluster-services.js'
import { removeSandboxCgroups, spawnStrato, tmpDir, type StratoProcess } from './strato.js'

export interface ClusterUnderTest {
  /** Node i (0-based); replaced by `restart(i)`. */
  readonly nodes: StratoProcess[]
  readonly nodeIds: readonly string[]
  readonly storeUrl: string
  readonly natsPrefix: string
  /** Starts node i again on its data dir (after a kill). */
  restart(i: number): Promise<StratoProcess>
  close(): Promise<void>
}

/** Starts `count` nodes at once (they race through migrations and the root tenant's creation). */
export async function startCluster(
  count: number,
  env: Record<string, string> = {},
): Promise<ClusterUnderTest> {
  const database = await freshPgDatabase()
  const natsPrefix = uniqueName('it').replace(/_/g, '-')
  const root = tmpDir('strato-cluster-')
  const masterKeyFile = path.join(root, 'master.key')
  const nodeIds = Array.from({ length: count }, (_, i) => `node-${i + 1}`)
  const dataDirs = nodeIds.map((id) => path.join(root, id))
  const envOf = (i: number): Record<string, string> => ({
    STRATO_STORE_URL: database.url,
    STRATO_NATS_URL: NATS_TEST_URL,
    STRATO_NATS_PREFIX: natsPrefix,
    STRATO_NODE_ID: nodeIds[i] as string,
    STRATO_MASTER_KEY_FILE: masterKeyFile,
    STRATO_LOG_LEVEL: 'warn',
    // Three nodes on two cores: the pool the suite's timings were set against (test/helpers/strato.ts).
    STRATO_STEM_CELLS: '1',
    ...env,
  })
  const nodes: StratoProcess[] = []
  const cleanUp = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')))
    for (const dir of dataDirs) {
      await removeSandboxCgroups(dir)
    }
    fs.rmSync(root, { recursive: true, force: true })
    await database.drop()
    await removeNatsPrefix(natsPrefix)
  }
  try {
    const started = await Promise.all(
      dataDirs.map((dir, i) => {
        fs.mkdirSync(dir, { recursive: true })
        return spawnStrato(dir, envOf(i))
      }),
    )
    nodes.push(...started)
  } catch (err) {
    await cleanUp()
    throw err
  }
  return {
    nodes,
    nodeIds,
    storeUrl: database.url,
    natsPrefix,
    async restart(i) {
      await nodes[i]?.stop('SIGKILL')
      const node = await spawnStrato(dataDirs[i] as string, envOf(i))
      nodes[i] = node
      return node
    },
    close: cleanUp,
  }
}

/** Deletes every JetStream stream (KV and object buckets included) whose name holds `prefix`. */
async function removeNatsPrefix(prefix: string): Promise<void> {
  const nc = await connect({ servers: NATS_TEST_URL })
  try {
    const jsm = await nc.jetstreamManager()
    for await (const info of jsm.streams.list()) {
      if (info.config.name.includes(prefix)) {
        await jsm.streams.delete(info.config.name)
      }
    }
  } finally {
    await nc.close()
  }
}
