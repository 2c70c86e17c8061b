/**
 * The short signing ceremony of `cohort exit sign` and `cohort deposit sign` when this operator's
 * node is not running (DESIGN.md § Cluster lifecycle, Exits and deposits): the command starts the
 * node's signing core itself (libp2p with this operator's identity, the lock's peers only, the
 * consent store and the admin socket, but no Web3Signer API), records the consent, and asks the
 * peers for their partials once a second until t operators consented, serving its own partial to
 * them meanwhile. Peers are either running nodes whose operators consented, or other operators
 * running the same command at about the same time. Once this node combined the signature it stays
 * until no peer asked for a partial for {@link LINGER_QUIET_MS}, so that the operators still
 * waiting get this one's.
 */
import { adminRequest } from "../api/admin.js";
import type { Logger } from "../lib/logger.js";
import { startSigningNode } from "./node.js";

/** Pause between two attempts to gather t partials, ms. */
export const CEREMONY_RETRY_MS = 1_000;
/** After the signature is made, the node stays until no peer asked for a partial for this long, ms. */
export const LINGER_QUIET_MS = 5_000;
/** …and at most this long, ms. */
export const LINGER_MAX_MS = 60_000;

export interface ConsentCeremonyOpts {
  dataDir: string;
  /** Admin route: `/cohort/v1/consent/exit` or `/cohort/v1/consent/deposit`. */
  route: string;
  /** Its JSON body, as the running node's admin endpoint takes it. */
  body: Record<string, string>;
  /** How long to wait for t operators, ms. */
  timeoutMs: number;
  p2pAddress?: string;
  genesisTimeSec?: number;
  /** Ends the ceremony early (SIGINT): the result is then the last answer, as at a timeout. */
  signal?: AbortSignal;
}

/** How the ceremony ended. */
export type ConsentCeremonyResult =
  | { ok: true; json: Record<string, unknown> }
  | {
      ok: false;
      /** The admin endpoint's last answer: 503 while consent or peers are missing, else the refusal. */
      status: number;
      json: Record<string, unknown>;
      /** Operators (1-based share index and peer ID) never connected during the ceremony. */
      unreached: { index: number; peerId: string }[];
    };

/**
 * Runs the ceremony to its end: the signature, a refusal (4xx) or the timeout.
 * @param progress one human-readable line each time the number of connected peers or consents changes
 * @throws InputError from {@link startSigningNode} when the data dir is unusable or a node runs on it
 */
export async function runConsentCeremony(
  opts: ConsentCeremonyOpts,
  modules: { logger: Logger; progress: (line: string) => void },
): Promise<ConsentCeremonyResult> {
  let lastAsked = 0;
  const node = await startSigningNode(
    { dataDir: opts.dataDir, p2pAddress: opts.p2pAddress, genesisTimeSec: opts.genesisTimeSec, purpose: "consent" },
    {
      logger: modules.logger,
      onPartialRequested: () => {
        lastAsked = Date.now();
      },
    },
  );
  try {
    const operators = node.lock.definition.operators;
    const t = node.lock.definition.threshold;
    const everConnected = new Set<string>();
    const deadline = Date.now() + opts.timeoutMs;
    let said = "";
    for (;;) {
      const res = await adminRequest(opts.dataDir, opts.route, opts.body);
      for (const p of node.host.connectedPeers()) everConnected.add(p);
      if (res.status === 200) {
        modules.progress(`signed: ${t} of ${operators.length} operators' partials combined`);
        await linger(() => lastAsked, modules.progress, opts.signal);
        return { ok: true, json: res.json };
      }
      if (res.status !== 503) return { ok: false, status: res.status, json: res.json, unreached: [] };
      const needed = typeof res.json.consent_needed === "number" ? res.json.consent_needed : undefined;
      const connected = operators.filter((o) => o.peerId !== node.peerId && node.host.isConnected(o.peerId)).length;
      const line =
        `${connected} of ${operators.length - 1} peers connected` +
        (needed === undefined ? "" : `; ${t - needed} of the ${t} consents needed`);
      if (line !== said) modules.progress(line);
      said = line;
      if (Date.now() + CEREMONY_RETRY_MS >= deadline || opts.signal?.aborted) {
        const unreached = operators
          .map((o, i) => ({ index: i + 1, peerId: o.peerId }))
          .filter((o) => o.peerId !== node.peerId && !everConnected.has(o.peerId));
        return { ok: false, status: res.status, json: res.json, unreached };
      }
      await sleep(CEREMONY_RETRY_MS, opts.signal);
    }
  } finally {
    await node.stop();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

async function linger(lastAsked: () => number, progress: (line: string) => void, signal?: AbortSignal): Promise<void> {
  const started = Date.now();
  const quietSince = () => Math.max(started, lastAsked());
  progress(`staying while peers still ask for this operator's partial (up to ${LINGER_MAX_MS / 1000} s)`);
  while (Date.now() - quietSince() < LINGER_QUIET_MS && Date.now() - started < LINGER_MAX_MS && !signal?.aborted) {
    await sleep(250, signal);
  }
}
