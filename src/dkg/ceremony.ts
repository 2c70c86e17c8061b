/**
 * The ceremony runner: sequences the pure rounds of rounds.ts over a CeremonyTransport, one
 * all-to-all exchange per step, and turns every fault into a DkgError that names the operator.
 * DESIGN.md § DKG protocol, steps 1–10.
 */
import {
  aggregatePublicKeys,
  aggregateSignatures,
  parseSignature,
  type SameMessageGroup,
  type SecretKey,
  type SignatureSet,
  verify,
  verifyBatch,
  verifyGroups,
} from "../crypto/bls.js";
import { combineSignatures, sumSecretKeys } from "../crypto/tbls.js";
import { bytesEqual, toHex } from "../lib/bytes.js";
import { CodedError } from "../lib/errors.js";
import type { Logger } from "../lib/logger.js";
import type { BlsPublicKey, BlsSignature, Root, ShareIndex } from "../lib/types.js";
import {
  AccusationKind,
  Complaints,
  Confirm,
  Deal,
  Echo,
  Justifications,
  LockSignature,
  MessageKind,
} from "../pb/bcast.js";
import { PartialSignatureSet } from "../pb/parsig.js";
import { attemptSession, envelopeDigest, openEnvelope, sealEnvelope, stepOfKind } from "./envelope.js";
import { DkgError, type DkgNetworkCode, fault } from "./errors.js";
import {
  type CeremonyParams,
  compareEchoes,
  complaintLimits,
  createDeal,
  decodeShares,
  derive,
  findBadShares,
  judgeComplaints,
  judgeJustifications,
  justify,
  verifyDeals,
} from "./rounds.js";
import { STEP, STEP_NAMES } from "./steps.js";
import type {
  CeremonyTransport,
  Channel,
  IdentitySigner,
  IdentityVerifier,
  SyncResult,
  TransportErrorType,
} from "./transport.js";

/** One distributed validator as the ceremony produced it. */
export interface CeremonyValidator {
  /** Group public key, 48 bytes. */
  publicKey: BlsPublicKey;
  /** Public shares for share indices 1..n (array index m − 1), 48 bytes each. */
  publicShares: BlsPublicKey[];
  /** Combined deposit signatures, one per deposit amount, 96 bytes each. */
  depositSignatures: BlsSignature[];
}

/** What the ceremony needs from the cluster layer: deposit roots and the lock hash. */
export interface ArtifactBuilder {
  /** Deposit signing roots for validator `v` (0-based) with group key `publicKey`, one per amount. */
  depositSigningRoots(v: number, publicKey: BlsPublicKey): Root[];
  /** lock_hash over the definition and these validators. */
  lockHash(validators: CeremonyValidator[]): Root;
}

/** A finished ceremony, identical on every node except `shares`. */
export interface CeremonyResult {
  /** This node's secret share of each validator key. */
  shares: SecretKey[];
  validators: CeremonyValidator[];
  lockHash: Root;
  /** Aggregate of every share's signature over lock_hash (validator-major, then share index). */
  signatureAggregate: BlsSignature;
  /** Identity-key signatures over lock_hash, by share index (array index i − 1). */
  nodeSignatures: Uint8Array[];
}

/** Progress events for the terminal. */
export type CeremonyProgress =
  | { kind: "waiting"; step: number; missing: ShareIndex[] }
  | { kind: "step"; step: number; name: string; detail: string };

export interface CeremonyOpts {
  /** `params.session` is the definition hash; every round runs under the attempt session derived at sync. */
  params: CeremonyParams;
  transport: CeremonyTransport;
  signer: IdentitySigner;
  verifier: IdentityVerifier;
  artifacts: ArtifactBuilder;
  logger: Logger;
  /** Aborts the whole ceremony (the --timeout). */
  signal: AbortSignal;
  onProgress?: (ev: CeremonyProgress) => void;
  /** Writes the artifacts atomically; called once every lock signature checked out. */
  persist: (result: CeremonyResult) => Promise<void>;
}

/** Outcome of {@link runCeremony}: written, and confirmed by every peer or not. */
export interface CeremonyOutcome {
  result: CeremonyResult;
  /** Peers that did not confirm before the deadline (empty when all did). */
  unconfirmed: ShareIndex[];
}

interface Received {
  payload: Uint8Array;
  envelope: Uint8Array;
  directPayload?: Uint8Array;
  directEnvelope?: Uint8Array;
}

/**
 * Runs steps 1–10. Writes nothing itself: `persist` is called only after every check passed.
 * @throws DkgError naming the faulty or missing operators
 */
export async function runCeremony(opts: CeremonyOpts): Promise<CeremonyOutcome> {
  const { transport, logger: log } = opts;
  // the definition hash until sync; the attempt session from then on
  let p: CeremonyParams = opts.params;
  const progress = (step: number, detail: string) => {
    log.info({ step: STEP_NAMES[step], validators: p.numValidators }, detail);
    opts.onProgress?.({ kind: "step", step, name: STEP_NAMES[step] ?? String(step), detail });
  };
  const onWaiting = (step: number, missing: ShareIndex[]) => opts.onProgress?.({ kind: "waiting", step, missing });

  const exchange = async (
    kind: MessageKind,
    channel: Channel,
    payload: Uint8Array,
    direct?: Map<ShareIndex, Uint8Array>,
  ): Promise<Map<number, Received>> => {
    const step = stepOfKind(kind);
    const envelope = await sealEnvelope(opts.signer, p.session, p.self, kind, payload);
    let directOut: Map<ShareIndex, Uint8Array> | undefined;
    if (direct) {
      directOut = new Map();
      for (const [j, d] of direct)
        directOut.set(j, await sealEnvelope(opts.signer, p.session, p.self, MessageKind.SHARES, d, j));
    }
    let inbound: Awaited<ReturnType<CeremonyTransport["exchange"]>>;
    try {
      inbound = await transport.exchange(
        step,
        { channel, broadcast: envelope, direct: directOut },
        { signal: opts.signal, onWaiting, final: kind === MessageKind.CONFIRM },
      );
    } catch (err) {
      throw networkError(err, step);
    }
    const out = new Map<number, Received>([[p.self, { payload, envelope }]]);
    for (const [sender, msg] of [...inbound].sort((a, b) => a[0] - b[0])) {
      const open = (bytes: Uint8Array, k: MessageKind) =>
        openEnvelope(bytes, {
          session: p.session,
          kind: k,
          receiver: p.self,
          expectedSender: sender,
          n: p.n,
          verifier: opts.verifier,
        });
      const env = await open(msg.broadcast, kind);
      const rec: Received = { payload: env.payload, envelope: msg.broadcast };
      if (direct) {
        if (msg.direct === undefined) throw fault("MALFORMED_MESSAGE", step, [sender], "missing direct message");
        rec.directPayload = (await open(msg.direct, MessageKind.SHARES)).payload;
        rec.directEnvelope = msg.direct;
      }
      out.set(sender, rec);
    }
    if (out.size !== p.n) throw fault("MALFORMED_MESSAGE", step, [], `expected ${p.n} messages, got ${out.size}`);
    return out;
  };

  const decode = <T>(step: number, sender: number, envelope: Uint8Array, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw fault("MALFORMED_MESSAGE", step, [sender], `undecodable payload: ${(err as Error).message}`, [
        toHex(envelope),
      ]);
    }
  };

  // 1. Sync
  progress(STEP.SYNC, `waiting for ${p.n - 1} peers`);
  let sync: SyncResult;
  try {
    sync = await transport.connect({ signal: opts.signal, onWaiting });
  } catch (err) {
    throw networkError(err, STEP.SYNC);
  }
  if (sync.nonces.length !== p.n) throw new RangeError(`sync must return ${p.n} nonces, got ${sync.nonces.length}`);
  p = { ...p, session: attemptSession(p.session, sync.nonces) };
  const cpu = process.cpuUsage();
  log.info({ step: "sync", cpu_user_ms: cpu.user / 1000, cpu_system_ms: cpu.system / 1000 }, "all peers connected");
  opts.onProgress?.({ kind: "step", step: STEP.SYNC, name: "sync", detail: "all peers connected" });

  // 2. Deal
  const dealt = createDeal(p);
  progress(STEP.DEAL, `dealt ${p.numValidators} validator(s)`);
  const deals = await exchange(MessageKind.DEAL, "bcast", Deal.encode(dealt.deal), dealt.shares);

  // 3. Echo
  const ownDigests = Array.from({ length: p.n }, (_, i) => envelopeDigest(deals.get(i + 1)!.envelope));
  const echoes = await exchange(
    MessageKind.ECHO,
    "bcast",
    Echo.encode({ dealDigests: ownDigests as Uint8Array<ArrayBuffer>[] }),
  );
  const echoMsgs = new Map<number, Echo>();
  for (const [s, r] of echoes)
    if (s !== p.self)
      echoMsgs.set(
        s,
        decode(STEP.ECHO, s, r.envelope, () => Echo.decode(r.payload, { limits: { dealDigests: p.n } })),
      );
  const disputes = compareEchoes(ownDigests, echoMsgs, p);

  // 4. Verify and complain
  const dealMsgs = new Map<number, { deal: Deal; envelope: Uint8Array }>();
  for (const [s, r] of deals) {
    if (disputes.has(s)) continue;
    dealMsgs.set(s, { deal: decode(STEP.DEAL, s, r.envelope, () => Deal.decode(r.payload)), envelope: r.envelope });
  }
  const verified = disputes.size === 0 ? verifyDeals(p, dealMsgs, dealt.ownVerified) : new Map();
  const received = new Map<number, Awaited<ReturnType<typeof decodeShares>>>();
  for (const [s, r] of deals) received.set(s, s === p.self ? dealt.ownShares : decodeShares(p, r.directPayload!));
  const accusations: Complaints["accusations"] = [];
  for (const [dealer, echoers] of disputes) {
    accusations.push({
      kind: AccusationKind.ECHO_MISMATCH,
      accused: dealer,
      validators: [],
      reason: `echo mismatch with ${echoers.join(",")}`,
      envelope: deals.get(dealer)!.envelope as Uint8Array<ArrayBuffer>,
      echoes: echoers.map((e) => echoes.get(e)!.envelope as Uint8Array<ArrayBuffer>),
    });
  }
  const goodShares = new Map<number, SecretKey[]>();
  if (disputes.size === 0) {
    for (const [dealer, shares] of received) {
      if (typeof shares === "string") {
        accusations.push({
          kind: AccusationKind.BAD_SHARE,
          accused: dealer,
          validators: [],
          reason: shares,
          envelope: deals.get(dealer)!.directEnvelope! as Uint8Array<ArrayBuffer>,
          echoes: [],
        });
      } else goodShares.set(dealer, shares);
    }
    for (const [dealer, validators] of findBadShares(p, verified, goodShares)) {
      accusations.push({
        kind: AccusationKind.BAD_SHARE,
        accused: dealer,
        validators,
        reason: "share fails commitment check",
        envelope: deals.get(dealer)!.directEnvelope! as Uint8Array<ArrayBuffer>,
        echoes: [],
      });
    }
  }
  progress(
    STEP.COMPLAIN,
    accusations.length === 0
      ? `verified ${p.n} deals`
      : `complaining about ${accusations.map((a) => a.accused).join(", ")}`,
  );
  const complaints = await exchange(MessageKind.COMPLAINTS, "bcast", Complaints.encode({ accusations }));
  const complaintMsgs = new Map<number, { accusations: Complaints["accusations"]; envelope: Uint8Array }>();
  for (const [s, r] of complaints) {
    const c = decode(STEP.COMPLAIN, s, r.envelope, () => Complaints.decode(r.payload, { limits: complaintLimits(p) }));
    if (c.accusations.length > 0) complaintMsgs.set(s, { accusations: c.accusations, envelope: r.envelope });
  }
  const dealEnvelopes = new Map([...deals].map(([s, r]) => [s, r.envelope]));
  const pending = await judgeComplaints({
    p,
    verifier: opts.verifier,
    dealEnvelopes,
    verified,
    complaints: complaintMsgs,
  });

  // 5. Justify (always exchanged: the barrier that nobody complained)
  const justification = justify(p, pending, dealt.shares);
  const justs = await exchange(MessageKind.JUSTIFICATIONS, "bcast", Justifications.encode({ shares: justification }));
  if (pending.length > 0) {
    const jm = new Map<number, { shares: Justifications["shares"]; envelope: Uint8Array }>();
    for (const [s, r] of justs)
      jm.set(s, {
        shares: decode(STEP.JUSTIFY, s, r.envelope, () =>
          Justifications.decode(r.payload, { limits: { shares: (p.n - 1) * p.numValidators } }),
        ).shares,
        envelope: r.envelope,
      });
    judgeJustifications(p, pending, jm, verified);
  }

  // 7. Derive
  const derived = derive(p, verified, goodShares);
  progress(STEP.JUSTIFY, `derived ${p.numValidators} validator key(s)`);

  // 8. Deposit partial signatures
  const roots = derived.validators.map((v, i) => opts.artifacts.depositSigningRoots(i, v.publicKey));
  const partials: PartialSignatureSet["partials"] = [];
  derived.validators.forEach((_, v) => {
    for (const root of roots[v]!)
      partials.push({
        validator: v,
        signingRoot: root as Uint8Array<ArrayBuffer>,
        signature: derived.shares[v]!.sign(root) as Uint8Array<ArrayBuffer>,
      });
  });
  const parsigs = await exchange(MessageKind.DEPOSIT_PARTIALS, "parsig", PartialSignatureSet.encode({ partials }));
  const bySender = new Map<number, Uint8Array[]>();
  const envelopes = new Map<number, Uint8Array>();
  for (const [s, r] of parsigs) {
    const set = decode(STEP.DEPOSIT_PARTIALS, s, r.envelope, () =>
      PartialSignatureSet.decode(r.payload, { limits: { partials: roots.reduce((k, rs) => k + rs.length, 0) } }),
    );
    bySender.set(s, checkPartialShapes(s, r.envelope, set, roots));
    envelopes.set(s, r.envelope);
  }
  // One blinded pairing per deposit message covers every peer's partial over it.
  const peers = [...bySender.keys()].filter((s) => s !== p.self);
  const groups: SameMessageGroup[] = roots.flatMap((rs, v) =>
    rs.map((message, a) => ({
      message,
      pairs: peers.map((s) => ({
        publicKey: derived.validators[v]!.publicShares[s - 1]!,
        signature: bySender.get(s)![v * rs.length + a]!,
      })),
    })),
  );
  if (!verifyGroups(groups)) {
    for (const s of peers) {
      const sets: SignatureSet[] = roots.flatMap((rs, v) =>
        rs.map((message, a) => ({
          publicKey: derived.validators[v]!.publicShares[s - 1]!,
          message,
          signature: bySender.get(s)![v * rs.length + a]!,
        })),
      );
      if (verifyBatch(sets)) continue;
      const bad = sets.findIndex((x) => !verify(x.publicKey, x.message, x.signature));
      throw fault("BAD_PARTIAL", STEP.DEPOSIT_PARTIALS, [s], `partial ${bad} does not verify under its public share`, [
        toHex(envelopes.get(s)!),
      ]);
    }
  }
  const validators: CeremonyValidator[] = derived.validators.map((dv, v) => {
    const signers = [...bySender.keys()].sort((a, b) => (a === p.self ? -1 : b === p.self ? 1 : a - b)).slice(0, p.t);
    const depositSignatures = roots[v]!.map((_, a) =>
      combineSignatures(signers.map((s) => ({ index: s, value: bySender.get(s)![v * roots[v]!.length + a]! }))),
    );
    return { publicKey: dv.publicKey, publicShares: dv.publicShares, depositSignatures };
  });
  const combinedSets: SignatureSet[] = validators.flatMap((val, v) =>
    val.depositSignatures.map((sig, a) => ({ publicKey: val.publicKey, message: roots[v]![a]!, signature: sig })),
  );
  if (!verifyBatch(combinedSets)) {
    throw new DkgError(
      { code: "ABORTED", step: STEP.DEPOSIT_PARTIALS, culprits: [], evidence: [], detail: "combine" },
      "combined deposit signature does not verify under the group key",
    );
  }
  progress(STEP.DEPOSIT_PARTIALS, `signed ${combinedSets.length} deposit message(s)`);

  // 9. Lock
  const lockHash = opts.artifacts.lockHash(validators);
  // Σ_v sign(x_v, m) = sign(Σ_v x_v, m): one signature by the sum of this node's shares is the
  // aggregate of its per-validator share signatures over lock_hash, checked under Σ_v X_{i,v}.
  const shareSignatureAggregate = sumSecretKeys(derived.shares).sign(lockHash);
  const nodeSig = await opts.signer.sign(lockHash);
  const locks = await exchange(
    MessageKind.LOCK_SIGNATURE,
    "bcast",
    LockSignature.encode({
      lockHash: lockHash as Uint8Array<ArrayBuffer>,
      signature: nodeSig as Uint8Array<ArrayBuffer>,
      shareSignatureAggregate: shareSignatureAggregate as Uint8Array<ArrayBuffer>,
    }),
  );
  const nodeSignatures: Uint8Array[] = [];
  const shareAggregates: Uint8Array[] = [];
  const lockPairs = new Map<number, { pair: SameMessageGroup["pairs"][number]; envelope: Uint8Array }>();
  for (const [s, r] of [...locks].sort((a, b) => a[0] - b[0])) {
    const msg = decode(STEP.LOCK_SIGNATURES, s, r.envelope, () => LockSignature.decode(r.payload));
    const ev = [toHex(r.envelope)];
    if (!bytesEqual(msg.lockHash, lockHash)) {
      throw fault(
        "LOCK_MISMATCH",
        STEP.LOCK_SIGNATURES,
        [s],
        `signed lock_hash ${toHex(msg.lockHash)}, expected ${toHex(lockHash)}`,
        ev,
      );
    }
    if (s !== p.self && !(await opts.verifier.verify(s as ShareIndex, lockHash, msg.signature))) {
      throw fault("MALFORMED_MESSAGE", STEP.LOCK_SIGNATURES, [s], "bad identity signature over lock_hash", ev);
    }
    let sig: Uint8Array;
    try {
      sig = parseSignature(msg.shareSignatureAggregate, "share_signature_aggregate");
    } catch (err) {
      throw fault("BAD_PARTIAL", STEP.LOCK_SIGNATURES, [s], (err as Error).message, ev);
    }
    if (s !== p.self) {
      const publicKey = aggregatePublicKeys(derived.validators.map((dv) => dv.publicShares[s - 1]!));
      lockPairs.set(s, { pair: { publicKey, signature: sig }, envelope: r.envelope });
    }
    shareAggregates.push(sig);
    nodeSignatures.push(msg.signature);
  }
  // Every share signature is over lock_hash: one blinded pairing checks every peer's aggregate.
  if (!safeGroups([{ message: lockHash, pairs: [...lockPairs.values()].map((x) => x.pair) }])) {
    for (const [s, { pair, envelope }] of lockPairs) {
      if (safeGroups([{ message: lockHash, pairs: [pair] }])) continue;
      throw fault("BAD_PARTIAL", STEP.LOCK_SIGNATURES, [s], "share signatures over lock_hash do not verify", [
        toHex(envelope),
      ]);
    }
  }
  const result: CeremonyResult = {
    shares: derived.shares,
    validators,
    lockHash,
    signatureAggregate: aggregateSignatures(shareAggregates),
    nodeSignatures,
  };
  progress(STEP.LOCK_SIGNATURES, `lock ${toHex(lockHash)} signed by all ${p.n} operators`);
  await opts.persist(result);

  // 10. Confirm
  try {
    await exchange(MessageKind.CONFIRM, "bcast", Confirm.encode({ lockHash: lockHash as Uint8Array<ArrayBuffer> }));
  } catch (err) {
    if (
      err instanceof DkgError &&
      (err.type.code === "TIMEOUT" || err.type.code === "PEER_DISCONNECTED" || err.type.code === "ABORTED")
    ) {
      const unconfirmed = err.type.culprits.length > 0 ? err.type.culprits : allPeers(p);
      log.warn({ step: "confirm", unconfirmed }, "not every peer confirmed");
      return { result, unconfirmed };
    }
    throw err;
  }
  progress(STEP.CONFIRM, "every operator confirmed");
  return { result, unconfirmed: [] };
}

function allPeers(p: CeremonyParams): ShareIndex[] {
  return Array.from({ length: p.n }, (_, i) => (i + 1) as ShareIndex).filter((i) => i !== p.self);
}

function safeGroups(groups: SameMessageGroup[]): boolean {
  try {
    return verifyGroups(groups);
  } catch {
    return false;
  }
}

/**
 * Checks the shape of one sender's deposit partials: one per (validator, amount) in order, each
 * over the expected root, each a valid G2 point. Signatures are verified by the caller.
 * @returns the signatures in (validator, amount) order
 */
function checkPartialShapes(
  sender: number,
  envelope: Uint8Array,
  set: PartialSignatureSet,
  roots: Root[][],
): Uint8Array[] {
  const expected = roots.reduce((n, r) => n + r.length, 0);
  const ev = [toHex(envelope)];
  if (set.partials.length !== expected) {
    throw fault(
      "MALFORMED_MESSAGE",
      STEP.DEPOSIT_PARTIALS,
      [sender],
      `expected ${expected} partial signatures, got ${set.partials.length}`,
      ev,
    );
  }
  const out: Uint8Array[] = [];
  let k = 0;
  for (let v = 0; v < roots.length; v++) {
    for (const root of roots[v]!) {
      const ps = set.partials[k++]!;
      if (ps.validator !== v || !bytesEqual(ps.signingRoot, root)) {
        throw fault(
          "BAD_PARTIAL",
          STEP.DEPOSIT_PARTIALS,
          [sender],
          `partial ${k - 1} signs the wrong validator or root`,
          ev,
        );
      }
      try {
        out.push(parseSignature(ps.signature, `partials[${k - 1}]`));
      } catch (err) {
        throw fault("BAD_PARTIAL", STEP.DEPOSIT_PARTIALS, [sender], (err as Error).message, ev);
      }
    }
  }
  return out;
}

/** Maps a transport failure to a DkgError naming the peers. */
function networkError(err: unknown, step: number): unknown {
  if (err instanceof DkgError) return err;
  if (err instanceof CodedError) {
    const t = err.type as TransportErrorType;
    const culprits: ShareIndex[] = t.code === "TIMEOUT" ? t.missing : "peer" in t ? [t.peer] : [];
    const code = t.code as DkgNetworkCode;
    return new DkgError({ code, step, culprits, evidence: [], detail: err.message }, err.message, { cause: err });
  }
  return err;
}
