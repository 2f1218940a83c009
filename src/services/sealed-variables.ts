/**
 * @module Sealing `encrypted_user_data` before the store sees it: the plaintext is never stored.
 */
import {
  MASKED_VALUE,
  mergeEncryptedUserData,
  type FunctionConfig,
  type FunctionRecord,
} from '../core/index.js'
import type { SecretBox } from '../store/index.js'

/**
 * Seals `encrypted_user_data` from the body into the config. Left out, the stored value stays; a
 * masked value keeps the stored secret of that name; unchanged plaintext keeps the sealed value as
 * it is (so publishing still sees "nothing changed").
 */
export function withSealedVariables(
  secrets: Pick<SecretBox, 'open' | 'seal'>,
  body: Readonly<Record<string, unknown>>,
  cfg: FunctionConfig,
  previous: FunctionRecord | undefined,
): FunctionConfig {
  if (!('encrypted_user_data' in body)) {
    if ('user_data' in body && cfg.encryptedUserData !== '') {
      // Plain variables changed alone: they must still not clash with the sealed ones.
      const sealedPlain = JSON.parse(secrets.open(cfg.encryptedUserData)) as Record<string, string>
      mergeEncryptedUserData(
        JSON.stringify(Object.fromEntries(Object.keys(sealedPlain).map((k) => [k, MASKED_VALUE]))),
        sealedPlain,
        cfg.userData,
      )
    }
    return cfg
  }
  const previousPlain =
    previous === undefined || previous.encryptedUserData === ''
      ? ''
      : secrets.open(previous.encryptedUserData)
  const plaintext = mergeEncryptedUserData(
    body.encrypted_user_data,
    previousPlain === '' ? {} : (JSON.parse(previousPlain) as Record<string, string>),
    cfg.userData,
  )
  if (plaintext === previousPlain) {
    return { ...cfg, encryptedUserData: previous?.encryptedUserData ?? '' }
  }
  return { ...cfg, encryptedUserData: plaintext === '' ? '' : secrets.seal(plaintext) }
}
