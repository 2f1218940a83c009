/**
 * @module The function application port: a named group of functions created together from an app
 * template and deleted together (FunctionGraph's `/fgs/applications`).
 */

/** One function an application created, with the triggers it created on it. */
export interface FunctionAppMember {
  readonly functionId: string
  readonly packageName: string
  readonly name: string
  readonly triggerIds: readonly string[]
}

/** `creating` while its functions are being made; `success` once all are. */
export type FunctionAppStatus = 'creating' | 'success'

export interface FunctionApp {
  readonly id: string
  readonly projectId: string
  readonly name: string
  readonly templateId: string
  readonly description: string
  readonly params: Readonly<Record<string, string>>
  readonly status: FunctionAppStatus
  readonly members: readonly FunctionAppMember[]
  /** ms since the epoch. */
  readonly createdAt: number
  readonly updatedAt: number
}

export interface FunctionAppRepository {
  /** Stores a new application; APP_EXISTS when the project has one of that name. */
  create(app: FunctionApp): Promise<void>
  /** Replaces the members and status of a stored application. */
  update(app: FunctionApp): Promise<void>
  get(projectId: string, id: string): Promise<FunctionApp | undefined>
  /** The project's applications, oldest first, from `marker` (an offset). */
  list(
    projectId: string,
    page: { readonly marker: number; readonly limit: number },
  ): Promise<{ apps: FunctionApp[]; count: number }>
  delete(projectId: string, id: string): Promise<void>
  /** How many of the project's applications were made from the template. */
  countByTemplate(projectId: string, templateId: string): Promise<number>
}
