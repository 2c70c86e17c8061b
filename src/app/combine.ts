/**
 * `cohort combine` (DESIGN.md § Cluster lifecycle, Combine): t operators' shares give each
 * validator's whole key, written as one EIP-2335 keystore and checked against the lock, with the
 * merged EIP-3076 history of those operators for whoever signs with the whole key. The one command
 * that puts a whole validator key on one machine: for emergencies only.
 */
import { promises as fsp, rmSync, type Stats } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type ClusterLock, readLockFile, verifyLock } from "../cluster/lock.js";
import type { SecretKey } from "../crypto/bls.js";
import {
  decryptKeystores,
  encryptKeystores,
  type KdfName,
  type KeystoreFile,
  randomPassword,
} from "../crypto/keystore.js";
import { recoverSecret } from "../crypto/tbls.js";
import { toHex } from "../lib/bytes.js";
import { keystoreFile, keystorePasswordFile } from "../lib/datadir.js";
import { InputError } from "../lib/errors.js";
import { DIR_MODE, exists, FILE_MODE, fsyncDir } from "../lib/fs.js";
import { acquireDataDirLock, type DataDirLock } from "../lib/lockfile.js";
import type { ShareIndex } from "../lib/types.js";
import { FILES, readShareKeystores } from "./files.js";

/** The merged history's file name inside `--out`. */
export const COMBINED_INTERCHANGE_FILE = "slashing-protection-interchange.json";

export interface CombineOpts {
  /** Data directories of distinct operators of one lock (at least its threshold). */
  dataDirs: readonly string[];
  /** Directory to create: must not exist, or be empty. */
  out: string;
  /** KDF of the written keystores; default scrypt (staking-deposit-cli's). */
  kdf?: KdfName;
  /**
   * Combine even when fewer than n − t + 1 of the data dirs have a slashing database: the merged
   * history may then miss what the other operators signed together. Default false.
   */
  allowMissingHistory?: boolean;
}

export interface CombineResult {
  lockHash: string;
  threshold: number;
  /** The 1-based share indices combined, ascending. */
  shareIndices: number[];
  /** Per validator (lock order): its public key and the keystore written for it. */
  validators: { publicKey: string; keystore: string; passwordFile: string }[];
  /** The merged EIP-3076 interchange (complete format). */
  interchange: string;
  /** Slashing records merged: validators with any record, blocks, attestations. */
  history: { validators: number; blocks: number; attestations: number };
}

/** One operator's input: its data dir, its share index, and its share of each validator (lock order). */
interface OperatorShares {
  dataDir: string;
  index: ShareIndex;
  shares: SecretKey[];
}

/**
 * Combines each validator's whole key from the operators' data dirs, which must be stopped (their
 * data-dir locks are taken while reading). Writes `out/keystore-<v>.json` with its password in
 * `out/keystore-<v>.txt` (one fresh password, 0600) and the merged history, all into a staging
 * directory renamed to `out` at the end: `out` is complete or absent.
 * @param onProgress one line per stage
 * @throws InputError naming the data dir or field: an unreadable or unverified lock, locks that
 *   differ, a keystore that is no share of this lock, two dirs of one operator, fewer than t
 *   operators, a running node, a non-empty `out`
 * @throws Error when a combined key does not match the lock's public key (never expected after
 *   every share was checked against its public share)
 */
export async function combine(
  opts: CombineOpts,
  onProgress: (line: string) => void = () => {},
): Promise<CombineResult> {
  if (opts.dataDirs.length === 0) throw new InputError("data-dir", "give the data dirs of at least t operators");
  const out = await checkOut(opts.out);
  const dirs: string[] = [];
  for (const d of opts.dataDirs) {
    let real: string;
    try {
      real = await fsp.realpath(d);
    } catch (err) {
      throw new InputError("data-dir", `--data-dir ${d} cannot be read (${(err as NodeJS.ErrnoException).code})`, {
        cause: err,
      });
    }
    if (dirs.includes(real)) throw new InputError("data-dir", `--data-dir ${d} is given twice`);
    dirs.push(real);
  }

  const locks: { dir: string; lock: ClusterLock }[] = [];
  for (const dir of dirs) {
    try {
      locks.push({ dir, lock: await readLockFile(path.join(dir, FILES.lock), "data-dir") });
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      throw new InputError("data-dir", `${dir}: ${err.message}`, { cause: err });
    }
  }
  const lock = locks[0]!.lock;
  for (const l of locks.slice(1)) {
    if (toHex(l.lock.lockHash) !== toHex(lock.lockHash)) {
      throw new InputError(
        "data-dir",
        `${l.dir} holds lock ${toHex(l.lock.lockHash)}, ${locks[0]!.dir} lock ${toHex(lock.lockHash)}: shares of different locks never combine`,
      );
    }
  }
  const verdict = await verifyLock(lock);
  if (!verdict.ok) {
    throw new InputError("data-dir", `${locks[0]!.dir}: ${FILES.lock} does not verify: ${verdict.errors.join("; ")}`);
  }
  const t = lock.definition.threshold;
  if (dirs.length < t) {
    throw new InputError("data-dir", `${dirs.length} data dir(s) given; this lock needs ${t} operators' shares`);
  }

  const held: DataDirLock[] = [];
  try {
    for (const dir of dirs) held.push(await acquireDataDirLock(dir, "cohort combine"));
    onProgress(`reading the shares of ${dirs.length} operator(s), ${lock.distributedValidators.length} validator(s)`);
    const operators: OperatorShares[] = [];
    for (const dir of dirs) {
      const op = await readShares(dir, lock);
      const twin = operators.find((o) => o.index === op.index);
      if (twin !== undefined) {
        throw new InputError(
          "data-dir",
          `${dir} holds share ${op.index}, as ${twin.dataDir} does: give t different operators`,
        );
      }
      operators.push(op);
    }
    operators.sort((a, b) => a.index - b.index);

    onProgress(`combining with share indices ${operators.map((o) => o.index).join(", ")} (threshold ${t})`);
    const secrets = lock.distributedValidators.map((dv, v) => {
      const secret = recoverSecret(operators.map((o) => ({ index: o.index, value: o.shares[v]! })));
      if (toHex(secret.publicKey()) !== toHex(dv.publicKey)) {
        throw new Error(`validator ${v}: the combined key does not match the lock's public key ${toHex(dv.publicKey)}`);
      }
      return secret;
    });

    onProgress("merging the operators' slashing protection histories");
    const { text: interchangeText, history, without } = await mergedHistory(dirs, lock);
    // any t signers include one of these operators only if at least n − t + 1 of them have a history
    const n = lock.definition.operators.length;
    const covered = dirs.length - without.length;
    for (const dir of without) onProgress(`${dir} has no slashing protection history`);
    if (covered < n - t + 1 && opts.allowMissingHistory !== true) {
      throw new InputError(
        "data-dir",
        `only ${covered} of the data dirs have a slashing protection history (missing in ${without.join(", ")}); ` +
          `with fewer than n − t + 1 = ${n - t + 1}, what the other operators signed together may be missing from the ` +
          `merged history. Give more operators' data dirs, or pass --allow-missing-history`,
      );
    }

    onProgress(`encrypting ${secrets.length} keystore(s) (${opts.kdf ?? "scrypt"})`);
    const password = randomPassword();
    const keystores = await encryptKeystores(
      secrets.map((secret, v) => ({
        secret,
        path: "",
        description: `cohort combine: validator ${v} of lock ${toHex(lock.lockHash)}`,
      })),
      password,
      { kdf: opts.kdf ?? "scrypt" },
    );

    const staging = await fsp.mkdtemp(path.join(path.dirname(out), `${stagingPrefix(out)}`));
    // whole keys are in it: an interrupted combine removes it before the process ends
    const onSignal = (signal: NodeJS.Signals) => {
      rmSync(staging, { recursive: true, force: true });
      process.exit(signal === "SIGINT" ? 130 : 143);
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      await fsp.chmod(staging, DIR_MODE);
      const write = (name: string, data: string) => fsp.writeFile(path.join(staging, name), data, { mode: FILE_MODE });
      const validators: CombineResult["validators"] = [];
      for (const [v, ks] of keystores.entries()) {
        const name = path.basename(keystoreFile(v));
        const pw = path.basename(keystorePasswordFile(v));
        await write(name, `${JSON.stringify(ks, null, 2)}\n`);
        await write(pw, password);
        validators.push({
          publicKey: toHex(lock.distributedValidators[v]!.publicKey),
          keystore: path.join(out, name),
          passwordFile: path.join(out, pw),
        });
      }
      await write(COMBINED_INTERCHANGE_FILE, interchangeText);
      for (const f of await fsp.readdir(staging)) {
        const fh = await fsp.open(path.join(staging, f), "r");
        await fh.sync();
        await fh.close();
      }
      await fsyncDir(staging);
      if (await exists(out)) await fsp.rmdir(out);
      await fsp.rename(staging, out);
      await fsyncDir(path.dirname(out));
      return {
        lockHash: toHex(lock.lockHash),
        threshold: t,
        shareIndices: operators.map((o) => o.index),
        validators,
        interchange: path.join(out, COMBINED_INTERCHANGE_FILE),
        history,
      };
    } catch (err) {
      await fsp.rm(staging, { recursive: true, force: true });
      throw err;
    } finally {
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
    }
  } finally {
    for (const h of held) await h.release();
  }
}

/** The staging directory's name prefix, next to `out`. */
function stagingPrefix(out: string): string {
  return `.${path.basename(out)}.combine-`;
}

/**
 * Checks `--out` before any work: its parent exists, it is absent or an empty directory, and no
 * earlier interrupted combine left whole keys beside it.
 * @returns its absolute path
 */
async function checkOut(given: string): Promise<string> {
  const out = path.resolve(given);
  const parent = path.dirname(out);
  let parentStat: Stats;
  try {
    parentStat = await fsp.stat(parent);
  } catch {
    throw new InputError("out", `--out ${given}: directory ${parent} does not exist`);
  }
  if (!parentStat.isDirectory()) throw new InputError("out", `--out ${given}: ${parent} is not a directory`);
  if (await exists(out)) {
    if (!(await fsp.stat(out)).isDirectory())
      throw new InputError("out", `--out ${given} exists and is not a directory`);
    if ((await fsp.readdir(out)).length > 0) throw new InputError("out", `--out ${given} exists and is not empty`);
  }
  const leftovers = (await fsp.readdir(parent)).filter((e) => e.startsWith(stagingPrefix(out)));
  if (leftovers.length > 0) {
    throw new InputError(
      "out",
      `${leftovers.map((e) => path.join(parent, e)).join(", ")} is left from an interrupted combine and may hold ` +
        "whole validator keys: delete it first",
    );
  }
  return out;
}

/** Decrypts a data dir's keystores and finds its share index from their public keys. */
async function readShares(dir: string, lock: ClusterLock): Promise<OperatorShares> {
  let files: KeystoreFile[];
  try {
    files = await readShareKeystores(dir, lock.distributedValidators.length);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    throw new InputError("data-dir", `${dir}: ${err.message}`, { cause: err });
  }
  // errors name the keystore with its data dir
  for (const f of files) f.field = path.join(dir, f.field);
  let shares: SecretKey[];
  try {
    shares = await decryptKeystores(files);
  } catch (err) {
    throw new InputError("data-dir", `${dir}: ${(err as Error).message}`, { cause: err });
  }
  let index: number | undefined;
  for (const [v, share] of shares.entries()) {
    const pk = toHex(share.publicKey());
    const at = lock.distributedValidators[v]!.publicShares.findIndex((p) => toHex(p) === pk);
    if (at < 0) {
      throw new InputError("data-dir", `${dir}: ${keystoreFile(v)} is not a share of validator ${v} of this lock`);
    }
    if (index !== undefined && at + 1 !== index) {
      throw new InputError("data-dir", `${dir}: ${keystoreFile(v)} is share ${at + 1}, the others share ${index}`);
    }
    index = at + 1;
  }
  return { dataDir: dir, index: index as ShareIndex, shares };
}

/**
 * Every operator's EIP-3076 records for the lock's validators, merged in a scratch database (the
 * importer's union and watermark rules), exported in complete format. Each operator's database is
 * copied into the scratch directory first and opened there: the operators' own files are only read.
 * @returns the merged interchange text, its counts, and the data dirs without a history
 */
async function mergedHistory(
  dirs: readonly string[],
  lock: ClusterLock,
): Promise<{ text: string; history: CombineResult["history"]; without: string[] }> {
  const { SlashingProtectionDb } = await import("../slashing/store.js");
  const { exportInterchange, importInterchange, parseInterchange, serializeInterchange } = await import(
    "../slashing/interchange.js"
  );
  const gvr = lock.definition.network.genesisValidatorsRoot;
  const ours = new Set(lock.distributedValidators.map((dv) => toHex(dv.publicKey)));
  const without: string[] = [];
  const scratch = await fsp.mkdtemp(path.join(os.tmpdir(), "cohort-combine-"));
  try {
    const merged = new SlashingProtectionDb({ dataDir: path.join(scratch, "merged"), genesisValidatorsRoot: gvr });
    try {
      for (const [k, dir] of dirs.entries()) {
        const db = path.join(dir, FILES.slashingDb);
        if (!(await exists(db))) {
          without.push(dir);
          continue;
        }
        const copy = path.join(scratch, `operator-${k}`);
        await fsp.mkdir(copy, { mode: DIR_MODE });
        for (const suffix of ["", "-wal", "-shm"]) {
          if (await exists(db + suffix)) await fsp.copyFile(db + suffix, path.join(copy, FILES.slashingDb + suffix));
        }
        let store: InstanceType<typeof SlashingProtectionDb>;
        try {
          store = new SlashingProtectionDb({ dataDir: copy });
        } catch (err) {
          throw new InputError("data-dir", `${dir}: ${FILES.slashingDb} cannot be opened: ${(err as Error).message}`, {
            cause: err,
          });
        }
        try {
          const theirs = store.genesisValidatorsRoot;
          if (theirs === null) {
            without.push(dir);
            continue;
          }
          if (toHex(theirs) !== toHex(gvr)) {
            throw new InputError(
              "data-dir",
              `${dir}: its slashing database is for genesis_validators_root ${toHex(theirs)}, the lock's network for ${toHex(gvr)}`,
            );
          }
          const pubkeys = store.listPubkeys().filter((pk) => ours.has(toHex(pk)));
          if (pubkeys.length === 0) continue;
          importInterchange(merged, parseInterchange(exportInterchange(store, { pubkeys })));
        } finally {
          store.close();
        }
      }
      const doc = exportInterchange(merged);
      const history = {
        validators: doc.data.length,
        blocks: doc.data.reduce((n, d) => n + d.signed_blocks.length, 0),
        attestations: doc.data.reduce((n, d) => n + d.signed_attestations.length, 0),
      };
      return { text: serializeInterchange(doc), history, without };
    } finally {
      merged.close();
    }
  } finally {
    await fsp.rm(scratch, { recursive: true, force: true });
  }
}
