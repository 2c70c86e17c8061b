/** The signing node's own Prometheus metrics (the API's are in src/api): per-peer partials, peers connected, agreement. */
import { Counter, Gauge, type Registry } from "prom-client";

/** What the node reports. Peer labels are 1-based share indices. */
export interface NodeMetrics {
  partialReceived(peer: number): void;
  partialInvalid(peer: number): void;
  parsigServed(result: string): void;
  /** The remaining peers were asked: the hedge delay passed, or one of the first peers failed. */
  hedged(reason: "timer" | "failure"): void;
  peersConnected(count: number): void;
  /** A duty decided, in this round (1-based). */
  agreementDecided(round: number): void;
  /** A round timer ran out undecided. */
  agreementTimeout(): void;
  /** A peer's agreement message or batch was dropped (malformed, unsigned evidence, over a cap). */
  agreementDropped(reason: string): void;
  /** Agreement instances held now. */
  agreementInstances(count: number): void;
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
    help: "Sign requests that asked the peers beyond the first t - 1, by reason (timer: no answer in time; failure)",
    labelNames: ["reason"],
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
  return {
    agreementDecided: (r) => decided.inc({ round: r >= 3 ? "3+" : String(r) }),
    agreementTimeout: () => timeouts.inc(),
    agreementDropped: (reason) => dropped.inc({ reason }),
    agreementInstances: (n) => instances.set(n),
    partialReceived: (p) => received.inc({ peer: String(p) }),
    partialInvalid: (p) => invalid.inc({ peer: String(p) }),
    parsigServed: (r) => served.inc({ result: r }),
    hedged: (r) => hedges.inc({ reason: r }),
    peersConnected: (n) => peers.set(n),
  };
}
