/**
 * Joint-Feldman DKG rounds (Pedersen 1991; Gennaro–Jarecki–Krawczyk–Rabin 1999 complaint/justify),
 * batched over all validators, as an explicit state machine over typed values (noble's `frost.ts`
 * is the model): each step takes the state the previous one returned and the typed, authenticated
 * messages of its step, and returns the next state and this node's outgoing message, or throws a
 * DkgError naming the culprits. No I/O and no wire types: ceremony.ts seals, exchanges, decodes
 * (messages.ts) and sequences. DESIGN.md § DKG protocol, steps 2–9.
 *
 * Dealers and receivers are explicit sets (both every operator in a DKG), so that a reshare can run
 * deal, verify, complain and justify with old operators dealing to new ones.
 */
import {
  aggregatePublicKeys,
  aggregateSignatures,
  parseSignature,
  SecretKey,
  type SignatureSet,
} from "../crypto/bls.js";
import {
  G1Vector,
  lagrangeCoefficients,
  Polynomial,
  sumSecretKeys,
  verifyShare,
  verifySharesBatch,
  weightedSumSecretKeys,
} from "../crypto/tbls.js";
import { bytesEqual, concatBytes, toHex, u32be } from "../lib/bytes.js";
import { noPause, type Pause } from "../lib/slice.js";
import type { BlsPublicKey, BlsSignature, Root, ShareIndex } from "../lib/types.js";
import { findInvalidSliced, type PartialSignatures, verifyAndCombine } from "../signing/verifySets.js";
import { DkgError, fault } from "./errors.js";
import type {
  Accusation,
  CheckedLockSignature,
  Complaints,
  Deal,
  Decoded,
  DepositPartials,
  Echo,
  Evidence,
  FiledAccusation,
  Shares,
  Signed,
} from "./messages.js";
import { STEP } from "./steps.js";

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
  /** 1-based share indices of the dealers, ascending; default every operator 1..n. */
  dealers?: readonly ShareIndex[];
  /** 1-based share indices of the receivers, ascending; default every operator 1..n. */
  receivers?: readonly ShareIndex[];
  /** Set in a reshare: the dealers deal their old shares (DESIGN.md § Cluster lifecycle). */
  reshare?: ReshareParams;
  /**
   * Set when validators are added: the previous lock's validators, which come first in the new
   * lock (their public shares and deposit signatures unchanged), and this node's shares of them,
   * which sign the lock with the new shares. Every operator is then a dealer and a receiver.
   */
  carried?: { validators: readonly CeremonyValidator[]; shares: readonly SecretKey[] };
}

/**
 * A reshare (verifiable secret redistribution; Desmedt–Jajodia 1997, Wong–Wang–Wing 2002): each
 * dealer deals its old share x_{o(i),v} as the constant term of a fresh polynomial of degree t′ − 1
 * (t′ = `CeremonyParams.t`), whose first commitment must equal the old lock's public share; each
 * receiver's new share is Σ_i λ_i·s_{i→j,v}, λ the Lagrange coefficients at 0 over the dealers' old
 * share indices. Ceremony indices are the new operators 1..n′ (the receivers), then the retiring
 * operators that take part.
 */
export interface ReshareParams {
  /** Old lock threshold t; at least t dealers are needed. */
  oldThreshold: number;
  /** The old (1-based) share index of each dealer, by its ceremony index. */
  oldIndex: ReadonlyMap<ShareIndex, number>;
  /** Each validator's group public key, 48 bytes, unchanged by the reshare. */
  publicKeys: readonly BlsPublicKey[];
  /** The old lock's public shares: `oldPublicShares[v][m − 1]` for old share index m, 48 bytes. */
  oldPublicShares: readonly (readonly BlsPublicKey[])[];
  /** This node's old share of each validator, when it is a dealer. Secret: never logged. */
  ownOldShares?: readonly SecretKey[];
  /** This node's slashing floor for each validator, when it is a dealer (see {@link SlashingFloor}). */
  ownFloors?: readonly SlashingFloor[];
  /**
   * The highest slot and epoch a dealer's floor may name (the wall clock plus a margin); a deal
   * with a floor past them is malformed. Unbounded when absent (tests, unknown genesis time).
   */
  maxFloor?: { slot: bigint; epoch: bigint };
}

/**
 * The highest block slot and attestation epochs one old operator recorded for a validator; null
 * where it recorded none. The new operators' slashing databases start from the maximum over every
 * dealer: at least t old operators deal, and any group signature needed t old operators, so with
 * 2t > n one dealer took part in each (an old operator can raise the floor, never lower it).
 */
export interface SlashingFloor {
  blockSlot: bigint | null;
  sourceEpoch: bigint | null;
  targetEpoch: bigint | null;
}

const NO_FLOOR = (1n << 64n) - 1n;

/**
 * Why a dealer's floors are unacceptable, if they are: a value above 2^63 − 1 (the slashing
 * database's range), a source epoch above its target, or a slot or epoch past `max` (the wall
 * clock plus a margin: a floor there would silence the validator for good).
 */
export function floorProblem(
  floors: readonly SlashingFloor[],
  max?: { slot: bigint; epoch: bigint },
): string | undefined {
  const LIMIT = (1n << 63n) - 1n;
  for (const [v, f] of floors.entries()) {
    for (const [name, x, bound] of [
      ["block slot", f.blockSlot, max?.slot],
      ["source epoch", f.sourceEpoch, max?.epoch],
      ["target epoch", f.targetEpoch, max?.epoch],
    ] as const) {
      if (x === null) continue;
      if (x > LIMIT) return `slashing floor ${name} of validator ${v} is above 2^63 − 1`;
      if (bound !== undefined && x > bound) return `slashing floor ${name} ${x} of validator ${v} is in the future`;
    }
    if ((f.sourceEpoch === null) !== (f.targetEpoch === null))
      return `slashing floor of validator ${v} has a source epoch or a target epoch, not both`;
    if (f.sourceEpoch !== null && f.targetEpoch !== null && f.sourceEpoch > f.targetEpoch)
      return `slashing floor of validator ${v} has source epoch ${f.sourceEpoch} above target epoch ${f.targetEpoch}`;
  }
  return undefined;
}

/** Encodes V floors as 24 bytes each (uint64 big-endian, 2^64 − 1 for none). */
export function encodeSlashingFloors(floors: readonly SlashingFloor[]): Uint8Array {
  const out = new Uint8Array(floors.length * 24);
  const view = new DataView(out.buffer);
  floors.forEach((f, v) => {
    [f.blockSlot, f.sourceEpoch, f.targetEpoch].forEach((x, k) => {
      view.setBigUint64(v * 24 + k * 8, x ?? NO_FLOOR);
    });
  });
  return out;
}

/** Decodes {@link encodeSlashingFloors}. @throws RangeError when the length is not 24·V */
export function decodeSlashingFloors(bytes: Uint8Array, numValidators: number): SlashingFloor[] {
  if (bytes.length !== numValidators * 24)
    throw new RangeError(`"slashing_floors" must be ${numValidators * 24} bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = (o: number) => {
    const x = view.getBigUint64(o);
    return x === NO_FLOOR ? null : x;
  };
  return Array.from({ length: numValidators }, (_, v) => ({
    blockSlot: at(v * 24),
    sourceEpoch: at(v * 24 + 8),
    targetEpoch: at(v * 24 + 16),
  }));
}

/** The element-wise maximum of several operators' floors for the same validators. */
export function maxSlashingFloors(lists: readonly (readonly SlashingFloor[])[]): SlashingFloor[] {
  const max = (a: bigint | null, b: bigint | null) => (a === null ? b : b === null ? a : a > b ? a : b);
  const first = lists[0] ?? [];
  return first.map((_, v) =>
    lists.reduce<SlashingFloor>(
      (acc, l) => ({
        blockSlot: max(acc.blockSlot, l[v]!.blockSlot),
        sourceEpoch: max(acc.sourceEpoch, l[v]!.sourceEpoch),
        targetEpoch: max(acc.targetEpoch, l[v]!.targetEpoch),
      }),
      { blockSlot: null, sourceEpoch: null, targetEpoch: null },
    ),
  );
}

/**
 * Checks a reshare's roles: every dealer has a distinct old share index, at least the old threshold
 * of them deal, the new threshold keeps 2t′ > n′, and this node's old shares and floors are given
 * when it deals.
 * @throws RangeError naming the parameter
 */
export function checkReshareParams(p: CeremonyParams): void {
  const r = p.reshare;
  if (r === undefined) return;
  const { dealers, receivers } = rosterOf(p);
  if (dealers.length < r.oldThreshold)
    throw new RangeError(`a reshare needs at least ${r.oldThreshold} old operators, got ${dealers.length}`);
  const old = dealers.map((d) => r.oldIndex.get(d));
  if (old.some((o) => o === undefined) || new Set(old).size !== old.length)
    throw new RangeError('"oldIndex" must give each dealer a distinct old share index');
  if (2 * p.t <= receivers.length || p.t > receivers.length)
    throw new RangeError(`threshold ${p.t} must satisfy 2t > n′ = ${receivers.length} and t ≤ n′`);
  if (r.publicKeys.length !== p.numValidators || r.oldPublicShares.length !== p.numValidators)
    throw new RangeError(`"publicKeys" and "oldPublicShares" must have ${p.numValidators} entries`);
  if (
    dealers.includes(p.self) &&
    (r.ownOldShares?.length !== p.numValidators || r.ownFloors?.length !== p.numValidators)
  )
    throw new RangeError(`a dealing node needs its ${p.numValidators} old shares and slashing floors`);
  if (p.carried !== undefined) throw new RangeError("a reshare carries no validators");
}

/** The dealer and receiver sets of `p` (1..n unless given), ascending 1-based share indices. */
export function rosterOf(p: CeremonyParams): { dealers: readonly ShareIndex[]; receivers: readonly ShareIndex[] } {
  const all = Array.from({ length: p.n }, (_, i) => (i + 1) as ShareIndex);
  return { dealers: p.dealers ?? all, receivers: p.receivers ?? all };
}

/** What the ceremony needs from the cluster layer: deposit roots and the lock hash (pure). */
export interface ArtifactBuilder {
  /** Deposit signing roots for validator `v` (0-based) with group key `publicKey`, one per amount. */
  depositSigningRoots(v: number, publicKey: BlsPublicKey): Root[];
  /** lock_hash over the definition and these validators. */
  lockHash(validators: CeremonyValidator[]): Root;
}

/** One distributed validator as the ceremony produced it. */
export interface CeremonyValidator {
  /** Group public key, 48 bytes. */
  publicKey: BlsPublicKey;
  /** Public shares for share indices 1..n (array index m − 1), 48 bytes each. */
  publicShares: BlsPublicKey[];
  /** Combined deposit signatures, one per deposit amount, 96 bytes each. */
  depositSignatures: BlsSignature[];
}

/** A finished ceremony, identical on every node except `shares`. */
export interface CeremonyResult {
  /**
   * This node's secret share of each validator key the ceremony dealt (not of carried validators);
   * empty on a retiring operator of a reshare.
   */
  shares: SecretKey[];
  /** Every validator of the lock: carried ones first, then the dealt ones. */
  validators: CeremonyValidator[];
  /** Reshare only: the slashing floor of each validator, the maximum over every dealer's. */
  slashingFloors?: SlashingFloor[];
  lockHash: Root;
  /** Aggregate of every share's signature over lock_hash (validator-major, then share index). */
  signatureAggregate: BlsSignature;
  /** Identity-key signatures over lock_hash, by share index (array index i − 1). */
  nodeSignatures: Uint8Array[];
}

const POP_DOMAIN = new TextEncoder().encode("cohort/dkg/pop/v1");

/**
 * Message signed by a proof of possession of a_{dealer,v,0}:
 * "cohort/dkg/pop/v1" ‖ session ‖ u32be(dealer) ‖ u32be(v) ‖ C_{dealer,v,0} (48 bytes).
 */
export function popMessage(session: Uint8Array, dealer: number, validator: number, c0: Uint8Array): Uint8Array {
  return concatBytes(POP_DOMAIN, session, u32be(dealer), u32be(validator), c0);
}

/** A deal whose points and proofs of possession verified: commitments per validator. */
export type VerifiedDeal = G1Vector[];

/** State after step 2: what this dealer keeps for the later steps. Holds secrets: never logged. */
export interface Dealt {
  readonly p: CeremonyParams;
  readonly dealers: readonly ShareIndex[];
  readonly receivers: readonly ShareIndex[];
  /** f_{self,v}(self) for each validator v. */
  readonly ownShares: SecretKey[];
  /** This dealer's own commitments, ready for evaluation (never re-validated). */
  readonly ownVerified: VerifiedDeal;
  /** The shares this dealer sent, by receiver (revealed only in a justification). */
  readonly sent: ReadonlyMap<ShareIndex, Shares>;
}

/**
 * Step 2: one random polynomial of degree t − 1 per validator (in a reshare, with this dealer's old
 * share as its constant term), its commitments, PoPs and shares. A node that does not deal (a new
 * operator in a reshare) sends an empty deal; every node sends every other node a Shares message,
 * empty where one of the two is not a dealer or not a receiver.
 * Each validator's polynomial is made after `pause()` (this and every step below: a long ceremony
 * lets I/O in as it computes; src/lib/slice.ts).
 * @returns the state, this node's deal (broadcast) and its shares for every other operator (direct)
 * @throws RangeError on inconsistent reshare parameters ({@link checkReshareParams})
 */
export async function createDeal(
  p: CeremonyParams,
  pause: Pause = noPause,
): Promise<{ state: Dealt; deal: Deal; shares: Map<ShareIndex, Shares> }> {
  checkReshareParams(p);
  const { dealers, receivers } = rosterOf(p);
  const V = p.numValidators;
  const dealing = dealers.includes(p.self);
  const empty = new Uint8Array(0);
  const shares = new Map<ShareIndex, Shares>();
  for (let j = 1 as ShareIndex; j <= p.n; j++) {
    if (j !== p.self) shares.set(j, { receiver: j, shares: empty });
  }
  if (!dealing) {
    return {
      state: { p, dealers, receivers, ownShares: [], ownVerified: [], sent: new Map() },
      deal: { numValidators: V, threshold: p.t, commitments: empty, pops: empty, slashingFloors: empty },
      shares,
    };
  }
  const commitments = new Uint8Array(V * p.t * 48);
  const pops = new Uint8Array(V * 96);
  const perReceiver = new Map(receivers.map((j) => [j, new Uint8Array(V * 32)]));
  const ownShares: SecretKey[] = [];
  const ownVerified: VerifiedDeal = [];
  const old = p.reshare?.ownOldShares;
  for (let v = 0; v < V; v++) {
    await pause();
    const poly = old === undefined ? Polynomial.random(p.t) : Polynomial.withSecret(old[v]!, p.t);
    const { commitments: cs, vector } = poly.commit();
    ownVerified.push(vector);
    cs.forEach((c, k) => {
      commitments.set(c, (v * p.t + k) * 48);
    });
    pops.set(poly.secret().sign(popMessage(p.session, p.self, v, cs[0]!)), v * 96);
    for (const j of receivers) {
      const s = poly.evaluate(j);
      if (j === p.self) ownShares.push(s);
      perReceiver.get(j)!.set(s.toBytes(), v * 32);
    }
  }
  const sent = new Map<ShareIndex, Shares>();
  for (const j of receivers) {
    if (j === p.self) continue;
    const s = { receiver: j, shares: perReceiver.get(j)! };
    sent.set(j, s);
    shares.set(j, s);
  }
  const slashingFloors = p.reshare === undefined ? empty : encodeSlashingFloors(p.reshare.ownFloors!);
  return {
    state: { p, dealers, receivers, ownShares, ownVerified, sent },
    deal: { numValidators: V, threshold: p.t, commitments, pops, slashingFloors },
    shares,
  };
}

/** State after step 3: the deal envelopes this node received and their digests. */
export interface Echoed extends Dealt {
  /** Every dealer's deal envelope as this node received it (its own included). */
  readonly dealEnvelopes: ReadonlyMap<ShareIndex, Uint8Array>;
  /** SHA-256 of each of those envelopes, 32 bytes. */
  readonly digests: ReadonlyMap<ShareIndex, Uint8Array>;
}

/**
 * Step 3: this node's echo, the digests of the deals it received in dealer order.
 * @param deals every dealer's deal envelope and its digest (this node's own included)
 * @throws RangeError when a dealer's deal is missing (the runner's exchange guarantees them)
 */
export function echo(
  state: Dealt,
  deals: ReadonlyMap<ShareIndex, { envelope: Uint8Array; digest: Uint8Array }>,
): { state: Echoed; echo: Echo } {
  const dealDigests = state.dealers.map((d) => {
    const got = deals.get(d);
    if (got === undefined) throw new RangeError(`no deal of dealer ${d}`);
    return got.digest;
  });
  const dealEnvelopes = new Map([...deals].map(([d, x]) => [d, x.envelope]));
  const digests = new Map([...deals].map(([d, x]) => [d, x.digest]));
  return { state: { ...state, dealEnvelopes, digests }, echo: { dealDigests } };
}

/**
 * Step 3, judged: compares this node's digests of the deals with every peer's echo.
 * @returns dealers whose digests disagree, with the echoers that disagree with this node
 * @throws DkgError MALFORMED_MESSAGE naming an echoer whose echo has not one digest per dealer
 */
export function compareEchoes(
  state: Echoed,
  echoes: ReadonlyMap<ShareIndex, Signed<Echo>>,
): Map<ShareIndex, ShareIndex[]> {
  const disputed = new Map<ShareIndex, ShareIndex[]>();
  for (const [sender, { message }] of echoes) {
    if (message.dealDigests.length !== state.dealers.length) {
      throw fault("MALFORMED_MESSAGE", STEP.ECHO, [sender], `echo must carry ${state.dealers.length} digests`);
    }
    message.dealDigests.forEach((d, i) => {
      const dealer = state.dealers[i]!;
      if (!bytesEqual(d, state.digests.get(dealer)!)) disputed.set(dealer, [...(disputed.get(dealer) ?? []), sender]);
    });
  }
  return disputed;
}

/**
 * Step 4, public part: counts, points (canonical, on curve, in subgroup, not infinity) and proofs
 * of possession of every dealer's deal. PoPs are checked in one batch ({@link findInvalid}); the
 * lowest dealer with a failing one is named, with all its failing validators.
 * @param deals the other dealers' deals (one for `p.self` is ignored)
 * @param own this node's own commitments, used for `p.self` (never re-validated)
 * @throws DkgError MALFORMED_DEAL or BAD_POP naming the dealer
 */
export async function verifyDeals(
  p: CeremonyParams,
  deals: ReadonlyMap<ShareIndex, Signed<Deal>>,
  own: VerifiedDeal,
  pause: Pause = noPause,
): Promise<Map<ShareIndex, VerifiedDeal>> {
  const V = p.numValidators;
  const { dealers } = rosterOf(p);
  const out = new Map<ShareIndex, VerifiedDeal>(dealers.includes(p.self) ? [[p.self, own]] : []);
  const sets: SignatureSet[] = [];
  const owners: { dealer: ShareIndex; v: number }[] = [];
  for (const [dealer, { message: deal, envelope }] of [...deals].sort((a, b) => a[0] - b[0])) {
    if (dealer === p.self || !dealers.includes(dealer)) continue;
    const bad = (detail: string) => fault("MALFORMED_DEAL", STEP.DEAL, [dealer], detail, [toHex(envelope)]);
    if (deal.numValidators !== V) throw bad(`"num_validators" must be ${V}, got ${deal.numValidators}`);
    if (deal.threshold !== p.t) throw bad(`"threshold" must be ${p.t}, got ${deal.threshold}`);
    if (deal.commitments.length !== V * p.t * 48)
      throw bad(
        `"commitments" must be ${V * p.t} points (${V * p.t * 48} bytes), got ${deal.commitments.length} bytes`,
      );
    if (deal.pops.length !== V * 96) throw bad(`"pops" must be ${V} signatures, got ${deal.pops.length} bytes`);
    if (p.reshare !== undefined) {
      let floors: SlashingFloor[];
      try {
        floors = decodeSlashingFloors(deal.slashingFloors, V);
      } catch (err) {
        throw bad((err as Error).message);
      }
      const why = floorProblem(floors, p.reshare.maxFloor);
      if (why !== undefined) throw bad(why);
    } else if (deal.slashingFloors.length !== 0) throw bad(`"slashing_floors" must be empty outside a reshare`);
    const vectors: G1Vector[] = [];
    for (let v = 0; v < V; v++) {
      await pause();
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
      const r = p.reshare;
      if (r !== undefined) {
        const m = r.oldIndex.get(dealer)!;
        if (!bytesEqual(c0, r.oldPublicShares[v]![m - 1]!)) {
          throw fault(
            "BAD_COMMITMENT",
            STEP.DEAL,
            [dealer],
            `commitment C_0 of validator ${v} is not the old public share of share index ${m}`,
            [toHex(envelope)],
          );
        }
      }
      sets.push({ publicKey: c0, message: popMessage(p.session, dealer, v, c0), signature: pop });
      owners.push({ dealer, v });
    }
    out.set(dealer, vectors);
  }
  const invalid = (await findInvalidSliced(sets, pause)).map((i) => owners[i]!);
  if (invalid.length > 0) {
    const dealer = invalid[0]!.dealer;
    const badValidators = invalid.filter((o) => o.dealer === dealer).map((o) => o.v);
    throw fault(
      "BAD_POP",
      STEP.DEAL,
      [dealer],
      `proof of possession fails for validator(s) ${badValidators.join(", ")}`,
      [toHex(deals.get(dealer)!.envelope)],
    );
  }
  return out;
}

/**
 * Checks one dealer's Shares for `receiver`: addressed to it, V canonical non-zero scalars.
 * @returns the V shares, or the reason they are unusable (a complaint follows)
 */
export function parseShares(numValidators: number, receiver: number, decoded: Decoded<Shares>): SecretKey[] | string {
  if ("undecodable" in decoded) return decoded.undecodable;
  if (decoded.receiver !== receiver) return `shares addressed to ${decoded.receiver}`;
  if (decoded.shares.length !== numValidators * 32) return `"shares" must be ${numValidators * 32} bytes`;
  const out: SecretKey[] = [];
  for (let v = 0; v < numValidators; v++) {
    try {
      out.push(SecretKey.fromBytes(decoded.shares.subarray(v * 32, (v + 1) * 32), `shares[${v}]`));
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
export async function findBadShares(
  p: CeremonyParams,
  verified: ReadonlyMap<ShareIndex, VerifiedDeal>,
  shares: ReadonlyMap<ShareIndex, SecretKey[]>,
  pause: Pause = noPause,
): Promise<Map<ShareIndex, number[]>> {
  const items: { dealer: ShareIndex; v: number; commitments: G1Vector; share: SecretKey }[] = [];
  for (const [dealer, list] of shares) {
    const vectors = verified.get(dealer)!;
    list.forEach((share, v) => {
      items.push({ dealer, v, commitments: vectors[v]!, share });
    });
  }
  const bad = new Map<ShareIndex, number[]>();
  if (await verifySharesBatch(items, p.self, pause)) return bad;
  for (const dealer of shares.keys()) {
    const mine = items.filter((x) => x.dealer === dealer);
    if (await verifySharesBatch(mine, p.self, pause)) continue;
    const failing: number[] = [];
    for (const x of mine) {
      await pause();
      if (!verifyShare(x, p.self)) failing.push(x.v);
    }
    bad.set(dealer, failing);
  }
  return bad;
}

/** The typed messages step 4 judges. */
export interface DealsReceived {
  /** Every other dealer's deal. */
  deals: ReadonlyMap<ShareIndex, Signed<Decoded<Deal>>>;
  /** Every other dealer's shares for this node. */
  shares: ReadonlyMap<ShareIndex, Signed<Decoded<Shares>>>;
  /** Every peer's echo. */
  echoes: ReadonlyMap<ShareIndex, Signed<Echo>>;
}

/** State after step 4: the deals that verified and the shares this node received. */
export interface Verified extends Echoed {
  /** Verified deals by dealer (empty when this node saw an echo dispute). */
  readonly verified: ReadonlyMap<ShareIndex, VerifiedDeal>;
  /** Shares that passed their checks, by dealer. */
  readonly received: ReadonlyMap<ShareIndex, SecretKey[]>;
}

/**
 * Step 4: judges the echoes (step 3), then, with no dispute, checks every deal and every share this
 * node received, and files an accusation for each failing dealer: ECHO_MISMATCH with the disputed
 * deal and the disagreeing echoes, BAD_SHARE with the dealer's signed shares.
 * @returns the state and this node's complaints (empty when everything checked out)
 * @throws DkgError MALFORMED_MESSAGE (a bad echo, an undecodable undisputed deal), MALFORMED_DEAL, BAD_POP
 */
export async function verifyAndComplain(
  state: Echoed,
  input: DealsReceived,
  pause: Pause = noPause,
): Promise<{ state: Verified; complaints: Complaints }> {
  const { p } = state;
  const disputes = compareEchoes(state, input.echoes);
  const deals = new Map<ShareIndex, Signed<Deal>>();
  for (const [dealer, d] of input.deals) {
    if (disputes.has(dealer)) continue;
    if ("undecodable" in d.message)
      throw fault("MALFORMED_MESSAGE", STEP.DEAL, [dealer], d.message.undecodable, [toHex(d.envelope)]);
    deals.set(dealer, { ...d, message: d.message });
  }
  const verified =
    disputes.size === 0 ? await verifyDeals(p, deals, state.ownVerified, pause) : new Map<ShareIndex, VerifiedDeal>();
  const accusations: Accusation[] = [];
  for (const [dealer, echoers] of disputes) {
    accusations.push({
      kind: "ECHO_MISMATCH",
      accused: dealer,
      validators: [],
      reason: `echo mismatch with ${echoers.join(",")}`,
      envelope: state.dealEnvelopes.get(dealer)!,
      echoes: echoers.map((e) => input.echoes.get(e)!.envelope),
    });
  }
  const received = new Map<ShareIndex, SecretKey[]>();
  if (disputes.size === 0 && state.receivers.includes(p.self)) {
    if (state.dealers.includes(p.self)) received.set(p.self, state.ownShares);
    for (const dealer of state.dealers) {
      if (dealer === p.self) continue;
      const s = input.shares.get(dealer);
      if (s === undefined) throw new RangeError(`no shares from dealer ${dealer}`);
      await pause();
      const shares = parseShares(p.numValidators, p.self, s.message);
      if (typeof shares === "string") {
        accusations.push({
          kind: "BAD_SHARE",
          accused: dealer,
          validators: [],
          reason: shares,
          envelope: s.envelope,
          echoes: [],
        });
      } else received.set(dealer, shares);
    }
    for (const [dealer, validators] of await findBadShares(p, verified, received, pause)) {
      received.delete(dealer);
      accusations.push({
        kind: "BAD_SHARE",
        accused: dealer,
        validators,
        reason: "share fails commitment check",
        envelope: input.shares.get(dealer)!.envelope,
        echoes: [],
      });
    }
  }
  return { state: { ...state, verified, received }, complaints: { accusations } };
}

/**
 * State after step 4's judgement: no complaint stood. Every complaint is settled by its evidence,
 * so none is left for a justification (the justify step remains the barrier before deriving).
 */
export type Judged = Verified;

interface Filed {
  accuser: ShareIndex;
  acc: FiledAccusation;
  complaint: Uint8Array;
}

/**
 * Requires of a piece of evidence attached to `accuser`'s complaint that it authenticated and is of
 * the kind the accusation needs, from the right signer and, where private, addressed to the
 * accuser; anything else convicts the accuser (its complaint is signed), never the accused.
 * @throws DkgError FALSE_COMPLAINT naming the accuser
 */
function requireEvidence(
  f: Filed,
  ev: Evidence,
  need: { kind: "DEAL" | "SHARES" | "ECHO"; signer?: ShareIndex; what: string },
): Extract<Evidence, { authentic: true }> {
  const why = !ev.authentic
    ? ev.detail
    : need.signer !== undefined && ev.sender !== need.signer
      ? `envelope claims sender ${ev.sender}`
      : ev.kind !== need.kind
        ? `envelope of kind ${ev.kind}, expected ${need.kind}`
        : need.kind === "SHARES" && ev.receiver !== f.accuser
          ? `envelope addressed to ${ev.receiver}, expected ${f.accuser}`
          : undefined;
  if (why !== undefined || !ev.authentic) {
    throw fault("FALSE_COMPLAINT", STEP.COMPLAIN, [f.accuser], `invalid evidence (${need.what}): ${why}`, [
      toHex(f.complaint),
    ]);
  }
  return ev;
}

/**
 * Step 4→5: settles every complaint from its typed evidence (DESIGN.md § DKG protocol step 5).
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
 * - no evidence → FALSE_COMPLAINT (accuser): every receiver holds the dealer's signed shares (the
 *   deal step completes only with them), so a complaint without them can only be false. Were it
 *   left for the dealer's justification, an accuser could send it to one node only and have that
 *   node convict an honest dealer who never saw it.
 * @param complaints every operator's accusations (shape-checked, evidence authenticated), by accuser
 * @throws DkgError with the first conviction
 */
export function judgeComplaints(
  state: Verified,
  complaints: ReadonlyMap<ShareIndex, Signed<FiledAccusation[]>>,
): Judged {
  const echoByDealer = new Map<ShareIndex, Filed[]>();
  const shareComplaints: Filed[] = [];
  for (const [accuser, { message, envelope }] of [...complaints].sort((a, b) => a[0] - b[0])) {
    for (const acc of message) {
      const filed = { accuser, acc, complaint: envelope };
      if (acc.kind === "ECHO_MISMATCH")
        echoByDealer.set(acc.accused, [...(echoByDealer.get(acc.accused) ?? []), filed]);
      else shareComplaints.push(filed);
    }
  }
  for (const [dealer, filed] of [...echoByDealer].sort((a, b) => a[0] - b[0])) judgeEchoMismatch(state, dealer, filed);
  for (const f of shareComplaints) {
    if (f.acc.evidence === undefined) {
      throw fault(
        "FALSE_COMPLAINT",
        STEP.COMPLAIN,
        [f.accuser],
        `complaint against operator ${f.acc.accused} without its signed shares`,
        [toHex(f.complaint)],
      );
    }
    settleWithEvidence(state, f, f.acc.evidence);
  }
  return state;
}

/** Judges every ECHO_MISMATCH accusation against `dealer`. @throws DkgError always */
function judgeEchoMismatch(state: Verified, dealer: ShareIndex, filed: Filed[]): never {
  const copies = new Map<string, Uint8Array>();
  const own = state.dealEnvelopes.get(dealer);
  if (own) copies.set(toHex(state.digests.get(dealer)!), own);
  const position = state.dealers.indexOf(dealer);
  const claims: { echoer: number; digest: string; envelope: Uint8Array }[] = [];
  for (const f of filed) {
    const deal = requireEvidence(f, f.acc.evidence!, {
      kind: "DEAL",
      signer: dealer,
      what: `deal of operator ${dealer}`,
    });
    const digest = toHex(deal.digest);
    copies.set(digest, deal.bytes);
    for (const e of f.acc.echoes) {
      const ev = requireEvidence(f, e, { kind: "ECHO", what: "echo" });
      // signed by the echoer: a malformed echo is its own fault
      const echo = ev.echo;
      const theirs =
        echo !== undefined && !("undecodable" in echo) && echo.dealDigests.length === state.dealers.length
          ? echo.dealDigests[position]
          : undefined;
      if (theirs === undefined) {
        throw fault("MALFORMED_MESSAGE", STEP.ECHO, [ev.sender], `echo must carry ${state.dealers.length} digests`, [
          toHex(ev.bytes),
        ]);
      }
      if (toHex(theirs) === digest) {
        throw fault(
          "FALSE_COMPLAINT",
          STEP.COMPLAIN,
          [f.accuser],
          `invalid evidence: operator ${ev.sender}'s echo agrees with the deal it is said to dispute`,
          [toHex(f.complaint)],
        );
      }
      claims.push({ echoer: ev.sender, digest: toHex(theirs), envelope: ev.bytes });
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

/**
 * Judges one dealer's signed SHARES envelope on its own, as evidence in a peer's abort: the dealer
 * signed it for its receiver, so a share that fails its commitment check (or an unusable payload)
 * convicts the dealer whoever forwards it.
 * @returns BAD_SHARE naming the dealer, or undefined when every share passes or the dealer's deal
 *   is not among this node's verified ones
 */
export function judgeSharesEvidence(state: Verified, ev: Extract<Evidence, { authentic: true }>): DkgError | undefined {
  if (ev.kind !== "SHARES" || !state.verified.has(ev.sender)) return undefined;
  // only a dealer's shares for a receiver are owed: the empty Shares a dealer sends an operator
  // that receives nothing (a retiring one in a reshare) prove nothing against it
  if (!state.dealers.includes(ev.sender) || !state.receivers.includes(ev.receiver as ShareIndex)) return undefined;
  const accuser = ev.receiver as ShareIndex;
  const acc: FiledAccusation = {
    kind: "BAD_SHARE",
    accused: ev.sender,
    validators: [],
    reason: "",
    evidence: ev,
    echoes: [],
  };
  try {
    settleWithEvidence(state, { accuser, acc, complaint: new Uint8Array(0) }, ev);
  } catch (err) {
    if (!(err instanceof DkgError)) throw err;
    if (err.type.code !== "BAD_SHARE") return undefined;
    return fault("BAD_SHARE", STEP.DEAL, [ev.sender], err.type.detail, [toHex(ev.bytes)]);
  }
  return undefined;
}

/** Judges a BAD_SHARE accusation that carries the accused's signed shares. @throws DkgError always */
function settleWithEvidence(state: Verified, f: Filed, evidence: Evidence): never {
  const { accuser, acc, complaint } = f;
  const ev = requireEvidence(f, evidence, {
    kind: "SHARES",
    signer: acc.accused,
    what: `shares of operator ${acc.accused} for operator ${accuser}`,
  });
  const decoded = parseShares(state.p.numValidators, accuser, ev.shares ?? { undecodable: "no shares" });
  const proof = [toHex(ev.bytes), toHex(complaint)];
  // the accused signed this payload for the accuser: an unusable one is its fault
  if (typeof decoded === "string") throw fault("BAD_SHARE", STEP.DEAL, [acc.accused], decoded, proof);
  const vectors = state.verified.get(acc.accused);
  if (vectors === undefined) throw new Error(`no verified deal of operator ${acc.accused} to judge a complaint`);
  const listed = acc.validators.length > 0 ? acc.validators : decoded.map((_, v) => v);
  const failing = listed.filter((v) => !verifyShare({ commitments: vectors[v]!, share: decoded[v]! }, accuser));
  if (failing.length > 0) {
    throw fault(
      "BAD_SHARE",
      STEP.DEAL,
      [acc.accused],
      `share for operator ${accuser} fails its commitment check (validators ${failing.join(", ")})`,
      proof,
    );
  }
  throw fault(
    "FALSE_COMPLAINT",
    STEP.COMPLAIN,
    [accuser],
    `complaint against operator ${acc.accused} refuted by its signed shares`,
    [toHex(complaint), toHex(ev.bytes)],
  );
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

/** State after step 7: this node's key shares and every validator's public keys. Holds secrets. */
export interface Derived {
  readonly p: CeremonyParams;
  /** x_{self,v} for each validator v; empty on a node that receives nothing (a retiring operator). */
  readonly shares: SecretKey[];
  readonly validators: DerivedValidator[];
  /** Reshare only: the new operators' slashing floors, the maximum over every dealer's. */
  readonly slashingFloors?: SlashingFloor[];
}

/**
 * Step 7, after the justify barrier: derives x_{self,v} = Σ_i s_{i→self,v}, PK_v = Σ_i C_{i,v,0} and
 * X_{m,v} = Σ_k (Σ_i C_{i,v,k})·m^k for every receiver m, with the self-check x_{self,v}·G1 = X_{self,v}.
 * In a reshare each sum is weighted by λ_i, the Lagrange coefficient at 0 of dealer i's old share
 * index among the dealers', and PK_v must be the old group key.
 * @param deals every dealer's verified deal message, for its slashing floors (reshare only)
 * @throws DkgError ABORTED if a self-check fails (a bug, not a peer fault: every share and every
 *   reshare commitment was verified)
 */
export async function derive(
  state: Judged,
  deals?: ReadonlyMap<ShareIndex, Signed<Decoded<Deal>>>,
  pause: Pause = noPause,
): Promise<Derived> {
  const { p } = state;
  const outShares: SecretKey[] = [];
  const validators: DerivedValidator[] = [];
  const dealers = [...state.verified.keys()].sort((a, b) => a - b);
  const r = p.reshare;
  const weights = r === undefined ? undefined : lagrangeCoefficients(dealers.map((d) => r.oldIndex.get(d)!));
  const receiving = state.receivers.includes(p.self);
  const abort = (detail: string, message: string) =>
    new DkgError({ code: "ABORTED", step: STEP.DEAL, culprits: [], evidence: [], detail }, message);
  for (let v = 0; v < p.numValidators; v++) {
    await pause();
    const vectors = dealers.map((i) => state.verified.get(i)![v]!);
    const group = weights === undefined ? G1Vector.sum(vectors) : G1Vector.linearCombination(vectors, weights);
    const publicShares = state.receivers.map((m) => group.evaluate(m));
    if (r !== undefined && !bytesEqual(group.at(0), r.publicKeys[v]!))
      throw abort("group key", `reshared key of validator ${v} is not its public key`);
    if (receiving) {
      const parts = dealers.map((i) => state.received.get(i)![v]!);
      const share = weights === undefined ? sumSecretKeys(parts) : weightedSumSecretKeys(parts, weights);
      if (!bytesEqual(share.publicKey(), publicShares[state.receivers.indexOf(p.self)]!))
        throw abort("share self-check", `derived share of validator ${v} does not match its public share`);
      outShares.push(share);
    }
    validators.push({ publicKey: group.at(0), publicShares, groupCommitments: group });
  }
  if (r === undefined) return { p, shares: outShares, validators };
  const floors = dealers.map((d) =>
    d === p.self
      ? r.ownFloors!
      : decodeSlashingFloors((deals!.get(d)!.message as Deal).slashingFloors, p.numValidators),
  );
  return { p, shares: outShares, validators, slashingFloors: maxSlashingFloors(floors) };
}

/** State after this node signed its deposit partials (step 8). */
export interface DepositsSigned extends Derived {
  /** Deposit signing roots per validator, one per amount. */
  readonly roots: Root[][];
}

/**
 * Step 8: this node's partial signature over every deposit message, validator-major.
 * @returns the state and this node's deposit partials (broadcast)
 */
export async function signDeposits(
  state: Derived,
  artifacts: Pick<ArtifactBuilder, "depositSigningRoots">,
  pause: Pause = noPause,
): Promise<{ state: DepositsSigned; partials: DepositPartials }> {
  const roots: Root[][] = [];
  const partials: DepositPartials["partials"] = [];
  for (let v = 0; v < state.validators.length; v++) {
    await pause();
    const rs = artifacts.depositSigningRoots(v, state.validators[v]!.publicKey);
    roots.push(rs);
    for (const root of rs) partials.push({ validator: v, signingRoot: root, signature: state.shares[v]!.sign(root) });
  }
  return { state: { ...state, roots }, partials: { partials } };
}

/** Number of deposit partials each operator sends: one per validator and amount. */
export function depositPartialCount(state: DepositsSigned): number {
  return state.roots.reduce((k, rs) => k + rs.length, 0);
}

/** State after step 8: every validator with its combined deposit signatures. */
export interface Deposited extends DepositsSigned {
  readonly ceremonyValidators: CeremonyValidator[];
}

/**
 * Checks the shape of one sender's deposit partials: one per (validator, amount) in order, each
 * over the expected root, each a valid G2 point.
 * @returns the signatures in (validator, amount) order
 */
async function checkPartialShapes(
  state: DepositsSigned,
  s: Signed<DepositPartials>,
  pause: Pause,
): Promise<Uint8Array[]> {
  const expected = depositPartialCount(state);
  const ev = [toHex(s.envelope)];
  const { partials } = s.message;
  if (partials.length !== expected) {
    throw fault(
      "MALFORMED_MESSAGE",
      STEP.DEPOSIT_PARTIALS,
      [s.sender],
      `expected ${expected} partial signatures, got ${partials.length}`,
      ev,
    );
  }
  const out: Uint8Array[] = [];
  let k = 0;
  for (let v = 0; v < state.roots.length; v++) {
    await pause();
    for (const root of state.roots[v]!) {
      const ps = partials[k++]!;
      if (ps.validator !== v || !bytesEqual(ps.signingRoot, root)) {
        throw fault(
          "BAD_PARTIAL",
          STEP.DEPOSIT_PARTIALS,
          [s.sender],
          `partial ${k - 1} signs the wrong validator or root`,
          ev,
        );
      }
      try {
        out.push(parseSignature(ps.signature, `partials[${k - 1}]`));
      } catch (err) {
        throw fault("BAD_PARTIAL", STEP.DEPOSIT_PARTIALS, [s.sender], (err as Error).message, ev);
      }
    }
  }
  return out;
}

/**
 * Step 8, judged: checks every operator's deposit partials under its public shares (one batch,
 * every peer's, not only the t combined), combines t of them per deposit message (this node's
 * first, then by share index) and checks each result under the group key.
 * @param partials every operator's deposit partials, by sender (this node's own included)
 * @throws DkgError MALFORMED_MESSAGE or BAD_PARTIAL naming the lowest sender at fault; ABORTED when
 *   valid partials combine to an invalid signature
 */
export async function combineDeposits(
  state: DepositsSigned,
  partials: ReadonlyMap<ShareIndex, Signed<DepositPartials>>,
  pause: Pause = noPause,
): Promise<Deposited> {
  const { p } = state;
  const bySender = new Map<ShareIndex, Uint8Array[]>();
  for (const [s, set] of partials) bySender.set(s, await checkPartialShapes(state, set, pause));
  const signers = [...bySender.keys()].sort((a, b) => (a === p.self ? -1 : b === p.self ? 1 : a - b));
  const sets: PartialSignatures[] = [];
  state.roots.forEach((rs, v) => {
    const dv = state.validators[v]!;
    for (const message of rs) {
      // the k-th partial of every sender is over the k-th (validator, amount)
      const k = sets.length;
      sets.push({
        message,
        publicKey: dv.publicKey,
        publicShares: dv.publicShares,
        partials: signers.map((s) => ({ index: s, value: bySender.get(s)![k]! })),
        trusted: new Set([p.self]),
      });
    }
  });
  let combined: Awaited<ReturnType<typeof verifyAndCombine>>;
  try {
    combined = await verifyAndCombine(sets, p.t, pause);
  } catch (err) {
    throw new DkgError(
      { code: "ABORTED", step: STEP.DEPOSIT_PARTIALS, culprits: [], evidence: [], detail: "combine" },
      "combined deposit signature does not verify under the group key",
      { cause: err },
    );
  }
  const culprit = Math.min(...combined.flatMap((c) => c.invalid));
  if (Number.isFinite(culprit)) {
    const bad = combined.findIndex((c) => c.invalid.includes(culprit as ShareIndex));
    throw fault(
      "BAD_PARTIAL",
      STEP.DEPOSIT_PARTIALS,
      [culprit],
      `partial ${bad} does not verify under its public share`,
      [toHex(partials.get(culprit as ShareIndex)!.envelope)],
    );
  }
  let k = 0;
  const ceremonyValidators = state.validators.map((dv, v) => ({
    publicKey: dv.publicKey,
    publicShares: dv.publicShares,
    depositSignatures: state.roots[v]!.map(() => combined[k++]!.signature!),
  }));
  return { ...state, ceremonyValidators };
}

/** State after this node signed the lock (step 9). */
export interface LockSigned extends Deposited {
  readonly lockHash: Root;
}

/**
 * Step 9: the lock hash over the ceremony's validators, and this node's share signature over it:
 * Σ_v sign(x_v, m) = sign(Σ_v x_v, m), one signature by the sum of this node's shares, checked by
 * peers under Σ_v X_{self,v}. The runner adds this node's identity signature.
 */
export function signLock(
  state: Deposited,
  artifacts: Pick<ArtifactBuilder, "lockHash">,
): { state: LockSigned; shareSignatureAggregate: Uint8Array } {
  const carried = state.p.carried;
  const all = carried === undefined ? state.ceremonyValidators : [...carried.validators, ...state.ceremonyValidators];
  const lockHash = artifacts.lockHash(all);
  const shares = carried === undefined ? state.shares : [...carried.shares, ...state.shares];
  // a node that receives no share (a retiring operator in a reshare) signs the lock with its identity only
  const shareSignatureAggregate = shares.length === 0 ? new Uint8Array(0) : sumSecretKeys(shares).sign(lockHash);
  return { state: { ...state, ceremonyValidators: all, lockHash }, shareSignatureAggregate };
}

/**
 * Step 9, judged: every operator signed the same lock_hash with its identity key and with its
 * shares; the share signatures are checked in one batch (one Miller loop: they share the message).
 * @param locks every operator's lock signature, by sender (this node's own included)
 * @returns the ceremony's result, ready to persist
 * @throws DkgError LOCK_MISMATCH, MALFORMED_MESSAGE (identity signature) or BAD_PARTIAL naming the
 *   lowest sender at fault
 */
export async function checkLock(
  state: LockSigned,
  locks: ReadonlyMap<ShareIndex, Signed<CheckedLockSignature>>,
  pause: Pause = noPause,
): Promise<CeremonyResult> {
  const { p, lockHash } = state;
  const { receivers } = rosterOf(p);
  const nodeSignatures: Uint8Array[] = [];
  const shareAggregates: Uint8Array[] = [];
  const checks: SignatureSet[] = [];
  const owners: Signed<CheckedLockSignature>[] = [];
  for (const [s, l] of [...locks].sort((a, b) => a[0] - b[0])) {
    const msg = l.message;
    const ev = [toHex(l.envelope)];
    if (!bytesEqual(msg.lockHash, lockHash)) {
      throw fault(
        "LOCK_MISMATCH",
        STEP.LOCK_SIGNATURES,
        [s],
        `signed lock_hash ${toHex(msg.lockHash)}, expected ${toHex(lockHash)}`,
        ev,
      );
    }
    if (!msg.identitySignatureValid)
      throw fault("MALFORMED_MESSAGE", STEP.LOCK_SIGNATURES, [s], "bad identity signature over lock_hash", ev);
    // a retiring operator holds no new share: its identity signature witnesses the lock, which only
    // the new operators sign
    if (!receivers.includes(s)) continue;
    let sig: Uint8Array;
    try {
      sig = parseSignature(msg.shareSignatureAggregate, "share_signature_aggregate");
    } catch (err) {
      throw fault("BAD_PARTIAL", STEP.LOCK_SIGNATURES, [s], (err as Error).message, ev);
    }
    if (s !== p.self) {
      await pause();
      const m = receivers.indexOf(s);
      const publicKey = aggregatePublicKeys(state.ceremonyValidators.map((dv) => dv.publicShares[m]!));
      checks.push({ publicKey, message: lockHash, signature: sig });
      owners.push(l);
    }
    shareAggregates.push(sig);
    nodeSignatures.push(msg.signature);
  }
  const invalid = await findInvalidSliced(checks, pause);
  if (invalid.length > 0) {
    const l = owners[invalid[0]!]!;
    throw fault("BAD_PARTIAL", STEP.LOCK_SIGNATURES, [l.sender], "share signatures over lock_hash do not verify", [
      toHex(l.envelope),
    ]);
  }
  return {
    shares: state.shares,
    validators: state.ceremonyValidators,
    ...(state.slashingFloors === undefined ? {} : { slashingFloors: state.slashingFloors }),
    lockHash,
    signatureAggregate: aggregateSignatures(shareAggregates),
    nodeSignatures,
  };
}
