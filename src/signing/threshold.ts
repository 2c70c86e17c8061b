/**
 * The threshold signer of a running node (DESIGN.md § Signing protocol): window and consent
 * checks, duty agreement for duties with a value, this node's partial behind its own slashing
 * protection, the partial-signature exchange, and combining t partials into a signature that
 * verifies. It serves the API's {@link RemoteSigner} and answers peers' partial requests.
 */
import type { DistributedValidator } from "../cluster/lock.js";
import { AgreementError, type AgreementValue, type DutyAgreement, type PeerPartials } from "../consensus/engine.js";
import { combinesCheaply } from "../crypto/tbls.js";
import type { SlotClock } from "../eth2/clock.js";
import type { Duty } from "../eth2/duties.js";
import {
  decodeSignRequest,
  encodeSignRequest,
  type RequestSigningRootOpts,
  requestDescriptor,
  requestSigningRoot,
  type SignRequest,
  slashingCheckOf,
} from "../eth2/requests.js";
import { bytesEqual, toHex } from "../lib/bytes.js";
import type { Logger } from "../lib/logger.js";
import type { BlsPublicKey, BlsSignature, Root, ShareIndex } from "../lib/types.js";
import { SlashingError } from "../slashing/rules.js";
import { type GatherOpts, gatherSignature, type PeerAnswer } from "./combine.js";
import { consentRefusal } from "./consent.js";
import type { PartialSigner } from "./partial.js";
import type { PeerLatency } from "./peerLatency.js";
import { type RemoteSigner, SignerError, type SignerHealth, type SignOpts } from "./types.js";
import type { VerifyQueue } from "./verifyQueue.js";

/** Decided partials kept for peers to fetch, per (validator, duty); the oldest is dropped past it. */
export const DECIDED_PARTIALS_KEPT = 65_536;
/** Longest a peer's request for an agreed duty's partial waits for this node's own decision, ms. */
export const DECIDED_PARTIAL_WAIT_MS = 4_000;
/**
 * Share of the signing deadline a node waits for a peer's partial over a decided value to arrive
 * in the peer's agreement batches before it asks the peer for it (1 s at the default 4 s).
 */
export const PARTIAL_WAIT_FRACTION = 0.25;
/** Least time between two combinations of one decided duty's group signature after one failed, ms. */
export const COMBINE_RETRY_MS = 1_000;

/** Parsed values kept by JSON text: a leader's value is bound, validated and signed with one parse. */
const PARSED_VALUES_KEPT = 4_096;
/** Largest value JSON kept parsed, bytes (every post-Bellatrix duty's is under 2 KiB): the cache stays under 64 MiB. */
const PARSED_VALUE_MAX_BYTES = 16 * 1024;

/** A peer as the signer sees it. */
export interface SignerPeer {
  readonly index: ShareIndex;
  /** "share_index (peer_id)". */
  readonly label: string;
  isConnected(): boolean;
  /**
   * Sends a `ParSigRequest` and resolves with the peer's `ParSigResponse` (decoded): its partial,
   * or for a `group` request the group signature it combined (96 bytes, not verified yet).
   */
  requestPartial(req: PeerPartialRequest, signal: AbortSignal): Promise<PeerAnswer>;
}

/** What a node asks a peer for. */
export type PeerPartialRequest =
  | { kind: "decided"; publicKey: Uint8Array; duty: string; root: Root }
  | { kind: "group"; publicKey: Uint8Array; duty: string; root: Root }
  | { kind: "request"; publicKey: Uint8Array; request: SignRequest };

/** What a peer's request for this node's partial gets. */
export type PartialAnswer =
  | { signature: BlsSignature }
  | { refusal: { code: string; message: string }; decidedRoot?: Root | undefined };

export interface ThresholdSignerOpts {
  readonly shareIndex: ShareIndex;
  readonly threshold: number;
  /** The lock's validators, in lock order. */
  readonly validators: readonly DistributedValidator[];
  /** Fee recipient of each validator (20 bytes), in lock order. */
  readonly feeRecipients: readonly Uint8Array[];
  /** Network values the signing roots need (genesis fork version, genesis validators root, Capella version). */
  readonly network: RequestSigningRootOpts & { genesisForkVersion: Uint8Array };
  /** The API's signing deadline, ms: caps the hedge delay. */
  readonly signTimeoutMs: number;
}

export interface ThresholdSignerModules {
  partials: PartialSigner;
  agreement: DutyAgreement;
  /** Slashing database reads and the decisions and consent records. */
  store: {
    wouldRefuseBlock(pk: Uint8Array, slot: bigint, root: Uint8Array): SlashingError | undefined;
    wouldRefuseAttestation(pk: Uint8Array, source: bigint, target: bigint, root: Uint8Array): SlashingError | undefined;
    recordDecision(pk: Uint8Array, duty: string, root: Uint8Array): Uint8Array;
    addConsent(pk: Uint8Array, root: Uint8Array, json: Uint8Array, nowSec: number): void;
    hasConsent(pk: Uint8Array, root: Uint8Array): boolean;
  };
  peers: readonly SignerPeer[];
  clock: SlotClock;
  verifier: VerifyQueue;
  latency: PeerLatency;
  logger: Logger;
  metrics?: {
    hedged(reason: "timer" | "failure"): void;
    partialReceived(index: number): void;
    partialInvalid(index: number): void;
    /**
     * An agreed duty's group signature reached this node's client, combined here from the
     * partials peers sent once they decided ("partials"; any that did not come were asked for), or
     * from partials asked of every peer ("gathered": an agreement that delivers none).
     */
    groupSignature?(source: "partials" | "gathered"): void;
  };
}

interface DecidedPartial {
  root: Root;
  /** This node's partial for the decided value, or why it refused to make one. */
  partial: Promise<BlsSignature>;
  /**
   * The decided request's JSON, kept only when this node led the deciding round (it serves peers'
   * group requests, whose window it checks): the other decisions keep no value bytes.
   */
  json: Uint8Array | undefined;
  /** The leader of the round that decided it (1-based), when agreement said. */
  leader: ShareIndex | undefined;
  /** The partials peers send over the decided value once they decided it, when agreement gives them. */
  partials: PeerPartials | undefined;
  /** This node's combination of the group signature, once started (`#combine`). */
  combined?: Promise<BlsSignature>;
  /** When that combination failed (performance.now(), ms). */
  combinedFailedAt?: number | undefined;
}

const SLASHABLE_KINDS = new Set(["attester", "proposer"]);

/** The threshold signer: {@link RemoteSigner} for the API, and the server of peers' partial requests. */
export class ThresholdSigner implements RemoteSigner {
  readonly #o: ThresholdSignerOpts;
  readonly #m: ThresholdSignerModules;
  readonly #byKey: Map<string, { dv: DistributedValidator; index: number }>;
  readonly #decided = new Map<string, DecidedPartial>();
  readonly #decidedWaiters = new Map<string, Set<() => void>>();
  readonly #settled = new DOMException("signature request settled", "AbortError");
  readonly #parsed = new Map<string, { req: SignRequest; root: Root } | undefined>();

  constructor(opts: ThresholdSignerOpts, modules: ThresholdSignerModules) {
    this.#o = opts;
    this.#m = modules;
    this.#byKey = new Map(opts.validators.map((dv, index) => [toHex(dv.publicKey), { dv, index }]));
  }

  publicKeys(): BlsPublicKey[] {
    return this.#o.validators.map((dv) => dv.publicKey);
  }

  health(): SignerHealth {
    const connected = this.#m.peers.filter((p) => p.isConnected()).length;
    const t = this.#o.threshold;
    return { peersConnected: connected, peersTotal: this.#m.peers.length, threshold: t, canSign: connected + 1 >= t };
  }

  /** True when the validator (0x-hex group key) is in the lock. */
  has(publicKeyHex: string): boolean {
    return this.#byKey.has(publicKeyHex);
  }

  get shareIndex(): ShareIndex {
    return this.#o.shareIndex;
  }

  /**
   * Signs a request of this node's own validator client.
   * @throws SignerError INVALID_REQUEST (outside the time window: field "time_window"), UNKNOWN_KEY,
   *   NO_CONSENT, SLASHING_REFUSED, DECIDED_OTHER, NO_AGREEMENT, NOT_ENOUGH_PARTIALS
   */
  async sign(publicKey: BlsPublicKey, request: SignRequest, sopts: SignOpts): Promise<BlsSignature> {
    const pkHex = toHex(publicKey);
    const entry = this.#byKey.get(pkHex);
    if (entry === undefined) {
      throw new SignerError({ code: "UNKNOWN_KEY", publicKey: pkHex }, `unknown validator ${pkHex}`);
    }
    const desc = requestDescriptor(request);
    this.#checkWindow(request);
    const own = this.#m.partials.prepare(pkHex, request);
    switch (desc.class) {
      case "agreed":
        return await this.#signAgreed(entry.dv, request, desc.duty(request), own.root, sopts.signal);
      case "fixed":
        return await this.#gather(entry.dv, own.root, own.sign, { kind: "request", publicKey, request }, sopts.signal);
      case "consent": {
        if (request.type === "VOLUNTARY_EXIT") {
          // this operator's own validator client asked: its consent, kept for retries and peers
          this.#m.store.addConsent(publicKey, own.root, encodeSignRequest(request), this.#m.clock.nowSec());
        }
        const why = consentRefusal(request, own.root, this.#consentContext(entry.index, publicKey));
        if (why !== undefined) throw new SignerError({ code: "NO_CONSENT", reason: why }, why);
        return await this.#gather(entry.dv, own.root, own.sign, { kind: "request", publicKey, request }, sopts.signal);
      }
    }
  }

  /**
   * Records this operator's consent to a deposit or voluntary exit (`cohort deposit sign`,
   * `cohort exit sign`), kept in the data dir's consent store.
   * @throws SignerError UNKNOWN_KEY, INVALID_REQUEST; TypeError for another request type
   */
  consentTo(publicKey: BlsPublicKey, request: SignRequest): void {
    if (request.type !== "DEPOSIT" && request.type !== "VOLUNTARY_EXIT") {
      throw new TypeError(`consent is given to deposits and exits, not ${request.type}`);
    }
    const { root } = this.#m.partials.prepare(toHex(publicKey), request);
    this.#m.store.addConsent(publicKey, root, encodeSignRequest(request), this.#m.clock.nowSec());
  }

  /**
   * Answers a peer's request for this node's partial over a fixed-value or consented message:
   * the same window, consent and slashing checks as this node's own requests, never agreement.
   */
  async servePeerRequest(publicKeyHex: string, request: SignRequest): Promise<PartialAnswer> {
    const entry = this.#byKey.get(publicKeyHex);
    if (entry === undefined) return refusal("UNKNOWN_KEY", `unknown validator ${publicKeyHex}`);
    const desc = requestDescriptor(request);
    if (desc.class === "agreed") {
      return refusal("NEEDS_AGREEMENT", `${request.type} is signed only for a value the cluster agreed on`);
    }
    try {
      this.#checkWindow(request);
      const prepared = this.#m.partials.prepare(publicKeyHex, request);
      if (desc.class === "consent") {
        const why = consentRefusal(request, prepared.root, this.#consentContext(entry.index, entry.dv.publicKey));
        if (why !== undefined) return refusal("NO_CONSENT", why);
      }
      return { signature: await prepared.sign() };
    } catch (err) {
      return refusalOf(err);
    }
  }

  /**
   * Answers a peer's request for this node's partial over the decided value of an agreed duty:
   * waits (up to {@link DECIDED_PARTIAL_WAIT_MS} or `signal`) until this node decided and signed.
   * A node whose own validator client never asked for the duty never signs it.
   */
  async serveDecided(publicKeyHex: string, duty: string, root: Root, signal: AbortSignal): Promise<PartialAnswer> {
    if (!this.#byKey.has(publicKeyHex)) return refusal("UNKNOWN_KEY", `unknown validator ${publicKeyHex}`);
    const found = await this.#decisionOn(publicKeyHex, duty, root, signal);
    if ("refusal" in found) return found;
    const d = found.decision;
    try {
      return { signature: await d.partial };
    } catch (err) {
      return refusalOf(err);
    }
  }

  /**
   * Answers a peer's request for the group signature over the decided value of an agreed duty
   * (96 bytes, verified under the validator's key): waits as {@link serveDecided} does, then
   * combines it from t partials, its own among them, once per duty for every asker and for this
   * node's own client. This node never asks for one (it combines for itself); it serves nodes of
   * the previous release (`/cohort/parsig/2.0.0` without PARTIAL entries), which ask the leader of
   * the deciding round, so a cluster can be upgraded one node at a time.
   */
  async serveGroup(publicKeyHex: string, duty: string, root: Root, signal: AbortSignal): Promise<PartialAnswer> {
    const entry = this.#byKey.get(publicKeyHex);
    if (entry === undefined) return refusal("UNKNOWN_KEY", `unknown validator ${publicKeyHex}`);
    const found = await this.#decisionOn(publicKeyHex, duty, root, signal);
    if ("refusal" in found) return found;
    const d = found.decision;
    // only the deciding round's leader combines for its peers, and only while the duty is current:
    // a peer cannot make this node gather for old or others' duties
    if (d.leader !== this.#o.shareIndex) {
      return refusal("NOT_LEADER", `this node did not lead the round that decided duty ${duty}`);
    }
    try {
      await d.partial;
      // the partial exists, so the decided bytes parsed as this duty's request (#decide)
      const parsed = d.json === undefined ? undefined : this.#parse(d.json);
      if (parsed === undefined) return refusal("INVALID_REQUEST", `the decided value of duty ${duty} does not parse`);
      this.#checkWindow(parsed.req);
      return { signature: await untilAborted(this.#combine(entry.dv, duty, d), signal) };
    } catch (err) {
      return refusalOf(err);
    }
  }

  /** This node's decision for a duty when it decided `root`; else the refusal to answer a peer with. */
  async #decisionOn(
    publicKeyHex: string,
    duty: string,
    root: Root,
    signal: AbortSignal,
  ): Promise<{ decision: DecidedPartial } | Refusal> {
    const d = await this.#decidedFor(publicKeyHex, duty, signal);
    if (d === undefined) return refusal("NOT_DECIDED", `this node has not decided duty ${duty}`);
    if (!bytesEqual(d.root, root)) {
      return {
        ...refusal("DIFFERENT_DECISION", `this node decided ${toHex(d.root)} for duty ${duty}`),
        decidedRoot: d.root,
      };
    }
    return { decision: d };
  }

  /** This node's decision for a duty, waiting up to {@link DECIDED_PARTIAL_WAIT_MS} or `signal` for it. */
  async #decidedFor(publicKeyHex: string, duty: string, signal: AbortSignal): Promise<DecidedPartial | undefined> {
    const key = `${publicKeyHex}/${duty}`;
    const d = this.#decided.get(key);
    if (d === undefined) {
      await new Promise<void>((resolve) => {
        const waiters = this.#decidedWaiters.get(key) ?? new Set();
        this.#decidedWaiters.set(key, waiters);
        const done = () => {
          clearTimeout(timer);
          off();
          waiters.delete(done);
          if (waiters.size === 0 && this.#decidedWaiters.get(key) === waiters) this.#decidedWaiters.delete(key);
          resolve();
        };
        const timer = setTimeout(done, DECIDED_PARTIAL_WAIT_MS);
        const off = onAbort(signal, done);
        waiters.add(done);
      });
      return this.#decided.get(key);
    }
    return d;
  }

  /**
   * A value's request and signing root, parsed once per JSON text; undefined when it does not parse
   * or is on another chain.
   */
  #parse(json: Uint8Array): { req: SignRequest; root: Root } | undefined {
    if (json.length > PARSED_VALUE_MAX_BYTES) return this.#parseOnce(json);
    const text = Buffer.from(json).toString("latin1");
    if (this.#parsed.has(text)) return this.#parsed.get(text);
    const out = this.#parseOnce(json);
    this.#keep(text, out);
    return out;
  }

  /**
   * Caches `parsed` as the parse of `json`: only for bytes encoded from that very request
   * ({@link encodeSignRequest}), whose re-parse is equal, with its root under this node's network.
   */
  #remember(json: Uint8Array, parsed: { req: SignRequest; root: Root }): void {
    if (json.length > PARSED_VALUE_MAX_BYTES) return;
    const text = Buffer.from(json).toString("latin1");
    if (!this.#parsed.has(text)) this.#keep(text, parsed);
  }

  #keep(text: string, out: { req: SignRequest; root: Root } | undefined): void {
    if (this.#parsed.size >= PARSED_VALUES_KEPT) {
      const oldest = this.#parsed.keys().next().value;
      if (oldest !== undefined) this.#parsed.delete(oldest);
    }
    this.#parsed.set(text, out);
  }

  #parseOnce(json: Uint8Array): { req: SignRequest; root: Root } | undefined {
    try {
      const req = decodeSignRequest(json);
      return { req, root: requestSigningRoot(req, this.#o.network) };
    } catch {
      return undefined;
    }
  }

  /**
   * The signing root of an agreement value's request JSON when it is a request for duty `dutyKey`;
   * undefined otherwise. Binds a value id to its bytes (DutyAgreementModules.rootOf).
   */
  rootOfValue(dutyKey: string, json: Uint8Array): Root | undefined {
    const p = this.#parse(json);
    if (p === undefined || requestDescriptor(p.req).duty(p.req).key !== dutyKey) return undefined;
    return p.root;
  }

  #checkWindow(request: SignRequest): void {
    const why = requestDescriptor(request).outsideWindow(request, this.#m.clock);
    if (why !== undefined) throw new SignerError({ code: "INVALID_REQUEST", field: "time_window" }, why);
  }

  #consentContext(index: number, publicKey: Uint8Array) {
    return {
      validator: this.#o.validators[index]!,
      feeRecipient: this.#o.feeRecipients[index]!,
      genesisForkVersion: this.#o.network.genesisForkVersion,
      hasConsent: (root: Root) => this.#m.store.hasConsent(publicKey, root),
    };
  }

  /** Whether this node may accept a leader's value for the duty its own client asked for as `own`. */
  #validator(pkHex: string, own: SignRequest, duty: Duty) {
    const pk = Buffer.from(pkHex.slice(2), "hex");
    return (rootHex: string, json: Uint8Array): boolean => {
      const parsed = this.#parse(json);
      if (parsed === undefined) return false;
      const { req: r, root } = parsed;
      const desc = requestDescriptor(r);
      if (desc !== requestDescriptor(own) || desc.duty(r).key !== duty.key) return false;
      if (desc.outsideWindow(r, this.#m.clock) !== undefined) return false;
      const why = desc.refuseProposal?.(own, r);
      if (why !== undefined) {
        this.#m.logger.debug({ validator: pkHex.slice(0, 12), duty: duty.key, why }, "leader's value refused");
        return false;
      }
      if (toHex(root) !== rootHex) return false;
      const check = slashingCheckOf(r);
      if (check?.kind === "block") return this.#m.store.wouldRefuseBlock(pk, check.slot, root) === undefined;
      if (check?.kind === "attestation") {
        return this.#m.store.wouldRefuseAttestation(pk, check.sourceEpoch, check.targetEpoch, root) === undefined;
      }
      return true;
    };
  }

  async #signAgreed(
    dv: DistributedValidator,
    request: SignRequest,
    duty: Duty,
    ownRoot: Root,
    signal: AbortSignal,
  ): Promise<BlsSignature> {
    const pkHex = toHex(dv.publicKey);
    // this node's own slashing protection refuses its own client's value: no agreement can help
    const check = slashingCheckOf(request);
    const own =
      check?.kind === "block"
        ? this.#m.store.wouldRefuseBlock(dv.publicKey, check.slot, ownRoot)
        : check?.kind === "attestation"
          ? this.#m.store.wouldRefuseAttestation(dv.publicKey, check.sourceEpoch, check.targetEpoch, ownRoot)
          : undefined;
    if (own !== undefined) {
      throw new SignerError({ code: "SLASHING_REFUSED", slashingCode: own.code }, own.message, { cause: own });
    }
    const json = encodeSignRequest(request);
    // the request is parsed and its root computed already: when the leader proposes these same
    // bytes (every client asked for the same value), binding and validating it parses nothing again
    this.#remember(json, { req: request, root: ownRoot });
    let decided: AgreementValue;
    try {
      decided = await this.#m.agreement.propose(
        pkHex,
        dv.publicKey,
        duty.key,
        { root: ownRoot, json },
        this.#validator(pkHex, request, duty),
        signal,
      );
    } catch (err) {
      if (err instanceof AgreementError || signal.aborted) {
        // no instance held (the engine stopped, or the duty expired): nothing to say about the peers
        const progress = this.#m.agreement.progress(pkHex, duty.key);
        const heard = new Set(progress?.heard ?? []);
        const silent =
          progress === undefined ? [] : this.#m.peers.filter((p) => !heard.has(p.index)).map((p) => p.label);
        const round = progress?.round ?? 0;
        throw new SignerError(
          { code: "NO_AGREEMENT", duty: duty.key, round, silent },
          `no agreement on duty ${duty.key} (round ${round})` +
            (silent.length > 0 ? `; nothing from ${silent.join(", ")}` : ""),
          { cause: err },
        );
      }
      throw err;
    }
    const d = this.#decide(pkHex, dv.publicKey, duty, decided);
    // this node's own client asked for the duty (its consent): its partial goes to every peer, so
    // each combines at its decision without asking
    d.partial.then(
      (sig) => this.#m.agreement.sharePartial(pkHex, duty.key, d.root, sig),
      () => {},
    );
    if (!bytesEqual(d.root, ownRoot)) {
      // this node's client asked for another value: this node signs the decided one for its peers, nothing else
      await d.partial.catch(() => undefined);
      throw new SignerError(
        {
          code: "DECIDED_OTHER",
          duty: duty.key,
          decidedSigningRoot: toHex(d.root),
          slashable: SLASHABLE_KINDS.has(duty.kind),
        },
        `the cluster agreed on ${toHex(d.root)} for duty ${duty.key}`,
      );
    }
    return await this.#groupSignature(dv, duty.key, d, signal);
  }

  /**
   * The group signature over a decided value, for this node's own client: combined here from this
   * node's own partial and t − 1 of its peers' ({@link #combine}), and returned only once this
   * node's own partial exists (its window, decision record and slashing check passed), so a client
   * never gets a signature its own node refused. Every node combines for itself: its peers send
   * their partials once they decided (src/consensus/engine.ts sharePartial), so nothing waits on
   * another node's combination.
   * @throws whatever this node's own partial rejects with (SLASHING_REFUSED, DECIDED_OTHER,
   *   INVALID_REQUEST); SignerError NOT_ENOUGH_PARTIALS; the signal's reason
   */
  async #groupSignature(
    dv: DistributedValidator,
    duty: string,
    d: DecidedPartial,
    signal: AbortSignal,
  ): Promise<BlsSignature> {
    const sig = await untilAborted(this.#combine(dv, duty, d), signal);
    this.#m.metrics?.groupSignature?.(d.partials !== undefined ? "partials" : "gathered");
    return sig;
  }

  /**
   * This node's combination of a decided value's group signature, from its own partial and its
   * peers': those they send once they decided, where agreement delivers them (a peer whose partial
   * has not come within {@link PARTIAL_WAIT_FRACTION} of the deadline is asked for it), else asked
   * of every peer at once (each decided and signed already). Started once per decision and kept
   * with it, shared by its own client's requests and peers' `group` requests.
   * A failed combination is kept for {@link COMBINE_RETRY_MS} before another may start, so peers'
   * requests cannot make this node gather again and again.
   */
  #combine(dv: DistributedValidator, duty: string, d: DecidedPartial): Promise<BlsSignature> {
    const now = performance.now();
    if (
      d.combined !== undefined &&
      !(d.combinedFailedAt !== undefined && now - d.combinedFailedAt >= COMBINE_RETRY_MS)
    ) {
      return d.combined;
    }
    const p = this.#gather(
      dv,
      d.root,
      () => d.partial,
      { kind: "decided", publicKey: dv.publicKey, duty, root: d.root },
      AbortSignal.timeout(this.#o.signTimeoutMs),
      false,
      d.partials,
    );
    d.combined = p;
    d.combinedFailedAt = undefined;
    p.catch(() => {
      if (d.combined === p) d.combinedFailedAt = performance.now();
    });
    return p;
  }

  /** Records the decision and makes this node's partial for it, once per (validator, duty). */
  #decide(pkHex: string, pk: Uint8Array, duty: Duty, value: AgreementValue): DecidedPartial {
    const key = `${pkHex}/${duty.key}`;
    const found = this.#decided.get(key);
    if (found) return found;
    const partial = (async () => {
      // the decided bytes must be the decided value, for this duty, inside this node's window:
      // checked before anything is recorded, whatever agreement handed over
      const parsed = this.#parse(value.json);
      if (
        parsed === undefined ||
        !bytesEqual(parsed.root, value.root) ||
        requestDescriptor(parsed.req).duty(parsed.req).key !== duty.key
      ) {
        throw new SignerError(
          { code: "INVALID_REQUEST", field: "decided_value" },
          `the decided value is not a request for duty ${duty.key} with root ${toHex(value.root)}`,
        );
      }
      const req = parsed.req;
      this.#checkWindow(req);
      if (slashingCheckOf(req) === undefined) {
        // blocks and attestations are recorded by slashing protection; the rest in the decisions table
        const recorded = this.#m.store.recordDecision(pk, duty.key, value.root);
        if (!bytesEqual(recorded, value.root)) {
          throw new SignerError(
            { code: "DECIDED_OTHER", duty: duty.key, decidedSigningRoot: toHex(recorded), slashable: false },
            `duty ${duty.key} was decided as ${toHex(recorded)} before`,
          );
        }
      }
      return await this.#m.partials.signAt(pkHex, req, parsed.root);
    })();
    partial.catch(() => undefined);
    const led = value.leader === this.#o.shareIndex;
    const d: DecidedPartial = {
      root: value.root,
      json: led ? value.json : undefined,
      partial,
      leader: value.leader,
      partials: value.partials,
    };
    if (this.#decided.size >= DECIDED_PARTIALS_KEPT) {
      const oldest = this.#decided.keys().next().value;
      if (oldest !== undefined) this.#decided.delete(oldest);
    }
    this.#decided.set(key, d);
    for (const w of this.#decidedWaiters.get(key) ?? []) w();
    return d;
  }

  async #gather(
    dv: DistributedValidator,
    root: Root,
    ownSign: () => Promise<BlsSignature>,
    ask: PeerPartialRequest,
    callerSignal: AbortSignal,
    hedge = true,
    inbox?: PeerPartials,
  ): Promise<BlsSignature> {
    const t = this.#o.threshold;
    const deadline = new AbortController();
    const onAbort = () => deadline.abort(callerSignal.reason);
    if (callerSignal.aborted) onAbort();
    else callerSignal.addEventListener("abort", onAbort, { once: true });
    const latency = this.#m.latency;
    const peers = this.#m.peers;
    const ordered = latency.preferCheap(
      latency.order(peers, (p) => p.isConnected(), performance.now()),
      t - 1,
      (first) => combinesCheaply([this.#o.shareIndex, ...first.map((p) => p.index)]),
    );
    const gather: GatherOpts = {
      publicKey: dv.publicKey,
      root,
      threshold: t,
      publicShares: dv.publicShares,
      own: { index: this.#o.shareIndex, sign: ownSign },
      signal: deadline.signal,
      peers: ordered.map((p) => ({
        index: p.index,
        label: p.label,
        fetch: async (signal) => {
          if (inbox !== undefined) {
            // the peer sends its partial once it decided: wait for it before asking
            const sent = await inbox.next(p.index, this.#o.signTimeoutMs * PARTIAL_WAIT_FRACTION, signal);
            if (sent !== undefined) return { signature: sent };
            if (signal.aborted) throw signal.reason;
          }
          const started = performance.now();
          try {
            const answer = await p.requestPartial(ask, signal);
            latency.observe(p.index, performance.now() - started);
            return answer;
          } catch (err) {
            if (!signal.aborted) latency.failed(p.index, performance.now());
            throw err;
          }
        },
      })),
      // a consent count is exact only once every peer answered
      awaitAll: ask.kind === "request",
      // agreed duties: every peer decided and signed already, so all are asked at once
      hedgeMs: hedge ? latency.hedgeDelay(ordered.slice(0, t - 1), this.#o.signTimeoutMs / 4) : 0,
      onHedge: (reason) => this.#m.metrics?.hedged(reason),
      verifyCombined: (pk, r, sig) => this.#m.verifier.verify(pk, r, sig),
      onPartial: (i) => this.#m.metrics?.partialReceived(i),
      onInvalid: (i, reason) => {
        latency.failed(i, performance.now());
        this.#m.metrics?.partialInvalid(i);
        this.#m.logger.warn(
          { peer: i, validator: toHex(dv.publicKey).slice(0, 12), reason },
          "invalid partial signature",
        );
      },
      onPeerError: (i, err) => this.#m.logger.debug({ peer: i, err: (err as Error).message }, "no partial from peer"),
    };
    try {
      return await gatherSignature(gather);
    } catch (err) {
      if (err instanceof SignerError && err.type.code === "NOT_ENOUGH_PARTIALS" && ask.kind === "request") {
        const { refused, invalid } = err.type;
        if (refused.some((r) => r.endsWith(": NO_CONSENT"))) {
          // this node and every peer that did not refuse consented (one that did not answer may have)
          const consenting = 1 + this.#m.peers.length - refused.length - invalid.length;
          const consentNeeded = Math.max(1, t - consenting);
          throw new SignerError(
            { ...err.type, consentNeeded },
            `at least ${consentNeeded} more operator(s) must consent; ${err.message}`,
            { cause: err },
          );
        }
      }
      throw err;
    } finally {
      callerSignal.removeEventListener("abort", onAbort);
      deadline.abort(this.#settled);
    }
  }
}

/** A refusal to answer a peer with. */
type Refusal = Extract<PartialAnswer, { refusal: unknown }>;

function refusal(code: string, message: string): Refusal {
  return { refusal: { code, message } };
}

function refusalOf(err: unknown): PartialAnswer {
  if (err instanceof SignerError) {
    const code = err.type.code === "SLASHING_REFUSED" ? err.type.slashingCode : err.type.code;
    return refusal(code, err.message);
  }
  if (err instanceof SlashingError) return refusal(err.code, err.message);
  return refusal("INTERNAL", "internal error");
}

/** `p`, or the signal's reason once it fires first (through {@link onAbort}: one listener per signal). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const off = onAbort(signal, () => reject(signal.reason));
    p.then(
      (v) => {
        off();
        resolve(v);
      },
      (err) => {
        off();
        reject(err);
      },
    );
  });
}

/** Callbacks waiting on one signal: a peer's stream carries thousands of waiting requests. */
const abortCallbacks = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `cb` once when `signal` aborts, through one listener per signal (adding and removing a
 * listener on an AbortSignal walks its list: thousands on one signal cost quadratic time).
 * Returns the unsubscribe, O(1).
 */
function onAbort(signal: AbortSignal, cb: () => void): () => void {
  let cbs = abortCallbacks.get(signal);
  if (cbs === undefined) {
    const set = new Set<() => void>();
    cbs = set;
    abortCallbacks.set(signal, set);
    signal.addEventListener(
      "abort",
      () => {
        for (const f of [...set]) f();
        set.clear();
      },
      { once: true },
    );
  }
  cbs.add(cb);
  const mine = cbs;
  return () => mine.delete(cb);
}
