/**
 * Lock hashes exchanged when a peer connects (`/cohort/lock/1.0.0`, DESIGN.md § Cluster lifecycle,
 * switching): each side sends its lock hash and the previous lock hash its lock names, so an
 * operator still on the previous lock of a reshare or addition, or already on the next one, is
 * named at once in a clear warning, on both sides. The exchange refuses nothing itself: every
 * runtime message of another lock is refused by its session (`lock_hash`) already.
 */
import { previousLockHash } from "../cluster/lifecycle.js";
import type { ClusterLock } from "../cluster/lock.js";
import { bytesEqual } from "../lib/bytes.js";
import type { Logger } from "../lib/logger.js";
import type { Host } from "../p2p/host.js";

/** Protocol of the exchange: a 64-byte request, the same 64 bytes back. */
export const LOCK_PROTOCOL = "/cohort/lock/1.0.0";
/** lock_hash (32 bytes) ‖ previous_lock_hash (32 bytes, zeros for a first lock). */
export const LOCK_HELLO_BYTES = 64;
/** How long one exchange may take, ms. */
export const LOCK_EXCHANGE_TIMEOUT_MS = 10_000;
const LIMITS = { maxMessageBytes: LOCK_HELLO_BYTES, readTimeoutMs: LOCK_EXCHANGE_TIMEOUT_MS };

/** This node's hello: its lock hash and the previous lock hash its lock names. */
export function lockHello(lock: ClusterLock): Uint8Array {
  const out = new Uint8Array(LOCK_HELLO_BYTES);
  out.set(lock.lockHash, 0);
  const previous = previousLockHash(lock);
  if (previous !== undefined) out.set(previous, 32);
  return out;
}

/** A peer's hello, or undefined when it is not {@link LOCK_HELLO_BYTES} long. */
export function parseLockHello(
  bytes: Uint8Array,
): { lockHash: Uint8Array; previous: Uint8Array | undefined } | undefined {
  if (bytes.length !== LOCK_HELLO_BYTES) return undefined;
  const previous = bytes.subarray(32, 64);
  return { lockHash: bytes.subarray(0, 32), previous: previous.some((b) => b !== 0) ? previous : undefined };
}

export interface LockExchangeModules {
  host: Host;
  /** Warns about a peer (its label) on lock `lockHash`, which names `previous` as its previous lock. */
  report(peer: string, lockHash: Uint8Array, previous: Uint8Array | undefined): void;
  /** Called when a peer announces this node's own lock hash. */
  onSameLock?: (peer: string) => void;
  /** "operator <share index> (<peer id>)" for a peer ID. */
  labelOf(peer: string): string;
  logger: Logger;
}

/**
 * Serves the exchange and starts one with each peer as it connects. A peer that sends no valid
 * hello, or a node of an older release without the protocol, is only logged at debug level.
 * @returns the unsubscribe of the connect listener (the handler goes with the host)
 */
export async function exchangeLockHashes(lock: ClusterLock, m: LockExchangeModules): Promise<() => void> {
  const mine = lockHello(lock);
  const check = (peer: string, bytes: Uint8Array) => {
    const hello = parseLockHello(bytes);
    if (hello === undefined) {
      m.logger.debug({ peer, bytes: bytes.length }, "malformed lock hello");
      return;
    }
    if (!bytesEqual(hello.lockHash, lock.lockHash)) m.report(m.labelOf(peer), hello.lockHash, hello.previous);
    else m.onSameLock?.(peer);
  };
  await m.host.handleRequest(
    LOCK_PROTOCOL,
    async (req) => {
      check(req.peer, req.bytes);
      return mine;
    },
    LIMITS,
  );
  return m.host.onPeerConnect((peer) => {
    m.host
      .request(peer, LOCK_PROTOCOL, mine, { maxMessageBytes: LOCK_HELLO_BYTES, timeoutMs: LOCK_EXCHANGE_TIMEOUT_MS })
      .then(
        (bytes) => check(peer, bytes),
        (err: unknown) => m.logger.debug({ peer, err: (err as Error).message }, "lock hash exchange failed"),
      );
  });
}
