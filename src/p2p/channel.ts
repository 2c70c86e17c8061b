/**
 * Request/response over one long-lived stream per peer and protocol. Opening a libp2p stream costs
 * a yamux SYN/ACK, a multistream-select negotiation and FIN frames, each Noise-encrypted; at
 * runtime a node asks every peer for a partial signature many times a slot, so requests share one
 * stream. Each frame is one length-prefixed message: an 8-byte big-endian request id, then the
 * payload. Responses may come back in any order.
 */

import type { Logger } from "../lib/logger.js";
import type { Host, RequestHandler } from "./host.js";
import { P2pError } from "./stream.js";

/** An idle channel stream is closed after this long, ms (below setTimeout's 2^31 limit). */
export const CHANNEL_IDLE_TIMEOUT_MS = 24 * 60 * 60 * 1000;
/** Channel streams a peer may hold open to this node per protocol. */
export const CHANNEL_MAX_STREAMS = 8;
/** Requests a peer may have in flight on one channel; more are answered only as earlier ones finish. */
export const CHANNEL_MAX_INFLIGHT = 256;
const ID_BYTES = 8;

function frame(id: bigint, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(ID_BYTES + payload.length);
  new DataView(out.buffer).setBigUint64(0, id, false);
  out.set(payload, ID_BYTES);
  return out;
}

function unframe(bytes: Uint8Array): { id: bigint; payload: Uint8Array } {
  if (bytes.length < ID_BYTES) throw new RangeError(`channel frame of ${bytes.length} bytes is shorter than its id`);
  return {
    id: new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getBigUint64(0, false),
    // a copy: protobuf decoders here do not honour a view's byteOffset
    payload: bytes.slice(ID_BYTES),
  };
}

/**
 * Serves `protocol` as a channel: every frame read is answered by `handler` with a frame of the
 * same id. Handlers run concurrently (up to {@link CHANNEL_MAX_INFLIGHT}); a malformed frame ends
 * that peer's stream, never the node.
 */
export async function serveChannel(host: Host, protocol: string, handler: RequestHandler, log: Logger): Promise<void> {
  await host.handle(
    protocol,
    async (stream, { signal }) => {
      let writing = Promise.resolve();
      const inflight = new Set<Promise<void>>();
      for (;;) {
        let bytes: Uint8Array;
        try {
          bytes = await stream.read({ signal, timeoutMs: CHANNEL_IDLE_TIMEOUT_MS });
        } catch (err) {
          if (err instanceof P2pError && err.code === "STREAM_CLOSED") break;
          throw err;
        }
        const { id, payload } = unframe(bytes);
        while (inflight.size >= CHANNEL_MAX_INFLIGHT) await Promise.race(inflight);
        const task = (async () => {
          const response = await handler(
            { peer: stream.remotePeer, connectionId: stream.connectionId, bytes: payload },
            { signal },
          );
          writing = writing.then(() => stream.write(frame(id, response), { signal }));
          await writing;
        })().catch((err: unknown) => {
          log.debug({ peer_id: stream.remotePeer, protocol, err: (err as Error).message }, "channel request failed");
          stream.abort(err instanceof Error ? err : new Error(String(err)));
        });
        inflight.add(task);
        void task.finally(() => inflight.delete(task));
      }
      await Promise.all(inflight);
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
  #stream: Promise<Awaited<ReturnType<Host["openStream"]>>> | undefined;
  #writing: Promise<void> = Promise.resolve();
  #nextId = 1n;
  readonly #pending = new Map<bigint, Pending>();

  constructor(
    private readonly host: Host,
    private readonly peer: string,
    private readonly protocol: string,
  ) {}

  #open() {
    if (this.#stream !== undefined) return this.#stream;
    const opening = this.host.openStream(this.peer, this.protocol, { timeoutMs: CHANNEL_IDLE_TIMEOUT_MS });
    this.#stream = opening;
    opening.then(
      (stream) => void this.#readLoop(stream, opening),
      () => {
        if (this.#stream === opening) this.#stream = undefined;
      },
    );
    return opening;
  }

  async #readLoop(stream: Awaited<ReturnType<Host["openStream"]>>, opening: Promise<unknown>): Promise<void> {
    try {
      for (;;) {
        const { id, payload } = unframe(await stream.read({ timeoutMs: CHANNEL_IDLE_TIMEOUT_MS }));
        const p = this.#pending.get(id);
        this.#pending.delete(id);
        p?.resolve(payload);
      }
    } catch (err) {
      if (this.#stream === opening) this.#stream = undefined;
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      for (const [id, p] of this.#pending) {
        this.#pending.delete(id);
        p.reject(err);
      }
    }
  }

  /**
   * Sends `bytes` and resolves with the peer's answer.
   * @throws P2pError when the stream cannot be opened or fails; the signal's reason when aborted
   */
  async request(bytes: Uint8Array, opts: { signal: AbortSignal }): Promise<Uint8Array> {
    opts.signal.throwIfAborted();
    const stream = await this.#open();
    // the caller may have given up while the stream was opening
    opts.signal.throwIfAborted();
    const id = this.#nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      const onAbort = () => {
        this.#pending.delete(id);
        reject(opts.signal.reason);
      };
      opts.signal.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(id, {
        resolve: (b) => {
          opts.signal.removeEventListener("abort", onAbort);
          resolve(b);
        },
        reject: (e) => {
          opts.signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      });
      this.#writing = this.#writing
        .then(() => stream.write(frame(id, bytes)))
        .catch((err: unknown) => {
          this.#pending.get(id)?.reject(err);
          this.#pending.delete(id);
        });
    });
  }
}
