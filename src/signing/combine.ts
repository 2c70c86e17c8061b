/**
 * Gathering t partial signatures and combining them (DESIGN.md § Signing protocol, steps 4–5):
 * combine the first t by Lagrange interpolation at 0 and verify under the group key; on failure
 * verify the partials against their public shares (verifySets.ts), drop the bad ones, and wait for
 * more. Nothing unverified is ever returned.
 *
 * Fan-out is hedged: the first t − 1 peers (in the caller's order of preference) are asked at
 * once, and the rest only when one of those fails, refuses or sends a bad partial, or when
 * `hedgeMs` passes without t partials. With every peer healthy this costs t − 1 peer signatures
 * and round trips per request instead of n − 1.
 */
import { verify } from "../crypto/bls.js";
import type { BlsPublicKey, BlsSignature, Root, ShareIndex } from "../lib/types.js";
import { SLASHING_CODES } from "../slashing/rules.js";
import { SignerError } from "./types.js";
import { combineOptimistic } from "./verifySets.js";

/** A peer's answer to a partial-signature request. */
export type PeerAnswer = { signature: Uint8Array } | { refusal: { code: string; message: string } };

/** One peer that may contribute a partial signature. */
export interface PartialSource {
  index: ShareIndex;
  /** "share_index (peer_id)" for error messages. */
  label: string;
  /** Asks the peer; rejects on a network failure or the signal. */
  fetch(signal: AbortSignal): Promise<PeerAnswer>;
}

export interface GatherOpts {
  publicKey: BlsPublicKey;
  root: Root;
  threshold: number;
  /** Public shares by share index (array index i − 1), 48 bytes each. */
  publicShares: BlsPublicKey[];
  /**
   * This node's partial. `sign` (this node's slashing check, then its signature) is called once the
   * peers have been asked, so the two run at once; its rejection (a slashing refusal) fails the
   * whole request with that error.
   */
  own: { index: ShareIndex; sign: () => Promise<Uint8Array> };
  /** Peers in order of preference: the first t − 1 are asked first. */
  peers: PartialSource[];
  /**
   * How long the first t − 1 peers have before the rest are asked too, ms. Default 0: every peer
   * is asked at once.
   */
  hedgeMs?: number;
  /**
   * Wait for every peer's answer before failing, rather than giving up as soon as the peers still
   * out cannot make up t: the refusals are then complete (how many operators did not consent).
   */
  awaitAll?: boolean;
  /** Called when the remaining peers are asked (hedge timer, or a failure among the first). */
  onHedge?: (reason: "timer" | "failure") => void;
  /**
   * Fires at the deadline (or when the client goes away). Peers' requests use it too: the caller
   * aborts it once this settles, to cancel the requests still out.
   */
  signal: AbortSignal;
  /** Called for each partial that fails verification against its public share. */
  onInvalid?: (index: ShareIndex, reason: string) => void;
  onPartial?: (index: ShareIndex) => void;
  /** Called when asking a peer failed (network error, timeout); the peer counts as missing. */
  onPeerError?: (index: ShareIndex, err: unknown) => void;
  /**
   * Verifies the combined signature under `publicKey` (subgroup check included); false on a
   * malformed point, never throws. Default: blst verify now; a node passes its {@link VerifyQueue}.
   */
  verifyCombined?: (publicKey: BlsPublicKey, root: Root, signature: BlsSignature) => Promise<boolean> | boolean;
}

function safeVerify(pk: Uint8Array, root: Uint8Array, sig: Uint8Array): boolean {
  try {
    return verify(pk, root, sig);
  } catch {
    return false;
  }
}

/**
 * Resolves with a combined signature that verifies under `publicKey`.
 * @throws SignerError SLASHING_REFUSED naming the refusing peers when so many peers' slashing
 *   protection refused that fewer than t of the n operators could sign: a definitive answer, as
 *   this node's own refusal is (with fan-out hedged, this node may never have been asked for the
 *   conflicting message, so its own check can pass while the cluster's fails)
 * @throws SignerError NOT_ENOUGH_PARTIALS naming the missing, refusing and invalid peers when t
 *   valid partials cannot be had before `signal` fires or every peer has answered
 * @throws whatever `own.sign` rejects with (SLASHING_REFUSED)
 */
export async function gatherSignature(opts: GatherOpts): Promise<BlsSignature> {
  const t = opts.threshold;
  const label = new Map(opts.peers.map((p) => [p.index, p.label]));
  const verified = new Map<number, Uint8Array>();
  const unverified = new Map<number, Uint8Array>();
  const refusals: { label: string; code: string }[] = [];
  const invalid: string[] = [];
  const answered = new Set<number>();

  const verifyCombined = opts.verifyCombined ?? safeVerify;
  const tryCombine = async (): Promise<BlsSignature | undefined> => {
    if (verified.size + unverified.size < t) return undefined;
    const result = await combineOptimistic(
      {
        message: opts.root,
        publicKey: opts.publicKey,
        publicShares: opts.publicShares,
        partials: [...verified, ...unverified].map(([index, value]) => ({ index, value })),
        trusted: new Set(verified.keys()),
      },
      t,
      (publicKey, _root, signature) => verifyCombined(publicKey, opts.root, signature),
    );
    for (const index of result.valid) {
      verified.set(index, unverified.get(index)!);
      unverified.delete(index);
    }
    for (const index of result.invalid) {
      unverified.delete(index);
      invalid.push(label.get(index) ?? String(index));
      opts.onInvalid?.(index, "partial signature does not verify under its public share");
    }
    return result.signature;
  };

  let clearHedge = () => {};
  let hedge: (reason: "timer" | "failure") => void = () => {};
  let onSignal = () => {};
  try {
    return await new Promise<BlsSignature>((resolve, reject) => {
      let settled = false;
      const fail = () => {
        if (settled) return;
        settled = true;
        const missing = opts.peers.filter((p) => !answered.has(p.index)).map((p) => p.label);
        const refused = refusals.map((r) => `${r.label}: ${r.code}`);
        const slashingRefusals = refusals.filter((r) => SLASHING_CODES.has(r.code));
        // slashing refusals alone leave fewer than t operators able to sign: no retry can help
        if (slashingRefusals.length > 0 && opts.peers.length + 1 - slashingRefusals.length < t) {
          const refusedBy = slashingRefusals.map((r) => `${r.label}: ${r.code}`);
          reject(
            new SignerError(
              { code: "SLASHING_REFUSED", slashingCode: slashingRefusals[0]!.code, refusedBy },
              `slashing protection of ${slashingRefusals.length} of ${opts.peers.length + 1} operators refused ` +
                `(${refusedBy.join(", ")}); fewer than ${t} can sign`,
            ),
          );
          return;
        }
        reject(
          new SignerError(
            { code: "NOT_ENOUGH_PARTIALS", missing, refused, invalid },
            `only ${verified.size + unverified.size} of ${t} partial signatures` +
              (missing.length ? `; no answer from ${missing.join(", ")}` : "") +
              (refused.length ? `; refused by ${refused.join(", ")}` : "") +
              (invalid.length ? `; invalid from ${invalid.join(", ")}` : ""),
          ),
        );
      };
      onSignal = fail;
      if (opts.signal.aborted) fail();
      else opts.signal.addEventListener("abort", fail, { once: true });
      // peers asked and not yet answered, and this node's own partial until it is made
      let outstanding = 1;
      // one combine-and-verify at a time; answers arriving meanwhile trigger another pass
      let busy = false;
      let again = false;
      // nothing is combined without this node's own partial: a signature never bypasses this
      // node's slashing protection, even when t peers would agree
      let ownDone = false;
      const settle = async () => {
        if (settled || !ownDone) return;
        if (busy) {
          again = true;
          return;
        }
        busy = true;
        try {
          do {
            again = false;
            const sig = await tryCombine();
            if (settled) return;
            if (sig) {
              settled = true;
              resolve(sig);
              return;
            }
          } while (again);
          // a failure among the peers asked first: ask the rest now
          if (verified.size + unverified.size + outstanding < t) hedge("failure");
          // give up early once the peers still out cannot make up t
          if (verified.size + unverified.size + outstanding < t && (!opts.awaitAll || outstanding === 0)) fail();
        } catch (err) {
          if (settled) return;
          settled = true;
          reject(err);
        } finally {
          busy = false;
        }
      };
      const askPeer = (peer: PartialSource) => {
        outstanding += 1;
        peer
          .fetch(opts.signal)
          .then(
            (answer) => {
              answered.add(peer.index);
              if ("refusal" in answer) refusals.push({ label: peer.label, code: answer.refusal.code });
              else {
                opts.onPartial?.(peer.index);
                unverified.set(peer.index, answer.signature);
              }
            },
            (err: unknown) => opts.onPeerError?.(peer.index, err),
          )
          .finally(() => {
            outstanding -= 1;
            void settle();
          });
      };
      // ask the first t − 1 peers (every peer without a hedge delay); the rest wait for the hedge
      const hedgeMs = opts.hedgeMs ?? 0;
      const first = hedgeMs > 0 ? Math.min(opts.peers.length, t - 1) : opts.peers.length;
      const rest = opts.peers.slice(first);
      for (const peer of opts.peers.slice(0, first)) askPeer(peer);
      const hedgeTimer = rest.length > 0 ? setTimeout(() => hedge("timer"), hedgeMs) : undefined;
      clearHedge = () => clearTimeout(hedgeTimer);
      hedge = (reason) => {
        if (rest.length === 0 || settled) return;
        clearTimeout(hedgeTimer);
        opts.onHedge?.(reason);
        for (const peer of rest.splice(0)) askPeer(peer);
      };
      // this node's slashing check and partial, while the peers work
      opts.own.sign().then(
        (signature) => {
          outstanding -= 1;
          ownDone = true;
          verified.set(opts.own.index, signature);
          void settle();
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          reject(err);
        },
      );
    });
  } finally {
    clearHedge();
    opts.signal.removeEventListener("abort", onSignal);
  }
}
