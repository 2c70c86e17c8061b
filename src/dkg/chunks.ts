/**
 * Chunked envelopes (issue 9, bounded peers): an encoded `Envelope` travels on one stream as numbered
 * chunks, each frame at most `DKG_MAX_FRAME_BYTES` whatever the number of validators, then one ack.
 * Every chunk header binds the attempt session, sender, step, total length and chunk count; the
 * receiver checks the total against the step's maximum (src/dkg/limits.ts) before it allocates, and
 * hands the reassembled envelope up byte for byte, so signatures and evidence are unaffected.
 *
 * Frame layout, integers unsigned big-endian:
 * `session (32) ‖ sender u32 ‖ step u32 ‖ total_bytes u32 ‖ count u32 ‖ index u32 ‖ data`.
 */
import { bytesEqual } from "../lib/bytes.js";
import { DKG_MAX_FRAME_BYTES } from "./protocols.js";

/** Bytes of a chunk header. */
export const CHUNK_HEADER_BYTES = 52;
/** Most data bytes one chunk carries. */
export const MAX_CHUNK_DATA_BYTES = DKG_MAX_FRAME_BYTES - CHUNK_HEADER_BYTES;

/** The header of one chunk. */
export interface ChunkHeader {
  /** The attempt session, 32 bytes. */
  session: Uint8Array;
  /** 1-based share index of the sender. */
  sender: number;
  /** Ceremony step of the envelope, ≥ 1 (0 for an abort, whose payload names its step). */
  step: number;
  /** Length of the whole encoded envelope, bytes. */
  totalBytes: number;
  /** Number of chunks of the envelope, ≥ 1. */
  count: number;
  /** 0-based position of this chunk. */
  index: number;
}

/** One decoded chunk frame. */
export interface Chunk {
  header: ChunkHeader;
  /** View into the frame. */
  data: Uint8Array;
}

const U32_MAX = 0xffff_ffff;

function u32(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > U32_MAX) throw new RangeError(`"${name}" must be a u32, got ${v}`);
  return v;
}

/**
 * Encodes one chunk frame: header ‖ data.
 * @throws RangeError when `session` is not 32 bytes, a field is not a u32, or the frame would exceed
 *   `DKG_MAX_FRAME_BYTES`
 */
export function encodeChunk(h: ChunkHeader, data: Uint8Array): Uint8Array {
  if (h.session.length !== 32) throw new RangeError(`"session" must be 32 bytes, got ${h.session.length}`);
  if (data.length > MAX_CHUNK_DATA_BYTES) {
    throw new RangeError(`"data" must be at most ${MAX_CHUNK_DATA_BYTES} bytes, got ${data.length}`);
  }
  const out = new Uint8Array(CHUNK_HEADER_BYTES + data.length);
  const view = new DataView(out.buffer);
  out.set(h.session, 0);
  view.setUint32(32, u32("sender", h.sender), false);
  view.setUint32(36, u32("step", h.step), false);
  view.setUint32(40, u32("totalBytes", h.totalBytes), false);
  view.setUint32(44, u32("count", h.count), false);
  view.setUint32(48, u32("index", h.index), false);
  out.set(data, CHUNK_HEADER_BYTES);
  return out;
}

/**
 * Decodes a chunk frame; `data` is a view into `frame`.
 * @throws RangeError when the frame is shorter than a header
 */
export function decodeChunk(frame: Uint8Array): Chunk {
  if (frame.length < CHUNK_HEADER_BYTES) {
    throw new RangeError(`chunk frame must be at least ${CHUNK_HEADER_BYTES} bytes, got ${frame.length}`);
  }
  const view = new DataView(frame.buffer, frame.byteOffset, frame.length);
  return {
    header: {
      session: frame.subarray(0, 32),
      sender: view.getUint32(32, false),
      step: view.getUint32(36, false),
      totalBytes: view.getUint32(40, false),
      count: view.getUint32(44, false),
      index: view.getUint32(48, false),
    },
    data: frame.subarray(CHUNK_HEADER_BYTES),
  };
}

/** Chunks of `chunkBytes` data each that `totalBytes` needs (at least one, for an empty envelope). */
export function chunkCount(totalBytes: number, chunkBytes: number): number {
  return Math.max(1, Math.ceil(totalBytes / chunkBytes));
}

/**
 * The frames of `envelope`, in order, built one at a time (the sender never holds two copies).
 * @param chunkBytes data bytes per chunk, 1 … {@link MAX_CHUNK_DATA_BYTES}
 * @throws RangeError for a `chunkBytes` out of range, or an envelope over 4 GiB
 */
export function* chunkFrames(
  h: { session: Uint8Array; sender: number; step: number },
  envelope: Uint8Array,
  chunkBytes: number,
): Generator<Uint8Array> {
  checkChunkBytes(chunkBytes);
  const count = chunkCount(envelope.length, chunkBytes);
  for (let index = 0; index < count; index++) {
    const data = envelope.subarray(index * chunkBytes, Math.min(envelope.length, (index + 1) * chunkBytes));
    yield encodeChunk({ ...h, totalBytes: envelope.length, count, index }, data);
  }
}

/** @throws RangeError unless 1 ≤ `chunkBytes` ≤ {@link MAX_CHUNK_DATA_BYTES} */
export function checkChunkBytes(chunkBytes: number): void {
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > MAX_CHUNK_DATA_BYTES) {
    throw new RangeError(`"chunkBytes" must be an integer in 1 … ${MAX_CHUNK_DATA_BYTES}, got ${chunkBytes}`);
  }
}

/** A refused chunk: the message says why, for the fault report and the refusal ack. */
export class ChunkRefused extends RangeError {
  override readonly name = "ChunkRefused";
}

/**
 * Reassembles one envelope from its chunks, which must arrive in order on one stream. The buffer,
 * of exactly the announced total, is allocated only after that total passed `maxTotalBytes`.
 */
export class Reassembly {
  private readonly first: ChunkHeader;
  private readonly buf: Uint8Array;
  private next = 0;
  private offset = 0;

  /**
   * Starts from the first chunk's header.
   * @param maxTotalBytes the most this step's envelope may hold (src/dkg/limits.ts)
   * @throws ChunkRefused when the header is not of a first chunk, announces more than `maxTotalBytes`,
   *   or a chunk count that cannot carry the total
   */
  constructor(first: ChunkHeader, maxTotalBytes: number) {
    if (first.index !== 0) throw new ChunkRefused(`first chunk has index ${first.index}`);
    if (first.totalBytes > maxTotalBytes) {
      throw new ChunkRefused(
        `envelope for step ${first.step} announces ${first.totalBytes} bytes, more than the ${maxTotalBytes} this step allows`,
      );
    }
    if (first.count < 1) throw new ChunkRefused("envelope announces 0 chunks");
    if (first.count > Math.max(1, first.totalBytes)) {
      throw new ChunkRefused(`envelope announces ${first.count} chunks for ${first.totalBytes} bytes`);
    }
    if (first.count < chunkCount(first.totalBytes, MAX_CHUNK_DATA_BYTES)) {
      throw new ChunkRefused(
        `envelope announces ${first.count} chunks for ${first.totalBytes} bytes: frames of ${MAX_CHUNK_DATA_BYTES} data bytes need more`,
      );
    }
    this.first = { ...first, session: Uint8Array.from(first.session) };
    this.buf = new Uint8Array(first.totalBytes);
  }

  /** Chunks received so far. */
  get received(): number {
    return this.next;
  }

  /**
   * Adds the next chunk.
   * @returns the whole envelope once its last chunk arrived, else undefined
   * @throws ChunkRefused on a chunk whose header disagrees with the first, out of order or repeated,
   *   empty, past the announced total, or a last chunk that leaves it short
   */
  add(chunk: Chunk): Uint8Array | undefined {
    const h = chunk.header;
    const f = this.first;
    if (this.next >= f.count) throw new ChunkRefused(`chunk ${h.index} after the last of ${f.count}`);
    if (!bytesEqual(h.session, f.session) || h.sender !== f.sender || h.step !== f.step) {
      throw new ChunkRefused(`chunk ${h.index} is of another envelope than chunk 0 (session, sender or step differs)`);
    }
    if (h.totalBytes !== f.totalBytes || h.count !== f.count) {
      throw new ChunkRefused(
        `chunk ${h.index} announces ${h.totalBytes} bytes in ${h.count} chunks, chunk 0 ${f.totalBytes} in ${f.count}`,
      );
    }
    if (h.index < this.next) throw new ChunkRefused(`duplicate chunk ${h.index}`);
    if (h.index > this.next) throw new ChunkRefused(`chunk ${h.index} out of order (expected ${this.next})`);
    if (chunk.data.length === 0 && f.totalBytes > 0) throw new ChunkRefused(`chunk ${h.index} is empty`);
    const end = this.offset + chunk.data.length;
    if (end > f.totalBytes) throw new ChunkRefused(`chunks exceed the announced ${f.totalBytes} bytes`);
    const last = h.index === f.count - 1;
    if (last && end !== f.totalBytes) {
      throw new ChunkRefused(`last chunk ends at byte ${end} of the announced ${f.totalBytes}`);
    }
    if (!last && end === f.totalBytes) {
      throw new ChunkRefused(`chunk ${h.index} of ${f.count} already reaches the announced ${f.totalBytes} bytes`);
    }
    this.buf.set(chunk.data, this.offset);
    this.offset = end;
    this.next++;
    return last ? this.buf : undefined;
  }
}

/** First byte of an ack: the envelope was accepted (or was an exact duplicate). */
export const ACK_OK = 0x00;
/** First byte of an ack: the envelope was refused; UTF-8 reason follows. */
export const ACK_REJECTED = 0x01;
/** Longest reason carried in a refusal ack, characters. */
const ACK_REASON_MAX_CHARS = 200;

/** Encodes a delivery ack: `[ACK_OK]`, or `[ACK_REJECTED] ‖ utf8(reason)` when `reason` is given. */
export function encodeAck(reason?: string): Uint8Array {
  if (reason === undefined) return Uint8Array.of(ACK_OK);
  const text = new TextEncoder().encode(reason.slice(0, ACK_REASON_MAX_CHARS));
  const out = new Uint8Array(1 + text.length);
  out[0] = ACK_REJECTED;
  out.set(text, 1);
  return out;
}

/** Decodes an ack. @throws RangeError when empty or of unknown kind */
export function decodeAck(bytes: Uint8Array): { ok: true } | { ok: false; reason: string } {
  if (bytes.length === 1 && bytes[0] === ACK_OK) return { ok: true };
  if (bytes.length >= 1 && bytes[0] === ACK_REJECTED)
    return { ok: false, reason: new TextDecoder().decode(bytes.subarray(1)) };
  throw new RangeError(`"ack" must be [0x00] or 0x01 ‖ reason, got ${bytes.length} bytes`);
}
