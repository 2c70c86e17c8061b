import { decodeMessage, encodeMessage, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface Hello {
  session: Uint8Array<ArrayBuffer>
  protocolVersion: string
  step: number
  signature: Uint8Array<ArrayBuffer>
  nonce: Uint8Array<ArrayBuffer>
}

export namespace Hello {
  let _codec: Codec<Hello>

  export const codec = (): Codec<Hello> => {
    if (_codec == null) {
      _codec = message<Hello>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.session != null && obj.session.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.session)
        }

        if ((obj.protocolVersion != null && obj.protocolVersion !== '')) {
          w.uint32(18)
          w.string(obj.protocolVersion)
        }

        if ((obj.step != null && obj.step !== 0)) {
          w.uint32(24)
          w.uint32(obj.step)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.signature)
        }

        if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.nonce)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          session: uint8ArrayAlloc(0),
          protocolVersion: '',
          step: 0,
          signature: uint8ArrayAlloc(0),
          nonce: uint8ArrayAlloc(0)
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
              obj.protocolVersion = reader.string()
              break
            }
            case 3: {
              obj.step = reader.uint32()
              break
            }
            case 4: {
              obj.signature = reader.bytes()
              break
            }
            case 5: {
              obj.nonce = reader.bytes()
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
                field: `${prefix}.protocolVersion`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.step`,
                value: reader.uint32()
              }
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
              yield {
                field: `${prefix}.nonce`,
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

  export interface HelloSessionFieldEvent {
    field: '$.session'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HelloProtocolVersionFieldEvent {
    field: '$.protocolVersion'
    value: string
  }

  export interface HelloStepFieldEvent {
    field: '$.step'
    value: number
  }

  export interface HelloSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HelloNonceFieldEvent {
    field: '$.nonce'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Hello>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Hello.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Hello>): Hello {
    return decodeMessage(buf, Hello.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Hello>): Generator<HelloSessionFieldEvent | HelloProtocolVersionFieldEvent | HelloStepFieldEvent | HelloSignatureFieldEvent | HelloNonceFieldEvent> {
    return streamMessage(buf, Hello.codec(), opts)
  }
}

export interface HelloResponse {
  hello?: Hello
  error: string
}

export namespace HelloResponse {
  let _codec: Codec<HelloResponse>

  export const codec = (): Codec<HelloResponse> => {
    if (_codec == null) {
      _codec = message<HelloResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.hello != null) {
          w.uint32(10)
          Hello.codec().encode(obj.hello, w)
        }

        if ((obj.error != null && obj.error !== '')) {
          w.uint32(18)
          w.string(obj.error)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          error: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.hello = Hello.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.hello
              })
              break
            }
            case 2: {
              obj.error = reader.string()
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
              yield * Hello.codec().stream(reader, reader.uint32(), `${prefix}.hello`, {
                limits: opts.limits?.hello
              })

              break
            }
            case 2: {
              yield {
                field: `${prefix}.error`,
                value: reader.string()
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

  export interface HelloResponseHelloSessionFieldEvent {
    field: '$.hello.session'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HelloResponseHelloProtocolVersionFieldEvent {
    field: '$.hello.protocolVersion'
    value: string
  }

  export interface HelloResponseHelloStepFieldEvent {
    field: '$.hello.step'
    value: number
  }

  export interface HelloResponseHelloSignatureFieldEvent {
    field: '$.hello.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HelloResponseHelloNonceFieldEvent {
    field: '$.hello.nonce'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HelloResponseErrorFieldEvent {
    field: '$.error'
    value: string
  }

  export function encode (obj: Partial<HelloResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, HelloResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HelloResponse>): HelloResponse {
    return decodeMessage(buf, HelloResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HelloResponse>): Generator<HelloResponseHelloSessionFieldEvent | HelloResponseHelloProtocolVersionFieldEvent | HelloResponseHelloStepFieldEvent | HelloResponseHelloSignatureFieldEvent | HelloResponseHelloNonceFieldEvent | HelloResponseErrorFieldEvent> {
    return streamMessage(buf, HelloResponse.codec(), opts)
  }
}
