/**
 * The signing node's own Prometheus metrics (the API's are in src/api): per-peer partials, peers
 * connected, agreement, and each peer's load on the runtime protocols (frames, refusals, streams
 * reset, requests in flight, answers queued).
 */
import { Counter, Gauge, type Registry } from "prom-client";

/** What the node reports. Peer labels are 1-based share indices. */
export interface NodeMetrics {
  partialReceived(peer: number): void;
  partialInvalid(peer: number): void;
  parsigServed(result: string): void;
  /** The peers beyond the first t − 1 were asked: the hedge delay passed ("timer") or one of the first failed. */
  hedged(reason: "timer" | "failure"): void;
  /**
   * An agreed duty's group signature reached this node's client: combined here from the partials
   * peers sent once they decided, or from partials asked of every peer.
   */
  groupSignature(source: "partials" | "gathered"): void;
  peersConnected(count: number): void;
  /** A duty decided, in this round (1-based). */
  agreementDecided(round: number): void;
  /** A round timer ran out undecided. */
  agreementTimeout(): void;
  /** A peer's agreement message or batch was dropped (malformed, unsigned evidence, over a cap). */
  agreementDropped(reason: string): void;
  /** Agreement instances held now. */
  agreementInstances(count: number): void;
  /** One frame of `bytes` bytes read from peer `peer` on `protocol`. */
  p2pFrameReceived(peer: number, protocol: string, bytes: number): void;
  /** A frame of the peer refused (`too_large`, `too_many_entries`, `malformed`). */
  p2pFrameRefused(peer: number, protocol: string, reason: string): void;
  /** A stream of the peer ended by this node, by reason (see src/p2p/channel.ts ChannelRefusalReason). */
  p2pStreamReset(peer: number, protocol: string, reason: string): void;
  /** Reads each peer's current load on `protocol` when the registry is scraped. */
  observeP2pLoad(protocol: string, load: () => Iterable<[number, P2pPeerLoad]>): void;
}

/** One peer's load on a served protocol (src/p2p/channel.ts ChannelPeerLoad). */
export interface P2pPeerLoad {
  streams: number;
  inflight: number;
  queuedAnswerBytes: number;
  paused: boolean;
}

/** Registers the node metrics on `registry`. */
export function createNodeMetrics(registry: Registry): NodeMetrics {
  const received = new Counter({
    name: "cohort_partials_received_total",
    help: "Partial signatures received from each peer",
    labelNames: ["peer"],
    registers: [registry],
  });
  const invalid = new Counter({
    name: "cohort_partials_invalid_total",
    help: "Partial signatures from each peer that failed verification against its public share",
    labelNames: ["peer"],
    registers: [registry],
  });
  const served = new Counter({
    name: "cohort_parsig_served_total",
    help: "Peers' partial-signature requests answered by this node, by result (signed or a refusal code)",
    labelNames: ["result"],
    registers: [registry],
  });
  const hedges = new Counter({
    name: "cohort_parsig_hedges_total",
    help: "Sign requests that asked beyond their first choice, by reason (timer, failure: the peers beyond the first t - 1)",
    labelNames: ["reason"],
    registers: [registry],
  });
  const groups = new Counter({
    name: "cohort_group_signatures_total",
    help: "Agreed duties' group signatures returned to this node's client, by source (partials: combined here from the partials peers sent once they decided; gathered: combined here from partials asked of every peer)",
    labelNames: ["source"],
    registers: [registry],
  });
  const peers = new Gauge({
    name: "cohort_peers_connected",
    help: "Peers with an open connection",
    registers: [registry],
  });
  const decided = new Counter({
    name: "cohort_agreement_decisions_total",
    help: "Duties decided by agreement, by the round that decided them (1, 2, 3+)",
    labelNames: ["round"],
    registers: [registry],
  });
  const timeouts = new Counter({
    name: "cohort_agreement_round_timeouts_total",
    help: "Agreement rounds whose timer ran out undecided (a round change followed)",
    registers: [registry],
  });
  const dropped = new Counter({
    name: "cohort_agreement_dropped_total",
    help: "Peers' agreement batches or messages dropped, by reason",
    labelNames: ["reason"],
    registers: [registry],
  });
  const instances = new Gauge({
    name: "cohort_agreement_instances",
    help: "Agreement instances (validator and duty) held in memory",
    registers: [registry],
  });
  const frames = new Counter({
    name: "cohort_p2p_frames_received_total",
    help: "Frames read from each peer, by protocol",
    labelNames: ["peer", "protocol"],
    registers: [registry],
  });
  const bytesIn = new Counter({
    name: "cohort_p2p_received_bytes_total",
    help: "Bytes of the frames read from each peer, by protocol",
    labelNames: ["peer", "protocol"],
    registers: [registry],
  });
  const refused = new Counter({
    name: "cohort_p2p_frames_refused_total",
    help: "Frames of each peer refused (too_large, too_many_entries, malformed); the stream was reset",
    labelNames: ["peer", "protocol", "reason"],
    registers: [registry],
  });
  const resets = new Counter({
    name: "cohort_p2p_streams_reset_total",
    help: "Streams of each peer this node ended, by reason",
    labelNames: ["peer", "protocol", "reason"],
    registers: [registry],
  });
  const loads = new Map<string, () => Iterable<[number, P2pPeerLoad]>>();
  const gauge = (name: string, help: string, value: (l: P2pPeerLoad) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["peer", "protocol"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [protocol, load] of loads) {
          for (const [peer, l] of load()) this.set({ peer: String(peer), protocol }, value(l));
        }
      },
    });
  gauge("cohort_p2p_streams", "Streams each peer holds open to this node, by protocol", (l) => l.streams);
  gauge(
    "cohort_p2p_requests_in_flight",
    "Requests of each peer read and not yet answered on the wire, by protocol",
    (l) => l.inflight,
  );
  gauge(
    "cohort_p2p_queued_answer_bytes",
    "Bytes of answers to each peer built and not yet written (it reads slowly or not at all)",
    (l) => l.queuedAnswerBytes,
  );
  gauge(
    "cohort_p2p_reading_paused",
    "1 while this node does not read a peer's streams because the peer is at a cap",
    (l) => (l.paused ? 1 : 0),
  );
  return {
    p2pFrameReceived: (peer, protocol, bytes) => {
      frames.inc({ peer: String(peer), protocol });
      bytesIn.inc({ peer: String(peer), protocol }, bytes);
    },
    p2pFrameRefused: (peer, protocol, reason) => refused.inc({ peer: String(peer), protocol, reason }),
    p2pStreamReset: (peer, protocol, reason) => resets.inc({ peer: String(peer), protocol, reason }),
    observeP2pLoad: (protocol, load) => loads.set(protocol, load),
    agreementDecided: (r) => decided.inc({ round: r >= 3 ? "3+" : String(r) }),
    agreementTimeout: () => timeouts.inc(),
    agreementDropped: (reason) => dropped.inc({ reason }),
    agreementInstances: (n) => instances.set(n),
    partialReceived: (p) => received.inc({ peer: String(p) }),
    partialInvalid: (p) => invalid.inc({ peer: String(p) }),
    parsigServed: (r) => served.inc({ result: r }),
    hedged: (r) => hedges.inc({ reason: r }),
    groupSignature: (source) => groups.inc({ source }),
    peersConnected: (n) => peers.set(n),
  };
}
