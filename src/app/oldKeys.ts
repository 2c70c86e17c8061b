/**
 * A reshare's old keystores and their deletion (DESIGN.md § Cluster lifecycle: old shares still
 * hold the key, so a reshare protects against the old operators only once they delete them).
 *
 * A node deletes its old keystores only once every operator of the lock that replaced them has
 * confirmed it. The confirmations a data dir knows are kept in
 * `locks/<lock_hash>.confirmed.json` (0600): the operators that confirmed at the end of the
 * ceremony, and every peer that a `cohort run` on that lock later saw announce the same lock hash
 * when it connected (`/cohort/lock/1.0.0`), since a node runs a lock only with its keystores loaded.
 */
import { promises as fsp } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { previousLockHash, readChainLocks } from "../cluster/lifecycle.js";
import type { ClusterLock } from "../cluster/lock.js";
import { bytesEqual, toHex } from "../lib/bytes.js";
import { DATA_DIR_FILES } from "../lib/datadir.js";
import { InputError } from "../lib/errors.js";
import { exists, fsyncDir, writeFileAtomic } from "../lib/fs.js";

/** `locks/<lock_hash 0x-hex>.confirmed.json`, relative to the data dir. */
export function confirmationsFile(lockHash: Uint8Array): string {
  return path.join(DATA_DIR_FILES.locks, `${toHex(lockHash)}.confirmed.json`);
}

const CONFIRMED = z.object({ lock_hash: z.string(), confirmed: z.array(z.string().max(128)).max(1024) });

/**
 * The peer IDs known to have confirmed lock `lockHash` in this data dir (empty when none are
 * recorded, or the file is unreadable: confirmations are only ever added).
 */
export async function readConfirmations(dataDir: string, lockHash: Uint8Array): Promise<Set<string>> {
  try {
    const parsed = CONFIRMED.safeParse(
      JSON.parse(await fsp.readFile(path.join(dataDir, confirmationsFile(lockHash)), "utf8")),
    );
    if (!parsed.success || parsed.data.lock_hash !== toHex(lockHash)) return new Set();
    return new Set(parsed.data.confirmed);
  } catch {
    return new Set();
  }
}

/**
 * Adds operators of `lock` to its confirmations (atomically, 0600); peer IDs that are not its
 * operators are ignored. Only a lock of a chain (one naming a previous lock) keeps any.
 * @returns whether the file changed
 */
export async function recordConfirmations(
  dataDir: string,
  lock: ClusterLock,
  peerIds: Iterable<string>,
): Promise<boolean> {
  if (previousLockHash(lock) === undefined) return false;
  const operators = new Set(lock.definition.operators.map((o) => o.peerId));
  const known = await readConfirmations(dataDir, lock.lockHash);
  const before = known.size;
  for (const id of peerIds) if (operators.has(id)) known.add(id);
  if (known.size === before) return false;
  const ordered = lock.definition.operators.map((o) => o.peerId).filter((id) => known.has(id));
  await writeFileAtomic(
    path.join(dataDir, confirmationsFile(lock.lockHash)),
    `${JSON.stringify({ lock_hash: toHex(lock.lockHash), confirmed: ordered }, null, 2)}\n`,
  );
  return true;
}

/** Old keystores in a data dir: the lock they hold shares of, and the lock that replaced it. */
export interface OldKeys {
  /** Directory relative to the data dir: `validator_keys.previous-<h>`, or a retiring operator's `validator_keys`. */
  dir: string;
  replaced: ClusterLock;
  by: ClusterLock;
  /** Operators of `by` not known to have confirmed it. */
  unconfirmed: { index: number; peerId: string }[];
}

/**
 * Finds the old keystores of a data dir: each `validator_keys.previous-<8 hex>` whose lock has a
 * successor in `locks/`, and, for an operator that retired (no cluster-lock.json, and its
 * identity not an operator of the lock that replaced its own), its `validator_keys`.
 * @param self this data dir's peer ID
 */
export async function findOldKeys(dataDir: string, self: string): Promise<OldKeys[]> {
  const chain = await readChainLocks(dataDir);
  const successorOf = (lock: ClusterLock) =>
    chain.find((l) => {
      const p = previousLockHash(l);
      return p !== undefined && bytesEqual(p, lock.lockHash);
    });
  const out: OldKeys[] = [];
  const add = async (dir: string, replaced: ClusterLock, by: ClusterLock) => {
    const confirmed = await readConfirmations(dataDir, by.lockHash);
    const unconfirmed = by.definition.operators
      .map((o, i) => ({ index: i + 1, peerId: o.peerId }))
      .filter((o) => !confirmed.has(o.peerId));
    out.push({ dir, replaced, by, unconfirmed });
  };
  const names = await fsp.readdir(dataDir).catch(() => [] as string[]);
  for (const name of names.sort()) {
    const m = /^validator_keys\.previous-([0-9a-f]{8})$/.exec(name);
    if (m === null) continue;
    const replaced = chain.find((l) => toHex(l.lockHash).slice(2, 10) === m[1]);
    const by = replaced === undefined ? undefined : successorOf(replaced);
    if (replaced !== undefined && by !== undefined) await add(name, replaced, by);
  }
  const lockFile = path.join(dataDir, DATA_DIR_FILES.lock);
  if (!(await exists(lockFile)) && (await exists(path.join(dataDir, DATA_DIR_FILES.keys)))) {
    // a retiring operator: its own lock is the newest of the chain it is an operator of
    for (const replaced of chain) {
      const by = successorOf(replaced);
      if (
        by !== undefined &&
        replaced.definition.operators.some((o) => o.peerId === self) &&
        !by.definition.operators.some((o) => o.peerId === self)
      ) {
        await add(DATA_DIR_FILES.keys, replaced, by);
      }
    }
  }
  return out;
}

/**
 * Deletes `found`'s keystores once every operator of the lock that replaced them confirmed it,
 * or at once with `force`.
 * @throws InputError "--force" naming the operators not known to have confirmed (nothing deleted)
 */
export async function deleteOldKeys(dataDir: string, found: OldKeys, force = false): Promise<void> {
  if (found.unconfirmed.length > 0 && !force) {
    throw new InputError(
      "--force",
      `not deleting ${found.dir}: operator(s) ${found.unconfirmed.map((u) => `${u.index} (${u.peerId})`).join(", ")} ` +
        `of lock ${toHex(found.by.lockHash)} have not confirmed it to this node; they confirm by finishing the ` +
        `ceremony or by running cohort run on it while this node runs; --force deletes anyway`,
    );
  }
  await fsp.rm(path.join(dataDir, found.dir), { recursive: true, force: true });
  await fsyncDir(dataDir);
}
