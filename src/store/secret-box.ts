/**
 * @module Encryption at rest (AES-256-GCM) under a master key kept in the data dir.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { StratoError } from '../core/index.js'

const KEY_BYTES = 32
const IV_BYTES = 12
const VERSION = 'v1'

/** Seals and opens small secrets. Output: `v1:<iv>:<tag>:<ciphertext>`, each part base64. */
export class SecretBox {
  readonly #key: Buffer

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) {
      throw new StratoError('INTERNAL', `The master key must be ${KEY_BYTES} bytes.`)
    }
    this.#key = key
  }

  /**
   * Loads `<dataDir>/master.key`, creating it (mode 0600) on first start. Losing this file makes
   * every stored secret unreadable, so it is never rewritten once it exists.
   */
  static openInDataDir(dataDir: string): SecretBox {
    return SecretBox.openFile(path.join(dataDir, 'master.key'))
  }

  /**
   * The key in `file`, made (mode 0600, never overwritten) when missing. A cluster's nodes point
   * at one file or hold copies of it; two nodes racing to make it keep the first one written.
   */
  static openFile(file: string): SecretBox {
    try {
      return new SecretBox(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64'))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new StratoError('INTERNAL', `Cannot read the master key ${file}.`, { cause: err })
      }
    }
    const key = randomBytes(KEY_BYTES)
    // Written whole under another name, then linked: a node racing us reads either nothing or
    // the whole key, and the link of the loser fails, so it reads the winner's.
    const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`
    fs.writeFileSync(draft, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' })
    try {
      fs.linkSync(draft, file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw err
      }
      return SecretBox.openFile(file)
    } finally {
      fs.rmSync(draft, { force: true })
    }
    return new SecretBox(key)
  }

  seal(plaintext: string): string {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv)
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    return [VERSION, iv, cipher.getAuthTag(), ct]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64')))
      .join(':')
  }

  open(sealed: string): string {
    const [version, iv, tag, ct] = sealed.split(':')
    if (version !== VERSION || iv === undefined || tag === undefined || ct === undefined) {
      throw new StratoError('INTERNAL', 'A stored secret has an unknown format.')
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64'))
      decipher.setAuthTag(Buffer.from(tag, 'base64'))
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64')), decipher.final()]).toString(
        'utf8',
      )
    } catch (err) {
      throw new StratoError(
        'INTERNAL',
        'A stored secret cannot be decrypted with this master key.',
        {
          cause: err,
        },
      )
    }
  }
}
