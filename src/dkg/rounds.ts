/**
 * Joint-Feldman DKG rounds (Pedersen 1991; Gennaro–Jarecki–Krawczyk–Rabin 1999 complaint/justify),
 * batched over all validators, as pure functions over typed values: no I/O. The runner
 * (ceremony.ts) moves their inputs and outputs through a CeremonyTransport. DESIGN.md § DKG protocol.
 */
import { parseSignature, SecretKey, type SignatureSet, verify, verifyBatch } from "../crypto/bls.js";
import { G1Vector, Polynomial, sumSecretKeys, verifyShare, verifySharesBatch } from "../crypto/tbls.js";
import { bytesEqual, concatBytes, toHex, u32be } from "../lib/bytes.js";
import type { BlsPublicKey, ShareIndex } from "../lib/types.js";
import {
  type Accusation,
  AccusationKind,
  type Deal,
  Echo,
  type Envelope,
  type JustifiedShare,
  MessageKind,
  Shares,
} from "../pb/bcast.js";
import { envelopeDigest, openEnvelope } from "./envelope.js";
import { DkgError, fault } from "./errors.js";
import { STEP } from "./steps.js";
import type { IdentityVerifier } from "./transport.js";

/** Fixed parameters of one ceremony. */
export interface CeremonyParams {
  /**
   * The session, 32 bytes: the definition hash as given to the runner, which replaces it after sync
   * with the attempt session (`attemptSession`) for every round.
   */
  session: Uint8Array;
  /** Number of operators. */
  n: number;
  /** Threshold t, 2t > n. */
  t: number;
  /** Number of validators V dealt in the same rounds. */
  numValidators: number;
  /** This node's 1-based share index. */
  self: ShareIndex;
}

const POP_DOMAIN = new TextEncoder().encode("cohort/dkg/pop/v1");

/**
 * Message signed by a proof of possession of a_{dealer,v,0}:
 * "cohort/dkg/pop/v1" ‖ session ‖ u32be(dealer) ‖ u32be(v) ‖ C_{dealer,v,0} (48 bytes).
 */
export function popMessage(session: Uint8Array, dealer: number, validator: number, c0: Uint8Array): Uint8Array {
  return concatBytes(POP_DOMAIN, session, u32be(dealer), u32be(validator), c0);
}

/** This dealer's output of step 2. The polynomials stay in memory only. */
export interface DealOutput {
  deal: Deal;
  /** Shares payloads (encoded `Shares`) keyed by receiver, self excluded. */
  shares: Map<ShareIndex, Uint8Array>;
  /** f_{self,v}(self) for each validator v. */
  ownShares: SecretKey[];
  /** This dealer's own commitments, ready for evaluation (never re-validated). */
  ownVerified: VerifiedDeal;
}

/** Step 2: one random polynomial of degree t − 1 per validator, its commitments, PoPs and shares. */
export function createDeal(p: CeremonyParams): DealOutput {
  const V = p.numValidators;
  const commitments = new Uint8Array(V * p.t * 48);
  const pops = new Uint8Array(V * 96);
  const perReceiver = Array.from({ length: p.n }, () => new Uint8Array(V * 32));
  const ownShares: SecretKey[] = [];
  const ownVerified: VerifiedDeal = [];
  for (let v = 0; v < V; v++) {
    const poly = Polynomial.random(p.t);
    const { commitments: cs, vector } = poly.commit();
    ownVerified.push(vector);
    cs.forEach((c, k) => {
      commitments.set(c, (v * p.t + k) * 48);
    });
    pops.set(poly.secret().sign(popMessage(p.session, p.self, v, cs[0]!)), v * 96);
    for (let j = 1; j <= p.n; j++) {
      const s = poly.evaluate(j);
      if (j === p.self) ownShares.push(s);
      perReceiver[j - 1]!.set(s.toBytes(), v * 32);
    }
  }
  const shares = new Map<ShareIndex, Uint8Array>();
  for (let j = 1; j <= p.n; j++) {
    if (j !== p.self) shares.set(j as ShareIndex, Shares.encode({ receiver: j, shares: perReceiver[j - 1]! }));
  }
  return { deal: { numValidators: V, threshold: p.t, commitments, pops }, shares, ownShares, ownVerified };
}

/** A deal whose points and proofs of possession verified: commitments per validator. */
export type VerifiedDeal = G1Vector[];

/**
 * Step 4, public part: counts, points (canonical, on curve, in subgroup, not infinity) and proofs
 * of possession of every dealer's deal. PoPs are batch-verified across dealers, then per dealer
 * and per validator on failure to find the culprit.
 * @throws DkgError MALFORMED_DEAL or BAD_POP naming the dealer
 */
export function verifyDeals(
  p: CeremonyParams,
  deals: Map<number, { deal: Deal; envelope: Uint8Array }>,
  own: VerifiedDeal,
): Map<number, VerifiedDeal> {
  const V = p.numValidators;
  const out = new Map<number, VerifiedDeal>();
  const popSets = new Map<number, SignatureSet[]>();
  for (const [dealer, { deal, envelope }] of [...deals].sort((a, b) => a[0] - b[0])) {
    if (dealer === p.self) {
      out.set(dealer, own);
      continue;
    }
    const bad = (detail: string) => fault("MALFORMED_DEAL", STEP.DEAL, [dealer], detail, [toHex(envelope)]);
    if (deal.numValidators !== V) throw bad(`"num_validators" must be ${V}, got ${deal.numValidators}`);
    if (deal.threshold !== p.t) throw bad(`"threshold" must be ${p.t}, got ${deal.threshold}`);
    if (deal.commitments.length !== V * p.t * 48)
      throw bad(
        `"commitments" must be ${V * p.t} points (${V * p.t * 48} bytes), got ${deal.commitments.length} bytes`,
      );
    if (deal.pops.length !== V * 96) throw bad(`"pops" must be ${V} signatures, got ${deal.pops.length} bytes`);
    const vectors: G1Vector[] = [];
    const sets: SignatureSet[] = [];
    for (let v = 0; v < V; v++) {
      const bytes = deal.commitments.subarray(v * p.t * 48, (v + 1) * p.t * 48);
      let vec: G1Vector;
      let pop: Uint8Array;
      try {
        vec = G1Vector.fromBytes(bytes, p.t, `commitments[${v}]`);
        pop = parseSignature(deal.pops.subarray(v * 96, (v + 1) * 96), `pops[${v}]`);
      } catch (err) {
        throw bad((err as Error).message);
      }
      vectors.push(vec);
      const c0 = bytes.subarray(0, 48);
      sets.push({ publicKey: c0, message: popMessage(p.session, dealer, v, c0), signature: pop });
    }
    out.set(dealer, vectors);
    popSets.set(dealer, sets);
  }
  const all = [...popSets.values()].flat();
  if (!verifyBatch(all)) {
    for (const [dealer, sets] of popSets) {
      if (verifyBatch(sets)) continue;
      const badValidators = sets.flatMap((s, v) => (verify(s.publicKey, s.message, s.signature) ? [] : [v]));
      const env = deals.get(dealer)!.envelope;
      throw fault(
        "BAD_POP",
        STEP.DEAL,
        [dealer],
        `proof of possession fails for validator(s) ${badValidators.join(", ")}`,
        [toHex(env)],
      );
    }
  }
  return out;
}

/**
 * Decodes one dealer's Shares payload for this node.
 * @returns the V shares, or the reason they are unusable (a complaint follows)
 */
export function decodeShares(p: CeremonyParams, payload: Uint8Array): SecretKey[] | string {
  let msg: Shares;
  try {
    msg = Shares.decode(payload);
  } catch (err) {
    return `undecodable shares: ${(err as Error).message}`;
  }
  if (msg.receiver !== p.self) return `shares addressed to ${msg.receiver}`;
  if (msg.shares.length !== p.numValidators * 32) return `"shares" must be ${p.numValidators * 32} bytes`;
  const out: SecretKey[] = [];
  for (let v = 0; v < p.numValidators; v++) {
    try {
      out.push(SecretKey.fromBytes(msg.shares.subarray(v * 32, (v + 1) * 32), `shares[${v}]`));
    } catch (err) {
      return (err as Error).message;
    }
  }
  return out;
}

/**
 * Step 4, private part: Feldman-checks every received share in one batch; on failure, per dealer
 * and per validator to find the culprits.
 * @returns failing validator indices by dealer (empty map when all pass)
 */
export function findBadShares(
  p: CeremonyParams,
  verified: Map<number, VerifiedDeal>,
  shares: Map<number, SecretKey[]>,
): Map<number, number[]> {
  const items: { dealer: number; v: number; commitments: G1Vector; share: SecretKey }[] = [];
  for (const [dealer, list] of shares) {
    const vectors = verified.get(dealer)!;
    list.forEach((share, v) => {
      items.push({ dealer, v, commitments: vectors[v]!, share });
    });
  }
  const bad = new Map<number, number[]>();
  if (verifySharesBatch(items, p.self)) return bad;
  for (const dealer of shares.keys()) {
    const mine = items.filter((x) => x.dealer === dealer);
    if (verifySharesBatch(mine, p.self)) continue;
    bad.set(
      dealer,
      mine.filter((x) => !verifyShare(x, p.self)).map((x) => x.v),
    );
  }
  return bad;
}

/**
 * Step 3: compares this node's digests of the deals with every peer's echo.
 * @returns dealers whose digests disagree, with the echoers that disagree with this node
 */
export function compareEchoes(own: Uint8Array[], echoes: Map<number, Echo>, p: CeremonyParams): Map<number, number[]> {
  const disputed = new Map<number, number[]>();
  for (const [sender, echo] of echoes) {
    if (echo.dealDigests.length !== p.n) {
      throw fault("MALFORMED_MESSAGE", STEP.ECHO, [sender], `echo must carry ${p.n} digests`);
    }
    echo.dealDigests.forEach((d, i) => {
      if (!bytesEqual(d, own[i]!)) disputed.set(i + 1, [...(disputed.get(i + 1) ?? []), sender]);
    });
  }
  return disputed;
}

/** Inputs to {@link judgeComplaints}. */
export interface ComplaintContext {
  p: CeremonyParams;
  verifier: IdentityVerifier;
  /** Every deal envelope this node received, by dealer (its own included). */
  dealEnvelopes: Map<number, Uint8Array>;
  /** Verified deals (absent when this node saw an echo dispute). */
  verified: Map<number, VerifiedDeal>;
  /** Complaints envelopes' payloads by accuser (this node's own included). */
  complaints: Map<number, { accusations: Accusation[]; envelope: Uint8Array }>;
}

/**
 * Opens a piece of evidence attached to `accuser`'s complaint. Evidence counts only if it is of the
 * kind the accusation needs, for this attempt session, from the right signer and, where private,
 * addressed to the accuser; anything else convicts the accuser (its complaint is signed), never
 * the accused.
 * @throws DkgError FALSE_COMPLAINT naming the accuser when the evidence fails any check
 */
async function openEvidence(
  ctx: ComplaintContext,
  accuser: number,
  complaint: Uint8Array,
  bytes: Uint8Array,
  need: { kind: MessageKind; signer?: number; what: string },
): Promise<Envelope> {
  const { p } = ctx;
  try {
    return await openEnvelope(bytes, {
      session: p.session,
      kind: need.kind,
      receiver: need.kind === MessageKind.SHARES ? accuser : undefined,
      expectedSender: need.signer,
      n: p.n,
      verifier: ctx.verifier,
    });
  } catch (err) {
    const why = err instanceof DkgError ? err.type.detail : (err as Error).message;
    throw fault("FALSE_COMPLAINT", STEP.COMPLAIN, [accuser], `invalid evidence (${need.what}): ${why}`, [
      toHex(complaint),
    ]);
  }
}

/** A complaint that no evidence settled: the accused must justify. */
export interface PendingComplaint {
  accuser: number;
  accused: number;
  validators: number[];
  envelope: Uint8Array;
}

interface Filed {
  accuser: number;
  acc: Accusation;
  complaint: Uint8Array;
}

/**
 * Step 4→5: settles complaints from their typed evidence (DESIGN.md § DKG protocol step 5).
 * ECHO_MISMATCH accusations are judged first, by dealer:
 * - evidence must be the accused's DEAL envelope and other operators' ECHO envelopes of this
 *   attempt whose digest for the accused differs from that deal's; otherwise FALSE_COMPLAINT (accuser);
 * - two validly signed, different deals from one dealer → EQUIVOCATION (dealer);
 * - else every attached echo names a digest of no signed deal → INVALID_ECHO (those echoers).
 * Then BAD_SHARE accusations, by accuser:
 * - evidence must be the accused's SHARES envelope addressed to the accuser, of this attempt;
 *   otherwise FALSE_COMPLAINT (accuser);
 * - a share in it that fails its check, or an unusable payload the accused signed → BAD_SHARE (dealer);
 * - listed shares that all pass → FALSE_COMPLAINT (accuser);
 * - no evidence → left for the accused's justification.
 * @returns complaints left for justification
 * @throws DkgError with the first conviction (MALFORMED_MESSAGE for a malformed accusation)
 */
export async function judgeComplaints(ctx: ComplaintContext): Promise<PendingComplaint[]> {
  const { p } = ctx;
  const echoByDealer = new Map<number, Filed[]>();
  const shareComplaints: Filed[] = [];
  for (const [accuser, { accusations, envelope }] of [...ctx.complaints].sort((a, b) => a[0] - b[0])) {
    const malformed = (detail: string) =>
      fault("MALFORMED_MESSAGE", STEP.COMPLAIN, [accuser], detail, [toHex(envelope)]);
    // each piece of evidence costs a signature check: an honest node files at most one accusation
    // per dealer, with at most n echoes
    if (accusations.length > p.n) throw malformed(`${accusations.length} accusations, at most ${p.n}`);
    for (const acc of accusations) {
      if (acc.echoes.length > p.n) throw malformed(`${acc.echoes.length} echoes, at most ${p.n}`);
      if (acc.accused < 1 || acc.accused > p.n) throw malformed(`complaint against ${acc.accused}`);
      if (acc.validators.some((v) => v >= p.numValidators)) throw malformed("complaint names unknown validators");
      const filed = { accuser, acc, complaint: envelope };
      if (acc.kind === AccusationKind.ECHO_MISMATCH) {
        if (acc.envelope.length === 0 || acc.echoes.length === 0)
          throw malformed("echo-mismatch complaint without its deal and echoes");
        echoByDealer.set(acc.accused, [...(echoByDealer.get(acc.accused) ?? []), filed]);
      } else if (acc.kind === AccusationKind.BAD_SHARE) {
        if (acc.accused === accuser) throw malformed(`complaint against ${acc.accused}`);
        shareComplaints.push(filed);
      } else {
        throw malformed(`complaint of kind ${acc.kind}`);
      }
    }
  }
  for (const [dealer, filed] of [...echoByDealer].sort((a, b) => a[0] - b[0])) {
    await judgeEchoMismatch(ctx, dealer, filed);
  }
  const pending: PendingComplaint[] = [];
  for (const { accuser, acc, complaint } of shareComplaints) {
    if (acc.envelope.length === 0) {
      pending.push({ accuser, accused: acc.accused, validators: acc.validators, envelope: complaint });
      continue;
    }
    await settleWithEvidence(ctx, accuser, acc, complaint);
  }
  return pending;
}

/** Judges every ECHO_MISMATCH accusation against `dealer`. @throws DkgError always */
async function judgeEchoMismatch(ctx: ComplaintContext, dealer: number, filed: Filed[]): Promise<never> {
  const { p } = ctx;
  const copies = new Map<string, Uint8Array>();
  const own = ctx.dealEnvelopes.get(dealer);
  if (own) copies.set(toHex(envelopeDigest(own)), own);
  const claims: { echoer: number; digest: string; envelope: Uint8Array }[] = [];
  for (const { accuser, acc, complaint } of filed) {
    await openEvidence(ctx, accuser, complaint, acc.envelope, {
      kind: MessageKind.DEAL,
      signer: dealer,
      what: `deal of operator ${dealer}`,
    });
    const digest = toHex(envelopeDigest(acc.envelope));
    copies.set(digest, acc.envelope);
    for (const bytes of acc.echoes) {
      const env = await openEvidence(ctx, accuser, complaint, bytes, { kind: MessageKind.ECHO, what: "echo" });
      let theirs: Uint8Array | undefined;
      try {
        const echo = Echo.decode(env.payload, { limits: { dealDigests: p.n } });
        if (echo.dealDigests.length === p.n) theirs = echo.dealDigests[dealer - 1];
      } catch {
        // signed by the echoer: its own fault, below
      }
      if (theirs === undefined) {
        throw fault("MALFORMED_MESSAGE", STEP.ECHO, [env.sender], `echo must carry ${p.n} digests`, [toHex(bytes)]);
      }
      if (toHex(theirs) === digest) {
        throw fault(
          "FALSE_COMPLAINT",
          STEP.COMPLAIN,
          [accuser],
          `invalid evidence: operator ${env.sender}'s echo agrees with the deal it is said to dispute`,
          [toHex(complaint)],
        );
      }
      claims.push({ echoer: env.sender, digest: toHex(theirs), envelope: bytes });
    }
  }
  if (copies.size >= 2) {
    const two = [...copies.values()].slice(0, 2).map(toHex);
    throw fault("EQUIVOCATION", STEP.ECHO, [dealer], "signed two different deals", two);
  }
  const liars = claims.filter((c) => !copies.has(c.digest));
  const echoers = [...new Set(liars.map((c) => c.echoer))].sort((a, b) => a - b);
  const evidence = [...new Set(liars.map((c) => toHex(c.envelope)))];
  throw fault("INVALID_ECHO", STEP.ECHO, echoers, `echo digest for dealer ${dealer} matches no signed deal`, [
    ...evidence,
    toHex([...copies.values()][0]!),
  ]);
}

async function settleWithEvidence(ctx: ComplaintContext, accuser: number, acc: Accusation, complaint: Uint8Array) {
  const { p } = ctx;
  const env = await openEvidence(ctx, accuser, complaint, acc.envelope, {
    kind: MessageKind.SHARES,
    signer: acc.accused,
    what: `shares of operator ${acc.accused} for operator ${accuser}`,
  });
  const accuserParams = { ...p, self: accuser as ShareIndex };
  const decoded = decodeShares(accuserParams, env.payload);
  const evidence = [toHex(acc.envelope), toHex(complaint)];
  // the accused signed this payload for the accuser: an unusable one is its fault
  if (typeof decoded === "string") throw fault("BAD_SHARE", STEP.DEAL, [acc.accused], decoded, evidence);
  const vectors = ctx.verified.get(acc.accused);
  if (vectors === undefined) throw new Error(`no verified deal of operator ${acc.accused} to judge a complaint`);
  const listed = acc.validators.length > 0 ? acc.validators : decoded.map((_, v) => v);
  const failing = listed.filter((v) => !verifyShare({ commitments: vectors[v]!, share: decoded[v]! }, accuser));
  if (failing.length > 0) {
    throw fault(
      "BAD_SHARE",
      STEP.DEAL,
      [acc.accused],
      `share for operator ${accuser} fails its commitment check (validators ${failing.join(", ")})`,
      evidence,
    );
  }
  throw fault(
    "FALSE_COMPLAINT",
    STEP.COMPLAIN,
    [accuser],
    `complaint against operator ${acc.accused} refuted by its signed shares`,
    [toHex(complaint), toHex(acc.envelope)],
  );
}

/** The validators a complaint covers: those listed, or all of them when none are. */
function complained(p: CeremonyParams, c: PendingComplaint): number[] {
  return c.validators.length > 0 ? c.validators : Array.from({ length: p.numValidators }, (_, v) => v);
}

/** Step 5: this dealer's justification for complaints against it: the disputed shares in the clear. */
export function justify(
  p: CeremonyParams,
  pending: PendingComplaint[],
  sharesSent: Map<ShareIndex, Uint8Array>,
): JustifiedShare[] {
  const out: JustifiedShare[] = [];
  for (const c of pending) {
    if (c.accused !== p.self) continue;
    const payload = Shares.decode(sharesSent.get(c.accuser as ShareIndex)!);
    for (const v of complained(p, c))
      out.push({ accuser: c.accuser, validator: v, share: payload.shares.slice(v * 32, (v + 1) * 32) });
  }
  return out;
}

/**
 * Step 5→6: every pending complaint ends the ceremony; a valid justification convicts the
 * accuser (FALSE_COMPLAINT), a missing or invalid one the dealer (BAD_JUSTIFICATION).
 * @throws DkgError always when `pending` is non-empty
 */
export function judgeJustifications(
  p: CeremonyParams,
  pending: PendingComplaint[],
  justifications: Map<number, { shares: JustifiedShare[]; envelope: Uint8Array }>,
  verified: Map<number, VerifiedDeal>,
): void {
  for (const c of pending) {
    const j = justifications.get(c.accused);
    const validators = complained(p, c);
    const evidence = [toHex(c.envelope), ...(j ? [toHex(j.envelope)] : [])];
    const ok = validators.every((v) => {
      const js = j?.shares.find((s) => s.accuser === c.accuser && s.validator === v);
      if (!js) return false;
      try {
        const share = SecretKey.fromBytes(js.share, "share");
        return verifyShare({ commitments: verified.get(c.accused)![v]!, share }, c.accuser);
      } catch {
        return false;
      }
    });
    if (ok) {
      throw fault(
        "FALSE_COMPLAINT",
        STEP.JUSTIFY,
        [c.accuser],
        `complaint against operator ${c.accused} refuted by its justification`,
        evidence,
      );
    }
    throw fault(
      "BAD_JUSTIFICATION",
      STEP.JUSTIFY,
      [c.accused],
      `no valid justification for operator ${c.accuser}'s complaint`,
      evidence,
    );
  }
}

/** Step 7 output for one validator. */
export interface DerivedValidator {
  /** Group public key PK_v = Σ_i C_{i,v,0}, 48 bytes. */
  publicKey: BlsPublicKey;
  /** Public shares X_{m,v} for m = 1..n (index m − 1), 48 bytes each. */
  publicShares: BlsPublicKey[];
  /** Σ_i C_{i,v,·}: the group commitments, for evaluating public shares. */
  groupCommitments: G1Vector;
}

/**
 * Step 7: x_{self,v} = Σ_i s_{i→self,v}, PK_v = Σ_i C_{i,v,0}, X_{m,v} = Σ_k (Σ_i C_{i,v,k})·m^k,
 * with the self-check x_{self,v}·G1 = X_{self,v}.
 * @throws Error if the self-check fails (a bug, not a peer fault: every share was verified)
 */
export function derive(
  p: CeremonyParams,
  verified: Map<number, VerifiedDeal>,
  shares: Map<number, SecretKey[]>,
): { shares: SecretKey[]; validators: DerivedValidator[] } {
  const outShares: SecretKey[] = [];
  const validators: DerivedValidator[] = [];
  const dealers = [...verified.keys()].sort((a, b) => a - b);
  for (let v = 0; v < p.numValidators; v++) {
    const group = G1Vector.sum(dealers.map((i) => verified.get(i)![v]!));
    const share = sumSecretKeys(dealers.map((i) => shares.get(i)![v]!));
    const publicShares = Array.from({ length: p.n }, (_, m) => group.evaluate(m + 1));
    if (!bytesEqual(share.publicKey(), publicShares[p.self - 1]!)) {
      throw new DkgError(
        { code: "ABORTED", step: STEP.DEAL, culprits: [], evidence: [], detail: "share self-check" },
        `derived share of validator ${v} does not match its public share`,
      );
    }
    outShares.push(share);
    validators.push({ publicKey: group.at(0), publicShares, groupCommitments: group });
  }
  return { shares: outShares, validators };
}

/**
 * Most entries a peer's Complaints may decode into (protons `limits`, checked while decoding, so a
 * frame of millions of empty entries is refused before it is allocated): an honest node files at
 * most one accusation per dealer, over at most V validators, with at most n echoes.
 */
export function complaintLimits(p: { n: number; numValidators: number }) {
  return { accusations: p.n, accusations$: { validators: p.numValidators, echoes: p.n } };
}
