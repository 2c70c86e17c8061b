/**
 * Byzantine operators for the adversarial suites: a CeremonyTransport wrapper that rewrites what one
 * node sends, seeing what it received so far. The node keeps its valid identity and runs the real
 * ceremony otherwise, so the wrapper sits at the I/O edge and production code carries no test hook.
 * The same attacks run over the in-memory hub and over real libp2p.
 */
import { envelopeDigest, sealEnvelope } from "../../src/dkg/envelope.js";
import { STEP } from "../../src/dkg/steps.js";
import type { CeremonyTransport, IdentitySigner, Inbound, Outbound } from "../../src/dkg/transport.js";
import type { ShareIndex } from "../../src/lib/types.js";
import { Abort, type Accusation, AccusationKind, Complaints, Echo, Envelope, MessageKind } from "../../src/pb/bcast.js";

/** What a Byzantine node received (by step, then sender) and sent (by step). */
export interface Seen {
  received: Map<number, Map<ShareIndex, Inbound>>;
  sent: Map<number, Outbound>;
}

/**
 * Rewrites one step's outbound messages; `undefined` sends them unchanged, and `{ abort }` sends that
 * signed ABORT envelope to every peer instead and leaves the ceremony.
 */
export type Rewrite = (
  step: number,
  out: Outbound,
  seen: Seen,
) => Promise<Outbound | { abort: Uint8Array } | undefined>;

/** Wraps `inner` so that `rewrite` decides what this node sends in each step. */
export function byzantine(inner: CeremonyTransport, rewrite: Rewrite): CeremonyTransport {
  const seen: Seen = { received: new Map(), sent: new Map() };
  return {
    self: inner.self,
    n: inner.n,
    connect: (opts) => inner.connect(opts),
    async exchange(step, out, opts) {
      const rewritten = (await rewrite(step, out, seen)) ?? out;
      if ("abort" in rewritten) {
        await inner.abort(rewritten.abort, { timeoutMs: 10_000 });
        throw new Error(`Byzantine node left at step ${step} after its abort`);
      }
      const actual = rewritten;
      seen.sent.set(step, actual);
      const got = await inner.exchange(step, actual, opts);
      seen.received.set(step, got);
      return got;
    },
    abort: (envelope, opts) => inner.abort(envelope, opts),
    close: () => inner.close(),
  };
}

/** Re-seals one of this node's own envelopes with a new payload (same session, kind and receiver). */
export async function reseal(signer: IdentitySigner, bytes: Uint8Array, payload: Uint8Array): Promise<Uint8Array> {
  const env = Envelope.decode(bytes);
  return sealEnvelope(signer, env.session, env.sender as ShareIndex, env.kind, payload, env.receiver);
}

/** This node's broadcast for `step` replaced by a Complaints payload with `accusations`. */
async function complain(signer: IdentitySigner, out: Outbound, accusations: Accusation[]): Promise<Outbound> {
  return { ...out, broadcast: await reseal(signer, out.broadcast, Complaints.encode({ accusations })) };
}

/**
 * Frames `victim` for BAD_SHARE: the complaint's "evidence" is the victim's public DEAL envelope,
 * which does not decode as Shares.
 */
export function frameBadShareWithDeal(signer: IdentitySigner, victim: ShareIndex): Rewrite {
  return async (step, out, seen) => {
    if (step !== STEP.COMPLAIN) return undefined;
    const deal = seen.received.get(STEP.DEAL)!.get(victim)!.broadcast;
    return complain(signer, out, [
      {
        kind: AccusationKind.BAD_SHARE,
        accused: victim,
        validators: [0],
        reason: "bad share",
        envelope: deal as Uint8Array<ArrayBuffer>,
        echoes: [],
      },
    ]);
  };
}

/**
 * Frames `victim` for EQUIVOCATION: echoes the digest of `second(seen)`, an envelope the victim
 * signed that is not its deal, then offers it as the "second deal" against the honest echoes.
 */
function frameEquivocationWith(
  signer: IdentitySigner,
  victim: ShareIndex,
  second: (seen: Seen) => Uint8Array,
): Rewrite {
  return async (step, out, seen) => {
    if (step === STEP.ECHO) {
      const echo = Echo.decode(Envelope.decode(out.broadcast).payload);
      echo.dealDigests[victim - 1] = envelopeDigest(second(seen)) as Uint8Array<ArrayBuffer>;
      return { ...out, broadcast: await reseal(signer, out.broadcast, Echo.encode(echo)) };
    }
    if (step !== STEP.COMPLAIN) return undefined;
    // the honest echoes all disagree with the "second deal"
    const honestEcho = [...seen.received.get(STEP.ECHO)!.values()][0]!.broadcast;
    return complain(signer, out, [
      {
        kind: AccusationKind.ECHO_MISMATCH,
        accused: victim,
        validators: [],
        reason: "equivocation",
        envelope: second(seen) as Uint8Array<ArrayBuffer>,
        echoes: [honestEcho as Uint8Array<ArrayBuffer>],
      },
    ]);
  };
}

/** EQUIVOCATION framed with the victim's private SHARES envelope to this node as the second deal. */
export function frameEquivocationWithShares(signer: IdentitySigner, victim: ShareIndex): Rewrite {
  return frameEquivocationWith(signer, victim, (seen) => seen.received.get(STEP.DEAL)!.get(victim)!.direct!);
}

/** EQUIVOCATION framed by replay: `oldDeal`, the victim's deal from an earlier attempt of the same definition. */
export function frameEquivocationWithOldDeal(signer: IdentitySigner, victim: ShareIndex, oldDeal: Uint8Array): Rewrite {
  return frameEquivocationWith(signer, victim, () => oldDeal);
}

/**
 * Frames `victim` for BAD_SHARE with misaddressed evidence: Shares the victim sent another receiver
 * (leaked to the attacker by collusion), returned by `leaked` when the complaint is due.
 */
export function frameBadShareWithOthersShares(
  signer: IdentitySigner,
  victim: ShareIndex,
  leaked: () => Uint8Array,
): Rewrite {
  return async (step, out) => {
    if (step !== STEP.COMPLAIN) return undefined;
    return complain(signer, out, [
      {
        kind: AccusationKind.BAD_SHARE,
        accused: victim,
        validators: [0],
        reason: "bad share",
        envelope: leaked() as Uint8Array<ArrayBuffer>,
        echoes: [],
      },
    ]);
  };
}

/**
 * An honest node's transport that hands each step's received messages to `onReceived` (a leak to a
 * colluding attacker, or a recording across attempts); what the node sends is unchanged.
 */
export function observed(
  inner: CeremonyTransport,
  onReceived: (step: number, got: Map<ShareIndex, Inbound>) => void,
): CeremonyTransport {
  return {
    self: inner.self,
    n: inner.n,
    connect: (opts) => inner.connect(opts),
    async exchange(step, out, opts) {
      const got = await inner.exchange(step, out, opts);
      onReceived(step, got);
      return got;
    },
    abort: (envelope, opts) => inner.abort(envelope, opts),
    close: (opts) => inner.close(opts),
  };
}

/**
 * A false abort at the justify step: claims `victim`'s genuine complaints message was malformed,
 * attaching that very envelope as evidence (or, with `garbage`, evidence that authenticates as
 * nothing), then leaves.
 */
export function falseAbort(signer: IdentitySigner, victim: ShareIndex, garbage = false): Rewrite {
  return async (step, out, seen) => {
    if (step !== STEP.JUSTIFY) return undefined;
    const genuine = seen.received.get(STEP.COMPLAIN)!.get(victim)!.broadcast;
    const env = Envelope.decode(out.broadcast);
    const payload = Abort.encode({
      code: "MALFORMED_MESSAGE",
      step: STEP.COMPLAIN,
      culprits: [victim],
      detail: `operator ${victim}'s complaints do not decode`,
      evidence: [garbage ? Uint8Array.of(1, 2, 3) : (genuine as Uint8Array<ArrayBuffer>)],
    });
    return { abort: await sealEnvelope(signer, env.session, env.sender as ShareIndex, MessageKind.ABORT, payload) };
  };
}
