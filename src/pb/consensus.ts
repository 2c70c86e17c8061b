import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface QbftMsg {
  type: number
  validator: Uint8Array<ArrayBuffer>
  duty: string
  round: number
  sender: number
  value: Uint8Array<ArrayBuffer>
  preparedRound: number
  preparedValue: Uint8Array<ArrayBuffer>
}

export namespace QbftMsg {
  let _codec: Codec<QbftMsg>

  export const codec = (): Codec<QbftMsg> => {
    if (_codec == null) {
      _codec = message<QbftMsg>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.type != null && obj.type !== 0)) {
          w.uint32(8)
          w.uint32(obj.type)
        }

        if ((obj.validator != null && obj.validator.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.validator)
        }

        if ((obj.duty != null && obj.duty !== '')) {
          w.uint32(26)
          w.string(obj.duty)
        }

        if ((obj.round != null && obj.round !== 0)) {
          w.uint32(32)
          w.uint32(obj.round)
        }

        if ((obj.sender != null && obj.sender !== 0)) {
          w.uint32(40)
          w.uint32(obj.sender)
        }

        if ((obj.value != null && obj.value.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.value)
        }

        if ((obj.preparedRound != null && obj.preparedRound !== 0)) {
          w.uint32(56)
          w.uint32(obj.preparedRound)
        }

        if ((obj.preparedValue != null && obj.preparedValue.byteLength > 0)) {
          w.uint32(66)
          w.bytes(obj.preparedValue)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          type: 0,
          validator: uint8ArrayAlloc(0),
          duty: '',
          round: 0,
          sender: 0,
          value: uint8ArrayAlloc(0),
          preparedRound: 0,
          preparedValue: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.type = reader.uint32()
              break
            }
            case 2: {
              obj.validator = reader.bytes()
              break
            }
            case 3: {
              obj.duty = reader.string()
              break
            }
            case 4: {
              obj.round = reader.uint32()
              break
            }
            case 5: {
              obj.sender = reader.uint32()
              break
            }
            case 6: {
              obj.value = reader.bytes()
              break
            }
            case 7: {
              obj.preparedRound = reader.uint32()
              break
            }
            case 8: {
              obj.preparedValue = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.type`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.validator`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.duty`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.round`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.sender`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.value`,
                value: reader.bytes()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.preparedRound`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.preparedValue`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface QbftMsgTypeFieldEvent {
    field: '$.type'
    value: number
  }

  export interface QbftMsgValidatorFieldEvent {
    field: '$.validator'
    value: Uint8Array<ArrayBuffer>
  }

  export interface QbftMsgDutyFieldEvent {
    field: '$.duty'
    value: string
  }

  export interface QbftMsgRoundFieldEvent {
    field: '$.round'
    value: number
  }

  export interface QbftMsgSenderFieldEvent {
    field: '$.sender'
    value: number
  }

  export interface QbftMsgValueFieldEvent {
    field: '$.value'
    value: Uint8Array<ArrayBuffer>
  }

  export interface QbftMsgPreparedRoundFieldEvent {
    field: '$.preparedRound'
    value: number
  }

  export interface QbftMsgPreparedValueFieldEvent {
    field: '$.preparedValue'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<QbftMsg>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, QbftMsg.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<QbftMsg>): QbftMsg {
    return decodeMessage(buf, QbftMsg.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<QbftMsg>): Generator<QbftMsgTypeFieldEvent | QbftMsgValidatorFieldEvent | QbftMsgDutyFieldEvent | QbftMsgRoundFieldEvent | QbftMsgSenderFieldEvent | QbftMsgValueFieldEvent | QbftMsgPreparedRoundFieldEvent | QbftMsgPreparedValueFieldEvent> {
    return streamMessage(buf, QbftMsg.codec(), opts)
  }
}

export interface AgreementKey {
  publicKey: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace AgreementKey {
  let _codec: Codec<AgreementKey>

  export const codec = (): Codec<AgreementKey> => {
    if (_codec == null) {
      _codec = message<AgreementKey>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.publicKey != null && obj.publicKey.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.publicKey)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          publicKey: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.publicKey = reader.bytes()
              break
            }
            case 2: {
              obj.signature = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.publicKey`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface AgreementKeyPublicKeyFieldEvent {
    field: '$.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AgreementKeySignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<AgreementKey>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, AgreementKey.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<AgreementKey>): AgreementKey {
    return decodeMessage(buf, AgreementKey.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<AgreementKey>): Generator<AgreementKeyPublicKeyFieldEvent | AgreementKeySignatureFieldEvent> {
    return streamMessage(buf, AgreementKey.codec(), opts)
  }
}

export interface SignedQbftMsg {
  msg?: QbftMsg
  leafIndex: number
  leafCount: number
  path: Uint8Array<ArrayBuffer>[]
  signature: Uint8Array<ArrayBuffer>
  key?: AgreementKey
}

export namespace SignedQbftMsg {
  let _codec: Codec<SignedQbftMsg>

  export const codec = (): Codec<SignedQbftMsg> => {
    if (_codec == null) {
      _codec = message<SignedQbftMsg>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.msg != null) {
          w.uint32(10)
          QbftMsg.codec().encode(obj.msg, w)
        }

        if ((obj.leafIndex != null && obj.leafIndex !== 0)) {
          w.uint32(16)
          w.uint32(obj.leafIndex)
        }

        if ((obj.leafCount != null && obj.leafCount !== 0)) {
          w.uint32(24)
          w.uint32(obj.leafCount)
        }

        if (obj.path != null && obj.path.length > 0) {
          for (const value of obj.path) {
            w.uint32(34)
            w.bytes(value)
          }
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.signature)
        }

        if (obj.key != null) {
          w.uint32(50)
          AgreementKey.codec().encode(obj.key, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          leafIndex: 0,
          leafCount: 0,
          path: [],
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.msg = QbftMsg.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.msg
              })
              break
            }
            case 2: {
              obj.leafIndex = reader.uint32()
              break
            }
            case 3: {
              obj.leafCount = reader.uint32()
              break
            }
            case 4: {
              if (opts.limits?.path != null && obj.path.length === opts.limits.path) {
                throw new MaxLengthError('Decode error - repeated field "path" had too many elements')
              }

              obj.path.push(reader.bytes())
              break
            }
            case 5: {
              obj.signature = reader.bytes()
              break
            }
            case 6: {
              obj.key = AgreementKey.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.key
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          path: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * QbftMsg.codec().stream(reader, reader.uint32(), `${prefix}.msg`, {
                limits: opts.limits?.msg
              })

              break
            }
            case 2: {
              yield {
                field: `${prefix}.leafIndex`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.leafCount`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              if (opts.limits?.path != null && obj.path === opts.limits.path) {
                throw new MaxLengthError('Streaming decode error - repeated field "path" had too many elements')
              }

              yield {
                field: `${prefix}.path[]`,
                index: obj.path,
                value: reader.bytes()
              }

              obj.path++

              break
            }
            case 5: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield * AgreementKey.codec().stream(reader, reader.uint32(), `${prefix}.key`, {
                limits: opts.limits?.key
              })

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SignedQbftMsgMsgTypeFieldEvent {
    field: '$.msg.type'
    value: number
  }

  export interface SignedQbftMsgMsgValidatorFieldEvent {
    field: '$.msg.validator'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedQbftMsgMsgDutyFieldEvent {
    field: '$.msg.duty'
    value: string
  }

  export interface SignedQbftMsgMsgRoundFieldEvent {
    field: '$.msg.round'
    value: number
  }

  export interface SignedQbftMsgMsgSenderFieldEvent {
    field: '$.msg.sender'
    value: number
  }

  export interface SignedQbftMsgMsgValueFieldEvent {
    field: '$.msg.value'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedQbftMsgMsgPreparedRoundFieldEvent {
    field: '$.msg.preparedRound'
    value: number
  }

  export interface SignedQbftMsgMsgPreparedValueFieldEvent {
    field: '$.msg.preparedValue'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedQbftMsgLeafIndexFieldEvent {
    field: '$.leafIndex'
    value: number
  }

  export interface SignedQbftMsgLeafCountFieldEvent {
    field: '$.leafCount'
    value: number
  }

  export interface SignedQbftMsgPathFieldEvent {
    field: '$.path[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedQbftMsgSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedQbftMsgKeyPublicKeyFieldEvent {
    field: '$.key.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedQbftMsgKeySignatureFieldEvent {
    field: '$.key.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<SignedQbftMsg>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SignedQbftMsg.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedQbftMsg>): SignedQbftMsg {
    return decodeMessage(buf, SignedQbftMsg.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedQbftMsg>): Generator<SignedQbftMsgMsgTypeFieldEvent | SignedQbftMsgMsgValidatorFieldEvent | SignedQbftMsgMsgDutyFieldEvent | SignedQbftMsgMsgRoundFieldEvent | SignedQbftMsgMsgSenderFieldEvent | SignedQbftMsgMsgValueFieldEvent | SignedQbftMsgMsgPreparedRoundFieldEvent | SignedQbftMsgMsgPreparedValueFieldEvent | SignedQbftMsgLeafIndexFieldEvent | SignedQbftMsgLeafCountFieldEvent | SignedQbftMsgPathFieldEvent | SignedQbftMsgSignatureFieldEvent | SignedQbftMsgKeyPublicKeyFieldEvent | SignedQbftMsgKeySignatureFieldEvent> {
    return streamMessage(buf, SignedQbftMsg.codec(), opts)
  }
}

export interface Entry {
  msg?: QbftMsg
  valueJson: Uint8Array<ArrayBuffer>
  justification: SignedQbftMsg[]
  partialSignature: Uint8Array<ArrayBuffer>
}

export namespace Entry {
  let _codec: Codec<Entry>

  export const codec = (): Codec<Entry> => {
    if (_codec == null) {
      _codec = message<Entry>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.msg != null) {
          w.uint32(10)
          QbftMsg.codec().encode(obj.msg, w)
        }

        if ((obj.valueJson != null && obj.valueJson.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.valueJson)
        }

        if (obj.justification != null && obj.justification.length > 0) {
          for (const value of obj.justification) {
            w.uint32(26)
            SignedQbftMsg.codec().encode(value, w)
          }
        }

        if ((obj.partialSignature != null && obj.partialSignature.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.partialSignature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          valueJson: uint8ArrayAlloc(0),
          justification: [],
          partialSignature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.msg = QbftMsg.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.msg
              })
              break
            }
            case 2: {
              obj.valueJson = reader.bytes()
              break
            }
            case 3: {
              if (opts.limits?.justification != null && obj.justification.length === opts.limits.justification) {
                throw new MaxLengthError('Decode error - repeated field "justification" had too many elements')
              }

              obj.justification.push(SignedQbftMsg.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.justification$
              }))
              break
            }
            case 4: {
              obj.partialSignature = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          justification: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * QbftMsg.codec().stream(reader, reader.uint32(), `${prefix}.msg`, {
                limits: opts.limits?.msg
              })

              break
            }
            case 2: {
              yield {
                field: `${prefix}.valueJson`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              if (opts.limits?.justification != null && obj.justification === opts.limits.justification) {
                throw new MaxLengthError('Streaming decode error - repeated field "justification" had too many elements')
              }

              for (const evt of SignedQbftMsg.codec().stream(reader, reader.uint32(), `${prefix}.justification[]`, {
                limits: opts.limits?.justification$
              })) {
                yield {
                  ...evt,
                  index: obj.justification
                }
              }

              obj.justification++

              break
            }
            case 4: {
              yield {
                field: `${prefix}.partialSignature`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface EntryMsgTypeFieldEvent {
    field: '$.msg.type'
    value: number
  }

  export interface EntryMsgValidatorFieldEvent {
    field: '$.msg.validator'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EntryMsgDutyFieldEvent {
    field: '$.msg.duty'
    value: string
  }

  export interface EntryMsgRoundFieldEvent {
    field: '$.msg.round'
    value: number
  }

  export interface EntryMsgSenderFieldEvent {
    field: '$.msg.sender'
    value: number
  }

  export interface EntryMsgValueFieldEvent {
    field: '$.msg.value'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EntryMsgPreparedRoundFieldEvent {
    field: '$.msg.preparedRound'
    value: number
  }

  export interface EntryMsgPreparedValueFieldEvent {
    field: '$.msg.preparedValue'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EntryValueJsonFieldEvent {
    field: '$.valueJson'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EntryJustificationMsgTypeFieldEvent {
    field: '$.justification[].msg.type'
    value: number
    index: number
  }

  export interface EntryJustificationMsgValidatorFieldEvent {
    field: '$.justification[].msg.validator'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface EntryJustificationMsgDutyFieldEvent {
    field: '$.justification[].msg.duty'
    value: string
    index: number
  }

  export interface EntryJustificationMsgRoundFieldEvent {
    field: '$.justification[].msg.round'
    value: number
    index: number
  }

  export interface EntryJustificationMsgSenderFieldEvent {
    field: '$.justification[].msg.sender'
    value: number
    index: number
  }

  export interface EntryJustificationMsgValueFieldEvent {
    field: '$.justification[].msg.value'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface EntryJustificationMsgPreparedRoundFieldEvent {
    field: '$.justification[].msg.preparedRound'
    value: number
    index: number
  }

  export interface EntryJustificationMsgPreparedValueFieldEvent {
    field: '$.justification[].msg.preparedValue'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface EntryJustificationLeafIndexFieldEvent {
    field: '$.justification[].leafIndex'
    value: number
    index: number
  }

  export interface EntryJustificationLeafCountFieldEvent {
    field: '$.justification[].leafCount'
    value: number
    index: number
  }

  export interface EntryJustificationPathFieldEvent {
    field: '$.justification[].path[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface EntryJustificationSignatureFieldEvent {
    field: '$.justification[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface EntryJustificationKeyPublicKeyFieldEvent {
    field: '$.justification[].key.publicKey'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface EntryJustificationKeySignatureFieldEvent {
    field: '$.justification[].key.signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface EntryPartialSignatureFieldEvent {
    field: '$.partialSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Entry>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Entry.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Entry>): Entry {
    return decodeMessage(buf, Entry.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Entry>): Generator<EntryMsgTypeFieldEvent | EntryMsgValidatorFieldEvent | EntryMsgDutyFieldEvent | EntryMsgRoundFieldEvent | EntryMsgSenderFieldEvent | EntryMsgValueFieldEvent | EntryMsgPreparedRoundFieldEvent | EntryMsgPreparedValueFieldEvent | EntryValueJsonFieldEvent | EntryJustificationMsgTypeFieldEvent | EntryJustificationMsgValidatorFieldEvent | EntryJustificationMsgDutyFieldEvent | EntryJustificationMsgRoundFieldEvent | EntryJustificationMsgSenderFieldEvent | EntryJustificationMsgValueFieldEvent | EntryJustificationMsgPreparedRoundFieldEvent | EntryJustificationMsgPreparedValueFieldEvent | EntryJustificationLeafIndexFieldEvent | EntryJustificationLeafCountFieldEvent | EntryJustificationPathFieldEvent | EntryJustificationSignatureFieldEvent | EntryJustificationKeyPublicKeyFieldEvent | EntryJustificationKeySignatureFieldEvent | EntryPartialSignatureFieldEvent> {
    return streamMessage(buf, Entry.codec(), opts)
  }
}

export interface Batch {
  session: Uint8Array<ArrayBuffer>
  sender: number
  entries: Entry[]
  signature: Uint8Array<ArrayBuffer>
  key?: AgreementKey
}

export namespace Batch {
  let _codec: Codec<Batch>

  export const codec = (): Codec<Batch> => {
    if (_codec == null) {
      _codec = message<Batch>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.session != null && obj.session.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.session)
        }

        if ((obj.sender != null && obj.sender !== 0)) {
          w.uint32(16)
          w.uint32(obj.sender)
        }

        if (obj.entries != null && obj.entries.length > 0) {
          for (const value of obj.entries) {
            w.uint32(26)
            Entry.codec().encode(value, w)
          }
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.signature)
        }

        if (obj.key != null) {
          w.uint32(42)
          AgreementKey.codec().encode(obj.key, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          session: uint8ArrayAlloc(0),
          sender: 0,
          entries: [],
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.session = reader.bytes()
              break
            }
            case 2: {
              obj.sender = reader.uint32()
              break
            }
            case 3: {
              if (opts.limits?.entries != null && obj.entries.length === opts.limits.entries) {
                throw new MaxLengthError('Decode error - repeated field "entries" had too many elements')
              }

              obj.entries.push(Entry.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.entries$
              }))
              break
            }
            case 4: {
              obj.signature = reader.bytes()
              break
            }
            case 5: {
              obj.key = AgreementKey.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.key
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          entries: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.session`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.sender`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              if (opts.limits?.entries != null && obj.entries === opts.limits.entries) {
                throw new MaxLengthError('Streaming decode error - repeated field "entries" had too many elements')
              }

              for (const evt of Entry.codec().stream(reader, reader.uint32(), `${prefix}.entries[]`, {
                limits: opts.limits?.entries$
              })) {
                yield {
                  ...evt,
                  index: obj.entries
                }
              }

              obj.entries++

              break
            }
            case 4: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield * AgreementKey.codec().stream(reader, reader.uint32(), `${prefix}.key`, {
                limits: opts.limits?.key
              })

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface BatchSessionFieldEvent {
    field: '$.session'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BatchSenderFieldEvent {
    field: '$.sender'
    value: number
  }

  export interface BatchEntriesMsgTypeFieldEvent {
    field: '$.entries[].msg.type'
    value: number
    index: number
  }

  export interface BatchEntriesMsgValidatorFieldEvent {
    field: '$.entries[].msg.validator'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface BatchEntriesMsgDutyFieldEvent {
    field: '$.entries[].msg.duty'
    value: string
    index: number
  }

  export interface BatchEntriesMsgRoundFieldEvent {
    field: '$.entries[].msg.round'
    value: number
    index: number
  }

  export interface BatchEntriesMsgSenderFieldEvent {
    field: '$.entries[].msg.sender'
    value: number
    index: number
  }

  export interface BatchEntriesMsgValueFieldEvent {
    field: '$.entries[].msg.value'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface BatchEntriesMsgPreparedRoundFieldEvent {
    field: '$.entries[].msg.preparedRound'
    value: number
    index: number
  }

  export interface BatchEntriesMsgPreparedValueFieldEvent {
    field: '$.entries[].msg.preparedValue'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface BatchEntriesValueJsonFieldEvent {
    field: '$.entries[].valueJson'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface BatchEntriesJustificationMsgTypeFieldEvent {
    field: '$.entries[].justification[].msg.type'
    value: number
    index: number
  }

  export interface BatchEntriesJustificationMsgValidatorFieldEvent {
    field: '$.entries[].justification[].msg.validator'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface BatchEntriesJustificationMsgDutyFieldEvent {
    field: '$.entries[].justification[].msg.duty'
    value: string
    index: number
  }

  export interface BatchEntriesJustificationMsgRoundFieldEvent {
    field: '$.entries[].justification[].msg.round'
    value: number
    index: number
  }

  export interface BatchEntriesJustificationMsgSenderFieldEvent {
    field: '$.entries[].justification[].msg.sender'
    value: number
    index: number
  }

  export interface BatchEntriesJustificationMsgValueFieldEvent {
    field: '$.entries[].justification[].msg.value'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface BatchEntriesJustificationMsgPreparedRoundFieldEvent {
    field: '$.entries[].justification[].msg.preparedRound'
    value: number
    index: number
  }

  export interface BatchEntriesJustificationMsgPreparedValueFieldEvent {
    field: '$.entries[].justification[].msg.preparedValue'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface BatchEntriesJustificationLeafIndexFieldEvent {
    field: '$.entries[].justification[].leafIndex'
    value: number
    index: number
  }

  export interface BatchEntriesJustificationLeafCountFieldEvent {
    field: '$.entries[].justification[].leafCount'
    value: number
    index: number
  }

  export interface BatchEntriesJustificationPathFieldEvent {
    field: '$.entries[].justification[].path[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface BatchEntriesJustificationSignatureFieldEvent {
    field: '$.entries[].justification[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface BatchEntriesJustificationKeyPublicKeyFieldEvent {
    field: '$.entries[].justification[].key.publicKey'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface BatchEntriesJustificationKeySignatureFieldEvent {
    field: '$.entries[].justification[].key.signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface BatchEntriesPartialSignatureFieldEvent {
    field: '$.entries[].partialSignature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface BatchSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BatchKeyPublicKeyFieldEvent {
    field: '$.key.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BatchKeySignatureFieldEvent {
    field: '$.key.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Batch>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Batch.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Batch>): Batch {
    return decodeMessage(buf, Batch.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Batch>): Generator<BatchSessionFieldEvent | BatchSenderFieldEvent | BatchEntriesMsgTypeFieldEvent | BatchEntriesMsgValidatorFieldEvent | BatchEntriesMsgDutyFieldEvent | BatchEntriesMsgRoundFieldEvent | BatchEntriesMsgSenderFieldEvent | BatchEntriesMsgValueFieldEvent | BatchEntriesMsgPreparedRoundFieldEvent | BatchEntriesMsgPreparedValueFieldEvent | BatchEntriesValueJsonFieldEvent | BatchEntriesJustificationMsgTypeFieldEvent | BatchEntriesJustificationMsgValidatorFieldEvent | BatchEntriesJustificationMsgDutyFieldEvent | BatchEntriesJustificationMsgRoundFieldEvent | BatchEntriesJustificationMsgSenderFieldEvent | BatchEntriesJustificationMsgValueFieldEvent | BatchEntriesJustificationMsgPreparedRoundFieldEvent | BatchEntriesJustificationMsgPreparedValueFieldEvent | BatchEntriesJustificationLeafIndexFieldEvent | BatchEntriesJustificationLeafCountFieldEvent | BatchEntriesJustificationPathFieldEvent | BatchEntriesJustificationSignatureFieldEvent | BatchEntriesJustificationKeyPublicKeyFieldEvent | BatchEntriesJustificationKeySignatureFieldEvent | BatchEntriesPartialSignatureFieldEvent | BatchSignatureFieldEvent | BatchKeyPublicKeyFieldEvent | BatchKeySignatureFieldEvent> {
    return streamMessage(buf, Batch.codec(), opts)
  }
}
