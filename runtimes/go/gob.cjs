'use strict'
// The part of Go's encoding/gob (https://pkg.go.dev/encoding/gob) that Strato's Go guest needs to
// be a net/rpc client: encode rpc.Request and the argument structs (with their type definitions),
// decode whatever the server sends back. Hand-written because no maintained npm gob library exists
// (the few on the registry are abandoned and incomplete), and the guest must stay dependency-free:
// the sandbox shows it nothing but its own folder.
//
// Wire format, in short: a stream of messages, each `uint length | int typeId | body`. A negative
// id defines type -id (the body is a `wireType`); a positive one is a value of that type. A struct
// is a sequence of `uint fieldDelta | value` ending with delta 0, zero-valued fields left out; any
// other top-level value is preceded by a 0. Unsigned integers under 128 are one byte; larger ones
// are the negated byte count followed by big-endian bytes. Signed integers fold the sign into
// bit 0. Strings and []byte are `uint length | bytes`; slices and arrays `uint count | elements`;
// maps `uint count | key elem ...`; floats are the float64 bits, byte-reversed, as a uint.
//
// The decoder is generic: it decodes any value into plain JS (structs become objects keyed by
// field name, whatever the Go type's name), so fields and types a server adds are skipped cleanly.

// ---- predefined type ids (encoding/gob/type.go) -------------------------------------------
const BOOL = 1
const INT = 2
const UINT = 3
const FLOAT = 4
const BYTES = 5
const STRING = 6
const COMPLEX = 7
const INTERFACE = 8
const FIRST_USER_ID = 64
// gob's own limit on one message (64-bit platforms).
const MAX_MESSAGE_BYTES = 1 << 30

// ---- type descriptions the encoder sends ---------------------------------------------------
/** A builtin type, by its predefined id. */
const builtin = (id) => ({ kind: 'builtin', id })
const types = {
  bool: builtin(BOOL),
  int: builtin(INT),
  uint: builtin(UINT),
  float: builtin(FLOAT),
  bytes: builtin(BYTES),
  string: builtin(STRING),
  /** @param {string} name @param {Array<[string, object]>} fields */
  struct: (name, fields) => ({ kind: 'struct', name, fields }),
  slice: (name, elem) => ({ kind: 'slice', name, elem }),
  map: (name, key, elem) => ({ kind: 'map', name, key, elem }),
}

// ---- writing -------------------------------------------------------------------------------
class Writer {
  constructor() {
    this.parts = []
  }
  bytes(buf) {
    this.parts.push(buf)
  }
  uint(n) {
    if (typeof n === 'bigint' ? n < 128n : n < 128) {
      this.parts.push(Buffer.from([Number(n)]))
      return
    }
    let v = BigInt(n)
    const be = []
    while (v > 0n) {
      be.unshift(Number(v & 0xffn))
      v >>= 8n
    }
    this.parts.push(Buffer.from([256 - be.length, ...be]))
  }
  int(n) {
    const v = BigInt(n)
    this.uint(v < 0n ? ((-v - 1n) << 1n) | 1n : v << 1n)
  }
  string(s) {
    const b = Buffer.from(s, 'utf8')
    this.uint(b.length)
    this.parts.push(b)
  }
  buffer() {
    return Buffer.concat(this.parts)
  }
}

function isZero(type, value) {
  if (value === undefined || value === null) return true
  if (type.kind === 'builtin') {
    switch (type.id) {
      case BOOL:
        return value === false
      case INT:
      case UINT:
      case FLOAT:
        return Number(value) === 0
      case BYTES:
      case STRING:
        return value.length === 0
    }
  }
  if (type.kind === 'slice') return value.length === 0
  if (type.kind === 'map') return Object.keys(value).length === 0
  return false // structs are always sent, as Go does
}

/**
 * Encodes values for one gob stream: each type's definition goes out once, before its first
 * value, with ids from 64 up as Go's own encoder assigns them.
 */
class GobEncoder {
  constructor() {
    this.ids = new Map() // type description -> id
    this.nextId = FIRST_USER_ID + 1
  }

  /** The messages (type definitions, then the value) that send `value` as `type`. */
  encode(type, value) {
    const out = []
    const id = this.#define(type, out)
    const w = new Writer()
    w.int(id)
    if (type.kind === 'struct') this.#value(w, type, value)
    else {
      w.uint(0) // a top-level non-struct value is a singleton field
      this.#value(w, type, value)
    }
    out.push(message(w.buffer()))
    return Buffer.concat(out)
  }

  #idOf(type) {
    return type.kind === 'builtin' ? type.id : this.ids.get(type)
  }

  #define(type, out) {
    if (type.kind === 'builtin') return type.id
    const known = this.ids.get(type)
    if (known !== undefined) return known
    const id = this.nextId++
    this.ids.set(type, id)
    // Components first: any order works (ids resolve when a value arrives), this one reads best.
    if (type.kind === 'struct') for (const [, t] of type.fields) this.#define(t, out)
    else if (type.kind === 'slice') this.#define(type.elem, out)
    else if (type.kind === 'map') {
      this.#define(type.key, out)
      this.#define(type.elem, out)
    }
    const w = new Writer()
    w.int(-id)
    // wireType{ArrayT, SliceT, StructT, MapT, ...}: the delta from field -1 picks the kind.
    const common = (cw) => {
      cw.uint(1) // CommonType
      if (type.name) {
        cw.uint(1)
        cw.string(type.name)
        cw.uint(1)
      } else cw.uint(2)
      cw.int(id) // Id
      cw.uint(0)
    }
    if (type.kind === 'struct') {
      w.uint(3) // StructT
      common(w)
      if (type.fields.length > 0) {
        w.uint(1) // Field []*fieldType
        w.uint(type.fields.length)
        for (const [name, t] of type.fields) {
          w.uint(1)
          w.string(name)
          w.uint(1)
          w.int(this.#idOf(t))
          w.uint(0)
        }
      }
      w.uint(0)
    } else if (type.kind === 'slice') {
      w.uint(2) // SliceT
      common(w)
      w.uint(1)
      w.int(this.#idOf(type.elem))
      w.uint(0)
    } else if (type.kind === 'map') {
      w.uint(4) // MapT
      common(w)
      w.uint(1)
      w.int(this.#idOf(type.key))
      w.uint(1)
      w.int(this.#idOf(type.elem))
      w.uint(0)
    } else throw new Error('gob: cannot define a ' + type.kind)
    w.uint(0) // end of wireType
    out.push(message(w.buffer()))
    return id
  }

  #value(w, type, value) {
    if (type.kind === 'builtin') {
      switch (type.id) {
        case BOOL:
          return w.uint(value ? 1 : 0)
        case INT:
          return w.int(value)
        case UINT:
          return w.uint(value)
        case FLOAT: {
          const b = Buffer.alloc(8)
          b.writeDoubleLE(value) // little-endian bytes = the big-endian bits reversed
          return w.uint(b.readBigUInt64BE())
        }
        case BYTES: {
          const b = Buffer.isBuffer(value) ? value : Buffer.from(value)
          w.uint(b.length)
          return w.bytes(b)
        }
        case STRING:
          return w.string(value)
      }
      throw new Error('gob: cannot encode builtin type ' + type.id)
    }
    if (type.kind === 'slice') {
      w.uint(value.length)
      for (const v of value) this.#value(w, type.elem, v)
      return
    }
    if (type.kind === 'map') {
      const entries = Object.entries(value)
      w.uint(entries.length)
      for (const [k, v] of entries) {
        this.#value(w, type.key, k)
        this.#value(w, type.elem, v)
      }
      return
    }
    // struct
    let last = -1
    type.fields.forEach(([name, t], i) => {
      const v = value[name]
      if (isZero(t, v)) return
      w.uint(i - last)
      last = i
      this.#value(w, t, v)
    })
    w.uint(0)
  }
}

function message(body) {
  const w = new Writer()
  w.uint(body.length)
  w.bytes(body)
  return w.buffer()
}

// ---- reading -------------------------------------------------------------------------------
class GobError extends Error {}

class Reader {
  constructor(buf) {
    this.buf = buf
    this.pos = 0
  }
  byte() {
    if (this.pos >= this.buf.length) throw new GobError('gob: message ends early')
    return this.buf[this.pos++]
  }
  /** As a Number (exact up to 2^53; larger counts are refused wherever they are lengths). */
  uint() {
    const b = this.byte()
    if (b < 128) return b
    const n = 256 - b
    if (n > 8) throw new GobError('gob: bad unsigned integer')
    let v = 0
    for (let i = 0; i < n; i++) v = v * 256 + this.byte()
    return v
  }
  /** As a BigInt: seq numbers and int64 values stay exact. */
  bigUint() {
    const b = this.byte()
    if (b < 128) return BigInt(b)
    const n = 256 - b
    if (n > 8) throw new GobError('gob: bad unsigned integer')
    let v = 0n
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(this.byte())
    return v
  }
  int() {
    const u = this.bigUint()
    const v = u & 1n ? -(u >> 1n) - 1n : u >> 1n
    return Number(v)
  }
  take(n) {
    if (n > this.buf.length - this.pos) throw new GobError('gob: length exceeds message')
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }
  float() {
    const b = Buffer.alloc(8)
    b.writeBigUInt64LE(this.bigUint())
    return b.readDoubleBE()
  }
}

/** gob's own types, so that a `wireType` is decoded like any other struct. */
function bootstrapTypes() {
  const struct = (...fields) => ({ kind: 'struct', fields })
  const GOB_ENCODER_TYPE = 24 // not on the wire: only this table refers to it
  return new Map([
    [16, struct(['ArrayT', 17], ['SliceT', 19], ['StructT', 20], ['MapT', 23],
      ['GobEncoderT', GOB_ENCODER_TYPE], ['BinaryMarshalerT', GOB_ENCODER_TYPE],
      ['TextMarshalerT', GOB_ENCODER_TYPE])],
    [17, struct(['CommonType', 18], ['Elem', INT], ['Len', INT])],
    [18, struct(['Name', STRING], ['Id', INT])],
    [19, struct(['CommonType', 18], ['Elem', INT])],
    [20, struct(['CommonType', 18], ['Field', 22])],
    [21, struct(['Name', STRING], ['Id', INT])],
    [22, { kind: 'slice', elem: 21 }],
    [23, struct(['CommonType', 18], ['Key', INT], ['Elem', INT])],
    [GOB_ENCODER_TYPE, struct(['CommonType', 18])],
  ]) // prettier-ignore
}

/** A wireType as decoded into the table's own form. */
function fromWire(w) {
  if (w.StructT) {
    return {
      kind: 'struct',
      name: w.StructT.CommonType?.Name ?? '',
      fields: (w.StructT.Field || []).map((f) => [f.Name ?? '', f.Id ?? 0]),
    }
  }
  if (w.SliceT) return { kind: 'slice', elem: w.SliceT.Elem }
  if (w.ArrayT) return { kind: 'array', elem: w.ArrayT.Elem, len: w.ArrayT.Len ?? 0 }
  if (w.MapT) return { kind: 'map', key: w.MapT.Key, elem: w.MapT.Elem }
  if (w.GobEncoderT || w.BinaryMarshalerT || w.TextMarshalerT) return { kind: 'opaque' }
  throw new GobError('gob: unknown wire type')
}

/**
 * Decodes one gob stream fed in chunks: type definitions are kept for the stream's life, values
 * come out in order as plain JS (struct: object by field name, absent fields absent; int/uint:
 * number, except uint64 fields named `Seq`-like callers read with `bigint`; []byte and opaque
 * marshalled values: Buffer; map: object for string keys, else Map).
 */
class GobDecoder {
  constructor() {
    this.types = bootstrapTypes()
    this.pending = Buffer.alloc(0)
  }

  /** Feeds bytes; returns the complete values they finish, as `{ typeId, value }`. */
  push(chunk) {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    const values = []
    for (;;) {
      const r = new Reader(this.pending)
      let length
      try {
        length = r.uint()
      } catch (err) {
        if (err instanceof GobError) break // the length prefix itself is incomplete
        throw err
      }
      if (length > MAX_MESSAGE_BYTES) throw new GobError('gob: message too large')
      if (this.pending.length - r.pos < length) break
      const body = new Reader(r.take(length))
      this.pending = this.pending.subarray(r.pos)
      const id = body.int()
      if (id < 0) {
        this.types.set(-id, fromWire(this.#struct(body, this.types.get(16))))
        continue
      }
      const type = this.#type(id)
      if (type === undefined || type.kind !== 'struct') {
        if (body.uint() !== 0) throw new GobError('gob: bad singleton value')
      }
      values.push({ typeId: id, value: this.#value(body, id) })
    }
    return values
  }

  #type(id) {
    return id <= INTERFACE ? undefined : this.types.get(id)
  }

  #value(r, id) {
    switch (id) {
      case BOOL:
        return r.uint() !== 0
      case INT:
        return r.int()
      case UINT:
        return r.uint()
      case FLOAT:
        return r.float()
      case BYTES:
        return Buffer.from(r.take(r.uint()))
      case STRING:
        return r.take(r.uint()).toString('utf8')
      case COMPLEX:
        return [r.float(), r.float()]
      case INTERFACE:
        return this.#interface(r)
    }
    const type = this.types.get(id)
    if (type === undefined) throw new GobError('gob: undefined type id ' + id)
    switch (type.kind) {
      case 'struct':
        return this.#struct(r, type)
      case 'slice':
      case 'array': {
        const n = r.uint()
        if (n > r.buf.length - r.pos) throw new GobError('gob: count exceeds message')
        const out = []
        for (let i = 0; i < n; i++) out.push(this.#value(r, type.elem))
        return out
      }
      case 'map': {
        const n = r.uint()
        if (n > r.buf.length - r.pos) throw new GobError('gob: count exceeds message')
        const stringKeys = type.key === STRING
        const out = stringKeys ? {} : new Map()
        for (let i = 0; i < n; i++) {
          const k = this.#value(r, type.key)
          const v = this.#value(r, type.elem)
          if (stringKeys) out[k] = v
          else out.set(k, v)
        }
        return out
      }
      case 'opaque':
        return Buffer.from(r.take(r.uint()))
    }
    throw new GobError('gob: cannot decode type id ' + id)
  }

  #struct(r, type) {
    const out = {}
    let field = -1
    for (;;) {
      const delta = r.uint()
      if (delta === 0) return out
      field += delta
      const f = type.fields[field]
      if (f === undefined) throw new GobError('gob: field number out of range')
      out[f[0]] = this.#value(r, f[1])
    }
  }

  // An interface value: the concrete type's registered name, its id, then the value with a byte
  // count. Skipped (its type definitions came before the enclosing message); nil is null.
  #interface(r) {
    const name = r.take(r.uint()).toString('utf8')
    if (name === '') return null
    const id = r.int()
    if (id < 0) throw new GobError('gob: nested interface type definitions are not supported')
    r.take(r.uint())
    return { interfaceType: name }
  }
}

module.exports = { GobEncoder, GobDecoder, GobError, types }
