/**
 * Heartbeats: a libp2p ping to every connected peer each {@link HEARTBEAT_INTERVAL_MS}, counted
 * per peer as answered or missed. A node whose event loop is held by a long computation neither
 * sends its own pings nor answers its peers', so missed heartbeats on either side show a blocked
 * loop (what made 10,000-validator ceremonies fail elsewhere: Charon #2547), and a ceremony reports
 * them at its end. They change nothing in the protocol: a peer that misses heartbeats is not
 * dropped here.
 */
import type { Logger } from "../lib/logger.js";
import type { Host } from "./host.js";
import { deadline } from "./stream.js";

/** Time between two heartbeats to one peer, ms. */
export const HEARTBEAT_INTERVAL_MS = 1_000;
/**
 * A heartbeat not answered within this long is missed, ms: half the DKG's shortest stream deadline
 * (10 s), far above a loopback or 300 ms round trip.
 */
export const HEARTBEAT_TIMEOUT_MS = 5_000;

/** Heartbeat counts, over every peer or for one. */
export interface HeartbeatCounts {
  /** Pings sent to connected peers. */
  sent: number;
  /** Pings answered within {@link HEARTBEAT_TIMEOUT_MS}. */
  answered: number;
  /** Pings that failed or were not answered in time while the peer stayed connected. */
  missed: number;
  /** Slowest answered round trip, ms (0 before any answer). */
  maxRoundTripMs: number;
}

/** Running heartbeats; {@link Heartbeats.stop} ends them and returns the counts. */
export interface Heartbeats {
  /** Counts so far, over every peer. */
  counts(): HeartbeatCounts;
  /** Counts so far by peer ID. */
  byPeer(): Map<string, HeartbeatCounts>;
  /** Stops sending; pings in flight are abandoned, neither answered nor missed. Idempotent. */
  stop(): HeartbeatCounts;
}

/**
 * Starts heartbeats from `host` to each of `peers` (peer IDs) that is connected at each beat. A
 * ping still in flight when the next beat comes is not doubled.
 */
export function startHeartbeats(
  host: Pick<Host, "isConnected" | "ping">,
  peers: readonly string[],
  opts: { intervalMs?: number; timeoutMs?: number; logger?: Logger } = {},
): Heartbeats {
  const intervalMs = opts.intervalMs ?? HEARTBEAT_INTERVAL_MS;
  const timeoutMs = opts.timeoutMs ?? HEARTBEAT_TIMEOUT_MS;
  const stopped = new AbortController();
  const counts = new Map<string, HeartbeatCounts>(
    peers.map((p) => [p, { sent: 0, answered: 0, missed: 0, maxRoundTripMs: 0 }]),
  );
  const inFlight = new Set<string>();
  const beat = () => {
    for (const peer of peers) {
      if (inFlight.has(peer) || !host.isConnected(peer)) continue;
      const c = counts.get(peer)!;
      c.sent += 1;
      inFlight.add(peer);
      const dl = deadline(timeoutMs, stopped.signal);
      host.ping(peer, { signal: dl.signal }).then(
        (rtt) => {
          dl.clear();
          inFlight.delete(peer);
          if (stopped.signal.aborted) return;
          c.answered += 1;
          c.maxRoundTripMs = Math.max(c.maxRoundTripMs, rtt);
        },
        (err: unknown) => {
          dl.clear();
          inFlight.delete(peer);
          // a peer that left (a ceremony's end, a restart) did not miss it: disconnects are the
          // protocol's to judge
          if (stopped.signal.aborted || !host.isConnected(peer)) return;
          c.missed += 1;
          opts.logger?.warn({ peer_id: peer, err: (err as Error).message }, "heartbeat missed");
        },
      );
    }
  };
  const timer = setInterval(beat, intervalMs);
  timer.unref?.();
  const total = (): HeartbeatCounts => {
    const t: HeartbeatCounts = { sent: 0, answered: 0, missed: 0, maxRoundTripMs: 0 };
    for (const c of counts.values()) {
      t.sent += c.sent;
      t.answered += c.answered;
      t.missed += c.missed;
      t.maxRoundTripMs = Math.max(t.maxRoundTripMs, c.maxRoundTripMs);
    }
    return t;
  };
  return {
    counts: total,
    byPeer: () => new Map([...counts].map(([p, c]) => [p, { ...c }])),
    stop: () => {
      clearInterval(timer);
      stopped.abort();
      return total();
    },
  };
}
