/**
 * The services cluster mode runs on, as tests reach them: the PostgreSQL and the NATS (JetStream)
 * this machine starts (never started by the tests). A test of a shared backend takes a fresh
 * PostgreSQL schema or database and a fresh NATS prefix, and removes them after.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'

export const PG_TEST_URL =
  process.env.STRATO_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const NATS_TEST_URL = process.env.STRATO_TEST_NATS_URL ?? 'nats://127.0.0.1:4222'

/** A name no other test run uses: lowercase letters, digits and '_'. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
}

/** A fresh schema in the test database; `drop` removes it with everything in it. */
export function freshPgSchema(): { schema: string; drop(): Promise<void> } {
  const schema = uniqueName('t')
  return {
    schema,
    async drop() {
      const client = new pg.Client({ connectionString: PG_TEST_URL })
      await client.connect()
      try {
        await client.query(`drop schema if exists ${schema} cascade`)
      } finally {
        await client.end()
      }
    },
  }
}

/** A fresh database on the test server (for whole Strato nodes); `drop` removes it. */
export async function freshPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = uniqueName('strato')
  const admin = new pg.Client({ connectionString: PG_TEST_URL })
  await admin.connect()
  try {
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(PG_TEST_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: PG_TEST_URL })
      await client.connect()
      try {
        await client.query(`drop database if exists ${name} with (force)`)
      } finally {
        await client.end()
      }
    },
  }
}
