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

const KiB = 1024;
const MiB = 1024 * KiB;

/** An idle channel stream is closed after this long, ms (below setTimeout's 2^31 limit). */
export const CHANNEL_IDLE_TIMEOUT_MS = 24 * 60 * 60 * 1000;
/**
 * Streams one peer may hold open to this node per protocol, across all its connections (a node
 * uses one per peer and protocol; a reconnect briefly overlaps the old one). Past it, a new stream
 * is reset with reason `too_many_streams`.
 */
export const CHANNEL_MAX_STREAMS = 8;
/**
 * Entries one channel frame may carry; checked from the entry headers before any entry is
 * allocated, and senders split their frames at it. A runtime parsig request names a duty in about
 * 140 bytes (a 1 MiB frame holds about 7,000), a signed answer is about 110 bytes: 4,096 entries
 * per frame keeps a decoded frame under 1 MiB of payload plus 4,096 small objects, and one slot's
 * burst of 10,000 requests goes out in three frames.
 */
export const CHANNEL_MAX_ENTRIES = 4_096;
/**
 * Requests one peer may have in flight on a channel protocol, across all its streams and
 * connections: read and not yet answered on the wire (handling, or an answer queued because the
 * peer does not read). Past it, this node stops reading that peer's streams until answers drain:
 * later requests wait in the peer's own send buffer, none is dropped. Sized for one slot's burst at
 * 10,000 validators: a peer asks this node for at most one partial per validator and duty it signs,
 * and in one slot 10,000 validators have about 10,000 / 32 = 313 attestations, as many aggregation
 * selection proofs and a few aggregates, at most 512 sync-committee members with a message, a
 * selection proof and a contribution each, and a proposal: about 2,200 requests, most of which wait
 * here until this node decided the duty too. An epoch's 10,000 registrations need no agreement and
 * are answered as fast as this node signs. Each waiting request costs about 6 KiB of heap (its
 * handler's state and timer): 4,096 of them about 25 MiB.
 */
export const CHANNEL_PEER_MAX_INFLIGHT = 4_096;
/**
 * Request bytes one peer may have in flight on a channel protocol: 4,096 requests of 1 KiB each (a
 * decided-duty request is about 140 bytes, a registration's JSON about 500). Past it, reading pauses.
 */
export const CHANNEL_PEER_MAX_INFLIGHT_BYTES = 4 * MiB;
/**
 * Answer bytes queued for one peer and not yet written (it does not read, or reads slowly): two
 * frames, four times 4,096 answers of about 110 bytes each. Past it, reading pauses.
 */
export const CHANNEL_PEER_MAX_QUEUED_BYTES = 2 * MiB;
const ID_BYTES = 8;
const ENTRY_HEADER_BYTES = ID_BYTES + 4;

/** Why a serving side ended a peer's stream: the `reason` label of the per-peer counters. */
export type ChannelRefusalReason =
  /** A frame's length prefix announced more than the protocol's cap. */
  | "too_large"
  /** A frame carried more than {@link CHANNEL_MAX_ENTRIES} entries. */
  | "too_many_entries"
  /** A frame was empty or an entry truncated, or the length prefix was not a varint. */
  | "malformed"
  /** The peer already held {@link CHANNEL_MAX_STREAMS} streams on the protocol. */
  | "too_many_streams"
  /** The stream idled past {@link CHANNEL_IDLE_TIMEOUT_MS}. */
  | "timeout"
  /** An answer could not be written, or a handler failed. */
  | "failed";

/** A peer's frame or stream refused by the channel layer, with the reason counted in metrics. */
export class ChannelRefusal extends RangeError {
  constructor(
    readonly reason: ChannelRefusalReason,
    message: string,
  ) {
    super(message);
    this.name = "ChannelRefusal";
  }
}

/**
 * Per-peer counters of the serving side. `peer` is the remote peer ID (base58): only allow-listed
 * peers connect, so labels derived from it are bounded.
 */
export interface ChannelMetrics {
  /** One frame read from `peer`, of `bytes` bytes. */
  frameReceived(peer: string, protocol: string, bytes: number): void;
  /** A frame of `peer` refused (over a cap, or malformed); its stream is reset too. */
  frameRefused(peer: string, protocol: string, reason: "too_large" | "too_many_entries" | "malformed"): void;
  /** A stream of `peer` ended by this node: a refused frame or stream, an idle timeout, a failure. */
  streamReset(peer: string, protocol: string, reason: ChannelRefusalReason): void;
}

/** The load one peer puts on a served channel protocol, for gauges. */
export interface ChannelPeerLoad {
  /** Streams open. */
  streams: number;
  /** Requests read and not yet answered on the wire. */
  inflight: number;
  /** Answers built and not yet written, and their bytes. */
  queuedAnswers: number;
  queuedAnswerBytes: number;
  /** True while this node does not read that peer's streams (a cap is reached). */
  paused: boolean;
}

/** A served protocol: the current load of every peer with a stream or work on it. */
export interface ChannelServer {
  load(): ReadonlyMap<string, ChannelPeerLoad>;
}

/** Options of {@link serveChannel} and {@link serveOneWay}. */
export interface ServeOpts {
  metrics?: ChannelMetrics;
}

/** Options of {@link serveOneWay}. */
export interface ServeOneWayOpts extends ServeOpts {
  /**
   * A budget per peer in the units `onMessage` returns (entries, say): `perSecond` sustained,
   * `burst` at once. A peer over it is not read until the budget is positive again.
   */
  rate?: { perSecond: number; burst: number };
}

/** One request or response in a frame. */
export interface ChannelEntry {
  id: bigint;
  payload: Uint8Array;
}

/**
 * Packs entries into frames of at most `maxBytes` and `maxEntries` each, in order.
 * @throws RangeError when one entry alone exceeds `maxBytes`
 */
export function encodeFrames(
  entries: readonly ChannelEntry[],
  maxBytes: number,
  maxEntries = CHANNEL_MAX_ENTRIES,
): { bytes: Uint8Array; ids: bigint[]; payloadBytes: number }[] {
  const frames: { bytes: Uint8Array; ids: bigint[]; payloadBytes: number }[] = [];
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
    frames.push({ bytes: out, ids: batch.map((e) => e.id), payloadBytes: size - batch.length * ENTRY_HEADER_BYTES });
    batch = [];
    size = 0;
  };
  for (const e of entries) {
    const bytes = ENTRY_HEADER_BYTES + e.payload.length;
    if (bytes > maxBytes)
      throw new RangeError(`channel entry of ${bytes} bytes exceeds the ${maxBytes}-byte frame limit`);
    if (size + bytes > maxBytes || batch.length >= maxEntries) flush();
    batch.push(e);
    size += bytes;
  }
  flush();
  return frames;
}

/**
 * Splits a frame into its entries; payloads are copies (protobuf decoders here do not honour a
 * view's byteOffset). The entry headers are walked first, so a frame over `maxEntries` is refused
 * before any entry is allocated.
 * @throws ChannelRefusal "too_many_entries" past `maxEntries`; "malformed" on a truncated entry or an empty frame
 */
export function decodeFrame(bytes: Uint8Array, maxEntries = CHANNEL_MAX_ENTRIES): ChannelEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let count = 0;
  for (let o = 0; o < bytes.length; count++) {
    if (count >= maxEntries) {
      throw new ChannelRefusal("too_many_entries", `channel frame carries more than ${maxEntries} entries`);
    }
    if (bytes.length - o < ENTRY_HEADER_BYTES) {
      throw new ChannelRefusal(
        "malformed",
        `channel entry header truncated: ${bytes.length - o} of ${ENTRY_HEADER_BYTES} bytes`,
      );
    }
    const length = view.getUint32(o + ID_BYTES, false);
    const start = o + ENTRY_HEADER_BYTES;
    if (length > bytes.length - start) {
      throw new ChannelRefusal("malformed", `channel entry of ${length} bytes truncated to ${bytes.length - start}`);
    }
    o = start + length;
  }
  if (count === 0) throw new ChannelRefusal("malformed", "empty channel frame");
  const entries = new Array<ChannelEntry>(count);
  for (let i = 0, o = 0; i < count; i++) {
    const length = view.getUint32(o + ID_BYTES, false);
    const start = o + ENTRY_HEADER_BYTES;
    entries[i] = { id: view.getBigUint64(o, false), payload: bytes.slice(start, start + length) };
    o = start + length;
  }
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
      /** Called once per pushed entry batch when its frame was written, failed, or the entries were dropped. */
      settled?: (entries: number, payloadBytes: number) => void;
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
    const { keep, settled } = this.opts;
    const max = this.stream.maxMessageBytes;
    const entries: ChannelEntry[] = [];
    for (const e of this.#queue) {
      if (keep !== undefined && !keep(e.id)) {
        settled?.(1, e.payload.length);
        continue;
      }
      // an entry too large for any frame fails alone; the others still go out
      if (ENTRY_HEADER_BYTES + e.payload.length > max) {
        this.onError(
          [e.id],
          new RangeError(
            `channel entry of ${ENTRY_HEADER_BYTES + e.payload.length} bytes exceeds the ${max}-byte frame limit`,
          ),
        );
        settled?.(1, e.payload.length);
      } else entries.push(e);
    }
    this.#queue = [];
    if (entries.length === 0) return;
    for (const f of encodeFrames(entries, max)) {
      this.#writing = this.#writing
        .then(() => this.stream.write(f.bytes, { signal: this.opts.signal }))
        .catch((err: unknown) => this.onError(f.ids, err))
        .finally(() => settled?.(f.ids.length, f.payloadBytes));
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

/** The reason a stream's failure is counted under. */
function refusalReason(err: unknown): ChannelRefusalReason {
  if (err instanceof ChannelRefusal) return err.reason;
  if (err instanceof P2pError) {
    if (err.type.code === "MESSAGE_TOO_LARGE") return "too_large";
    if (err.type.code === "MALFORMED_FRAME") return "malformed";
    if (err.type.code === "READ_TIMEOUT") return "timeout";
  }
  return "failed";
}

/** Counts a stream this node ends, and the frame that made it, if one did. */
function countReset(metrics: ChannelMetrics | undefined, peer: string, protocol: string, err: unknown): void {
  if (metrics === undefined) return;
  const reason = refusalReason(err);
  if (reason === "too_large" || reason === "too_many_entries" || reason === "malformed") {
    metrics.frameRefused(peer, protocol, reason);
  }
  metrics.streamReset(peer, protocol, reason);
}

/**
 * One peer's load on one served protocol, across all its streams and connections, with the caps
 * that pause reading. Waiters are that peer's streams, so at most {@link CHANNEL_MAX_STREAMS}.
 */
class PeerLoad implements ChannelPeerLoad {
  streams = 0;
  /** One-way protocols' rate budget, in `onMessage`'s units, and when it was last refilled (ms). */
  tokens = Number.NaN;
  refilledAt = 0;
  inflight = 0;
  inflightBytes = 0;
  queuedAnswers = 0;
  queuedAnswerBytes = 0;
  #waiters: (() => void)[] = [];

  get paused(): boolean {
    return this.#waiters.length > 0;
  }

  get full(): boolean {
    return (
      this.inflight >= CHANNEL_PEER_MAX_INFLIGHT ||
      this.inflightBytes >= CHANNEL_PEER_MAX_INFLIGHT_BYTES ||
      this.queuedAnswerBytes >= CHANNEL_PEER_MAX_QUEUED_BYTES
    );
  }

  /** Resolves once the peer is under every cap (at once when it is). */
  room(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** A request read: it holds a slot until its answer is written. */
  take(bytes: number): void {
    this.inflight += 1;
    this.inflightBytes += bytes;
  }

  /** A request handled: its bytes are released, its answer's are queued. */
  answered(requestBytes: number, answerBytes: number): void {
    this.inflightBytes -= requestBytes;
    this.queuedAnswers += 1;
    this.queuedAnswerBytes += answerBytes;
    this.#wake();
  }

  /** A request that failed before it had an answer. */
  failed(requestBytes: number): void {
    this.inflightBytes -= requestBytes;
    this.inflight -= 1;
    this.#wake();
  }

  /** `count` answers of `bytes` in all were written (or failed to be). */
  written(count: number, bytes: number): void {
    this.queuedAnswers -= count;
    this.queuedAnswerBytes -= bytes;
    this.inflight -= count;
    this.#wake();
  }

  #wake(): void {
    if (this.#waiters.length === 0 || this.full) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

/**
 * Per-peer loads of one served protocol. Only allow-listed peers connect, so an entry is kept for
 * good: a peer cannot reset its rate budget by closing its streams.
 */
class PeerLoads {
  readonly #loads = new Map<string, PeerLoad>();

  /**
   * The peer's load with one more stream.
   * @throws ChannelRefusal too_many_streams (counted in `metrics`) when it holds {@link CHANNEL_MAX_STREAMS}
   */
  open(peer: string, protocol: string, metrics: ChannelMetrics | undefined): PeerLoad {
    let load = this.#loads.get(peer);
    if (load === undefined) {
      load = new PeerLoad();
      this.#loads.set(peer, load);
    }
    if (load.streams >= CHANNEL_MAX_STREAMS) {
      metrics?.streamReset(peer, protocol, "too_many_streams");
      throw new ChannelRefusal("too_many_streams", `${peer} already holds ${CHANNEL_MAX_STREAMS} ${protocol} streams`);
    }
    load.streams += 1;
    return load;
  }

  view(): ReadonlyMap<string, ChannelPeerLoad> {
    return this.#loads;
  }
}

/**
 * Serves `protocol` as a channel: every entry read is answered by `handler` with an entry of the
 * same id. Handlers run concurrently. Each peer is bounded across all its streams and connections:
 * {@link CHANNEL_MAX_STREAMS} streams, {@link CHANNEL_MAX_ENTRIES} entries a frame,
 * {@link CHANNEL_PEER_MAX_INFLIGHT} requests and {@link CHANNEL_PEER_MAX_INFLIGHT_BYTES} bytes in
 * flight, {@link CHANNEL_PEER_MAX_QUEUED_BYTES} of answers it has not read; at a cap, this node
 * stops reading that peer's streams until answers drain. A malformed frame ends that stream,
 * never the node.
 */
export async function serveChannel(
  host: Host,
  protocol: string,
  handler: RequestHandler,
  log: Logger,
  opts: ServeOpts = {},
): Promise<ChannelServer> {
  const loads = new PeerLoads();
  const metrics = opts.metrics;
  await host.handle(
    protocol,
    async (stream, { signal }) => {
      const peer = stream.remotePeer;
      const load = loads.open(peer, protocol, metrics);
      const out = new FrameWriter(
        stream,
        (_ids, err) => {
          log.debug({ peer_id: peer, protocol, err: (err as Error).message }, "channel write failed");
          stream.abort(err instanceof Error ? err : new Error(String(err)));
        },
        {
          signal,
          settled: (count, bytes) => load.written(count, bytes),
        },
      );
      const inflight = new Set<Promise<void>>();
      // the host's stop (or the stream's deadline) ends a wait for room: a peer that never reads its
      // answers would otherwise hold this handler, and the node's shutdown, until they all failed
      const stopped = new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener("abort", () => resolve(), { once: true });
      });
      try {
        for await (const bytes of framesOf(stream)) {
          metrics?.frameReceived(peer, protocol, bytes.length);
          for (const { id, payload } of decodeFrame(bytes)) {
            if (load.full) {
              // backpressure: the peer's writes stall once yamux's window is used
              stream.pause();
              while (load.full && !signal.aborted) await Promise.race([load.room(), stopped]);
              if (signal.aborted) throw signal.reason;
              stream.resume();
            }
            load.take(payload.length);
            const task = (async () => {
              const response = await handler({ peer, connectionId: stream.connectionId, bytes: payload }, { signal });
              load.answered(payload.length, response.length);
              out.push({ id, payload: response });
            })().catch((err: unknown) => {
              load.failed(payload.length);
              log.debug({ peer_id: peer, protocol, err: (err as Error).message }, "channel request failed");
              stream.abort(err instanceof Error ? err : new Error(String(err)));
            });
            inflight.add(task);
            void task.finally(() => inflight.delete(task));
          }
        }
        await Promise.all(inflight);
        await out.drain();
        await stream.close({ signal });
      } catch (err) {
        countReset(metrics, peer, protocol, err);
        throw err;
      } finally {
        load.streams -= 1;
      }
    },
    { timeoutMs: CHANNEL_IDLE_TIMEOUT_MS, maxStreams: CHANNEL_MAX_STREAMS },
  );
  return { load: () => loads.view() };
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

/** Handling time after which a one-way stream lets other I/O in before its next message, ms. */
const ONE_WAY_SLICE_MS = 10;
/** Messages a one-way sender holds for a peer that is not keeping up; past it, new ones are dropped. */
export const ONE_WAY_MAX_QUEUED = 1_024;
/** Bytes a one-way sender holds for a peer that is not keeping up; past it, new messages are dropped. */
export const ONE_WAY_MAX_QUEUED_BYTES = 32 * 1024 * 1024;

/**
 * Serves `protocol` as a one-way channel: each message read is handed to `onMessage` with the
 * Noise-authenticated sender; nothing is answered. `onMessage` returns what the message cost (in
 * `opts.rate`'s units; default 1); it runs before the next message of that stream is read, and a
 * peer over its rate budget is not read until the budget refills, so a peer sending faster stalls
 * on its own window. A peer holds at most {@link CHANNEL_MAX_STREAMS} streams across its
 * connections. A malformed or oversized message ends that peer's stream, never the node.
 */
export async function serveOneWay(
  host: Host,
  protocol: string,
  onMessage: (peer: string, bytes: Uint8Array) => number | undefined,
  log: Logger,
  opts: ServeOneWayOpts = {},
): Promise<ChannelServer> {
  const loads = new PeerLoads();
  const { metrics, rate } = opts;
  /** Charges `cost` to the peer; resolves once its budget is positive again (at once when it is). */
  const charge = async (load: PeerLoad, stream: P2pStream, cost: number): Promise<void> => {
    if (rate === undefined) return;
    const refill = () => {
      const now = Date.now();
      if (Number.isNaN(load.tokens)) load.tokens = rate.burst;
      else load.tokens = Math.min(rate.burst, load.tokens + ((now - load.refilledAt) * rate.perSecond) / 1000);
      load.refilledAt = now;
    };
    refill();
    load.tokens -= cost;
    if (load.tokens > 0) return;
    stream.pause();
    // every stream of the peer sleeps until the shared budget is back above zero
    while (load.tokens <= 0) {
      await new Promise((r) => setTimeout(r, Math.ceil((-load.tokens * 1000) / rate.perSecond) + 1));
      refill();
    }
    stream.resume();
  };
  await host.handle(
    protocol,
    async (stream) => {
      const peer = stream.remotePeer;
      const load = loads.open(peer, protocol, metrics);
      /** Time spent handling this stream's messages since it last let I/O in, ms. */
      let busy = 0;
      try {
        for await (const bytes of framesOf(stream)) {
          metrics?.frameReceived(peer, protocol, bytes.length);
          let cost = 1;
          const started = performance.now();
          try {
            cost = onMessage(peer, bytes) ?? 1;
          } catch (err) {
            log.debug({ peer_id: peer, protocol, err: (err as Error).message }, "one-way message failed");
          }
          busy += performance.now() - started;
          await charge(load, stream, cost);
          // buffered messages are handled back to back in microtasks: past a time slice, let I/O in
          if (busy > ONE_WAY_SLICE_MS) {
            await new Promise((r) => setImmediate(r));
            busy = 0;
          }
        }
      } catch (err) {
        countReset(metrics, peer, protocol, err);
        throw err;
      } finally {
        load.streams -= 1;
      }
    },
    { timeoutMs: CHANNEL_IDLE_TIMEOUT_MS, maxStreams: CHANNEL_MAX_STREAMS },
  );
  return { load: () => loads.view() };
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
