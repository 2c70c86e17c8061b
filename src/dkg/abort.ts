/**
 * Signed aborts (DESIGN.md § DKG protocol, "Outcome"; issue 9). Steps after the echo have no echo of
 * their own, so a Byzantine operator can show one honest node a fault the others never see: that
 * node stops, and without a word the others would take it for the one that vanished. So a node that
 * stops sends every peer a signed `Abort{code, step, culprits, detail, evidence}`, and a peer that
 * receives one judges the evidence against what it received itself:
 * - two different envelopes of one kind signed by one operator, in the evidence or one there and
 *   one here, prove that operator equivocated (EQUIVOCATION);
 * - a dealer's signed shares that fail their commitment check prove the dealer's fault (BAD_SHARE);
 * - evidence identical to the broadcasts this node received and accepted refutes the claim: the
 *   checks are the same on every node, so the aborter lied (FALSE_ABORT, naming it);
 * - a network failure (a timeout, WITHHELD, a peer gone) carries no evidence, and cannot: an
 *   operator that withholds its message from one honest node alone makes that node stop while the
 *   others got it (src/dkg/relay.ts relays what can be relayed). So this node names only the
 *   operators it is itself still waiting for at the claim's step, as its own timeout would
 *   (TIMEOUT); when it has their messages, either the aborter or they may be at fault, and the
 *   abort names no one (PEER_ABORTED, culprits empty);
 * - any other claim (evidence that does not authenticate, a step this node has not judged) proves
 *   nothing, and the abort names no one (PEER_ABORTED, culprits empty).
 * So nobody is named for leaving after a signed abort that shows a fault.
 */
import { bytesEqual, fromHex, toHex } from "../lib/bytes.js";
import type { ShareIndex } from "../lib/types.js";
import { MessageKind } from "../pb/bcast.js";
import { KIND_STEP, openEnvelope } from "./envelope.js";
import { DkgError, type DkgNetworkCode, fault } from "./errors.js";
import {
  type AbortMessage,
  type DecodeContext,
  decodeAbort,
  type Evidence,
  encodeAbort,
  openEvidence,
} from "./messages.js";
import { judgeSharesEvidence, type Verified } from "./rounds.js";
import type { IdentityVerifier } from "./transport.js";

/** How long a stopping node spends delivering its abort to its peers, ms. */
export const ABORT_DELIVERY_MS = 5_000;

/** Codes of a network failure: an abort with one proves nothing about anyone. */
const NETWORK_CODES: ReadonlySet<string> = new Set<DkgNetworkCode>([
  "TIMEOUT",
  "WITHHELD",
  "PEER_DISCONNECTED",
  "PEER_RESTARTED",
  "VERSION_MISMATCH",
  "SESSION_MISMATCH",
  "PEER_ABORTED",
  "ABORTED",
]);

/** The broadcast envelope of each (step, sender) this node received and accepted, its own included. */
export type ReceivedBroadcasts = ReadonlyMap<number, ReadonlyMap<ShareIndex, Uint8Array>>;

/** The payload of this node's abort for `err`: its code, step, culprits, detail and evidence. */
export function abortPayload(err: DkgError): Uint8Array {
  return encodeAbort({
    code: err.type.code,
    step: err.type.step,
    culprits: err.type.culprits,
    detail: err.message,
    evidence: err.type.evidence.map((h) => fromHex(h, "evidence")),
  });
}

/** What {@link judgeAbort} checks an abort against. */
export interface AbortContext extends DecodeContext {
  /** The attempt session, 32 bytes. */
  session: Uint8Array;
  verifier: IdentityVerifier;
  /** Broadcasts this node received, of every step it finished. */
  received: ReceivedBroadcasts;
  /** The state after this node verified the deals (step 4), once it got there: judges shares evidence. */
  verified?: Verified;
  /** The step this node was exchanging when the abort came, and the peers it still waited for. */
  waiting?: { step: number; missing: readonly ShareIndex[] };
}

/**
 * Judges `peer`'s signed abort (module docs). Pure but for the identity-signature checks.
 * @param envelope the ABORT envelope the transport delivered from `peer`
 * @returns the DkgError this node ends with: the proven fault, FALSE_ABORT naming `peer`, or
 *   PEER_ABORTED naming no one
 */
export async function judgeAbort(peer: ShareIndex, envelope: Uint8Array, ctx: AbortContext): Promise<DkgError> {
  const opened = await openEnvelope(envelope, {
    session: ctx.session,
    kind: MessageKind.ABORT,
    expectedSender: peer,
    n: ctx.n,
    verifier: ctx.verifier,
  }).catch((err: unknown) => err as DkgError);
  if (opened instanceof DkgError) return opened;
  let claim: AbortMessage;
  try {
    claim = decodeAbort({ sender: peer, payload: opened.payload, envelope }, ctx).message;
  } catch (err) {
    return err as DkgError;
  }
  const said = `operator ${peer} aborted: ${claim.detail}`;
  if (NETWORK_CODES.has(claim.code)) {
    // what this node sees itself: the named operators it also still waits for at that step
    const w = ctx.waiting;
    const seen =
      w !== undefined && w.step === claim.step
        ? claim.culprits.filter((c) => c !== peer && w.missing.includes(c as ShareIndex)).map((c) => c as ShareIndex)
        : [];
    if (seen.length > 0) {
      const code = claim.code === "PEER_DISCONNECTED" ? "PEER_DISCONNECTED" : "TIMEOUT";
      return new DkgError(
        { code, step: claim.step, culprits: seen, evidence: [], detail: said },
        `step ${claim.step}: operator ${peer} aborted waiting for ${seen.join(", ")}, and this node has nothing from ` +
          `${seen.length === 1 ? "it" : "them"} either`,
      );
    }
    return new DkgError(
      { code: "PEER_ABORTED", step: claim.step, culprits: [], evidence: [], detail: said },
      `operator ${peer} aborted reporting ${claim.code} (${claim.detail}); unproven: it, or an operator it names, ` +
        "may be at fault, so no one is named",
    );
  }
  const evidence: Extract<Evidence, { authentic: true }>[] = [];
  for (const bytes of claim.evidence) {
    const ev = await openEvidence(bytes, ctx);
    if (ev.authentic) evidence.push(ev);
  }
  const kindStep = (kind: string) => KIND_STEP[MessageKind[kind as keyof typeof MessageKind] as keyof typeof KIND_STEP];

  // two different envelopes signed by one operator for the same slot
  const slots = new Map<string, Extract<Evidence, { authentic: true }>>();
  for (const ev of evidence) {
    const key = `${ev.sender}/${ev.kind}/${ev.receiver}`;
    const other = slots.get(key);
    if (other !== undefined && !bytesEqual(other.bytes, ev.bytes)) {
      return equivocation(ev.sender, kindStep(ev.kind), other.bytes, ev.bytes, said);
    }
    slots.set(key, ev);
  }
  // a broadcast that differs from the one this node received
  let refuting = false;
  for (const ev of evidence) {
    if (ev.receiver !== 0) continue;
    const mine = ctx.received.get(kindStep(ev.kind))?.get(ev.sender);
    if (mine === undefined) continue;
    if (!bytesEqual(mine, ev.bytes)) return equivocation(ev.sender, kindStep(ev.kind), mine, ev.bytes, said);
    if (claim.culprits.includes(ev.sender)) refuting = true;
  }
  // a dealer's shares that fail their check, whoever forwards them
  if (ctx.verified !== undefined) {
    for (const ev of evidence) {
      const proven = ev.kind === "SHARES" ? judgeSharesEvidence(ctx.verified, ev) : undefined;
      if (proven !== undefined) return withDetail(proven, said);
    }
  }
  if (refuting && claim.culprits.length > 0) {
    return fault(
      "FALSE_ABORT",
      claim.step,
      [peer],
      `its evidence against operator ${claim.culprits.join(", ")} is what this node received and accepted (${claim.code}: ${claim.detail})`,
      [toHex(envelope)],
    );
  }
  return new DkgError(
    {
      code: "PEER_ABORTED",
      step: claim.step,
      culprits: [],
      evidence: [toHex(envelope)],
      detail: `${claim.code}: ${claim.detail}`,
    },
    `${said} (${claim.code}; nothing it sent proves a fault to this node, so no one is named)`,
  );
}

function equivocation(sender: ShareIndex, step: number, a: Uint8Array, b: Uint8Array, said: string): DkgError {
  return withDetail(
    fault("EQUIVOCATION", step, [sender], `signed two different messages for step ${step}`, [toHex(a), toHex(b)]),
    said,
  );
}

/** The same fault, its detail saying which abort revealed it. */
function withDetail(err: DkgError, said: string): DkgError {
  return new DkgError({ ...err.type, detail: `${err.type.detail} (revealed by ${said})` }, err.message);
}
