/**
 * @module What a template is: a function template (code, runtime, handler and the triggers it is
 * meant for) and an app template (functions created together from function templates).
 */
import type { RuntimeName, TriggerTypeCode } from '../core/index.js'

/** A file of a template: text, or bytes (a compiled class) in base64. */
export type TemplateFile = string | { readonly base64: string }

/** A trigger a template's function is meant to be used with (`trigger_metadata_list`). */
export interface TemplateTrigger {
  readonly triggerName: string
  readonly triggerType: TriggerTypeCode
  readonly eventType: string
  /** The trigger's `event_data` as a create call sends it. */
  readonly eventData: Readonly<Record<string, unknown>>
}

export interface FunctionTemplate {
  /** A stable id: the same in every Strato, so scripts may name it. */
  readonly id: string
  /** The short name `strato init` takes (`template_name`). */
  readonly name: string
  readonly title: string
  readonly description: string
  readonly runtime: RuntimeName
  readonly handler: string
  readonly timeout: number
  readonly memorySize: number
  /** What it is for: `hello-world`, `http`, `timer`, `apig`, `rabbitmq`. */
  readonly scene: string
  /** The service it works with (FunctionGraph's filter): `FunctionGraph`, `Timer`, `APIG`… */
  readonly service: string
  readonly files: Readonly<Record<string, TemplateFile>>
  /** Files written executable (an HTTP or custom function's `bootstrap`). */
  readonly executables?: readonly string[]
  readonly triggers: readonly TemplateTrigger[]
  /** An example event and what the function answers to it (`temp_detail`). */
  readonly example: { readonly input: string; readonly output: string }
  /**
   * Why a function cannot be created from it as it is (its code must be built first), or
   * undefined when it can.
   */
  readonly buildFirst?: string
}

/** One function an app template creates: a function template, its name with `${param}`s. */
export interface AppTemplateFunction {
  readonly functionTemplate: string
  /** The function's name, `${param}` filled from the app's `params`. */
  readonly name: string
  readonly description: string
  /** Triggers created on it, `${param}` filled in string fields of their `event_data`. */
  readonly triggers: readonly TemplateTrigger[]
}

export interface AppTemplateParam {
  readonly name: string
  readonly description: string
  /** Used when the app's `params` leave it out; a param without one is required. */
  readonly default?: string
  /** What a value must look like (function-name safe). */
  readonly pattern: string
}

export interface AppTemplate {
  readonly id: string
  readonly name: string
  readonly description: string
  readonly runtime: string
  readonly category: string
  readonly params: readonly AppTemplateParam[]
  readonly functions: readonly AppTemplateFunction[]
  /** How to use the app once created (`template_guide`). */
  readonly guide: string
}
