/**
 * @module The runtime family registry: every family the launcher can boot, one line each. A
 * family is a file in this folder plus its guest under `runtimes/`; its row in core's
 * `RUNTIME_FAMILIES` names the FunctionGraph runtimes it serves.
 */
import type { RuntimeFamily } from '../../core/index.js'
import { GO_FAMILY } from './go.js'
import { CUSTOM_FAMILY } from './custom.js'
import { HTTP_FAMILY } from './http.js'
import { JAVA_FAMILY } from './java.js'
import { IMAGE_FAMILY } from './image.js'
import { NODE_FAMILY } from './node.js'
import { PHP_FAMILY } from './php.js'
import { PYTHON_FAMILY } from './python.js'
import type { GuestInterpreter, RuntimeFamilySpec } from './runtime-family-spec.js'

export type {
  GuestInterpreter,
  GuestTransportKind,
  RuntimeFamilySpec,
} from './runtime-family-spec.js'

/** Every family core names has exactly one entry here (the compiler checks it). */
const FAMILIES: Readonly<Record<RuntimeFamily, RuntimeFamilySpec>> = {
  node: NODE_FAMILY,
  python: PYTHON_FAMILY,
  http: HTTP_FAMILY,
  php: PHP_FAMILY,
  java: JAVA_FAMILY,
  image: IMAGE_FAMILY,
  go: GO_FAMILY,
  custom: CUSTOM_FAMILY,
}

/** Every registered family, in registration order. */
export const RUNTIME_FAMILY_SPECS: readonly RuntimeFamilySpec[] = Object.values(FAMILIES)

/** The interpreters the families run on, each once, in registration order. */
export const GUEST_INTERPRETERS: readonly GuestInterpreter[] = [
  ...new Set(RUNTIME_FAMILY_SPECS.map((f) => f.interpreter)),
]

export function familySpecOf(family: RuntimeFamily): RuntimeFamilySpec {
  return FAMILIES[family]
}
