/**
 * Request/response over one long-lived stream per peer and protocol. Opening a libp2p stream costs
 * a yamux SYN/ACK, a multistream-select negotiation and FIN frames, each Noise-encrypted; at
 * runtime a node asks its peers for partial signatures many times a slot, so requests share one
 * stream. Responses may come back in any order.
 *
 * Each length-prefixed message (a frame) carries one or more entries: an 8-byte big-endian request
 * id, a 4-byte big-endian payload length, the payload. Requests made in one event-loop turn go out
 * in one frame, and so do responses finished in one turn: under load, the per-message cost of
 * yamux, Noise and TCP (a window update and two writes per frame) is paid once per batch.
 */

import type { Logger } from "../lib/logger.js";
import type { Host, RequestHandler } from "./host.js";
import { P2pError, type P2pStream } from "./stream.js";

/** An idle channel stream is closed after this long, ms (below setTimeout's 2^31 limit). */
export const CHANNEL_IDLE_TIMEOUT_MS = 24 * 60 * 60 * 1000;
/** Channel streams a peer may hold open to this node per protocol. */
export const CHANNEL_MAX_STREAMS = 8;
/** Requests a peer may have in flight on one channel; more are answered only as earlier ones finish. */
export const CHANNEL_MAX_INFLIGHT = 256;
const ID_BYTES = 8;
const ENTRY_HEADER_BYTES = ID_BYTES + 4;

/** One request or response in a frame. */
export interface ChannelEntry {
  id: bigint;
  payload: Uint8Array;
}

/**
 * Packs entries into frames of at most `maxBytes` each, in order.
 * @throws RangeError when one entry alone exceeds `maxBytes`
 */
export function encodeFrames(
  entries: readonly ChannelEntry[],
  maxBytes: number,
): { bytes: Uint8Array; ids: bigint[] }[] {
  const frames: { bytes: Uint8Array; ids: bigint[] }[] = [];
  let batch: ChannelEntry[] = [];
  let size = 0;
  const flush = () => {
    if (batch.length === 0) return;
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    let o = 0;
    for (const e of batch) {
      view.setBigUint64(o, e.id, false);
      view.setUint32(o + ID_BYTES, e.payload.length, false);
      out.set(e.payload, o + ENTRY_HEADER_BYTES);
      o += ENTRY_HEADER_BYTES + e.payload.length;
    }
    frames.push({ bytes: out, ids: batch.map((e) => e.id) });
    batch = [];
    size = 0;
  };
  for (const e of entries) {
    const bytes = ENTRY_HEADER_BYTES + e.payload.length;
    if (bytes > maxBytes)
      throw new RangeError(`channel entry of ${bytes} bytes exceeds the ${maxBytes}-byte frame limit`);
    if (size + bytes > maxBytes) flush();
    batch.push(e);
    size += bytes;
  }
  flush();
  return frames;
}

/**
 * Splits a frame into its entries; payloads are copies (protobuf decoders here do not honour a
 * view's byteOffset).
 * @throws RangeError on a truncated entry or an empty frame
 */
export function decodeFrame(bytes: Uint8Array): ChannelEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const entries: ChannelEntry[] = [];
  let o = 0;
  while (o < bytes.length) {
    if (bytes.length - o < ENTRY_HEADER_BYTES) {
      throw new RangeError(`channel entry header truncated: ${bytes.length - o} of ${ENTRY_HEADER_BYTES} bytes`);
    }
    const id = view.getBigUint64(o, false);
    const length = view.getUint32(o + ID_BYTES, false);
    const start = o + ENTRY_HEADER_BYTES;
    if (length > bytes.length - start) {
      throw new RangeError(`channel entry of ${length} bytes truncated to ${bytes.length - start}`);
    }
    entries.push({ id, payload: bytes.slice(start, start + length) });
    o = start + length;
  }
  if (entries.length === 0) throw new RangeError("empty channel frame");
  return entries;
}

/**
 * Collects entries and writes them as frames once per event-loop turn, in order, one write at a
 * time. A failed write is reported with the ids it carried.
 */
class FrameWriter {
  #queue: ChannelEntry[] = [];
  #scheduled = false;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly stream: P2pStream,
    private readonly onError: (ids: bigint[], err: unknown) => void,
    private readonly opts: {
      signal?: AbortSignal;
      /** False for an entry no longer wanted when its frame is built (a request whose caller gave up). */
      keep?: (id: bigint) => boolean;
    } = {},
  ) {}

  push(entry: ChannelEntry): void {
    this.#queue.push(entry);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    const keep = this.opts.keep;
    const max = this.stream.maxMessageBytes;
    const entries: ChannelEntry[] = [];
    for (const e of this.#queue) {
      if (keep !== undefined && !keep(e.id)) continue;
      // an entry too large for any frame fails alone; the others still go out
      if (ENTRY_HEADER_BYTES + e.payload.length > max) {
        this.onError(
          [e.id],
          new RangeError(
            `channel entry of ${ENTRY_HEADER_BYTES + e.payload.length} bytes exceeds the ${max}-byte frame limit`,
          ),
        );
      } else entries.push(e);
    }
    this.#queue = [];
    if (entries.length === 0) return;
    for (const f of encodeFrames(entries, max)) {
      this.#writing = this.#writing
        .then(() => this.stream.write(f.bytes, { signal: this.opts.signal }))
        .catch((err: unknown) => this.onError(f.ids, err));
    }
  }

  /** Resolves once everything pushed so far is written (or failed). */
  async drain(): Promise<void> {
    while (this.#scheduled || this.#queue.length > 0) await new Promise((r) => setImmediate(r));
    await this.#writing;
  }
}

/**
 * The frames a peer sends on `stream`, until it closes its side. A read error (idle for
 * {@link CHANNEL_IDLE_TIMEOUT_MS}, a frame over the protocol's cap) is thrown. No abort signal:
 * the host's stop closes the stream, and a signal costs listeners per read.
 */
async function* framesOf(stream: P2pStream): AsyncGenerator<Uint8Array> {
  for (;;) {
    try {
      yield await stream.read({ timeoutMs: CHANNEL_IDLE_TIMEOUT_MS });
    } catch (err) {
      if (err instanceof P2pError && err.code === "STREAM_CLOSED") return;
      throw err;
    }
  }
}

/**
 * Serves `protocol` as a channel: every entry read is answered by `handler` with an entry of the
 * same id. Handlers run concurrently (up to {@link CHANNEL_MAX_INFLIGHT}); a malformed frame ends
 * that peer's stream, never the node.
 */
export async function serveChannel(host: Host, protocol: string, handler: RequestHandler, log: Logger): Promise<void> {
  await host.handle(
    protocol,
    async (stream, { signal }) => {
      const out = new FrameWriter(
        stream,
        (_ids, err) => {
          log.debug({ peer_id: stream.remotePeer, protocol, err: (err as Error).message }, "channel write failed");
          stream.abort(err instanceof Error ? err : new Error(String(err)));
        },
        { signal },
      );
      const inflight = new Set<Promise<void>>();
      for await (const bytes of framesOf(stream)) {
        for (const { id, payload } of decodeFrame(bytes)) {
          while (inflight.size >= CHANNEL_MAX_INFLIGHT) await Promise.race(inflight);
          const task = (async () => {
            const response = await handler(
              { peer: stream.remotePeer, connectionId: stream.connectionId, bytes: payload },
              { signal },
            );
            out.push({ id, payload: response });
          })().catch((err: unknown) => {
            log.debug({ peer_id: stream.remotePeer, protocol, err: (err as Error).message }, "channel request failed");
            stream.abort(err instanceof Error ? err : new Error(String(err)));
          });
          inflight.add(task);
          void task.finally(() => inflight.delete(task));
        }
      }
      await Promise.all(inflight);
      await out.drain();
      await stream.close({ signal });
    },
    { timeoutMs: CHANNEL_IDLE_TIMEOUT_MS, maxStreams: CHANNEL_MAX_STREAMS },
  );
}

interface Pending {
  resolve: (b: Uint8Array) => void;
  reject: (e: unknown) => void;
}

/** The requesting side of a channel to one peer: opens the stream on first use and after a failure. */
export class ChannelClient {
  #stream: Promise<{ stream: P2pStream; writer: FrameWriter }> | undefined;
  /** The open stream's writer, once open: requests then queue synchronously (see `request`). */
  #ready: FrameWriter | undefined;
  #nextId = 1n;
  readonly #pending = new Map<bigint, Pending>();

  constructor(
    private readonly host: Host,
    private readonly peer: string,
    private readonly protocol: string,
  ) {}

  #open() {
    if (this.#stream !== undefined) return this.#stream;
    const opening = this.host
      .openStream(this.peer, this.protocol, { timeoutMs: CHANNEL_IDLE_TIMEOUT_MS })
      .then((stream) => {
        const writer = new FrameWriter(
          stream,
          (ids, err) => {
            for (const id of ids) {
              this.#pending.get(id)?.reject(err);
              this.#pending.delete(id);
            }
          },
          { keep: (id) => this.#pending.has(id) },
        );
        void this.#readLoop(stream, opening);
        if (this.#stream === opening) this.#ready = writer;
        return { stream, writer };
      });
    this.#stream = opening;
    opening.catch(() => {
      if (this.#stream === opening) {
        this.#stream = undefined;
        this.#ready = undefined;
      }
    });
    return opening;
  }

  async #readLoop(stream: P2pStream, opening: Promise<unknown>): Promise<void> {
    try {
      for (;;) {
        for (const { id, payload } of decodeFrame(await stream.read({ timeoutMs: CHANNEL_IDLE_TIMEOUT_MS }))) {
          const p = this.#pending.get(id);
          this.#pending.delete(id);
          p?.resolve(payload);
        }
      }
    } catch (err) {
      if (this.#stream === opening) {
        this.#stream = undefined;
        this.#ready = undefined;
      }
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      for (const [id, p] of this.#pending) {
        this.#pending.delete(id);
        p.reject(err);
      }
    }
  }

  /**
   * Sends `bytes` and resolves with the peer's answer. Requests made in the same event-loop turn
   * share one frame. On an open stream the request is queued before this returns, so its frame is
   * written ahead of anything the caller schedules next (a slashing-database commit, say).
   * @throws P2pError when the stream cannot be opened or fails; the signal's reason when aborted
   */
  request(bytes: Uint8Array, opts: { signal: AbortSignal }): Promise<Uint8Array> {
    if (opts.signal.aborted) return Promise.reject(opts.signal.reason);
    if (this.#ready !== undefined) return this.#send(this.#ready, bytes, opts.signal);
    return this.#open().then(({ writer }) => {
      // the caller may have given up while the stream was opening
      opts.signal.throwIfAborted();
      return this.#send(writer, bytes, opts.signal);
    });
  }

  #send(writer: FrameWriter, bytes: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    const id = this.#nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      const onAbort = () => {
        this.#pending.delete(id);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(id, {
        resolve: (b) => {
          signal.removeEventListener("abort", onAbort);
          resolve(b);
        },
        reject: (e) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      });
      writer.push({ id, payload: bytes });
    });
  }
}

/** Messages a one-way sender holds for a peer that is not keeping up; past it, new ones are dropped. */
export const ONE_WAY_MAX_QUEUED = 1_024;
/** Bytes a one-way sender holds for a peer that is not keeping up; past it, new messages are dropped. */
export const ONE_WAY_MAX_QUEUED_BYTES = 32 * 1024 * 1024;

/**
 * Serves `protocol` as a one-way channel: each message read is handed to `onMessage` with the
 * Noise-authenticated sender; nothing is answered. A malformed or oversized message ends that
 * peer's stream, never the node.
 */
export async function serveOneWay(
  host: Host,
  protocol: string,
  onMessage: (peer: string, bytes: Uint8Array) => void,
  log: Logger,
): Promise<void> {
  await host.handle(
    protocol,
    async (stream) => {
      for await (const bytes of framesOf(stream)) {
        try {
          onMessage(stream.remotePeer, bytes);
        } catch (err) {
          log.debug({ peer_id: stream.remotePeer, protocol, err: (err as Error).message }, "one-way message failed");
        }
      }
    },
    { timeoutMs: CHANNEL_IDLE_TIMEOUT_MS, maxStreams: CHANNEL_MAX_STREAMS },
  );
}

/**
 * The sending side of a one-way channel to one peer: one long-lived stream, opened on first use
 * and again after a failure; messages go out in order. Delivery is best effort: a message that
 * cannot be written is dropped (agreement recovers by its round changes).
 */
export class OneWaySender {
  #stream: Promise<P2pStream> | undefined;
  #writing: Promise<void> = Promise.resolve();
  #queued = 0;
  #queuedBytes = 0;

  constructor(
    private readonly host: Host,
    private readonly peer: string,
    private readonly protocol: string,
    private readonly onDrop: (err: unknown) => void = () => {},
  ) {}

  /** Queues `bytes` for the peer; returns at once. */
  send(bytes: Uint8Array): void {
    if (this.#queued >= ONE_WAY_MAX_QUEUED || this.#queuedBytes + bytes.length > ONE_WAY_MAX_QUEUED_BYTES) {
      this.onDrop(
        new RangeError(
          `more than ${ONE_WAY_MAX_QUEUED} messages or ${ONE_WAY_MAX_QUEUED_BYTES} bytes queued for ${this.peer}`,
        ),
      );
      return;
    }
    this.#queued += 1;
    this.#queuedBytes += bytes.length;
    this.#writing = this.#writing
      .then(async () => {
        this.#stream ??= this.host.openStream(this.peer, this.protocol, { timeoutMs: CHANNEL_IDLE_TIMEOUT_MS });
        const opening = this.#stream;
        try {
          await (await opening).write(bytes);
        } catch (err) {
          if (this.#stream === opening) this.#stream = undefined;
          opening.then(
            (s) => s.abort(err instanceof Error ? err : new Error(String(err))),
            () => undefined,
          );
          throw err;
        }
      })
      .catch((err: unknown) => this.onDrop(err))
      .finally(() => {
        this.#queued -= 1;
        this.#queuedBytes -= bytes.length;
      });
  }
}
