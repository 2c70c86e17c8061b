import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface PartialSignature {
  validator: number
  signingRoot: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace PartialSignature {
  let _codec: Codec<PartialSignature>

  export const codec = (): Codec<PartialSignature> => {
    if (_codec == null) {
      _codec = message<PartialSignature>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.validator != null && obj.validator !== 0)) {
          w.uint32(8)
          w.uint32(obj.validator)
        }

        if ((obj.signingRoot != null && obj.signingRoot.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.signingRoot)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          validator: 0,
          signingRoot: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.validator = reader.uint32()
              break
            }
            case 2: {
              obj.signingRoot = reader.bytes()
              break
            }
            case 3: {
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
                field: `${prefix}.validator`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.signingRoot`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
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

  export interface PartialSignatureValidatorFieldEvent {
    field: '$.validator'
    value: number
  }

  export interface PartialSignatureSigningRootFieldEvent {
    field: '$.signingRoot'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PartialSignatureSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<PartialSignature>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PartialSignature.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PartialSignature>): PartialSignature {
    return decodeMessage(buf, PartialSignature.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PartialSignature>): Generator<PartialSignatureValidatorFieldEvent | PartialSignatureSigningRootFieldEvent | PartialSignatureSignatureFieldEvent> {
    return streamMessage(buf, PartialSignature.codec(), opts)
  }
}

export interface PartialSignatureSet {
  partials: PartialSignature[]
}

export namespace PartialSignatureSet {
  let _codec: Codec<PartialSignatureSet>

  export const codec = (): Codec<PartialSignatureSet> => {
    if (_codec == null) {
      _codec = message<PartialSignatureSet>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.partials != null && obj.partials.length > 0) {
          for (const value of obj.partials) {
            w.uint32(10)
            PartialSignature.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          partials: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.partials != null && obj.partials.length === opts.limits.partials) {
                throw new MaxLengthError('Decode error - repeated field "partials" had too many elements')
              }

              obj.partials.push(PartialSignature.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.partials$
              }))
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
          partials: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.partials != null && obj.partials === opts.limits.partials) {
                throw new MaxLengthError('Streaming decode error - repeated field "partials" had too many elements')
              }

              for (const evt of PartialSignature.codec().stream(reader, reader.uint32(), `${prefix}.partials[]`, {
                limits: opts.limits?.partials$
              })) {
                yield {
                  ...evt,
                  index: obj.partials
                }
              }

              obj.partials++

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

  export interface PartialSignatureSetPartialsValidatorFieldEvent {
    field: '$.partials[].validator'
    value: number
    index: number
  }

  export interface PartialSignatureSetPartialsSigningRootFieldEvent {
    field: '$.partials[].signingRoot'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface PartialSignatureSetPartialsSignatureFieldEvent {
    field: '$.partials[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<PartialSignatureSet>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PartialSignatureSet.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PartialSignatureSet>): PartialSignatureSet {
    return decodeMessage(buf, PartialSignatureSet.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PartialSignatureSet>): Generator<PartialSignatureSetPartialsValidatorFieldEvent | PartialSignatureSetPartialsSigningRootFieldEvent | PartialSignatureSetPartialsSignatureFieldEvent> {
    return streamMessage(buf, PartialSignatureSet.codec(), opts)
  }
}

export interface ParSigRequest {
  session: Uint8Array<ArrayBuffer>
  publicKey: Uint8Array<ArrayBuffer>
  requestJson: Uint8Array<ArrayBuffer>
  duty: string
  signingRoot: Uint8Array<ArrayBuffer>
  group: boolean
}

export namespace ParSigRequest {
  let _codec: Codec<ParSigRequest>

  export const codec = (): Codec<ParSigRequest> => {
    if (_codec == null) {
      _codec = message<ParSigRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.session != null && obj.session.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.session)
        }

        if ((obj.publicKey != null && obj.publicKey.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.publicKey)
        }

        if ((obj.requestJson != null && obj.requestJson.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.requestJson)
        }

        if ((obj.duty != null && obj.duty !== '')) {
          w.uint32(34)
          w.string(obj.duty)
        }

        if ((obj.signingRoot != null && obj.signingRoot.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.signingRoot)
        }

        if ((obj.group != null && obj.group !== false)) {
          w.uint32(48)
          w.bool(obj.group)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          session: uint8ArrayAlloc(0),
          publicKey: uint8ArrayAlloc(0),
          requestJson: uint8ArrayAlloc(0),
          duty: '',
          signingRoot: uint8ArrayAlloc(0),
          group: false
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
              obj.publicKey = reader.bytes()
              break
            }
            case 3: {
              obj.requestJson = reader.bytes()
              break
            }
            case 4: {
              obj.duty = reader.string()
              break
            }
            case 5: {
              obj.signingRoot = reader.bytes()
              break
            }
            case 6: {
              obj.group = reader.bool()
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
                field: `${prefix}.session`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.publicKey`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.requestJson`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.duty`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.signingRoot`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.group`,
                value: reader.bool()
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

  export interface ParSigRequestSessionFieldEvent {
    field: '$.session'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ParSigRequestPublicKeyFieldEvent {
    field: '$.publicKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ParSigRequestRequestJsonFieldEvent {
    field: '$.requestJson'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ParSigRequestDutyFieldEvent {
    field: '$.duty'
    value: string
  }

  export interface ParSigRequestSigningRootFieldEvent {
    field: '$.signingRoot'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ParSigRequestGroupFieldEvent {
    field: '$.group'
    value: boolean
  }

  export function encode (obj: Partial<ParSigRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ParSigRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ParSigRequest>): ParSigRequest {
    return decodeMessage(buf, ParSigRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ParSigRequest>): Generator<ParSigRequestSessionFieldEvent | ParSigRequestPublicKeyFieldEvent | ParSigRequestRequestJsonFieldEvent | ParSigRequestDutyFieldEvent | ParSigRequestSigningRootFieldEvent | ParSigRequestGroupFieldEvent> {
    return streamMessage(buf, ParSigRequest.codec(), opts)
  }
}

export interface ParSigResponse {
  shareIndex: number
  partialSignature: Uint8Array<ArrayBuffer>
  refusalCode: string
  refusalMessage: string
  decidedRoot: Uint8Array<ArrayBuffer>
  groupSignature: Uint8Array<ArrayBuffer>
}

export namespace ParSigResponse {
  let _codec: Codec<ParSigResponse>

  export const codec = (): Codec<ParSigResponse> => {
    if (_codec == null) {
      _codec = message<ParSigResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.shareIndex != null && obj.shareIndex !== 0)) {
          w.uint32(8)
          w.uint32(obj.shareIndex)
        }

        if ((obj.partialSignature != null && obj.partialSignature.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.partialSignature)
        }

        if ((obj.refusalCode != null && obj.refusalCode !== '')) {
          w.uint32(26)
          w.string(obj.refusalCode)
        }

        if ((obj.refusalMessage != null && obj.refusalMessage !== '')) {
          w.uint32(34)
          w.string(obj.refusalMessage)
        }

        if ((obj.decidedRoot != null && obj.decidedRoot.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.decidedRoot)
        }

        if ((obj.groupSignature != null && obj.groupSignature.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.groupSignature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          shareIndex: 0,
          partialSignature: uint8ArrayAlloc(0),
          refusalCode: '',
          refusalMessage: '',
          decidedRoot: uint8ArrayAlloc(0),
          groupSignature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.shareIndex = reader.uint32()
              break
            }
            case 2: {
              obj.partialSignature = reader.bytes()
              break
            }
            case 3: {
              obj.refusalCode = reader.string()
              break
            }
            case 4: {
              obj.refusalMessage = reader.string()
              break
            }
            case 5: {
              obj.decidedRoot = reader.bytes()
              break
            }
            case 6: {
              obj.groupSignature = reader.bytes()
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
                field: `${prefix}.shareIndex`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.partialSignature`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.refusalCode`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.refusalMessage`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.decidedRoot`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.groupSignature`,
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

  export interface ParSigResponseShareIndexFieldEvent {
    field: '$.shareIndex'
    value: number
  }

  export interface ParSigResponsePartialSignatureFieldEvent {
    field: '$.partialSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ParSigResponseRefusalCodeFieldEvent {
    field: '$.refusalCode'
    value: string
  }

  export interface ParSigResponseRefusalMessageFieldEvent {
    field: '$.refusalMessage'
    value: string
  }

  export interface ParSigResponseDecidedRootFieldEvent {
    field: '$.decidedRoot'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ParSigResponseGroupSignatureFieldEvent {
    field: '$.groupSignature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<ParSigResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ParSigResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ParSigResponse>): ParSigResponse {
    return decodeMessage(buf, ParSigResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ParSigResponse>): Generator<ParSigResponseShareIndexFieldEvent | ParSigResponsePartialSignatureFieldEvent | ParSigResponseRefusalCodeFieldEvent | ParSigResponseRefusalMessageFieldEvent | ParSigResponseDecidedRootFieldEvent | ParSigResponseGroupSignatureFieldEvent> {
    return streamMessage(buf, ParSigResponse.codec(), opts)
  }
}
