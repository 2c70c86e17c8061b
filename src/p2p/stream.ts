/**
 * Length-prefixed message I/O on a libp2p stream (unsigned-varint length, then the bytes), with a size
 * cap per protocol and a timeout plus AbortSignal on every read: DESIGN.md § Wire protocols. Built on
 * `lpStream` from @libp2p/utils, as js-libp2p's identify and ping are.
 */
import "../lib/polyfill.js";
import type { Stream } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import { CodedError } from "../lib/errors.js";

/** Failures of the stream layer. `peer` is the remote peer ID (base58), `protocol` the stream's protocol ID. */
export type P2pErrorType =
  /** The length prefix announced more than `maxBytes`, or the varint itself was too long. */
  | { code: "MESSAGE_TOO_LARGE"; peer: string; protocol: string; maxBytes: number }
  /** The length prefix was not a valid varint. */
  | { code: "MALFORMED_FRAME"; peer: string; protocol: string }
  /** No whole message (or response) arrived within `timeoutMs`. */
  | { code: "READ_TIMEOUT"; peer: string; protocol: string; timeoutMs: number }
  /** The stream ended, was reset, or failed before a whole message was read or written. */
  | { code: "STREAM_CLOSED"; peer: string; protocol: string }
  /** The caller's AbortSignal fired. */
  | { code: "ABORTED"; peer: string; protocol: string }
  /** No connection could be made to the peer (or the protocol could not be negotiated). */
  | { code: "DIAL_FAILED"; peer: string; protocol?: string }
  /** The peer is not in this host's allow-list. */
  | { code: "PEER_NOT_ALLOWED"; peer: string }
  /** The host is not running. */
  | { code: "NOT_STARTED" };

/** A failure of the p2p layer; switch on `code`. */
export class P2pError extends CodedError<P2pErrorType> {}

/** A length-prefixed message stream to one authenticated peer on one protocol. Never exposes libp2p types. */
export interface P2pStream {
  /** Remote peer ID (base58), authenticated by Noise. */
  readonly remotePeer: string;
  /** ID of the connection carrying the stream (unique within this host's lifetime). */
  readonly connectionId: string;
  /** Negotiated protocol ID. */
  readonly protocol: string;
  /** Who opened the stream. */
  readonly direction: "inbound" | "outbound";
  /** Size cap applied to every `read`, bytes. */
  readonly maxMessageBytes: number;
  /** Time bound applied to every `read` unless overridden, ms. */
  readonly readTimeoutMs: number;
  /**
   * Reads one message of at most `maxMessageBytes` bytes, waiting at most `timeoutMs`
   * (default `readTimeoutMs`). Any failure resets the stream.
   * @throws P2pError MESSAGE_TOO_LARGE, MALFORMED_FRAME, READ_TIMEOUT, STREAM_CLOSED, ABORTED
   */
  read(opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<Uint8Array>;
  /**
   * Writes one length-prefixed message, waiting for send-buffer space if needed. Any failure resets the stream.
   * @throws P2pError STREAM_CLOSED, ABORTED; RangeError when `msg` is larger than `maxMessageBytes`
   */
  write(msg: Uint8Array, opts?: { signal?: AbortSignal }): Promise<void>;
  /** Closes the writing end once queued bytes are sent; the remote reads end-of-stream. Resets on failure. */
  close(opts?: { signal?: AbortSignal }): Promise<void>;
  /** Resets the stream at once, discarding unsent and unread data. */
  abort(reason: Error): void;
  /**
   * Stops taking data from the peer: yamux sends no more window updates, so the peer's writes stall
   * once its send window is used; what already arrived is held, at most the stream's read-buffer
   * limit (past it the stream is reset). No-op on a closing stream.
   */
  pause(): void;
  /** Takes data from the peer again after {@link P2pStream.pause}. No-op on a closing stream. */
  resume(): void;
}

/** Options of {@link wrapStream}. */
export interface WrapStreamOpts {
  /** Remote peer ID (base58). */
  remotePeer: string;
  /** ID of the connection carrying the stream. */
  connectionId: string;
  /** Protocol ID; default the stream's negotiated one. */
  protocol?: string;
  /** Largest message `read` accepts, bytes. */
  maxMessageBytes: number;
  /** Default bound on one `read`, ms. */
  readTimeoutMs: number;
}

/** Varint length prefix, at most 10 bytes; a little slack on top of the cap for buffering. */
const LENGTH_PREFIX_MAX_BYTES = 10;

/**
 * A deadline derived from an optional caller signal: `signal` fires on either. Call `clear()` when done,
 * so no timer or listener outlives the operation.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  /** True when the deadline's own timer fired (as opposed to the caller's signal). */
  timedOut(): boolean;
  clear(): void;
}

/** Creates a {@link Deadline} of `timeoutMs` ms linked to `parent`; the timer is unref'd. */
export function deadline(timeoutMs: number, parent?: AbortSignal): Deadline {
  const ctrl = new AbortController();
  let fired = false;
  const onParent = () => ctrl.abort(parent?.reason);
  const timer = setTimeout(() => {
    fired = true;
    ctrl.abort(new DOMException(`timed out after ${timeoutMs} ms`, "TimeoutError"));
  }, timeoutMs);
  timer.unref();
  if (parent?.aborted) ctrl.abort(parent.reason);
  else parent?.addEventListener("abort", onParent, { once: true });
  return {
    signal: ctrl.signal,
    timedOut: () => fired,
    clear: () => {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParent);
    },
  };
}

function isNamed(err: unknown, ...names: string[]): boolean {
  return err instanceof Error && names.includes(err.name);
}

/**
 * Wraps a libp2p stream as a {@link P2pStream}. For src/p2p only: everything else receives P2pStreams
 * from the host.
 */
export function wrapStream(stream: Stream, opts: WrapStreamOpts): P2pStream {
  const { remotePeer, connectionId, maxMessageBytes, readTimeoutMs } = opts;
  const protocol = opts.protocol ?? stream.protocol;
  // data may arrive while no 'message' listener is attached, or while paused (see `pause`); keep a
  // whole message bufferable. Past it the stream is reset.
  stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, maxMessageBytes + LENGTH_PREFIX_MAX_BYTES);
  const lp = lpStream(stream, {
    maxDataLength: maxMessageBytes,
    // after a pause, everything the stream held (up to its read-buffer limit) arrives at once, on
    // top of a message partly read
    maxBufferSize: stream.maxReadBufferLength + maxMessageBytes + LENGTH_PREFIX_MAX_BYTES,
  });
  const ids = { peer: remotePeer, protocol };

  const fail = (err: P2pError): P2pError => {
    stream.abort(err);
    return err;
  };

  return {
    remotePeer,
    connectionId,
    protocol,
    direction: stream.direction,
    maxMessageBytes,
    readTimeoutMs,

    async read(readOpts = {}) {
      const timeoutMs = readOpts.timeoutMs ?? readTimeoutMs;
      // Without a caller signal, a plain timer that resets the stream bounds the read: no
      // AbortController and no abort listeners per read (lpStream adds some per byte read).
      const dl = readOpts.signal === undefined ? undefined : deadline(timeoutMs, readOpts.signal);
      let timerFired = false;
      const timer =
        dl === undefined
          ? setTimeout(() => {
              timerFired = true;
              stream.abort(new DOMException(`timed out after ${timeoutMs} ms`, "TimeoutError"));
            }, timeoutMs)
          : undefined;
      timer?.unref();
      try {
        const list = await lp.read(dl === undefined ? undefined : { signal: dl.signal });
        const buf = list.subarray();
        // a plain Uint8Array view, not a Node Buffer, so callers compare and re-encode uniformly
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (err) {
        if (readOpts.signal?.aborted) {
          throw fail(
            new P2pError({ code: "ABORTED", ...ids }, `read ${protocol} from ${remotePeer}: aborted`, { cause: err }),
          );
        }
        if (timerFired || dl?.timedOut()) {
          throw fail(
            new P2pError(
              { code: "READ_TIMEOUT", ...ids, timeoutMs },
              `read ${protocol} from ${remotePeer}: no message within ${timeoutMs} ms`,
            ),
          );
        }
        if (isNamed(err, "InvalidDataLengthError", "InvalidDataLengthLengthError", "StreamBufferError")) {
          throw fail(
            new P2pError(
              { code: "MESSAGE_TOO_LARGE", ...ids, maxBytes: maxMessageBytes },
              `read ${protocol} from ${remotePeer}: message exceeds ${maxMessageBytes} bytes`,
              { cause: err },
            ),
          );
        }
        if (isNamed(err, "InvalidMessageLengthError")) {
          throw fail(
            new P2pError(
              { code: "MALFORMED_FRAME", ...ids },
              `read ${protocol} from ${remotePeer}: bad length prefix`,
              { cause: err },
            ),
          );
        }
        throw fail(
          new P2pError({ code: "STREAM_CLOSED", ...ids }, `read ${protocol} from ${remotePeer}: stream closed`, {
            cause: err,
          }),
        );
      } finally {
        dl?.clear();
        clearTimeout(timer);
      }
    },

    async write(msg, writeOpts = {}) {
      if (msg.byteLength > maxMessageBytes) {
        throw new RangeError(
          `"message" must be at most ${maxMessageBytes} bytes on ${protocol}, got ${msg.byteLength}`,
        );
      }
      try {
        await lp.write(msg, { signal: writeOpts.signal });
      } catch (err) {
        const code = writeOpts.signal?.aborted ? "ABORTED" : "STREAM_CLOSED";
        throw fail(
          new P2pError({ code, ...ids }, `write ${protocol} to ${remotePeer}: ${code.toLowerCase()}`, { cause: err }),
        );
      }
    },

    async close(closeOpts = {}) {
      try {
        await stream.close({ signal: closeOpts.signal });
      } catch (err) {
        const code = closeOpts.signal?.aborted ? "ABORTED" : "STREAM_CLOSED";
        throw fail(new P2pError({ code, ...ids }, `close ${protocol} to ${remotePeer}`, { cause: err }));
      }
    },

    abort(reason) {
      stream.abort(reason);
    },

    pause() {
      if (stream.readStatus === "readable") stream.pause();
    },

    resume() {
      if (stream.readStatus === "paused") stream.resume();
    },
  };
}
