import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export enum MessageKind {
  MESSAGE_KIND_UNSPECIFIED = 'MESSAGE_KIND_UNSPECIFIED',
  DEAL = 'DEAL',
  SHARES = 'SHARES',
  ECHO = 'ECHO',
  COMPLAINTS = 'COMPLAINTS',
  JUSTIFICATIONS = 'JUSTIFICATIONS',
  DEPOSIT_PARTIALS = 'DEPOSIT_PARTIALS',
  LOCK_SIGNATURE = 'LOCK_SIGNATURE',
  CONFIRM = 'CONFIRM',
  ABORT = 'ABORT'
}

enum __MessageKindValues {
  MESSAGE_KIND_UNSPECIFIED = 0,
  DEAL = 1,
  SHARES = 2,
  ECHO = 3,
  COMPLAINTS = 4,
  JUSTIFICATIONS = 5,
  DEPOSIT_PARTIALS = 6,
  LOCK_SIGNATURE = 7,
  CONFIRM = 8,
  ABORT = 9
}

export namespace MessageKind {
  export const codec = (): Codec<MessageKind> => {
    return enumeration<MessageKind>(__MessageKindValues)
  }
}

export interface Envelope {
  session: Uint8Array<ArrayBuffer>
  sender: number
  step: number
  payload: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
  kind: MessageKind
  receiver: number
}

export namespace Envelope {
  let _codec: Codec<Envelope>

  export const codec = (): Codec<Envelope> => {
    if (_codec == null) {
      _codec = message<Envelope>((obj, w, opts = {}) => {
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

        if ((obj.step != null && obj.step !== 0)) {
          w.uint32(24)
          w.uint32(obj.step)
        }

        if ((obj.payload != null && obj.payload.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.payload)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.signature)
        }

        if (obj.kind != null && __MessageKindValues[obj.kind] !== 0) {
          w.uint32(48)
          MessageKind.codec().encode(obj.kind, w)
        }

        if ((obj.receiver != null && obj.receiver !== 0)) {
          w.uint32(56)
          w.uint32(obj.receiver)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          session: uint8ArrayAlloc(0),
          sender: 0,
          step: 0,
          payload: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0),
          kind: MessageKind.MESSAGE_KIND_UNSPECIFIED,
          receiver: 0
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
              obj.step = reader.uint32()
              break
            }
            case 4: {
              obj.payload = reader.bytes()
              break
            }
            case 5: {
              obj.signature = reader.bytes()
              break
            }
            case 6: {
              obj.kind = MessageKind.codec().decode(reader)
              break
            }
            case 7: {
              obj.receiver = reader.uint32()
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
                field: `${prefix}.sender`,
                value: reader.uint32()
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
                field: `${prefix}.payload`,
                value: reader.bytes()
              }
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
              yield {
                field: `${prefix}.kind`,
                value: MessageKind.codec().decode(reader)
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.receiver`,
                value: reader.uint32()
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

  export interface EnvelopeSessionFieldEvent {
    field: '$.session'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EnvelopeSenderFieldEvent {
    field: '$.sender'
    value: number
  }

  export interface EnvelopeStepFieldEvent {
    field: '$.step'
    value: number
  }

  export interface EnvelopePayloadFieldEvent {
    field: '$.payload'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EnvelopeSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EnvelopeKindFieldEvent {
    field: '$.kind'
    value: MessageKind
  }

  export interface EnvelopeReceiverFieldEvent {
    field: '$.receiver'
    value: number
  }

  export function encode (obj: Partial<Envelope>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Envelope.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Envelope>): Envelope {
    return decodeMessage(buf, Envelope.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Envelope>): Generator<EnvelopeSessionFieldEvent | EnvelopeSenderFieldEvent | EnvelopeStepFieldEvent | EnvelopePayloadFieldEvent | EnvelopeSignatureFieldEvent | EnvelopeKindFieldEvent | EnvelopeReceiverFieldEvent> {
    return streamMessage(buf, Envelope.codec(), opts)
  }
}

export interface Deal {
  numValidators: number
  threshold: number
  commitments: Uint8Array<ArrayBuffer>
  pops: Uint8Array<ArrayBuffer>
  slashingFloors: Uint8Array<ArrayBuffer>
}

export namespace Deal {
  let _codec: Codec<Deal>

  export const codec = (): Codec<Deal> => {
    if (_codec == null) {
      _codec = message<Deal>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.numValidators != null && obj.numValidators !== 0)) {
          w.uint32(8)
          w.uint32(obj.numValidators)
        }

        if ((obj.threshold != null && obj.threshold !== 0)) {
          w.uint32(16)
          w.uint32(obj.threshold)
        }

        if ((obj.commitments != null && obj.commitments.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.commitments)
        }

        if ((obj.pops != null && obj.pops.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.pops)
        }

        if ((obj.slashingFloors != null && obj.slashingFloors.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.slashingFloors)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          numValidators: 0,
          threshold: 0,
          commitments: uint8ArrayAlloc(0),
          pops: uint8ArrayAlloc(0),
          slashingFloors: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.numValidators = reader.uint32()
              break
            }
            case 2: {
              obj.threshold = reader.uint32()
              break
            }
            case 3: {
              obj.commitments = reader.bytes()
              break
            }
            case 4: {
              obj.pops = reader.bytes()
              break
            }
            case 5: {
              obj.slashingFloors = reader.bytes()
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
                field: `${prefix}.numValidators`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.threshold`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.commitments`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.pops`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.slashingFloors`,
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

  export interface DealNumValidatorsFieldEvent {
    field: '$.numValidators'
    value: number
  }

  export interface DealThresholdFieldEvent {
    field: '$.threshold'
    value: number
  }

  export interface DealCommitmentsFieldEvent {
    field: '$.commitments'
    value: Uint8Array<ArrayBuffer>
  }

  export interface DealPopsFieldEvent {
    field: '$.pops'
    value: Uint8Array<ArrayBuffer>
  }

  export interface DealSlashingFloorsFieldEvent {
    field: '$.slashingFloors'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Deal>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Deal.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Deal>): Deal {
    return decodeMessage(buf, Deal.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Deal>): Generator<DealNumValidatorsFieldEvent | DealThresholdFieldEvent | DealCommitmentsFieldEvent | DealPopsFieldEvent | DealSlashingFloorsFieldEvent> {
    return streamMessage(buf, Deal.codec(), opts)
  }
}

export interface Shares {
  receiver: number
  shares: Uint8Array<ArrayBuffer>
}

export namespace Shares {
  let _codec: Codec<Shares>

  export const codec = (): Codec<Shares> => {
    if (_codec == null) {
      _codec = message<Shares>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.receiver != null && obj.receiver !== 0)) {
          w.uint32(8)
          w.uint32(obj.receiver)
        }

        if ((obj.shares != null && obj.shares.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.shares)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          receiver: 0,
          shares: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.receiver = reader.uint32()
              break
            }
            case 2: {
              obj.shares = reader.bytes()
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
                field: `${prefix}.receiver`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.shares`,
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

  export interface SharesReceiverFieldEvent {
    field: '$.receiver'
    value: number
  }

  export interface SharesSharesFieldEvent {
    field: '$.shares'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Shares>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Shares.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Shares>): Shares {
    return decodeMessage(buf, Shares.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Shares>): Generator<SharesReceiverFieldEvent | SharesSharesFieldEvent> {
    return streamMessage(buf, Shares.codec(), opts)
  }
}

export interface Echo {
  dealDigests: Uint8Array<ArrayBuffer>[]
}

export namespace Echo {
  let _codec: Codec<Echo>

  export const codec = (): Codec<Echo> => {
    if (_codec == null) {
      _codec = message<Echo>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.dealDigests != null && obj.dealDigests.length > 0) {
          for (const value of obj.dealDigests) {
            w.uint32(10)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          dealDigests: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.dealDigests != null && obj.dealDigests.length === opts.limits.dealDigests) {
                throw new MaxLengthError('Decode error - repeated field "dealDigests" had too many elements')
              }

              obj.dealDigests.push(reader.bytes())
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
          dealDigests: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.dealDigests != null && obj.dealDigests === opts.limits.dealDigests) {
                throw new MaxLengthError('Streaming decode error - repeated field "dealDigests" had too many elements')
              }

              yield {
                field: `${prefix}.dealDigests[]`,
                index: obj.dealDigests,
                value: reader.bytes()
              }

              obj.dealDigests++

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

  export interface EchoDealDigestsFieldEvent {
    field: '$.dealDigests[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Echo>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Echo.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Echo>): Echo {
    return decodeMessage(buf, Echo.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Echo>): Generator<EchoDealDigestsFieldEvent> {
    return streamMessage(buf, Echo.codec(), opts)
  }
}

export enum AccusationKind {
  ACCUSATION_KIND_UNSPECIFIED = 'ACCUSATION_KIND_UNSPECIFIED',
  BAD_SHARE = 'BAD_SHARE',
  ECHO_MISMATCH = 'ECHO_MISMATCH'
}

enum __AccusationKindValues {
  ACCUSATION_KIND_UNSPECIFIED = 0,
  BAD_SHARE = 1,
  ECHO_MISMATCH = 2
}

export namespace AccusationKind {
  export const codec = (): Codec<AccusationKind> => {
    return enumeration<AccusationKind>(__AccusationKindValues)
  }
}

export interface Accusation {
  accused: number
  validators: number[]
  reason: string
  envelope: Uint8Array<ArrayBuffer>
  kind: AccusationKind
  echoes: Uint8Array<ArrayBuffer>[]
}

export namespace Accusation {
  let _codec: Codec<Accusation>

  export const codec = (): Codec<Accusation> => {
    if (_codec == null) {
      _codec = message<Accusation>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.accused != null && obj.accused !== 0)) {
          w.uint32(8)
          w.uint32(obj.accused)
        }

        if (obj.validators != null && obj.validators.length > 0) {
          for (const value of obj.validators) {
            w.uint32(16)
            w.uint32(value)
          }
        }

        if ((obj.reason != null && obj.reason !== '')) {
          w.uint32(26)
          w.string(obj.reason)
        }

        if ((obj.envelope != null && obj.envelope.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.envelope)
        }

        if (obj.kind != null && __AccusationKindValues[obj.kind] !== 0) {
          w.uint32(40)
          AccusationKind.codec().encode(obj.kind, w)
        }

        if (obj.echoes != null && obj.echoes.length > 0) {
          for (const value of obj.echoes) {
            w.uint32(50)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          accused: 0,
          validators: [],
          reason: '',
          envelope: uint8ArrayAlloc(0),
          kind: AccusationKind.ACCUSATION_KIND_UNSPECIFIED,
          echoes: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.accused = reader.uint32()
              break
            }
            case 2: {
              if (opts.limits?.validators != null && obj.validators.length === opts.limits.validators) {
                throw new MaxLengthError('Decode error - repeated field "validators" had too many elements')
              }

              obj.validators.push(reader.uint32())
              break
            }
            case 3: {
              obj.reason = reader.string()
              break
            }
            case 4: {
              obj.envelope = reader.bytes()
              break
            }
            case 5: {
              obj.kind = AccusationKind.codec().decode(reader)
              break
            }
            case 6: {
              if (opts.limits?.echoes != null && obj.echoes.length === opts.limits.echoes) {
                throw new MaxLengthError('Decode error - repeated field "echoes" had too many elements')
              }

              obj.echoes.push(reader.bytes())
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
          validators: 0,
          echoes: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.accused`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              if (opts.limits?.validators != null && obj.validators === opts.limits.validators) {
                throw new MaxLengthError('Streaming decode error - repeated field "validators" had too many elements')
              }

              yield {
                field: `${prefix}.validators[]`,
                index: obj.validators,
                value: reader.uint32()
              }

              obj.validators++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.reason`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.envelope`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.kind`,
                value: AccusationKind.codec().decode(reader)
              }
              break
            }
            case 6: {
              if (opts.limits?.echoes != null && obj.echoes === opts.limits.echoes) {
                throw new MaxLengthError('Streaming decode error - repeated field "echoes" had too many elements')
              }

              yield {
                field: `${prefix}.echoes[]`,
                index: obj.echoes,
                value: reader.bytes()
              }

              obj.echoes++

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

  export interface AccusationAccusedFieldEvent {
    field: '$.accused'
    value: number
  }

  export interface AccusationValidatorsFieldEvent {
    field: '$.validators[]'
    index: number
    value: number
  }

  export interface AccusationReasonFieldEvent {
    field: '$.reason'
    value: string
  }

  export interface AccusationEnvelopeFieldEvent {
    field: '$.envelope'
    value: Uint8Array<ArrayBuffer>
  }

  export interface AccusationKindFieldEvent {
    field: '$.kind'
    value: AccusationKind
  }

  export interface AccusationEchoesFieldEvent {
    field: '$.echoes[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Accusation>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Accusation.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Accusation>): Accusation {
    return decodeMessage(buf, Accusation.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Accusation>): Generator<AccusationAccusedFieldEvent | AccusationValidatorsFieldEvent | AccusationReasonFieldEvent | AccusationEnvelopeFieldEvent | AccusationKindFieldEvent | AccusationEchoesFieldEvent> {
    return streamMessage(buf, Accusation.codec(), opts)
  }
}

export interface Complaints {
  accusations: Accusation[]
}

export namespace Complaints {
  let _codec: Codec<Complaints>

  export const codec = (): Codec<Complaints> => {
    if (_codec == null) {
      _codec = message<Complaints>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.accusations != null && obj.accusations.length > 0) {
          for (const value of obj.accusations) {
            w.uint32(10)
            Accusation.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          accusations: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.accusations != null && obj.accusations.length === opts.limits.accusations) {
                throw new MaxLengthError('Decode error - repeated field "accusations" had too many elements')
              }

              obj.accusations.push(Accusation.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.accusations$
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
          accusations: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.accusations != null && obj.accusations === opts.limits.accusations) {
                throw new MaxLengthError('Streaming decode error - repeated field "accusations" had too many elements')
              }

              for (const evt of Accusation.codec().stream(reader, reader.uint32(), `${prefix}.accusations[]`, {
                limits: opts.limits?.accusations$
              })) {
                yield {
                  ...evt,
                  index: obj.accusations
                }
              }

              obj.accusations++

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

  export interface ComplaintsAccusationsAccusedFieldEvent {
    field: '$.accusations[].accused'
    value: number
    index: number
  }

  export interface ComplaintsAccusationsValidatorsFieldEvent {
    field: '$.accusations[].validators[]'
    index: number
    value: number
  }

  export interface ComplaintsAccusationsReasonFieldEvent {
    field: '$.accusations[].reason'
    value: string
    index: number
  }

  export interface ComplaintsAccusationsEnvelopeFieldEvent {
    field: '$.accusations[].envelope'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ComplaintsAccusationsKindFieldEvent {
    field: '$.accusations[].kind'
    value: AccusationKind
    index: number
  }

  export interface ComplaintsAccusationsEchoesFieldEvent {
    field: '$.accusations[].echoes[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Complaints>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Complaints.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Complaints>): Complaints {
    return decodeMessage(buf, Complaints.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Complaints>): Generator<ComplaintsAccusationsAccusedFieldEvent | ComplaintsAccusationsValidatorsFieldEvent | ComplaintsAccusationsReasonFieldEvent | ComplaintsAccusationsEnvelopeFieldEvent | ComplaintsAccusationsKindFieldEvent | ComplaintsAccusationsEchoesFieldEvent> {
    return streamMessage(buf, Complaints.codec(), opts)
  }
}

export interface JustifiedShare {
  accuser: number
  validator: number
  share: Uint8Array<ArrayBuffer>
}

export namespace JustifiedShare {
  let _codec: Codec<JustifiedShare>

  export const codec = (): Codec<JustifiedShare> => {
    if (_codec == null) {
      _codec = message<JustifiedShare>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.accuser != null && obj.accuser !== 0)) {
          w.uint32(8)
          w.uint32(obj.accuser)
        }

        if ((obj.validator != null && obj.validator !== 0)) {
          w.uint32(16)
          w.uint32(obj.validator)
        }

        if ((obj.share != null && obj.share.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.share)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          accuser: 0,
          validator: 0,
          share: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.accuser = reader.uint32()
              break
            }
            case 2: {
              obj.validator = reader.uint32()
              break
            }
            case 3: {
              obj.share = reader.bytes()
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
                field: `${prefix}.accuser`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.validator`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.share`,
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

  export interface JustifiedShareAccuserFieldEvent {
    field: '$.accuser'
    value: number
  }

  export interface JustifiedShareValidatorFieldEvent {
    field: '$.validator'
    value: number
  }

  export interface JustifiedShareShareFieldEvent {
    field: '$.share'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<JustifiedShare>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, JustifiedShare.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JustifiedShare>): JustifiedShare {
    return decodeMessage(buf, JustifiedShare.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<JustifiedShare>): Generator<JustifiedShareAccuserFieldEvent | JustifiedShareValidatorFieldEvent | JustifiedShareShareFieldEvent> {
    return streamMessage(buf, JustifiedShare.codec(), opts)
  }
}

export interface Justifications {
  shares: JustifiedShare[]
}

export namespace Justifications {
  let _codec: Codec<Justifications>

  export const codec = (): Codec<Justifications> => {
    if (_codec == null) {
      _codec = message<Justifications>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.shares != null && obj.shares.length > 0) {
          for (const value of obj.shares) {
            w.uint32(10)
            JustifiedShare.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          shares: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.shares != null && obj.shares.length === opts.limits.shares) {
                throw new MaxLengthError('Decode error - repeated field "shares" had too many elements')
              }

              obj.shares.push(JustifiedShare.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.shares$
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
          shares: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.shares != null && obj.shares === opts.limits.shares) {
                throw new MaxLengthError('Streaming decode error - repeated field "shares" had too many elements')
              }

              for (const evt of JustifiedShare.codec().stream(reader, reader.uint32(), `${prefix}.shares[]`, {
                limits: opts.limits?.shares$
              })) {
                yield {
                  ...evt,
                  index: obj.shares
                }
              }

              obj.shares++

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

  export interface JustificationsSharesAccuserFieldEvent {
    field: '$.shares[].accuser'
    value: number
    index: number
  }

  export interface JustificationsSharesValidatorFieldEvent {
    field: '$.shares[].validator'
    value: number
    index: number
  }

  export interface JustificationsSharesShareFieldEvent {
    field: '$.shares[].share'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<Justifications>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Justifications.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Justifications>): Justifications {
    return decodeMessage(buf, Justifications.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Justifications>): Generator<JustificationsSharesAccuserFieldEvent | JustificationsSharesValidatorFieldEvent | JustificationsSharesShareFieldEvent> {
    return streamMessage(buf, Justifications.codec(), opts)
  }
}

export interface LockSignature {
  lockHash: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
  shareSignatureAggregate: Uint8Array<ArrayBuffer>
}

export namespace LockSignature {
  let _codec: Codec<LockSignature>

  export const codec = (): Codec<LockSignature> => {
    if (_codec == null) {
      _codec = message<LockSignature>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.lockHash != null && obj.lockHash.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.lockHash)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.signature)
        }

        if ((obj.shareSignatureAggregate != null && obj.shareSignatureAggregate.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.shareSignatureAggregate)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          lockHash: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0),
          shareSignatureAggregate: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.lockHash = reader.bytes()
              break
            }
            case 2: {
              obj.signature = reader.bytes()
              break
            }
            case 3: {
              obj.shareSignatureAggregate = reader.bytes()
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
                field: `${prefix}.lockHash`,
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
            case 3: {
              yield {
                field: `${prefix}.shareSignatureAggregate`,
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

  export interface LockSignatureLockHashFieldEvent {
    field: '$.lockHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LockSignatureSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface LockSignatureShareSignatureAggregateFieldEvent {
    field: '$.shareSignatureAggregate'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<LockSignature>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, LockSignature.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LockSignature>): LockSignature {
    return decodeMessage(buf, LockSignature.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LockSignature>): Generator<LockSignatureLockHashFieldEvent | LockSignatureSignatureFieldEvent | LockSignatureShareSignatureAggregateFieldEvent> {
    return streamMessage(buf, LockSignature.codec(), opts)
  }
}

export interface Confirm {
  lockHash: Uint8Array<ArrayBuffer>
}

export namespace Confirm {
  let _codec: Codec<Confirm>

  export const codec = (): Codec<Confirm> => {
    if (_codec == null) {
      _codec = message<Confirm>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.lockHash != null && obj.lockHash.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.lockHash)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          lockHash: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.lockHash = reader.bytes()
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
                field: `${prefix}.lockHash`,
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

  export interface ConfirmLockHashFieldEvent {
    field: '$.lockHash'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Confirm>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Confirm.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Confirm>): Confirm {
    return decodeMessage(buf, Confirm.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Confirm>): Generator<ConfirmLockHashFieldEvent> {
    return streamMessage(buf, Confirm.codec(), opts)
  }
}

export interface Abort {
  code: string
  step: number
  culprits: number[]
  detail: string
  evidence: Uint8Array<ArrayBuffer>[]
}

export namespace Abort {
  let _codec: Codec<Abort>

  export const codec = (): Codec<Abort> => {
    if (_codec == null) {
      _codec = message<Abort>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.code != null && obj.code !== '')) {
          w.uint32(10)
          w.string(obj.code)
        }

        if ((obj.step != null && obj.step !== 0)) {
          w.uint32(16)
          w.uint32(obj.step)
        }

        if (obj.culprits != null && obj.culprits.length > 0) {
          for (const value of obj.culprits) {
            w.uint32(24)
            w.uint32(value)
          }
        }

        if ((obj.detail != null && obj.detail !== '')) {
          w.uint32(34)
          w.string(obj.detail)
        }

        if (obj.evidence != null && obj.evidence.length > 0) {
          for (const value of obj.evidence) {
            w.uint32(42)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          code: '',
          step: 0,
          culprits: [],
          detail: '',
          evidence: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.code = reader.string()
              break
            }
            case 2: {
              obj.step = reader.uint32()
              break
            }
            case 3: {
              if (opts.limits?.culprits != null && obj.culprits.length === opts.limits.culprits) {
                throw new MaxLengthError('Decode error - repeated field "culprits" had too many elements')
              }

              obj.culprits.push(reader.uint32())
              break
            }
            case 4: {
              obj.detail = reader.string()
              break
            }
            case 5: {
              if (opts.limits?.evidence != null && obj.evidence.length === opts.limits.evidence) {
                throw new MaxLengthError('Decode error - repeated field "evidence" had too many elements')
              }

              obj.evidence.push(reader.bytes())
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
          culprits: 0,
          evidence: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.code`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.step`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              if (opts.limits?.culprits != null && obj.culprits === opts.limits.culprits) {
                throw new MaxLengthError('Streaming decode error - repeated field "culprits" had too many elements')
              }

              yield {
                field: `${prefix}.culprits[]`,
                index: obj.culprits,
                value: reader.uint32()
              }

              obj.culprits++

              break
            }
            case 4: {
              yield {
                field: `${prefix}.detail`,
                value: reader.string()
              }
              break
            }
            case 5: {
              if (opts.limits?.evidence != null && obj.evidence === opts.limits.evidence) {
                throw new MaxLengthError('Streaming decode error - repeated field "evidence" had too many elements')
              }

              yield {
                field: `${prefix}.evidence[]`,
                index: obj.evidence,
                value: reader.bytes()
              }

              obj.evidence++

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

  export interface AbortCodeFieldEvent {
    field: '$.code'
    value: string
  }

  export interface AbortStepFieldEvent {
    field: '$.step'
    value: number
  }

  export interface AbortCulpritsFieldEvent {
    field: '$.culprits[]'
    index: number
    value: number
  }

  export interface AbortDetailFieldEvent {
    field: '$.detail'
    value: string
  }

  export interface AbortEvidenceFieldEvent {
    field: '$.evidence[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Abort>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Abort.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Abort>): Abort {
    return decodeMessage(buf, Abort.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Abort>): Generator<AbortCodeFieldEvent | AbortStepFieldEvent | AbortCulpritsFieldEvent | AbortDetailFieldEvent | AbortEvidenceFieldEvent> {
    return streamMessage(buf, Abort.codec(), opts)
  }
}
