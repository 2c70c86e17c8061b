/**
 * `cohort combine` (DESIGN.md § Cluster lifecycle, Combine): t operators' shares give each
 * validator's whole key, written as one EIP-2335 keystore and checked against the lock, with the
 * merged EIP-3076 history of those operators for whoever signs with the whole key. The one command
 * that puts a whole validator key on one machine: for emergencies only.
 */
import { promises as fsp } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type ClusterLock, readLockFile, verifyLock } from "../cluster/lock.js";
import type { SecretKey } from "../crypto/bls.js";
import { decryptKeystores, encryptKeystores, type KdfName, randomPassword } from "../crypto/keystore.js";
import { recoverSecret } from "../crypto/tbls.js";
import { toHex } from "../lib/bytes.js";
import { keystoreFile, keystorePasswordFile } from "../lib/datadir.js";
import { InputError } from "../lib/errors.js";
import { DIR_MODE, exists, FILE_MODE, fsyncDir } from "../lib/fs.js";
import { acquireDataDirLock, type DataDirLock } from "../lib/lockfile.js";
import type { ShareIndex } from "../lib/types.js";
import { FILES } from "./files.js";

/** The merged history's file name inside `--out`. */
export const COMBINED_INTERCHANGE_FILE = "slashing-protection-interchange.json";

export interface CombineOpts {
  /** Data directories of distinct operators of one lock (at least its threshold). */
  dataDirs: readonly string[];
  /** Directory to create: must not exist, or be empty. */
  out: string;
  /** KDF of the written keystores; default scrypt (staking-deposit-cli's). */
  kdf?: KdfName;
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
  const out = path.resolve(opts.out);
  if (await exists(out)) {
    if ((await fsp.readdir(out)).length > 0) throw new InputError("out", `--out ${opts.out} exists and is not empty`);
  }
  const dirs = opts.dataDirs.map((d) => path.resolve(d));
  if (new Set(dirs).size !== dirs.length) throw new InputError("data-dir", "a data dir is given twice");

  const locks: { dir: string; lock: ClusterLock }[] = [];
  for (const dir of dirs) {
    const lock = await readLockFile(path.join(dir, FILES.lock), "data-dir");
    locks.push({ dir, lock });
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
  if (!verdict.ok) throw new InputError("data-dir", `${FILES.lock} does not verify: ${verdict.errors.join("; ")}`);
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
    const { text: interchangeText, history } = await mergedHistory(dirs, lock);

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

    const staging = await fsp.mkdtemp(path.join(path.dirname(out), `.${path.basename(out)}.combine-`));
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
    }
  } finally {
    for (const h of held) await h.release();
  }
}

/** Decrypts a data dir's keystores and finds its share index from their public keys. */
async function readShares(dir: string, lock: ClusterLock): Promise<OperatorShares> {
  const files = [];
  for (let v = 0; v < lock.distributedValidators.length; v++) {
    try {
      const json = await fsp.readFile(path.join(dir, keystoreFile(v)), "utf8");
      const password = (await fsp.readFile(path.join(dir, keystorePasswordFile(v)), "utf8")).replace(/\r?\n$/, "");
      files.push({ json, password, field: path.join(dir, keystoreFile(v)) });
    } catch (err) {
      throw new InputError("data-dir", `${dir}: cannot read ${keystoreFile(v)} or its password file`, { cause: err });
    }
  }
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
 * importer's union and watermark rules), exported in complete format.
 */
async function mergedHistory(
  dirs: readonly string[],
  lock: ClusterLock,
): Promise<{ text: string; history: CombineResult["history"] }> {
  const { SlashingProtectionDb } = await import("../slashing/store.js");
  const { exportInterchange, importInterchange, parseInterchange, serializeInterchange } = await import(
    "../slashing/interchange.js"
  );
  const gvr = lock.definition.network.genesisValidatorsRoot;
  const ours = new Set(lock.distributedValidators.map((dv) => toHex(dv.publicKey)));
  const scratch = await fsp.mkdtemp(path.join(os.tmpdir(), "cohort-combine-"));
  try {
    const merged = new SlashingProtectionDb({ dataDir: scratch, genesisValidatorsRoot: gvr });
    try {
      for (const dir of dirs) {
        if (!(await exists(path.join(dir, FILES.slashingDb)))) continue;
        const store = new SlashingProtectionDb({ dataDir: dir });
        try {
          if (store.genesisValidatorsRoot === null) continue;
          if (toHex(store.genesisValidatorsRoot) !== toHex(gvr)) {
            throw new InputError("data-dir", `${dir}: its slashing database is for another network`);
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
      return { text: serializeInterchange(doc), history };
    } finally {
      merged.close();
    }
  } finally {
    await fsp.rm(scratch, { recursive: true, force: true });
  }
}
