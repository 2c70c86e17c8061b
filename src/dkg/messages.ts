/**
 * The DKG's messages as plain typed values, and their protobuf codecs (proto/bcast.proto,
 * proto/parsig.proto). This module and envelope.ts are the DKG's only users of src/pb/: the rounds
 * (rounds.ts) see typed, authenticated messages only. Decoders run at the edge, on payloads whose
 * envelope already authenticated, and bound every repeated field with protons `limits` while
 * decoding (DESIGN.md § Wire protocols "Bounded before decoded"); complaints are shape-checked here
 * too, before any of their evidence is opened. DESIGN.md § DKG protocol.
 */
import { toHex } from "../lib/bytes.js";
import type { ShareIndex } from "../lib/types.js";
import {
  MessageKind,
  Abort as PbAbort,
  AccusationKind as PbAccusationKind,
  Complaints as PbComplaints,
  Confirm as PbConfirm,
  Deal as PbDeal,
  Echo as PbEcho,
  Justifications as PbJustifications,
  LockSignature as PbLockSignature,
  Shares as PbShares,
} from "../pb/bcast.js";
import { PartialSignatureSet as PbPartialSignatureSet } from "../pb/parsig.js";
import { authenticateEnvelope, envelopeDigest } from "./envelope.js";
import { fault } from "./errors.js";
import { STEP } from "./steps.js";
import type { IdentityVerifier } from "./transport.js";

/** A payload whose signed envelope authenticated (sender, attempt session, kind, step, receiver, signature). */
export interface Opened {
  /** 1-based share index of the sender. */
  sender: ShareIndex;
  payload: Uint8Array;
  /** The encoded signed envelope: evidence for any fault it shows. */
  envelope: Uint8Array;
}

/** A typed message from `sender`, with the signed envelope it came in (evidence). */
export interface Signed<T> {
  sender: ShareIndex;
  message: T;
  envelope: Uint8Array;
}

/** A payload that did not decode; the rounds decide whether that is a fault yet. */
export interface Undecodable {
  undecodable: string;
}

/** A decoded message, or why it did not decode. */
export type Decoded<T> = T | Undecodable;

/** True when `d` did not decode. */
export function isUndecodable<T extends object>(d: Decoded<T>): d is Undecodable {
  return "undecodable" in d;
}

/** Step 2 broadcast: commitments and proofs of possession for every validator. */
export interface Deal {
  numValidators: number;
  threshold: number;
  /** V·t compressed G1 points, 48 bytes each, validator-major: C_{i,v,k} at (v·t + k)·48. */
  commitments: Uint8Array;
  /** V compressed G2 proofs of possession, 96 bytes each. */
  pops: Uint8Array;
  /**
   * Reshare only, else empty: V slashing floors of 24 bytes (block slot, source epoch, target
   * epoch, uint64 big-endian; 2^64 − 1 for none), validator-major.
   */
  slashingFloors: Uint8Array;
}

/** Step 2 direct message: the dealer's shares for one receiver. */
export interface Shares {
  /** 1-based share index of the receiver. */
  receiver: number;
  /** V 32-byte big-endian scalars s_{i→j,v}, validator-major. */
  shares: Uint8Array;
}

/** Step 3 broadcast: SHA-256 digests (32 bytes) of the deal envelopes received, in dealer order. */
export interface Echo {
  dealDigests: Uint8Array[];
}

/** What a complaint accuses a dealer of. */
export type AccusationKind = "BAD_SHARE" | "ECHO_MISMATCH";

/** One accusation as sent: its evidence as encoded signed envelopes. */
export interface Accusation {
  kind: AccusationKind;
  /** 1-based share index of the accused dealer. */
  accused: number;
  /** 0-based validator indices the complaint covers; empty for all of them. */
  validators: number[];
  reason: string;
  /** BAD_SHARE: the accused's SHARES envelope to the accuser (or empty: justify); ECHO_MISMATCH: its DEAL envelope. */
  envelope: Uint8Array;
  /** ECHO_MISMATCH: the ECHO envelopes that disagree with the accuser's digest. */
  echoes: Uint8Array[];
}

/** Step 4 broadcast. */
export interface Complaints {
  accusations: Accusation[];
}

/** A signed envelope attached to a complaint as evidence, authenticated at the edge. */
export type Evidence =
  | { authentic: false; bytes: Uint8Array /** why it does not authenticate */; detail: string }
  | {
      authentic: true;
      bytes: Uint8Array;
      sender: ShareIndex;
      /** Its message kind, as named on the wire ("DEAL", "SHARES", "ECHO", …). */
      kind: string;
      /** Receiver of a private kind, 0 otherwise. */
      receiver: number;
      /** SHA-256 of `bytes`, 32 bytes (the digest an echo names). */
      digest: Uint8Array;
      /** The payload, decoded when the kind is SHARES. */
      shares?: Decoded<Shares>;
      /** The payload, decoded when the kind is ECHO. */
      echo?: Decoded<Echo>;
    };

/** An accusation as received: shape-checked, its evidence authenticated. */
export interface FiledAccusation {
  kind: AccusationKind;
  accused: ShareIndex;
  validators: number[];
  reason: string;
  /** Absent when the accusation carried none (BAD_SHARE left for justification). */
  evidence?: Evidence;
  echoes: Evidence[];
}

/** One disputed share revealed in the clear. */
export interface JustifiedShare {
  accuser: number;
  validator: number;
  /** 32-byte big-endian scalar. */
  share: Uint8Array;
}

/** Step 5 broadcast. */
export interface Justifications {
  shares: JustifiedShare[];
}

/** One partial signature over a deposit message. */
export interface PartialSignature {
  /** 0-based validator index. */
  validator: number;
  /** 32-byte signing root. */
  signingRoot: Uint8Array;
  /** 96-byte compressed G2. */
  signature: Uint8Array;
}

/** Step 8 broadcast: one partial per (validator, deposit amount), validator-major. */
export interface DepositPartials {
  partials: PartialSignature[];
}

/** Step 9 broadcast. */
export interface LockSignature {
  /** 32 bytes. */
  lockHash: Uint8Array;
  /** The sender's identity-key signature over lock_hash. */
  signature: Uint8Array;
  /** 96-byte G2: the sender's share key Σ_v x_{i,v} signing lock_hash. */
  shareSignatureAggregate: Uint8Array;
}

/** A lock signature whose identity signature over its own lock_hash was checked at the edge. */
export interface CheckedLockSignature extends LockSignature {
  identitySignatureValid: boolean;
}

/** Step 10 broadcast. */
export interface Confirm {
  lockHash: Uint8Array;
}

type Bytes = Uint8Array<ArrayBuffer>;

/** What the decoders bound a peer's message by. */
export interface DecodeContext {
  /** Number of operators n. */
  n: number;
  numValidators: number;
  /** 1-based share indices of the dealers (every operator in a DKG). */
  dealers: readonly ShareIndex[];
  /** 1-based share indices of the receivers (every operator in a DKG). */
  receivers: readonly ShareIndex[];
}

/**
 * Most entries a peer's Complaints may decode into (protons `limits`, checked while decoding, so a
 * frame of millions of empty entries is refused before it is allocated): an honest node files at
 * most one accusation per dealer, over at most V validators, with at most n echoes.
 */
export function complaintLimits(p: { n: number; numValidators: number }) {
  return { accusations: p.n, accusations$: { validators: p.numValidators, echoes: p.n } };
}

function strict<T>(step: number, o: Opened, decode: () => T): Signed<T> {
  try {
    return { sender: o.sender, message: decode(), envelope: o.envelope };
  } catch (err) {
    throw fault("MALFORMED_MESSAGE", step, [o.sender], `undecodable payload: ${(err as Error).message}`, [
      toHex(o.envelope),
    ]);
  }
}

/** Encodes a deal. */
export function encodeDeal(d: Deal): Uint8Array {
  return PbDeal.encode({
    ...d,
    commitments: d.commitments as Bytes,
    pops: d.pops as Bytes,
    slashingFloors: d.slashingFloors as Bytes,
  });
}

/** Decodes a deal; a malformed one is a fault only if no echo disputes it (the rounds decide). */
export function decodeDeal(o: Opened): Signed<Decoded<Deal>> {
  let message: Decoded<Deal>;
  try {
    message = PbDeal.decode(o.payload);
  } catch (err) {
    message = { undecodable: `undecodable payload: ${(err as Error).message}` };
  }
  return { sender: o.sender, message, envelope: o.envelope };
}

/** Encodes a Shares message. */
export function encodeShares(s: Shares): Uint8Array {
  return PbShares.encode({ receiver: s.receiver, shares: s.shares as Bytes });
}

/** Decodes a Shares payload; an undecodable one is the dealer's fault, named by a complaint. */
export function decodeSharesPayload(payload: Uint8Array): Decoded<Shares> {
  try {
    return PbShares.decode(payload);
  } catch (err) {
    return { undecodable: `undecodable shares: ${(err as Error).message}` };
  }
}

/** Decodes a dealer's Shares for this node (see {@link decodeSharesPayload}). */
export function decodeShares(o: Opened): Signed<Decoded<Shares>> {
  return { sender: o.sender, message: decodeSharesPayload(o.payload), envelope: o.envelope };
}

/** Encodes an echo. */
export function encodeEcho(e: Echo): Uint8Array {
  return PbEcho.encode({ dealDigests: e.dealDigests as Bytes[] });
}

/** Decodes a peer's echo, at most one digest per dealer. @throws DkgError MALFORMED_MESSAGE naming the sender */
export function decodeEcho(o: Opened, ctx: DecodeContext): Signed<Echo> {
  return strict(STEP.ECHO, o, () => PbEcho.decode(o.payload, { limits: { dealDigests: ctx.dealers.length } }));
}

const ACCUSATION_KIND: Partial<Record<PbAccusationKind, AccusationKind>> = {
  [PbAccusationKind.BAD_SHARE]: "BAD_SHARE",
  [PbAccusationKind.ECHO_MISMATCH]: "ECHO_MISMATCH",
};

/** Encodes complaints. */
export function encodeComplaints(c: Complaints): Uint8Array {
  return PbComplaints.encode({
    accusations: c.accusations.map((a) => ({
      kind: PbAccusationKind[a.kind],
      accused: a.accused,
      validators: a.validators,
      reason: a.reason,
      envelope: a.envelope as Bytes,
      echoes: a.echoes as Bytes[],
    })),
  });
}

/**
 * Decodes a peer's complaints (protons limits from n and V) and checks their shape: each piece of
 * evidence costs a signature check, so an honest node files at most one accusation per dealer,
 * against a dealer, over known validators, with at most n echoes; an echo-mismatch carries its deal
 * and echoes; nobody accuses itself of a bad share; only receivers complain.
 * @throws DkgError MALFORMED_MESSAGE naming the sender
 */
export function decodeComplaints(o: Opened, ctx: DecodeContext): Signed<Complaints> {
  const raw = strict(STEP.COMPLAIN, o, () => PbComplaints.decode(o.payload, { limits: complaintLimits(ctx) }));
  const malformed = (detail: string) =>
    fault("MALFORMED_MESSAGE", STEP.COMPLAIN, [o.sender], detail, [toHex(o.envelope)]);
  const { accusations } = raw.message;
  if (accusations.length > ctx.dealers.length)
    throw malformed(`${accusations.length} accusations, at most ${ctx.dealers.length}`);
  if (accusations.length > 0 && !ctx.receivers.includes(o.sender))
    throw malformed(`complaint from operator ${o.sender}, not a receiver`);
  const out: Accusation[] = [];
  for (const acc of accusations) {
    if (acc.echoes.length > ctx.n) throw malformed(`${acc.echoes.length} echoes, at most ${ctx.n}`);
    if (!ctx.dealers.includes(acc.accused as ShareIndex)) throw malformed(`complaint against ${acc.accused}`);
    if (acc.validators.some((v) => v >= ctx.numValidators)) throw malformed("complaint names unknown validators");
    const kind = ACCUSATION_KIND[acc.kind];
    if (kind === "ECHO_MISMATCH") {
      if (acc.envelope.length === 0 || acc.echoes.length === 0)
        throw malformed("echo-mismatch complaint without its deal and echoes");
    } else if (kind === "BAD_SHARE") {
      if (acc.accused === o.sender) throw malformed(`complaint against ${acc.accused}`);
    } else {
      throw malformed(`complaint of kind ${acc.kind}`);
    }
    out.push({ ...acc, kind });
  }
  return { ...raw, message: { accusations: out } };
}

/** Authenticates one piece of evidence and decodes the payloads the rounds read (SHARES, ECHO). */
export async function openEvidence(
  bytes: Uint8Array,
  ctx: DecodeContext & { session: Uint8Array; verifier: IdentityVerifier },
): Promise<Evidence> {
  const auth = await authenticateEnvelope(bytes, ctx);
  if ("detail" in auth) return { authentic: false, bytes, detail: auth.detail };
  const env = auth.envelope;
  const ev: Evidence = {
    authentic: true,
    bytes,
    sender: env.sender as ShareIndex,
    kind: env.kind,
    receiver: env.receiver,
    digest: envelopeDigest(bytes),
  };
  if (env.kind === MessageKind.SHARES) ev.shares = decodeSharesPayload(env.payload);
  if (env.kind === MessageKind.ECHO) {
    try {
      ev.echo = PbEcho.decode(env.payload, { limits: { dealDigests: ctx.dealers.length } });
    } catch (err) {
      ev.echo = { undecodable: (err as Error).message };
    }
  }
  return ev;
}

/**
 * Authenticates the evidence of every accusation in `c` (envelopes of this attempt, validly signed by
 * their senders); what each accusation needs of it is the rounds' to judge.
 */
export async function fileComplaints(
  c: Signed<Complaints>,
  ctx: DecodeContext & { session: Uint8Array; verifier: IdentityVerifier },
): Promise<Signed<FiledAccusation[]>> {
  const filed: FiledAccusation[] = [];
  for (const acc of c.message.accusations) {
    const echoes: Evidence[] = [];
    for (const e of acc.echoes) echoes.push(await openEvidence(e, ctx));
    filed.push({
      kind: acc.kind,
      accused: acc.accused as ShareIndex,
      validators: acc.validators,
      reason: acc.reason,
      evidence: acc.envelope.length > 0 ? await openEvidence(acc.envelope, ctx) : undefined,
      echoes,
    });
  }
  return { ...c, message: filed };
}

/** Encodes justifications. */
export function encodeJustifications(j: Justifications): Uint8Array {
  return PbJustifications.encode({ shares: j.shares.map((s) => ({ ...s, share: s.share as Bytes })) });
}

/**
 * Decodes a peer's justifications, which must be empty: every complaint is settled by its evidence
 * (rounds.ts judgeComplaints), so the justify step is a barrier and no share is ever revealed.
 * @throws DkgError MALFORMED_MESSAGE naming the sender on an undecodable or non-empty message
 */
export function decodeJustifications(o: Opened): Signed<Justifications> {
  return strict(STEP.JUSTIFY, o, () => PbJustifications.decode(o.payload, { limits: { shares: 0 } }));
}

/** Encodes deposit partials. */
export function encodeDepositPartials(d: DepositPartials): Uint8Array {
  return PbPartialSignatureSet.encode({
    partials: d.partials.map((p) => ({
      validator: p.validator,
      signingRoot: p.signingRoot as Bytes,
      signature: p.signature as Bytes,
    })),
  });
}

/**
 * Decodes a peer's deposit partials, at most `count` (one per validator and amount).
 * @throws DkgError MALFORMED_MESSAGE naming the sender
 */
export function decodeDepositPartials(o: Opened, count: number): Signed<DepositPartials> {
  return strict(STEP.DEPOSIT_PARTIALS, o, () =>
    PbPartialSignatureSet.decode(o.payload, { limits: { partials: count } }),
  );
}

/** Encodes a lock signature. */
export function encodeLockSignature(l: LockSignature): Uint8Array {
  return PbLockSignature.encode({
    lockHash: l.lockHash as Bytes,
    signature: l.signature as Bytes,
    shareSignatureAggregate: l.shareSignatureAggregate as Bytes,
  });
}

/**
 * Decodes a peer's lock signature and checks its identity signature over the lock_hash it names
 * (this node's own is taken as valid).
 * @throws DkgError MALFORMED_MESSAGE naming the sender when it does not decode
 */
export async function decodeLockSignature(
  o: Opened,
  self: ShareIndex,
  verifier: IdentityVerifier,
): Promise<Signed<CheckedLockSignature>> {
  const s = strict(STEP.LOCK_SIGNATURES, o, () => PbLockSignature.decode(o.payload));
  const identitySignatureValid =
    o.sender === self || (await verifier.verify(o.sender, s.message.lockHash, s.message.signature));
  return { ...s, message: { ...s.message, identitySignatureValid } };
}

/** Encodes a confirmation. */
export function encodeConfirm(c: Confirm): Uint8Array {
  return PbConfirm.encode({ lockHash: c.lockHash as Bytes });
}

/** Why a node left the ceremony, as it signed it (proto/bcast.proto `Abort`). */
export interface AbortMessage {
  /** The DkgError code, e.g. "MALFORMED_MESSAGE", "TIMEOUT". */
  code: string;
  /** The step whose messages showed the fault. */
  step: number;
  /** 1-based share indices the sender names. */
  culprits: number[];
  detail: string;
  /** Signed envelopes that prove the fault (none for a timeout or a disconnect). */
  evidence: Uint8Array[];
}

/** Encodes an abort. */
export function encodeAbort(a: AbortMessage): Uint8Array {
  return PbAbort.encode({ ...a, evidence: a.evidence as Bytes[] });
}

/**
 * Decodes a peer's abort: at most n culprits and 2n + 2 pieces of evidence (an equivocation's pair
 * and up to n echoes, or a complaint and the shares it carries), refused while decoding past that.
 * @throws DkgError MALFORMED_MESSAGE naming the sender (it signed the envelope)
 */
export function decodeAbort(o: Opened, ctx: { n: number }): Signed<AbortMessage> {
  return strict(STEP.SYNC, o, () =>
    PbAbort.decode(o.payload, { limits: { culprits: ctx.n, evidence: 2 * ctx.n + 2 } }),
  );
}
