/**
 * @module Snapshot start (`POST|GET …/snapshots/{action}`), FunctionGraph's start-time
 * optimisation for Java. A memory image is what FunctionGraph restores; here neither works: CRIU
 * cannot start in this kernel (`criu check`: "vdso: Unexpected rt vDSO area bounds") and a running
 * JVM cannot be forked. So Strato's snapshot is the state such an image holds, kept live: one
 * instance of the function's `latest` with the JVM started, the classes loaded and the initializer
 * run, kept by the reservation keeper (replaced when the code or config changes, restarted if it
 * dies, re-established at every start). The call that would have cold-started gets it instead.
 * docs/decisions/0024-sdk-rest-templates-apps-transfer-snapshots.md has the measurements.
 */
import type { FastifyInstance } from 'fastify'
import {
  StratoError,
  runtimeFamilyOf,
  type FunctionRecord,
  type ReservedInstanceConfig,
  type SnapshotTarget,
} from '../../core/index.js'
import type { ApiDeps, ReservationsPort } from '../deps.js'
import { resolveLatest, type FunctionPathParams } from '../resolve-function.js'

interface SnapshotParams extends FunctionPathParams {
  action: string
}

/** The reservation that keeps a snapshot's initialised instance: one, on `latest`. */
function snapshotReservation(target: SnapshotTarget): ReservedInstanceConfig {
  return {
    projectId: target.projectId,
    functionId: target.functionId,
    qualifierType: 'version',
    qualifier: 'latest',
    count: 1,
    idleMode: false,
    cronPolicies: [],
    metricPolicies: [],
    updatedAt: new Date(),
  }
}

function keeperOf(deps: ApiDeps): ReservationsPort {
  if (deps.reservations === undefined) {
    throw new StratoError(
      'INVALID_PARAMETER',
      'Snapshot start needs the reservation keeper, which this Strato runs without.',
    )
  }
  return deps.reservations
}

function checkJava(fn: FunctionRecord): void {
  if (runtimeFamilyOf(fn.runtime) !== 'java') {
    throw new StratoError(
      'INVALID_PARAMETER',
      `Snapshot start is for Java functions (FunctionGraph's too); '${fn.name}' runs ${fn.runtime}.`,
    )
  }
}

export function registerSnapshotRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { store } = deps

  /** A user's own reservation of `latest` keeps instances already: the snapshot leaves it be. */
  const ownReservation = async (functionId: string): Promise<boolean> =>
    (await store.reservedInstances.get(functionId, 'latest')) !== undefined

  // Snapshots come back after a restart: the keeper has loaded the stored reservations by then.
  app.addHook('onReady', async () => {
    if (deps.reservations === undefined) {
      return
    }
    for (const target of await store.snapshots.listEnabled()) {
      if (!(await ownReservation(target.functionId))) {
        await deps.reservations.set(snapshotReservation(target))
      }
    }
  })

  app.post<{ Params: SnapshotParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/snapshots/:action',
    async (request, reply) => {
      const { action } = request.params
      if (action !== 'enable' && action !== 'disable') {
        throw new StratoError(
          'INVALID_PARAMETER',
          `The snapshot action must be 'enable' or 'disable', not '${action}'.`,
        )
      }
      const fn = await resolveLatest(deps.resolution, request.params)
      checkJava(fn)
      const keeper = keeperOf(deps)
      const target = { projectId: fn.projectId, functionId: fn.id }
      await store.snapshots.set(target, action === 'enable')
      if (!(await ownReservation(fn.id))) {
        if (action === 'enable') {
          await keeper.set(snapshotReservation(target))
        } else {
          keeper.remove(fn.id, 'latest')
        }
      }
      return reply.code(204).send()
    },
  )

  app.get<{ Params: SnapshotParams }>(
    '/v2/:project_id/fgs/functions/:function_urn/snapshots/:action',
    async (request) => {
      const { action } = request.params
      if (action !== 'state' && action !== 'enableSnapshot') {
        throw new StratoError(
          'INVALID_PARAMETER',
          `The snapshot query must be 'state' or 'enableSnapshot', not '${action}'.`,
        )
      }
      const fn = await resolveLatest(deps.resolution, request.params)
      const enabled = await store.snapshots.isEnabled(fn.id)
      if (action === 'enableSnapshot') {
        // Whether snapshot start is on for the function.
        return { state: String(enabled), code: '' }
      }
      if (!enabled) {
        return { state: 'disabled', code: '' }
      }
      const status = deps.reservations?.status(fn.id, 'latest')
      if (status === undefined) {
        return { state: 'creating', code: '' }
      }
      if (status.ready >= 1) {
        return { state: 'ready', code: '' }
      }
      return status.failures > 0
        ? { state: 'failed', code: status.lastError ?? 'the initialised instance did not start' }
        : { state: 'creating', code: '' }
    },
  )
}
