/**
 * Cluster lifecycle definitions and lock chains (DESIGN.md § Cluster lifecycle): a reshare moves
 * a lock's validators to a new operator set and threshold; an addition appends validators among
 * the same operators. Both are `cohort/v3` definitions naming the previous lock, approved like a
 * first definition, and each ends in a new lock whose definition names the lock before it.
 */
import { randomUUID } from "node:crypto";
import { promises as fsp } from "node:fs";
import path from "node:path";
import { bytesEqual, toHex } from "../lib/bytes.js";
import { DATA_DIR_FILES } from "../lib/datadir.js";
import { InputError } from "../lib/errors.js";
import type { Root, ShareIndex } from "../lib/types.js";
import {
  type ClusterDefinition,
  computeConfigHash,
  computeDefinitionHash,
  createDefinition,
  definitionNetwork,
  LIFECYCLE_DEFINITION_VERSION,
  type Operator,
  parseOperatorSpec,
} from "./definition.js";
import { type ClusterLock, readLockFile, verifyLock } from "./lock.js";
import { MAX_VALIDATORS } from "./ssz.js";

/** Options for {@link createReshareDefinition}. */
export interface ReshareDefinitionOpts {
  /** The new operator set, `peerId[@multiaddr…]` each; order fixes the new share indices. */
  operators: string[];
  /** New threshold t′ (2t′ > n′); defaults to ⌈2n′/3⌉. */
  threshold?: number | undefined;
  /** Old operators outside the new set that will not take part (gone for good), by peer ID. */
  absent?: string[] | undefined;
  /**
   * Old operators kept in the new set that lost their old shares, by peer ID: they receive new
   * shares and deal nothing (the definition's `non_dealing_operators`).
   */
  nonDealing?: string[] | undefined;
  name?: string | undefined;
  uuid?: string | undefined;
  timestamp?: string | undefined;
}

const unsigned = (o: Operator): Operator => ({ ...o, configSignature: new Uint8Array(0) });

/**
 * A reshare definition from `previous` (a verified lock): the same network, validators, deposit
 * amounts and compounding, a new operator set and threshold, and as retiring operators every old
 * operator outside the new set except the `absent` ones. The old operators taking part (kept and
 * retiring) must number at least the old threshold. Kept operators keep their address hints
 * unless given new ones.
 * @throws InputError "operators" (malformed, duplicate, an absent operator kept), "absent" (not an
 *   old operator), "threshold" (2t′ > n′ broken, or too few old operators take part)
 */
export function createReshareDefinition(previous: ClusterLock, opts: ReshareDefinitionOpts): ClusterDefinition {
  const old = previous.definition;
  const oldIds = old.operators.map((o) => o.peerId);
  const absent = (opts.absent ?? []).map((a, i) => parseOperatorSpec(a, `absent[${i}]`).peerId);
  for (const [i, a] of absent.entries()) {
    if (!oldIds.includes(a)) throw new InputError("absent", `"absent[${i}]" ${a} is not an operator of the lock`);
  }
  const operators = opts.operators.map((spec, i) => {
    const { peerId, addresses } = parseOperatorSpec(spec, `operators[${i}]`);
    const kept = old.operators.find((o) => o.peerId === peerId);
    if (absent.includes(peerId)) {
      throw new InputError("operators", `operator ${peerId} is in the new set and listed as absent`);
    }
    return { peerId, addresses: addresses.length > 0 || kept === undefined ? addresses : kept.addresses };
  });
  const retiring = old.operators.filter(
    (o) => !operators.some((n) => n.peerId === o.peerId) && !absent.includes(o.peerId),
  );
  const nonDealing = (opts.nonDealing ?? []).map((a, i) => parseOperatorSpec(a, `non-dealing[${i}]`).peerId);
  for (const [i, id] of nonDealing.entries()) {
    if (!oldIds.includes(id) || !operators.some((o) => o.peerId === id)) {
      throw new InputError(
        "non-dealing",
        `"non-dealing[${i}]" ${id} is not an operator of both the lock and the new set`,
      );
    }
  }
  const dealers = oldIds.filter((id) => !absent.includes(id) && !nonDealing.includes(id)).length;
  if (dealers < old.threshold) {
    throw new InputError(
      "absent",
      `only ${dealers} old operators would take part; a reshare needs at least the old threshold ${old.threshold}`,
    );
  }
  // createDefinition checks operators (duplicates, count) and the threshold rule for the new set
  const { definition } = createDefinition({
    name: opts.name ?? old.name,
    operators: operators.map((o) => [o.peerId, ...o.addresses].join("@")),
    threshold: opts.threshold,
    numValidators: old.numValidators,
    network: definitionNetwork(old),
    withdrawalAddresses: old.validators.map((v) => toHex(v.withdrawalAddress)),
    feeRecipients: old.validators.map((v) => toHex(v.feeRecipient)),
    depositAmountsGwei: old.depositAmounts,
    compounding: old.compounding,
    allowSmall: true,
    uuid: opts.uuid ?? randomUUID(),
    timestamp: opts.timestamp,
  });
  return withLifecycle(
    { ...definition, validators: old.validators },
    {
      operation: "reshare",
      previousLockHash: previous.lockHash,
      retiringOperators: retiring.map(unsigned),
      nonDealing: [...new Set(nonDealing)],
    },
  );
}

/** Options for {@link createAdditionDefinition}. */
export interface AdditionDefinitionOpts {
  /** Validators to add, ≥ 1. */
  numValidators: number;
  /** One address for every new validator, or one per new validator. */
  withdrawalAddresses: string[];
  /** As `withdrawalAddresses`; defaults to them. */
  feeRecipients?: string[] | undefined;
  name?: string | undefined;
  uuid?: string | undefined;
  timestamp?: string | undefined;
}

/**
 * An addition definition from `previous`: the same operators (order, hints), threshold, network,
 * deposit amounts and compounding; `validators` lists the previous lock's validators first, then
 * the new ones. Every operator approves it.
 * @throws InputError "validators", "withdrawal-address", "fee-recipient" on bad input
 */
export function createAdditionDefinition(previous: ClusterLock, opts: AdditionDefinitionOpts): ClusterDefinition {
  const old = previous.definition;
  if (old.numValidators + opts.numValidators > MAX_VALIDATORS) {
    throw new InputError("validators", `the lock would exceed ${MAX_VALIDATORS} validators`);
  }
  const { definition } = createDefinition({
    name: opts.name ?? old.name,
    operators: old.operators.map((o) => [o.peerId, ...o.addresses].join("@")),
    threshold: old.threshold,
    numValidators: opts.numValidators,
    network: definitionNetwork(old),
    withdrawalAddresses: opts.withdrawalAddresses,
    feeRecipients: opts.feeRecipients,
    depositAmountsGwei: old.depositAmounts,
    compounding: old.compounding,
    allowSmall: true,
    uuid: opts.uuid ?? randomUUID(),
    timestamp: opts.timestamp,
  });
  return withLifecycle(
    {
      ...definition,
      numValidators: old.numValidators + opts.numValidators,
      validators: [...old.validators, ...definition.validators],
    },
    { operation: "add-validators", previousLockHash: previous.lockHash, retiringOperators: [], nonDealing: [] },
  );
}

function withLifecycle(def: ClusterDefinition, lifecycle: NonNullable<ClusterDefinition["lifecycle"]>) {
  const out: ClusterDefinition = { ...def, version: LIFECYCLE_DEFINITION_VERSION, lifecycle };
  out.configHash = computeConfigHash(out);
  out.definitionHash = computeDefinitionHash(out);
  return out;
}

/** Who does what in a lifecycle ceremony, in ceremony indices (1-based). */
export interface CeremonyRoles {
  /** Peer IDs in ceremony order: the definition's operators, then its retiring operators. */
  participants: string[];
  /** Ceremony indices that deal. */
  dealers: ShareIndex[];
  /** Ceremony indices that receive shares: 1..n′. */
  receivers: ShareIndex[];
  /** Reshare: each dealer's share index in the previous lock. */
  oldIndex: Map<ShareIndex, number>;
  /** Addition: the number of validators carried from the previous lock. */
  carried: number;
}

/**
 * The roles of a definition's ceremony. A first DKG or an addition: every operator deals and
 * receives. A reshare: the old operators taking part deal (kept operators, except the
 * non-dealing ones, and the retiring ones), the new operators receive.
 * @throws InputError "definition" when the definition does not continue `previous` (another
 *   previous lock hash, validators, network, deposits; an addition with other operators)
 */
export function ceremonyRoles(def: ClusterDefinition, previous?: ClusterLock): CeremonyRoles {
  const n = def.operators.length;
  const receivers = Array.from({ length: n }, (_, i) => (i + 1) as ShareIndex);
  const l = def.lifecycle;
  if (l === undefined) {
    return {
      participants: def.operators.map((o) => o.peerId),
      dealers: receivers,
      receivers,
      oldIndex: new Map(),
      carried: 0,
    };
  }
  if (previous === undefined)
    throw new InputError("previous-lock", `a ${l.operation} definition needs its previous lock`);
  checkContinues(def, previous);
  const old = previous.definition;
  if (l.operation === "add-validators") {
    return {
      participants: def.operators.map((o) => o.peerId),
      dealers: receivers,
      receivers,
      oldIndex: new Map(),
      carried: old.numValidators,
    };
  }
  const participants = [...def.operators, ...l.retiringOperators].map((o) => o.peerId);
  const oldIndex = new Map<ShareIndex, number>();
  participants.forEach((id, i) => {
    const m = old.operators.findIndex((o) => o.peerId === id);
    // a kept operator that lost its old shares receives only
    if (m >= 0 && !l.nonDealing.includes(id)) oldIndex.set((i + 1) as ShareIndex, m + 1);
  });
  const dealers = [...oldIndex.keys()].sort((a, b) => a - b);
  if (dealers.length < old.threshold) {
    throw new InputError(
      "definition",
      `only ${dealers.length} old operators take part; a reshare needs at least the old threshold ${old.threshold}`,
    );
  }
  return { participants, dealers, receivers, oldIndex, carried: 0 };
}

/**
 * Checks that a lifecycle definition continues `previous`: its previous lock hash, and for a
 * reshare the same validators, network, deposits and compounding, with every retiring operator an
 * old one; for an addition the same operators, threshold, network, deposits and compounding, with
 * the previous validators first.
 * @throws InputError "definition" naming what differs
 */
export function checkContinues(def: ClusterDefinition, previous: ClusterLock): void {
  const l = def.lifecycle;
  if (l === undefined) throw new InputError("definition", "the definition is not a lifecycle definition (cohort/v3)");
  const bad = (what: string) => new InputError("definition", `the ${l.operation} definition ${what}`);
  if (!bytesEqual(l.previousLockHash, previous.lockHash)) {
    throw bad(`names previous lock ${toHex(l.previousLockHash)}, not ${toHex(previous.lockHash)}`);
  }
  const old = previous.definition;
  const json = (x: unknown) =>
    JSON.stringify(x, (_, v) => (v instanceof Uint8Array ? toHex(v) : typeof v === "bigint" ? v.toString() : v));
  const a = definitionNetwork(def);
  const b = definitionNetwork(old);
  for (const k of Object.keys(a) as (keyof typeof a)[]) {
    if (json(a[k]) !== json(b[k])) throw bad(`changes the network's ${k}`);
  }
  if (json(def.depositAmounts) !== json(old.depositAmounts) || def.compounding !== old.compounding) {
    throw bad("changes the deposit amounts or compounding");
  }
  if (l.operation === "reshare") {
    if (def.numValidators !== old.numValidators || json(def.validators) !== json(old.validators)) {
      throw bad("changes the validators");
    }
    for (const r of l.retiringOperators) {
      if (!old.operators.some((o) => o.peerId === r.peerId))
        throw bad(`lists ${r.peerId}, not an old operator, as retiring`);
    }
    for (const id of l.nonDealing) {
      if (!old.operators.some((o) => o.peerId === id)) throw bad(`lists ${id}, not an old operator, as non-dealing`);
    }
    return;
  }
  if (
    json(def.operators.map((o) => o.peerId)) !== json(old.operators.map((o) => o.peerId)) ||
    def.threshold !== old.threshold
  ) {
    throw bad("changes the operators or the threshold");
  }
  if (
    def.numValidators <= old.numValidators ||
    json(def.validators.slice(0, old.numValidators)) !== json(old.validators)
  ) {
    throw bad("must list the previous lock's validators first and add at least one");
  }
}

/**
 * Verifies a chain of locks, oldest first: each lock in full ({@link verifyLock}), and each later
 * lock continuing the one before it ({@link checkContinues}) with the same validator keys and
 * deposit data for the validators they share (all of them in a reshare; the previous ones,
 * first, in an addition).
 * @param opts.skipLastLockCheck the newest lock was verified by the caller: check only that it continues
 * @returns the errors, each prefixed with the lock's position and hash; empty when the chain holds
 */
export async function verifyLockChain(
  locks: readonly ClusterLock[],
  opts: { skipLastLockCheck?: boolean } = {},
): Promise<string[]> {
  const errors: string[] = [];
  for (const [k, lock] of locks.entries()) {
    const at = `lock ${k} (${toHex(lock.lockHash).slice(0, 10)})`;
    // the caller verified the newest lock itself (lock verify): only its continuity is checked here
    if (!(opts.skipLastLockCheck && k === locks.length - 1)) {
      const v = await verifyLock(lock);
      for (const e of v.errors) errors.push(`${at}: ${e}`);
    }
    if (k === 0) continue;
    const prev = locks[k - 1]!;
    try {
      checkContinues(lock.definition, prev);
    } catch (err) {
      errors.push(`${at}: ${(err as Error).message}`);
      continue;
    }
    prev.distributedValidators.forEach((pv, i) => {
      const dv = lock.distributedValidators[i];
      if (dv === undefined || !bytesEqual(dv.publicKey, pv.publicKey)) {
        errors.push(`${at}: validator ${i}'s public key differs from the previous lock's`);
        return;
      }
      const same =
        dv.depositData.length === pv.depositData.length &&
        dv.depositData.every((d, a) => bytesEqual(d.depositDataRoot, pv.depositData[a]!.depositDataRoot));
      if (!same) errors.push(`${at}: validator ${i}'s deposit data differ from the previous lock's`);
      if (lock.definition.lifecycle?.operation === "add-validators") {
        const kept = dv.publicShares.every((s, m) => bytesEqual(s, pv.publicShares[m]!));
        if (!kept) errors.push(`${at}: validator ${i}'s public shares changed in an addition`);
      }
    });
  }
  return errors;
}

/** The lock hash a lock's definition names as its predecessor, if any (32 bytes). */
export function previousLockHash(lock: ClusterLock): Root | undefined {
  return lock.definition.lifecycle?.previousLockHash;
}

/** Where a lock hash a peer runs sits relative to this node's lock, in the chains it knows. */
export type LockRelation = "previous" | "next" | "unknown";

/**
 * Places `other` (a peer's lock hash, 32 bytes) against `current`: an earlier lock of its chain
 * ("previous"), a later lock whose chain reaches `current` ("next"), or neither ("unknown").
 * @param known locks this node holds (its data dir's locks/), any order
 */
export function lockRelation(other: Uint8Array, current: ClusterLock, known: readonly ClusterLock[]): LockRelation {
  const byHash = new Map(known.map((l) => [toHex(l.lockHash), l]));
  byHash.set(toHex(current.lockHash), current);
  const ancestors = (from: ClusterLock): string[] => {
    const out: string[] = [];
    for (let p = previousLockHash(from); p !== undefined && out.length <= byHash.size; ) {
      out.push(toHex(p));
      p = byHash.get(toHex(p)) === undefined ? undefined : previousLockHash(byHash.get(toHex(p))!);
    }
    return out;
  };
  const hex = toHex(other);
  if (ancestors(current).includes(hex)) return "previous";
  const later = byHash.get(hex);
  if (later !== undefined && ancestors(later).includes(toHex(current.lockHash))) return "next";
  return "unknown";
}

/**
 * Rate-limited warnings about peers that run another lock (DESIGN.md § Cluster lifecycle,
 * switching): at most one line per peer each `intervalMs`.
 */
export class ForeignLockReporter {
  readonly #last = new Map<string, number>();

  constructor(
    private readonly current: ClusterLock,
    private readonly known: readonly ClusterLock[],
    private readonly warn: (fields: Record<string, unknown>, message: string) => void,
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Reports that `peer` (its label) runs lock `session` (32 bytes), which names `previous` as its
   * previous lock when the peer said so (the lock exchange at connect): a lock naming this node's
   * is the next one even when this node has not seen it.
   */
  report(peer: string, session: Uint8Array, previous?: Uint8Array): void {
    // one line per peer and interval, whatever it sends: random sessions cannot flood the log
    const key = peer;
    const at = this.now();
    const last = this.#last.get(key);
    if (last !== undefined && at - last < this.intervalMs) return;
    if (this.#last.size > 1024) this.#last.clear();
    this.#last.set(key, at);
    const placed = lockRelation(session, this.current, this.known);
    const relation =
      placed === "unknown" && previous !== undefined && bytesEqual(previous, this.current.lockHash) ? "next" : placed;
    const text =
      relation === "previous"
        ? "still runs the previous lock of this cluster: it is refused until it restarts on this lock (the cluster signs on the new lock once its threshold of operators runs it)"
        : relation === "next"
          ? "runs a later lock of this cluster (a reshare or an addition): restart this node on it (its data dir's cluster-lock.json)"
          : "runs a lock this node does not know: it is refused";
    this.warn(
      { peer, peer_lock_hash: toHex(session), lock_hash: toHex(this.current.lockHash), relation },
      `peer ${peer} ${text}`,
    );
  }
}

/**
 * The locks in a data dir's `locks/` (the chain a lifecycle ceremony keeps), at most 1024; files
 * that do not parse are skipped (a damaged chain file only loses what it would tell).
 */
export async function readChainLocks(dataDir: string): Promise<ClusterLock[]> {
  const dir = path.join(dataDir, DATA_DIR_FILES.locks);
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const out: ClusterLock[] = [];
  for (const f of names.filter((n) => /^0x[0-9a-f]{64}\.json$/.test(n)).slice(0, 1024)) {
    try {
      out.push(await readLockFile(path.join(dir, f)));
    } catch {
      // skipped, as documented
    }
  }
  return out;
}
