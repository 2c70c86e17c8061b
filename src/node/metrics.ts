/** The signing node's own Prometheus metrics (the API's are in src/api): per-peer partials, peers connected. */
import { Counter, Gauge, type Registry } from "prom-client";

/** What the node reports. Peer labels are 1-based share indices. */
export interface NodeMetrics {
  partialReceived(peer: number): void;
  partialInvalid(peer: number): void;
  parsigServed(result: string): void;
  /** The remaining peers were asked: the hedge delay passed, or one of the first peers failed. */
  hedged(reason: "timer" | "failure"): void;
  peersConnected(count: number): void;
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
  return {
    partialReceived: (p) => received.inc({ peer: String(p) }),
    partialInvalid: (p) => invalid.inc({ peer: String(p) }),
    parsigServed: (r) => served.inc({ result: r }),
    hedged: (r) => hedges.inc({ reason: r }),
    peersConnected: (n) => peers.set(n),
  };
}
