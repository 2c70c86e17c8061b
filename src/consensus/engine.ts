/**
 * Duty agreement at runtime: one QBFT instance (src/consensus/qbft.ts) per validator and duty,
 * run over `/cohort/consensus/2.0.0` with every message of one event-loop turn in one signed batch
 * (src/consensus/wire.ts). A node takes part in a duty only once its own validator client asked
 * for it (`propose`); messages for a duty it has not been asked for yet are held for a bounded
 * time, in bounded memory. DESIGN.md § Signing protocol step 2.
 */
import { bytesEqual, toHex } from "../lib/bytes.js";
import type { Logger } from "../lib/logger.js";
import type { Root, ShareIndex } from "../lib/types.js";
import { CONSENSUS_MAX_ENTRIES, CONSENSUS_MAX_JUSTIFICATION } from "../p2p/protocols.js";
import { type AgreementKey, Batch, type Entry, type QbftMsg, type SignedQbftMsg } from "../pb/consensus.js";
import type { BatchKey, BatchVerifier } from "./keys.js";
import { QBFT_MAX_MESSAGES_PER_INSTANCE, QbftInstance, type QbftMessage, type QbftOutput, quorumSize } from "./qbft.js";
import { roundTimeoutMs } from "./timers.js";
import {
  batchSigningBytes,
  batchTree,
  evidenceValid,
  leafOf,
  PARTIAL_CODE,
  QBFT_TYPE_CODES,
  qbftTypeOf,
  sealBatch,
} from "./wire.js";

/** Instances at most, across validators and duties; past it, peers' messages for new duties are dropped. */
export const AGREEMENT_MAX_INSTANCES = 65_536;
/** Instances one peer may open for duties this node was not asked for yet. */
export const AGREEMENT_MAX_PENDING_PER_PEER = 4_096;
/** How long a peer's messages for a duty this node's client has not asked for are held, ms (two slots). */
export const AGREEMENT_PENDING_TTL_MS = 24_000;
/**
 * How long an instance this node takes part in, or decided, is kept, ms: longer than the widest
 * duty window (33 slots), so a client's retry finds the same instance and never votes afresh.
 */
export const AGREEMENT_STARTED_TTL_MS = 400_000;
/** How long a decided instance is kept to answer peers that are behind, ms. */
export const AGREEMENT_DECIDED_TTL_MS = 400_000;
/**
 * Evidence one peer may have this node hold for duties not decided yet: its messages, and the
 * messages it relayed as justification. Past it, its further messages still count in agreement but
 * cannot be relayed by this node. One slot's burst at 10,000 validators is at most 10,000 undecided
 * duties with three messages each from a peer (a prepare, a commit, a pre-prepare when it leads);
 * a decided duty keeps only its certificate, uncounted.
 */
export const AGREEMENT_MAX_PROOFS_PER_PEER = 32_768;
/**
 * Leaves of one peer's batches this node may hold as evidence (each message received directly is
 * kept with its batch's leaf hashes, 32 bytes each, until it is relayed or its duty decided): twice
 * {@link AGREEMENT_MAX_PROOFS_PER_PEER}, so a batch of which one message was kept cannot pin
 * thousands of leaves per message.
 */
export const AGREEMENT_MAX_LEAVES_PER_PEER = 2 * AGREEMENT_MAX_PROOFS_PER_PEER;
/** Most entries one outgoing batch carries; more are split into further batches. */
export const AGREEMENT_BATCH_MAX_ENTRIES = 2_048;
/** Most bytes of values and justifications one outgoing batch carries, roughly; more are split off. */
export const AGREEMENT_BATCH_MAX_BYTES = 2 * 1024 * 1024;
/**
 * Largest value (a request's JSON) accepted in an agreement message, bytes. Every post-Bellatrix
 * duty's value fits (an Electra aggregate's bits are at most 32 KiB of hex); a pre-Bellatrix whole
 * block over it cannot be agreed on.
 */
export const AGREEMENT_MAX_VALUE_BYTES = 64 * 1024;
/** Longest duty key accepted from a peer, characters. */
export const DUTY_KEY_MAX_LENGTH = 96;
const PREPARE_CODE = QBFT_TYPE_CODES.PREPARE;
const ROUND_CHANGE_CODE = QBFT_TYPE_CODES.ROUND_CHANGE;
const DUTY_KEY = /^([a-z_]{1,32})\/(\d{1,15})(\/[0-9+]{1,64})?$/;
const SWEEP_INTERVAL_MS = 1_000;
/** Least time between two DECIDED answers for one instance, ms. */
const DECIDED_REPLY_INTERVAL_MS = 250;

/** A value being agreed: a Web3Signer request's signing root and its validated JSON. */
export interface AgreementValue {
  /** 32 bytes. */
  readonly root: Root;
  /** The request JSON, UTF-8 (what peers re-parse). */
  readonly json: Uint8Array;
  /**
   * Set on a decision: the 1-based share index of the leader of the round that decided it, which
   * proposed this value and so took part. Only that node serves peers' requests for the combined
   * signature (nodes of the previous release ask it).
   */
  readonly leader?: ShareIndex;
  /**
   * Set on a decision: the partial signatures peers sent over this value once they decided it
   * (PARTIAL entries), as they arrive.
   */
  readonly partials?: PeerPartials;
}

/** Bytes of a partial signature a PARTIAL entry carries: a compressed G2 point. */
export const PARTIAL_SIGNATURE_BYTES = 96;

/**
 * The partials peers sent for one duty's decided value (96 bytes each, not verified), one per
 * peer at most: what each node combines at its decision, without asking for them.
 */
export interface PeerPartials {
  /** Peer `index`'s partial over the decided value (1-based share index), if it arrived. */
  get(index: ShareIndex): Uint8Array | undefined;
  /**
   * Resolves with peer `index`'s partial over the decided value once it arrives, or undefined after
   * `ms`, when `signal` fires, or when the instance is dropped.
   */
  next(index: ShareIndex, ms: number, signal: AbortSignal): Promise<Uint8Array | undefined>;
}

/** Peers' PARTIAL entries for one instance: the first per sender, matched against the decided value. */
class PartialInbox implements PeerPartials {
  readonly #by = new Map<number, { value: string; signature: Uint8Array }>();
  readonly #waiters = new Map<number, Set<(sig: Uint8Array | undefined) => void>>();
  #decided: string | undefined;

  /** Keeps a peer's first partial; a later one from the same peer is ignored. */
  add(sender: number, value: string, signature: Uint8Array): void {
    if (this.#by.has(sender)) return;
    const copy = new Uint8Array(signature);
    this.#by.set(sender, { value, signature: copy });
    if (this.#decided === value) this.#wake(sender, copy);
  }

  decide(value: string): void {
    this.#decided = value;
    for (const [sender, p] of this.#by) if (p.value === value) this.#wake(sender, p.signature);
  }

  get(index: ShareIndex): Uint8Array | undefined {
    const p = this.#by.get(index);
    return p !== undefined && p.value === this.#decided ? p.signature : undefined;
  }

  next(index: ShareIndex, ms: number, signal: AbortSignal): Promise<Uint8Array | undefined> {
    const have = this.get(index);
    if (have !== undefined || signal.aborted) return Promise.resolve(have);
    return new Promise((resolve) => {
      const set = this.#waiters.get(index) ?? new Set();
      this.#waiters.set(index, set);
      const done = (sig: Uint8Array | undefined) => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.#waiters.delete(index);
        signal.removeEventListener("abort", onAbort);
        resolve(sig);
      };
      const onAbort = () => done(undefined);
      const timer = setTimeout(onAbort, ms);
      signal.addEventListener("abort", onAbort, { once: true });
      set.add(done);
    });
  }

  /** Ends every wait (the instance is dropped). */
  close(): void {
    for (const set of [...this.#waiters.values()]) for (const done of [...set]) done(undefined);
  }

  #wake(sender: number, sig: Uint8Array): void {
    for (const done of [...(this.#waiters.get(sender) ?? [])]) done(sig);
  }
}

export interface DutyAgreementOpts {
  /** Operators in the cluster. */
  readonly n: number;
  readonly self: ShareIndex;
  /** 32 bytes: batches for another cluster are dropped. */
  readonly lockHash: Uint8Array;
  /** Each validator's 0-based lock index, by 0x-hex group public key: it spreads leaders over validators. */
  readonly validatorIndex: ReadonlyMap<string, number>;
  /**
   * Duties at or before this slot are only learned (from a peer's decision certificate), never
   * taken part in: after a restart this node may have forgotten messages it sent for them.
   */
  readonly learnerUpToSlot: number;
}

export interface DutyAgreementModules {
  /** Sends an encoded batch to every peer; errors are the transport's to log. */
  broadcast(bytes: Uint8Array): void;
  /** This node's certified agreement key (src/consensus/keys.ts createAgreementKey): signs its batches. */
  batchKey: BatchKey;
  /** Verifies a batch signature under a peer's agreement key (keys.ts agreementKeyVerifier). */
  verifyBatch: BatchVerifier;
  /**
   * The signing root of a value's request JSON, when it is a request of validator `publicKeyHex`
   * for the duty `dutyKey`; undefined otherwise. Binds a value id to its bytes.
   */
  rootOf(publicKeyHex: string, dutyKey: string, json: Uint8Array): Root | undefined;
  /** Persists the slot of a duty this node takes part in, before it sends anything for it. */
  raiseParticipationSlot(slot: number): void;
  logger: Logger;
  /** Wall clock, ms (tests inject one). */
  now?: () => number;
  metrics?: {
    agreementDecided(round: number): void;
    agreementTimeout(): void;
    agreementDropped(reason: string): void;
    agreementInstances(count: number): void;
  };
}

/** Evidence of a message received directly: its batch, verified when first relayed. */
interface BatchRef {
  readonly sender: number;
  readonly leaves: Uint8Array[];
  readonly signature: Uint8Array;
  readonly key: AgreementKey | undefined;
  verified?: boolean;
  tree?: ReturnType<typeof batchTree>;
  /** Evidence entries held that point at this batch; its leaves count against its sender while any does. */
  uses: number;
}

/**
 * Evidence held for a message: relayed or own (checked), a directly received batch's entry (its
 * batch signature checked when first relayed), or an entry with its Merkle path whose batch
 * signature is not checked yet (`unchecked`, kept once its duty is decided).
 */
type Proof = SignedQbftMsg | { ref: BatchRef; index: number; msg: QbftMsg } | { unchecked: SignedQbftMsg };

/** A message waiting for the next batch; a PARTIAL carries this node's partial signature. */
interface Queued {
  inst: Instance;
  msg: QbftMessage | { type: "PARTIAL"; round: number; value: string; signature: Uint8Array };
}

interface Waiter {
  resolve: (v: AgreementValue) => void;
  reject: (err: unknown) => void;
}

interface Instance {
  readonly key: string;
  readonly publicKey: Uint8Array;
  readonly publicKeyHex: string;
  readonly duty: string;
  readonly slot: number;
  readonly qbft: QbftInstance;
  /** The leader of a round, 1-based. */
  readonly leader: (round: number) => ShareIndex;
  /** Who opened it: 0 for this node (its client asked), else the peer whose message came first. */
  readonly openedBy: number;
  validate?: (root: string, json: Uint8Array) => boolean;
  proofs: Map<string, Proof>;
  /** Evidence entries held for each peer (1-based index), counted against it until the duty is decided. */
  charges: Map<number, number>;
  waiters: Set<Waiter>;
  /** Peers' partials for the decided value (PARTIAL entries): at most one per peer. */
  partials: PartialInbox;
  /** True once this node sent its own partial for the decision. */
  sharedPartial: boolean;
  decided?: AgreementValue;
  timer?: ReturnType<typeof setTimeout>;
  timerRound: number;
  /** Values whose bytes the instance kept. */
  learned: number;
  expiresAt: number;
  lastDecidedReply: number;
}

function proofKey(m: QbftMessage): string {
  return `${m.type}/${m.round}/${m.sender}/${m.value ?? ""}/${m.preparedRound ?? 0}/${m.preparedValue ?? ""}`;
}

/** Why agreement gave no value. */
export class AgreementError extends Error {}

/** Runs duty agreement for one node. */
export class DutyAgreement {
  readonly #o: DutyAgreementOpts;
  readonly #m: DutyAgreementModules;
  readonly #now: () => number;
  readonly #instances = new Map<string, Instance>();
  readonly #pendingBy = new Map<number, number>();
  readonly #proofsBy = new Map<number, number>();
  readonly #leavesBy = new Map<number, number>();
  readonly #verified = new Set<string>();
  #queue: Queued[] = [];
  #scheduled = false;
  readonly #sweep: ReturnType<typeof setInterval>;
  #stopped = false;

  constructor(opts: DutyAgreementOpts, modules: DutyAgreementModules) {
    this.#o = opts;
    this.#m = modules;
    this.#now = modules.now ?? Date.now;
    this.#sweep = setInterval(() => this.#expire(), SWEEP_INTERVAL_MS);
    this.#sweep.unref?.();
  }

  /**
   * Where agreement on duty `dutyKey` of a validator stands, for the error of a missed deadline:
   * this node's round (0 when it does not take part) and the peers (1-based share indices,
   * ascending) any message of which for the duty arrived. Undefined when no instance is held.
   */
  progress(publicKeyHex: string, dutyKey: string): { round: number; heard: number[] } | undefined {
    const inst = this.#instances.get(`${publicKeyHex}/${dutyKey}`);
    if (inst === undefined) return undefined;
    return { round: inst.qbft.round, heard: inst.qbft.senders() };
  }

  /** Instances held now (metrics, tests). */
  get size(): number {
    return this.#instances.size;
  }

  /**
   * Takes part in agreeing on duty `dutyKey` of a validator with this node's own client's value,
   * and resolves with the decided value (which may be another node's). `validate` says whether
   * this node may accept a leader's value: its duty, window, proposal rules and slashing check.
   * @throws AgreementError when stopped; the signal's reason when it fires first
   */
  propose(
    publicKeyHex: string,
    publicKey: Uint8Array,
    dutyKey: string,
    own: AgreementValue,
    validate: (root: string, json: Uint8Array) => boolean,
    signal: AbortSignal,
  ): Promise<AgreementValue> {
    if (this.#stopped) return Promise.reject(new AgreementError("agreement stopped"));
    const inst = this.#instance(publicKeyHex, publicKey, dutyKey, 0);
    if (inst === undefined) return Promise.reject(new AgreementError(`duty key ${dutyKey} is malformed`));
    if (inst.decided) return Promise.resolve(inst.decided);
    if (signal.aborted) return Promise.reject(signal.reason);
    inst.expiresAt = Math.max(inst.expiresAt, this.#now() + AGREEMENT_STARTED_TTL_MS);
    if (!inst.qbft.started && inst.slot > this.#o.learnerUpToSlot) {
      inst.validate = validate;
      this.#m.raiseParticipationSlot(inst.slot);
      this.#apply(inst, inst.qbft.start({ value: toHex(own.root), bytes: own.json }));
    }
    if (inst.decided) return Promise.resolve(inst.decided);
    return new Promise<AgreementValue>((resolve, reject) => {
      const w: Waiter = {
        resolve: (v) => {
          signal.removeEventListener("abort", onAbort);
          resolve(v);
        },
        reject: (e) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      const onAbort = () => {
        inst.waiters.delete(w);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      inst.waiters.add(w);
    });
  }

  /**
   * Handles a batch from the operator with 1-based index `from` (authenticated by the transport).
   * Never throws: a malformed batch is dropped and logged.
   * @returns the entries the batch carried (0 when undecodable): what it cost, for the peer's rate budget
   */
  receive(from: number, bytes: Uint8Array): number {
    if (this.#stopped) return 0;
    let batch: Batch;
    try {
      batch = Batch.decode(bytes, {
        limits: {
          entries: CONSENSUS_MAX_ENTRIES,
          entries$: { justification: CONSENSUS_MAX_JUSTIFICATION, justification$: { path: 32 } },
        },
      });
    } catch (err) {
      this.#m.logger.warn({ peer: from, err: (err as Error).message }, "undecodable agreement batch");
      this.#m.metrics?.agreementDropped("malformed");
      return 0;
    }
    if (batch.sender !== from || toHex(batch.session) !== toHex(this.#o.lockHash)) {
      this.#m.logger.warn({ peer: from, sender: batch.sender }, "agreement batch for another sender or cluster");
      this.#m.metrics?.agreementDropped("wrong_session");
      return batch.entries.length;
    }
    const ref: BatchRef = {
      sender: from,
      leaves: batch.entries.map((e) => leafOf(e.msg ?? ({} as QbftMsg))),
      signature: batch.signature,
      key: batch.key,
      uses: 0,
    };
    // prepares and round changes end up in certificates this node relays: their batch signature
    // is checked now, so a peer cannot have them count here and fail as evidence later
    const relayable = batch.entries.some((e) => e.msg?.type === PREPARE_CODE || e.msg?.type === ROUND_CHANGE_CODE);
    if (relayable && !this.#verifyRef(ref)) {
      this.#m.metrics?.agreementDropped("bad_signature");
      return batch.entries.length;
    }
    for (let index = 0; index < batch.entries.length; index++) {
      try {
        this.#onEntry(from, batch.entries[index]!, ref, index);
      } catch (err) {
        // one bad entry drops the rest of the batch: a peer pays for at most one failed check per batch
        this.#m.logger.warn({ peer: from, err: (err as Error).message }, "agreement batch dropped");
        this.#m.metrics?.agreementDropped("invalid_message");
        return batch.entries.length;
      }
    }
    return batch.entries.length;
  }

  /**
   * Sends every peer this node's partial signature over a duty's decided value (96 bytes, made
   * after this node recorded its decision), in its next batch, so each can combine without asking.
   * Call it only for a duty this node's own validator client asked for. Does nothing unless the
   * duty is decided here as `root`, or once per duty.
   */
  sharePartial(publicKeyHex: string, dutyKey: string, root: Root, signature: Uint8Array): void {
    const inst = this.#instances.get(`${publicKeyHex}/${dutyKey}`);
    const d = inst?.decided;
    if (inst === undefined || d === undefined || inst.sharedPartial || this.#stopped) return;
    if (signature.length !== PARTIAL_SIGNATURE_BYTES || !bytesEqual(d.root, root)) return;
    inst.sharedPartial = true;
    const round = inst.qbft.decision?.round ?? 0;
    this.#push({ inst, msg: { type: "PARTIAL", round, value: toHex(root), signature } });
  }

  /** Stops timers and fails every waiting proposal. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#sweep);
    for (const inst of this.#instances.values()) this.#drop(inst, new AgreementError("agreement stopped"));
    this.#instances.clear();
  }

  #onEntry(from: number, entry: Entry, ref: BatchRef, index: number): void {
    const msg = entry.msg;
    if (msg === undefined) throw new RangeError("entry without a message");
    if (msg.sender !== from) throw new RangeError(`message from ${msg.sender} in a batch from ${from}`);
    if (msg.type === PARTIAL_CODE) {
      this.#onPartial(from, entry);
      return;
    }
    if (entry.partialSignature.length > 0) throw new RangeError("only a PARTIAL entry carries a partial signature");
    if (entry.valueJson.length > AGREEMENT_MAX_VALUE_BYTES) {
      throw new RangeError(`value of ${entry.valueJson.length} bytes exceeds ${AGREEMENT_MAX_VALUE_BYTES}`);
    }
    const pkHex = toHex(msg.validator);
    if (!this.#o.validatorIndex.has(pkHex)) throw new RangeError(`unknown validator ${pkHex.slice(0, 18)}`);
    const core = this.#toCore(msg, entry.valueJson);
    const inst = this.#instance(pkHex, msg.validator, msg.duty, from);
    if (inst === undefined) {
      this.#m.metrics?.agreementDropped("instance_cap");
      return;
    }
    if (inst.decided) {
      // a round change is a peer whose timer ran out undecided: it is behind, so send it the certificate
      if (core.type === "ROUND_CHANGE") this.#replyDecided(inst);
      return;
    }
    const justification: QbftMessage[] = [];
    if (entry.justification.length > 0) {
      if (core.type !== "PRE_PREPARE" && core.type !== "ROUND_CHANGE" && core.type !== "DECIDED") {
        throw new RangeError(`${core.type} carries no justification`);
      }
      if (entry.justification.length > 2 * quorumSize(this.#o.n)) throw new RangeError("justification too long");
    }
    for (const ev of entry.justification) {
      const m = ev.msg;
      if (m === undefined || toHex(m.validator) !== pkHex || m.duty !== msg.duty) {
        throw new RangeError("justification for another duty");
      }
      if (!evidenceValid(this.#o.lockHash, ev, this.#m.verifyBatch, this.#verified)) {
        throw new RangeError(`justification message from ${m.sender} is not signed by it`);
      }
      const j = this.#toCore(m, new Uint8Array(0));
      justification.push(j);
      this.#keepProof(inst, proofKey(j), ev, from);
    }
    const full: QbftMessage = justification.length > 0 ? { ...core, justification } : core;
    this.#keepProof(inst, proofKey(full), { ref, index, msg }, from);
    this.#apply(inst, inst.qbft.receive(full));
  }

  /**
   * A peer's partial over a value it decided: kept in the duty's instance (one per peer), opened
   * if need be within the per-peer cap of duties this node was not asked for.
   */
  #onPartial(from: number, entry: Entry): void {
    const msg = entry.msg!;
    if (msg.value.length !== 32) throw new RangeError(`"value" must be 32 bytes, got ${msg.value.length}`);
    if (entry.partialSignature.length !== PARTIAL_SIGNATURE_BYTES) {
      throw new RangeError(`"partial_signature" must be ${PARTIAL_SIGNATURE_BYTES} bytes`);
    }
    if (entry.valueJson.length > 0 || entry.justification.length > 0) {
      throw new RangeError("a PARTIAL carries no value or justification");
    }
    const pkHex = toHex(msg.validator);
    if (!this.#o.validatorIndex.has(pkHex)) throw new RangeError(`unknown validator ${pkHex.slice(0, 18)}`);
    const inst = this.#instance(pkHex, msg.validator, msg.duty, from);
    if (inst === undefined) {
      this.#m.metrics?.agreementDropped("instance_cap");
      return;
    }
    inst.partials.add(from, toHex(msg.value), entry.partialSignature);
  }

  /** Holds evidence a peer sent for an undecided duty, within the per-instance and per-peer caps. */
  #keepProof(inst: Instance, key: string, proof: Proof, from: number): void {
    if (inst.proofs.has(key) || inst.proofs.size >= QBFT_MAX_MESSAGES_PER_INSTANCE) return;
    const held = this.#proofsBy.get(from) ?? 0;
    if (held >= AGREEMENT_MAX_PROOFS_PER_PEER) {
      this.#m.metrics?.agreementDropped("evidence_cap");
      return;
    }
    if ("ref" in proof) {
      const ref = proof.ref;
      if (ref.uses === 0) {
        const leaves = this.#leavesBy.get(from) ?? 0;
        if (leaves + ref.leaves.length > AGREEMENT_MAX_LEAVES_PER_PEER) {
          this.#m.metrics?.agreementDropped("evidence_cap");
          return;
        }
        this.#leavesBy.set(from, leaves + ref.leaves.length);
      }
      ref.uses += 1;
    }
    this.#proofsBy.set(from, held + 1);
    inst.charges.set(from, (inst.charges.get(from) ?? 0) + 1);
    inst.proofs.set(key, proof);
  }

  /** Stops counting an instance's evidence against the peers that sent it. */
  #releaseProofs(inst: Instance): void {
    for (const [peer, n] of inst.charges) subtract(this.#proofsBy, peer, n);
    inst.charges.clear();
    for (const p of inst.proofs.values()) {
      if (!("ref" in p)) continue;
      p.ref.uses -= 1;
      if (p.ref.uses === 0) subtract(this.#leavesBy, p.ref.sender, p.ref.leaves.length);
    }
  }

  /**
   * A decided instance keeps only its decision certificate's evidence, with Merkle paths (no
   * batch leaves): what it relays to peers that are behind.
   */
  #keepCertificate(inst: Instance): void {
    const kept = new Map<string, Proof>();
    for (const m of inst.qbft.decidedMessage()?.justification ?? []) {
      const key = proofKey(m);
      const p = inst.proofs.get(key);
      if (p === undefined) continue;
      // the batch signature is checked only if the certificate is ever relayed
      if ("ref" in p) kept.set(key, p.ref.verified === true ? pathOf(p) : { unchecked: pathOf(p) });
      else kept.set(key, p);
    }
    this.#releaseProofs(inst);
    inst.proofs = kept;
  }

  #toCore(m: QbftMsg, json: Uint8Array): QbftMessage {
    const type = qbftTypeOf(m.type);
    if (type === undefined) throw new RangeError(`unknown agreement message type ${m.type}`);
    if (m.value.length !== 0 && m.value.length !== 32)
      throw new RangeError(`"value" must be 32 bytes, got ${m.value.length}`);
    if (m.preparedValue.length !== 0 && m.preparedValue.length !== 32)
      throw new RangeError(`"prepared_value" must be 32 bytes`);
    return {
      type,
      round: m.round,
      sender: m.sender,
      value: m.value.length === 32 ? toHex(m.value) : undefined,
      valueBytes: json.length > 0 ? json : undefined,
      preparedRound: m.preparedRound,
      preparedValue: m.preparedValue.length === 32 ? toHex(m.preparedValue) : undefined,
    };
  }

  #instance(pkHex: string, pk: Uint8Array, duty: string, openedBy: number): Instance | undefined {
    const key = `${pkHex}/${duty}`;
    const found = this.#instances.get(key);
    if (found) return found;
    const parsed = duty.length <= DUTY_KEY_MAX_LENGTH ? DUTY_KEY.exec(duty) : null;
    if (parsed === null) {
      if (openedBy !== 0) throw new RangeError(`malformed duty key`);
      return undefined;
    }
    if (openedBy !== 0) {
      const pending = this.#pendingBy.get(openedBy) ?? 0;
      if (this.#instances.size >= AGREEMENT_MAX_INSTANCES || pending >= AGREEMENT_MAX_PENDING_PER_PEER)
        return undefined;
      this.#pendingBy.set(openedBy, pending + 1);
    }
    const kind = parsed[1]!;
    const slot = Number(parsed[2]);
    const offset = (this.#o.validatorIndex.get(pkHex) ?? 0) + slot + [...kind].reduce((a, c) => a + c.charCodeAt(0), 0);
    const n = this.#o.n;
    const leader = (round: number) => (((offset + round) % n) + 1) as ShareIndex;
    const inst: Instance = {
      key,
      leader,
      publicKey: pk,
      publicKeyHex: pkHex,
      duty,
      slot,
      openedBy,
      qbft: new QbftInstance({
        n,
        self: this.#o.self,
        leader,
        validate: (v, b) => inst.validate?.(v, b) ?? false,
        bindsValue: (v, b) => {
          // a duty this node was not asked for keeps the bytes of one value at most
          if (!inst.qbft.started && inst.learned >= 1) return false;
          const root = this.#m.rootOf(pkHex, duty, b);
          const ok = root !== undefined && toHex(root) === v;
          if (ok) inst.learned += 1;
          return ok;
        },
      }),
      proofs: new Map(),
      charges: new Map(),
      waiters: new Set(),
      partials: new PartialInbox(),
      sharedPartial: false,
      timerRound: 0,
      learned: 0,
      expiresAt: this.#now() + (openedBy === 0 ? AGREEMENT_STARTED_TTL_MS : AGREEMENT_PENDING_TTL_MS),
      lastDecidedReply: 0,
    };
    this.#instances.set(key, inst);
    return inst;
  }

  #apply(inst: Instance, out: QbftOutput): void {
    for (const msg of out.broadcast) this.#enqueue(inst, msg);
    if (out.decided && !inst.decided) {
      const root = Buffer.from(out.decided.value.slice(2), "hex") as unknown as Root;
      inst.partials.decide(out.decided.value);
      inst.decided = {
        root: new Uint8Array(root) as Root,
        json: out.decided.valueBytes,
        leader: inst.leader(out.decided.round),
        partials: inst.partials,
      };
      inst.expiresAt = this.#now() + AGREEMENT_DECIDED_TTL_MS;
      if (inst.timer) clearTimeout(inst.timer);
      this.#release(inst);
      this.#keepCertificate(inst);
      for (const w of inst.waiters) w.resolve(inst.decided);
      inst.waiters.clear();
      this.#m.logger.debug(
        { validator: inst.publicKeyHex.slice(0, 12), duty: inst.duty, round: out.decided.round },
        "duty decided",
      );
      return;
    }
    const round = inst.qbft.round;
    if (round > 0 && round !== inst.timerRound && !inst.decided) {
      if (inst.timer) clearTimeout(inst.timer);
      inst.timerRound = round;
      inst.timer = setTimeout(() => {
        if (this.#stopped || inst.decided || inst.qbft.round !== round) return;
        this.#m.metrics?.agreementTimeout();
        this.#apply(inst, inst.qbft.timeout());
      }, roundTimeoutMs(round));
      inst.timer.unref?.();
    }
  }

  #release(inst: Instance): void {
    if (inst.openedBy === 0) return;
    const left = (this.#pendingBy.get(inst.openedBy) ?? 1) - 1;
    if (left <= 0) this.#pendingBy.delete(inst.openedBy);
    else this.#pendingBy.set(inst.openedBy, left);
    (inst as { openedBy: number }).openedBy = 0;
  }

  #replyDecided(inst: Instance): void {
    const now = this.#now();
    if (now - inst.lastDecidedReply < DECIDED_REPLY_INTERVAL_MS) return;
    inst.lastDecidedReply = now;
    const d = inst.qbft.decidedMessage();
    if (d) this.#enqueue(inst, d);
  }

  #enqueue(inst: Instance, msg: QbftMessage): void {
    this.#push({ inst, msg });
  }

  #push(item: Queued): void {
    this.#queue.push(item);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  /** Evidence for a message this node holds, verifying a directly received batch's signature once. */
  #evidence(inst: Instance, m: QbftMessage): SignedQbftMsg | undefined {
    const key = proofKey(m);
    const p = inst.proofs.get(key);
    if (p === undefined) return undefined;
    if ("unchecked" in p) {
      if (!evidenceValid(this.#o.lockHash, p.unchecked, this.#m.verifyBatch, this.#verified)) {
        inst.proofs.delete(key);
        return undefined;
      }
      inst.proofs.set(key, p.unchecked);
      return p.unchecked;
    }
    if (!("ref" in p)) return p;
    if (!this.#verifyRef(p.ref)) return undefined;
    return pathOf(p);
  }

  /** Checks a received batch's signature once. */
  #verifyRef(ref: BatchRef): boolean {
    if (ref.verified === undefined) {
      ref.tree ??= batchTree(ref.leaves);
      ref.verified = this.#m.verifyBatch(
        ref.sender,
        ref.key,
        batchSigningBytes(this.#o.lockHash, ref.sender, ref.leaves.length, ref.tree.root),
        ref.signature,
      );
      if (!ref.verified) this.#m.logger.warn({ peer: ref.sender }, "agreement batch signature does not verify");
    }
    return ref.verified;
  }

  #flush(): void {
    this.#scheduled = false;
    const queued = this.#queue;
    this.#queue = [];
    if (queued.length === 0 || this.#stopped) return;
    // PARTIAL entries go in batches of their own: a node of the previous release, which does not
    // know the type, drops only those (one bad entry drops the rest of its batch)
    const partials = queued.filter((q) => q.msg.type === "PARTIAL");
    const messages = partials.length === 0 ? queued : queued.filter((q) => q.msg.type !== "PARTIAL");
    this.#sendBatches(messages);
    this.#sendBatches(partials);
  }

  /** Sends `all` in batches of at most {@link AGREEMENT_BATCH_MAX_ENTRIES} entries and about {@link AGREEMENT_BATCH_MAX_BYTES}. */
  #sendBatches(all: Queued[]): void {
    if (all.length === 0) return;
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < all.length; i++) {
      const m = all[i]!.msg;
      bytes += m.type === "PARTIAL" ? 256 : 256 + (m.valueBytes?.length ?? 0) + (m.justification?.length ?? 0) * 512;
      if (i + 1 - start >= AGREEMENT_BATCH_MAX_ENTRIES || bytes >= AGREEMENT_BATCH_MAX_BYTES) {
        this.#sendBatch(all.slice(start, i + 1));
        start = i + 1;
        bytes = 0;
      }
    }
    if (start < all.length) this.#sendBatch(all.slice(start));
  }

  #sendBatch(queue: Queued[]): void {
    const empty = new Uint8Array(0);
    const entries: Entry[] = queue.map(({ inst, msg }) => {
      const partial = msg.type === "PARTIAL";
      return {
        msg: {
          type: partial ? PARTIAL_CODE : QBFT_TYPE_CODES[msg.type],
          validator: inst.publicKey as Uint8Array<ArrayBuffer>,
          duty: inst.duty,
          round: msg.round,
          sender: this.#o.self,
          value: hexBytes(msg.value),
          preparedRound: partial ? 0 : (msg.preparedRound ?? 0),
          preparedValue: partial ? empty : hexBytes(msg.preparedValue),
        },
        valueJson: (partial ? empty : (msg.valueBytes ?? empty)) as Uint8Array<ArrayBuffer>,
        justification: [],
        partialSignature: (partial ? msg.signature : empty) as Uint8Array<ArrayBuffer>,
      };
    });
    const bytes = sealBatch(this.#o.lockHash, this.#o.self, entries, this.#m.batchKey, (evidence) => {
      queue.forEach(({ inst, msg }, i) => {
        if (msg.type === "PARTIAL") return;
        const k = proofKey(msg);
        if (!inst.proofs.has(k)) inst.proofs.set(k, evidence[i]!);
      });
      queue.forEach(({ inst, msg }, i) => {
        if (msg.type === "PARTIAL" || msg.justification === undefined) return;
        const just: SignedQbftMsg[] = [];
        for (const j of msg.justification) {
          const ev = this.#evidence(inst, j);
          if (ev === undefined) {
            this.#m.logger.warn({ duty: inst.duty, from: j.sender, type: j.type }, "no valid evidence to relay");
            return;
          }
          just.push(ev);
        }
        entries[i]!.justification = just;
      });
    });
    this.#m.broadcast(bytes);
  }

  #expire(): void {
    const now = this.#now();
    for (const inst of this.#instances.values()) {
      if (now < inst.expiresAt || inst.waiters.size > 0) continue;
      this.#drop(inst, new AgreementError("duty expired"));
      this.#instances.delete(inst.key);
    }
    this.#m.metrics?.agreementInstances(this.#instances.size);
  }

  #drop(inst: Instance, err: unknown): void {
    if (inst.timer) clearTimeout(inst.timer);
    inst.partials.close();
    this.#release(inst);
    this.#releaseProofs(inst);
    inst.proofs.clear();
    for (const w of inst.waiters) w.reject(err);
    inst.waiters.clear();
  }
}

/** A directly received entry with its Merkle path: evidence without its batch's other leaves. */
function pathOf(p: { ref: BatchRef; index: number; msg: QbftMsg }): SignedQbftMsg {
  const { ref, index, msg } = p;
  ref.tree ??= batchTree(ref.leaves);
  return {
    msg,
    leafIndex: index,
    leafCount: ref.leaves.length,
    path: ref.tree.path(index) as Uint8Array<ArrayBuffer>[],
    signature: ref.signature as Uint8Array<ArrayBuffer>,
    key: ref.key,
  };
}

/** Lowers a per-peer count, forgetting the peer at zero. */
function subtract(counts: Map<number, number>, peer: number, n: number): void {
  const left = (counts.get(peer) ?? n) - n;
  if (left <= 0) counts.delete(peer);
  else counts.set(peer, left);
}

function hexBytes(hex: string | undefined): Uint8Array<ArrayBuffer> {
  return (
    hex === undefined ? new Uint8Array(0) : new Uint8Array(Buffer.from(hex.slice(2), "hex"))
  ) as Uint8Array<ArrayBuffer>;
}
