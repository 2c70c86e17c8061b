/**
 * `cohort reshare` and `cohort add-validators` composition root (DESIGN.md § Cluster lifecycle):
 * loads the previous lock and this node's shares of it, runs the lifecycle ceremony over libp2p
 * with the DKG's runner, and writes the new lock beside the chain of earlier ones.
 *
 * Data dir after a lifecycle ceremony, on a node that holds a share of the new lock:
 * - `cluster-lock.json`, `cluster-definition.json`, deposit data: the new lock's;
 * - `validator_keys/`: this node's shares of the new lock (an addition keeps the previous keystores
 *   and numbers the new ones after them);
 * - `validator_keys.previous-<8 hex of the previous lock hash>/`: the previous lock's keystores,
 *   kept until the operator deletes them (`--delete-old-keys` once every operator confirmed);
 * - `locks/<lock_hash>.json`: every lock of the chain, the previous and the new one;
 * - the slashing database: after a reshare, raised to the floor the dealers signed.
 * A retiring operator only gains `locks/`; its old keystores stay until it deletes them.
 */
import { promises as fsp } from "node:fs";
import path from "node:path";
import {
  type ClusterDefinition,
  computeDefinitionHash,
  definitionNetwork,
  type LifecycleOperation,
  readDefinitionFile,
  verifyDefinition,
} from "../cluster/definition.js";
import { ceremonyRoles, readChainLocks } from "../cluster/lifecycle.js";
import { type ClusterLock, readLockFile, serializeLock, verifyLock } from "../cluster/lock.js";
import type { SecretKey } from "../crypto/bls.js";
import { decryptKeystores } from "../crypto/keystore.js";
import { envelopeLimits } from "../dkg/limits.js";
import type { CeremonyParams, SlashingFloor } from "../dkg/rounds.js";
import { SECONDS_PER_SLOT } from "../eth2/clock.js";
import { bytesEqual, toHex } from "../lib/bytes.js";
import { keystoreFile, keystorePasswordFile } from "../lib/datadir.js";
import { InputError } from "../lib/errors.js";
import { ensureDir, exists, fsyncDir, writeFileAtomic } from "../lib/fs.js";
import { acquireDataDirLock } from "../lib/lockfile.js";
import type { BlsSignature, Root, ShareIndex } from "../lib/types.js";
import { loadIdentity } from "../p2p/identity.js";
import { SlashingProtectionDb } from "../slashing/store.js";
import {
  type DkgModules,
  type DkgOpts,
  type DkgOutcome,
  definitionArtifacts,
  runCeremonyPlan,
  writeArtifacts,
} from "./dkg.js";
import { FILES, readShareKeystores } from "./files.js";
import { recordConfirmations } from "./oldKeys.js";

/** The chain of locks in a data dir: `locks/<lock_hash 0x-hex>.json`. */
export const LOCKS_DIR = FILES.locks;

/** `validator_keys.previous-<first 8 hex digits of the lock hash>`: a previous lock's keystores. */
export function previousKeysDir(lockHash: Root): string {
  return `${FILES.keys}.previous-${toHex(lockHash).slice(2, 10)}`;
}

/** Options of {@link runLifecycle}. */
export interface LifecycleOpts extends DkgOpts {
  /** The operation the command runs; the definition must name it. */
  operation: LifecycleOperation;
  /** The lock the definition starts from; default the data dir's cluster-lock.json (a new operator gives it). */
  previousLockFile?: string | undefined;
  /** Delete this node's previous keystores once every operator confirmed the new lock. */
  deleteOldKeys?: boolean | undefined;
}

/** A finished lifecycle ceremony. */
export interface LifecycleOutcome extends DkgOutcome {
  /** "operator": this node holds shares of the new lock; "retiring": it left the cluster. */
  role: "operator" | "retiring";
  previous: ClusterLock;
  /** The previous lock's keystores of this node, relative to the data dir, if any remain. */
  oldKeys?: string | undefined;
  /** True when `deleteOldKeys` removed them. */
  deletedOldKeys: boolean;
}

/**
 * Runs a reshare or an addition for this node. Nothing is written before every check of the
 * ceremony passed; then the previous lock joins `locks/`, the slashing floor is imported, and the
 * new artifacts are renamed into place, the lock last (src/app/dkg.ts writeArtifacts). A rerun after
 * a crash between moving the previous keystores aside and writing the new lock finds them in
 * `validator_keys.previous-<h>`.
 * @throws InputError for a bad definition, previous lock, identity, keystores or data dir (nothing
 *   written); DkgError when the ceremony fails (only dkg-failure.json written)
 */
export async function runLifecycle(opts: LifecycleOpts, modules: DkgModules): Promise<LifecycleOutcome> {
  const log = modules.logger;
  const identity = await loadIdentity(opts.dataDir);
  const def = await readDefinitionFile(opts.definitionFile);
  await verifyDefinition(def);
  if (def.lifecycle?.operation !== opts.operation) {
    throw new InputError(
      "definition",
      `"definition" is ${def.lifecycle === undefined ? "not a lifecycle definition" : `a ${def.lifecycle.operation} definition`}, not a ${opts.operation} one`,
    );
  }
  const dirLock = await acquireDataDirLock(opts.dataDir, opts.operation);
  try {
    const previous = await loadPrevious(opts, def);
    const roles = ceremonyRoles(def, previous);
    const self = (roles.participants.indexOf(identity.peerId) + 1) as ShareIndex;
    if (self === 0) {
      throw new InputError("definition", `identity ${identity.peerId} takes no part in definition "${def.name}"`);
    }
    const receiving = roles.receivers.includes(self);
    const oldIndex = roles.oldIndex.get(self) ?? (def.lifecycle.operation === "add-validators" ? self : undefined);
    const found = oldIndex === undefined ? undefined : await loadOldShares(opts.dataDir, previous, oldIndex);
    if (oldIndex !== undefined && found === undefined) {
      // before connecting: the peers would otherwise wait for this node's deal until their timeout
      throw new InputError(
        FILES.keys,
        `this node deals share ${oldIndex} of lock ${toHex(previous.lockHash)}, but ${path.join(opts.dataDir, FILES.keys)} holds no keystore of it` +
          (def.lifecycle.operation === "reshare" && def.operators.some((o) => o.peerId === identity.peerId)
            ? ": if its shares are lost, the reshare definition must name this operator with --non-dealing"
            : ""),
      );
    }
    const params: Partial<CeremonyParams> = { dealers: roles.dealers, receivers: roles.receivers };
    const V = def.numValidators - roles.carried;
    params.numValidators = V;
    if (def.lifecycle.operation === "reshare") {
      params.reshare = {
        oldThreshold: previous.definition.threshold,
        oldIndex: roles.oldIndex,
        publicKeys: previous.distributedValidators.map((dv) => dv.publicKey),
        oldPublicShares: previous.distributedValidators.map((dv) => dv.publicShares),
        ...(found === undefined ? {} : { ownOldShares: found.shares, ownFloors: readFloors(opts.dataDir, previous) }),
        ...floorBound(def),
      };
    } else {
      if (found === undefined) throw new InputError(FILES.keys, "an addition needs this node's shares of the lock");
      params.carried = {
        validators: previous.distributedValidators.map((dv) => ({
          publicKey: dv.publicKey,
          publicShares: dv.publicShares,
          depositSignatures: dv.depositData.map((d) => d.signature as BlsSignature),
        })),
        shares: found.shares,
      };
    }
    const { builder, lockOf } = definitionArtifacts(def, previous);
    const aside = previousKeysDir(previous.lockHash);
    const keepLocks = async (dir: string, lock: ClusterLock) => {
      await ensureDir(path.join(dir, LOCKS_DIR));
      for (const l of [previous, lock]) {
        await writeFileAtomic(path.join(dir, LOCKS_DIR, `${toHex(l.lockHash)}.json`), serializeLock(l));
      }
    };
    const outcome = await runCeremonyPlan(opts, log, {
      def,
      self,
      identity,
      participants: roles.participants.map((peerId) => {
        const o = [...def.operators, ...def.lifecycle!.retiringOperators].find((x) => x.peerId === peerId)!;
        return { peerId, addresses: o.addresses };
      }),
      params,
      builder,
      lockOf,
      limits: envelopeLimits({
        n: roles.participants.length,
        t: def.threshold,
        numValidators: V,
        rootsPerValidator: def.lifecycle.operation === "reshare" ? 0 : def.depositAmounts.length,
      }),
      write: async (lock, result) => {
        if (!receiving) {
          // a retiring node keeps the chain, and no cluster-lock.json: `cohort run` must never
          // bring the old cluster back (its lock is locks/<previous>.json)
          await keepLocks(opts.dataDir, lock);
          await fsyncDir(path.join(opts.dataDir, LOCKS_DIR));
          await fsp.rm(path.join(opts.dataDir, FILES.lock), { force: true });
          await fsyncDir(opts.dataDir);
          return [LOCKS_DIR];
        }
        return writeArtifacts(opts.dataDir, def, lock, result, opts.kdf, {
          firstKeystore: roles.carried,
          keepKeystores: Array.from({ length: roles.carried }, (_, v) => [keystoreFile(v), keystorePasswordFile(v)])
            .flat()
            .map((to) => ({ from: path.join(found!.dir, path.relative(FILES.keys, to)), to })),
          // never onto an existing directory: an earlier attempt's keys aside stay, these become orphaned
          keysAside:
            found?.dir === FILES.keys && !(await exists(path.join(opts.dataDir, aside)))
              ? path.join(opts.dataDir, aside)
              : undefined,
          beforeRename: async () => {
            await keepLocks(opts.dataDir, lock);
            if (result.slashingFloors !== undefined) importFloors(opts.dataDir, previous, result.slashingFloors);
          },
        });
      },
    });
    // this node and every participant that confirmed: cohort lock delete-old-keys reads them later
    const unconfirmedIds = new Set(outcome.unconfirmed.map((u) => u.peerId));
    try {
      await recordConfirmations(
        opts.dataDir,
        outcome.lock,
        roles.participants.filter((id) => !unconfirmedIds.has(id)),
      );
    } catch (err) {
      // the new lock is in place: a lost record only delays lock delete-old-keys
      log.warn({ err: (err as Error).message }, "lock confirmations not recorded");
    }
    let oldKeys: string | undefined;
    if (found !== undefined) oldKeys = receiving ? aside : FILES.keys;
    let deletedOldKeys = false;
    if (opts.deleteOldKeys && oldKeys !== undefined && outcome.unconfirmed.length === 0) {
      await fsp.rm(path.join(opts.dataDir, oldKeys), { recursive: true, force: true });
      await fsyncDir(opts.dataDir);
      deletedOldKeys = true;
    }
    return { ...outcome, role: receiving ? "operator" : "retiring", previous, oldKeys, deletedOldKeys };
  } finally {
    await dirLock.release();
  }
}

/**
 * The previous lock: `--previous-lock` or the data dir's, verified in full, and not already
 * replaced by this definition's lock.
 * @throws InputError "previous-lock" or "data-dir"
 */
async function loadPrevious(opts: LifecycleOpts, def: ClusterDefinition): Promise<ClusterLock> {
  const own = path.join(opts.dataDir, FILES.lock);
  for (const l of await readChainLocks(opts.dataDir)) {
    if (bytesEqual(computeDefinitionHash(l.definition), def.definitionHash)) {
      throw new InputError(
        "data-dir",
        `${path.join(opts.dataDir, LOCKS_DIR)} already holds the lock of this definition`,
      );
    }
  }
  const ownLock = (await exists(own)) ? await readLockFile(own, "data-dir") : undefined;
  if (ownLock !== undefined && bytesEqual(computeDefinitionHash(ownLock.definition), def.definitionHash)) {
    throw new InputError("data-dir", `${own} already holds the lock of this definition`);
  }
  const file = opts.previousLockFile ?? own;
  const field = opts.previousLockFile === undefined ? "data-dir" : "previous-lock";
  if (opts.previousLockFile === undefined && ownLock === undefined) {
    throw new InputError(
      "previous-lock",
      `${own} does not exist: give the lock this definition starts from with --previous-lock`,
    );
  }
  const previous =
    ownLock !== undefined && opts.previousLockFile === undefined ? ownLock : await readLockFile(file, field);
  if (ownLock !== undefined && !bytesEqual(ownLock.lockHash, previous.lockHash)) {
    throw new InputError(
      "previous-lock",
      `${own} holds lock ${toHex(ownLock.lockHash)}, not the given previous lock ${toHex(previous.lockHash)}`,
    );
  }
  const v = await verifyLock(previous);
  if (!v.ok) throw new InputError(field, `the previous lock does not verify: ${v.errors[0]}`);
  return previous;
}

/**
 * This node's shares of `previous` (old share index `m`), from validator_keys or, after a crash
 * that moved them aside, from `validator_keys.previous-<h>`; each checked against its public share
 * (validator_keys that hold other shares, written before the crash, are passed over).
 * @returns undefined when the data dir holds neither (a new operator)
 * @throws InputError naming the keystore that cannot be read or is not this node's share
 */
async function loadOldShares(
  dataDir: string,
  previous: ClusterLock,
  m: number,
): Promise<{ shares: SecretKey[]; dir: string } | undefined> {
  const lockFile = path.join(dataDir, FILES.lock);
  const ownLock = (await exists(lockFile)) ? await readLockFile(lockFile, "data-dir") : undefined;
  const candidates = [previousKeysDir(previous.lockHash)];
  // the data dir's validator_keys belong to its own lock: the previous one, or a new operator's none
  if (ownLock !== undefined && bytesEqual(ownLock.lockHash, previous.lockHash)) candidates.unshift(FILES.keys);
  let mismatch: InputError | undefined;
  for (const dir of candidates) {
    if (!(await exists(path.join(dataDir, dir, path.basename(keystoreFile(0)))))) continue;
    const read = await readKeystoresIn(dataDir, dir, previous.distributedValidators.length);
    let shares: SecretKey[];
    try {
      shares = await decryptKeystores(read);
    } catch (err) {
      throw new InputError(dir, (err as Error).message, { cause: err });
    }
    const bad = shares.findIndex(
      (s, v) => !bytesEqual(s.publicKey(), previous.distributedValidators[v]!.publicShares[m - 1]!),
    );
    if (bad < 0) return { shares, dir };
    // a crash after the new keystores went into validator_keys but before the new lock: the
    // previous ones are aside, tried next
    mismatch = new InputError(
      dir,
      `${dir}/keystore-${bad}.json is not this node's share of validator ${bad} of the previous lock`,
    );
  }
  if (mismatch !== undefined) throw mismatch;
  return undefined;
}

/** readShareKeystores for a keystore directory other than validator_keys. */
async function readKeystoresIn(dataDir: string, dir: string, count: number) {
  if (dir === FILES.keys) return readShareKeystores(dataDir, count);
  // readShareKeystores reads <root>/validator_keys/…: point it at a view whose validator_keys is `dir`
  const view = await fsp.mkdtemp(path.join(dataDir, ".keys-view-"));
  try {
    await fsp.symlink(path.join("..", dir), path.join(view, FILES.keys));
    return await readShareKeystores(view, count);
  } finally {
    await fsp.rm(view, { recursive: true, force: true });
  }
}

/**
 * The highest floor a dealer may send: the wall-clock slot (and its epoch) plus one day, so a
 * floor cannot silence a validator for good; unbounded when the network's genesis time is unknown.
 */
function floorBound(def: ClusterDefinition): { maxFloor?: { slot: bigint; epoch: bigint } } {
  const genesis = definitionNetwork(def).genesisTime;
  if (genesis === undefined) return {};
  const slot = BigInt(Math.max(0, Math.floor((Date.now() / 1000 - genesis) / SECONDS_PER_SLOT))) + FLOOR_MARGIN_SLOTS;
  return { maxFloor: { slot, epoch: slot / 32n } };
}

/** How far past the wall-clock slot a dealer's slashing floor may be: one day of 12 s slots. */
export const FLOOR_MARGIN_SLOTS = 7200n;

/** This dealer's slashing floor of each validator of `previous`, from its slashing database. */
function readFloors(dataDir: string, previous: ClusterLock): SlashingFloor[] {
  const db = new SlashingProtectionDb({ dataDir });
  try {
    return previous.distributedValidators.map((dv) => {
      const m = db.readMaxima(dv.publicKey);
      return {
        blockSlot: m?.maxBlock?.slot ?? null,
        sourceEpoch: m?.maxAttestation?.sourceEpoch ?? null,
        targetEpoch: m?.maxAttestation?.targetEpoch ?? null,
      };
    });
  } finally {
    db.close();
  }
}

/**
 * Imports the reshare's slashing floor into this node's database before the new lock appears: one
 * block at the floor slot and one attestation at the floor epochs per validator, with no signing
 * root, so nothing at or below them can be signed (EIP-3076 minimal import).
 */
function importFloors(dataDir: string, previous: ClusterLock, floors: readonly SlashingFloor[]): void {
  const db = new SlashingProtectionDb({ dataDir });
  try {
    db.importRecords(
      previous.definition.network.genesisValidatorsRoot,
      previous.distributedValidators.map((dv, v) => {
        const f = floors[v]!;
        return {
          pubkey: dv.publicKey,
          signedBlocks: f.blockSlot === null ? [] : [{ slot: f.blockSlot, signingRoot: null }],
          signedAttestations:
            f.sourceEpoch === null || f.targetEpoch === null
              ? []
              : [{ sourceEpoch: f.sourceEpoch, targetEpoch: f.targetEpoch, signingRoot: null }],
        };
      }),
    );
    // an operator that stays keeps its own history, whose import minima may lie below the floor
    previous.distributedValidators.forEach((dv, v) => {
      const f = floors[v]!;
      if (f.blockSlot === null && f.targetEpoch === null) return;
      db.raiseWatermarks(dv.publicKey, { slot: f.blockSlot, sourceEpoch: f.sourceEpoch, targetEpoch: f.targetEpoch });
    });
  } finally {
    db.close();
  }
}
