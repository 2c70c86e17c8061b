/**
 * The cluster lock (`cluster-lock.json`): the DKG result, byte-identical on every node. `lock_hash`
 * is the SSZ hash_tree_root of `LockSsz` (./ssz.ts): the definition hash plus the distributed
 * validators. Verification follows Charon's `cluster.Lock.VerifySignatures` and DESIGN § Cluster lock.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { z } from "zod";
import {
  aggregateSignatures,
  fastAggregateVerify,
  parsePublicKey,
  parseSignature,
  type SignatureSet,
} from "../crypto/bls.js";
import { interpolatePublicKey, sharesLieOnPolynomials } from "../crypto/tbls.js";
import {
  checkDepositDatum,
  DEPOSIT_SIGNATURE_INVALID,
  type DepositCliEntry,
  type DepositDatum,
  depositDataFileName,
  serializeDepositCliFile,
  toDepositCliEntry,
} from "../eth2/deposit.js";
import { bytesEqual, fromHex, toHex } from "../lib/bytes.js";
import { errorMessage, InputError } from "../lib/errors.js";
import type { BlsPublicKey, BlsSignature, Gwei, Root } from "../lib/types.js";
import { verifyIdentitySignature } from "../p2p/identity.js";
import { findInvalid } from "../signing/verifySets.js";
import {
  type ClusterDefinition,
  computeDefinitionHash,
  definitionNetwork,
  definitionToJson,
  parseDefinition,
  readJsonFile,
  validatorWithdrawalCredentials,
  verifyDefinition,
  zodInputError,
} from "./definition.js";
import { LockSsz, MAX_DEPOSIT_AMOUNTS, MAX_OPERATORS, MAX_VALIDATORS } from "./ssz.js";

/** One distributed validator: its group key, every operator's public share, and its signed deposits. */
export interface DistributedValidator {
  /** Group public key PK, 48-byte compressed G1. */
  publicKey: BlsPublicKey;
  /** n public shares X_i = x_i·G1, 48-byte compressed G1; entry i belongs to share index i + 1 (operator i). */
  publicShares: BlsPublicKey[];
  /** One signed deposit per definition deposit amount, in the same order. */
  depositData: DepositDatum[];
}

/** A parsed cluster lock. */
export interface ClusterLock {
  definition: ClusterDefinition;
  /** `num_validators` entries, in validator order. */
  distributedValidators: DistributedValidator[];
  /** 32 bytes, {@link computeLockHash}. */
  lockHash: Root;
  /** BLS aggregate (96-byte G2) of every public share's signature over `lock_hash`, over all validators. */
  signatureAggregate: BlsSignature;
  /** n identity-key signatures over `lock_hash`, in operator order. */
  nodeSignatures: Uint8Array[];
}

/**
 * `lock_hash`: hash_tree_root of `LockSsz{definition_hash, distributed_validators}` (./ssz.ts), the
 * definition hash recomputed from the definition's contents.
 * @returns 32 bytes
 * @throws RangeError/TypeError when a field has a wrong length or a list exceeds its SSZ limit
 */
export function computeLockHash(definition: ClusterDefinition, validators: readonly DistributedValidator[]): Root {
  return LockSsz.hashTreeRoot({
    definition_hash: computeDefinitionHash(definition),
    distributed_validators: validators.map((v) => ({
      public_key: v.publicKey,
      public_shares: v.publicShares,
      deposit_data: v.depositData.map((d) => ({
        pubkey: d.pubkey,
        withdrawalCredentials: d.withdrawalCredentials,
        amount: Number(d.amountGwei),
        signature: d.signature,
      })),
    })),
  }) as Root;
}

/** Inputs of {@link buildLock}: everything but the hash. */
export interface BuildLockOpts {
  definition: ClusterDefinition;
  distributedValidators: DistributedValidator[];
  /** See {@link ClusterLock.signatureAggregate}; {@link aggregateLockSignatures} makes it. */
  signatureAggregate: BlsSignature;
  /** n identity signatures over {@link computeLockHash}, operator order. */
  nodeSignatures: Uint8Array[];
}

/** Assembles a lock and computes its `lock_hash`. It does not verify it: see {@link verifyLock}. */
export function buildLock(opts: BuildLockOpts): ClusterLock {
  return {
    definition: opts.definition,
    distributedValidators: opts.distributedValidators,
    lockHash: computeLockHash(opts.definition, opts.distributedValidators),
    signatureAggregate: opts.signatureAggregate,
    nodeSignatures: opts.nodeSignatures,
  };
}

/**
 * `signature_aggregate` from the share signatures over `lock_hash` (each node signs with each of
 * its shares; any order, all n × num_validators of them).
 * @throws RangeError on an empty list or a malformed signature
 */
export function aggregateLockSignatures(shareSignatures: readonly Uint8Array[]): BlsSignature {
  return aggregateSignatures([...shareSignatures]);
}

// ---- JSON codec ----

const hexN = (len: number) =>
  z.string().regex(new RegExp(`^0x[0-9a-fA-F]{${2 * len}}$`), `must be ${len} bytes of 0x-hex`);

const DepositDataJson = z.strictObject({
  pubkey: hexN(48),
  withdrawal_credentials: hexN(32),
  amount: z.string().regex(/^[1-9]\d{0,15}$/, "must be a decimal string of gwei"),
  signature: hexN(96),
  deposit_message_root: hexN(32),
  deposit_data_root: hexN(32),
});

const LockJson = z.strictObject({
  definition: z.looseObject({}),
  distributed_validators: z
    .array(
      z.strictObject({
        public_key: hexN(48),
        public_shares: z.array(hexN(48)).max(MAX_OPERATORS),
        deposit_data: z.array(DepositDataJson).max(MAX_DEPOSIT_AMOUNTS),
      }),
    )
    .max(MAX_VALIDATORS),
  lock_hash: hexN(32),
  signature_aggregate: hexN(96),
  node_signatures: z
    .array(z.string().regex(/^0x([0-9a-fA-F]{2}){1,256}$/, "must be 0x-hex of 1-256 bytes"))
    .max(MAX_OPERATORS),
});

/** The JSON form of a lock. */
export type ClusterLockJson = Omit<z.infer<typeof LockJson>, "definition"> & {
  definition: ReturnType<typeof definitionToJson>;
};

/**
 * Parses a lock from its JSON value: shape and hex lengths, and the embedded definition as
 * {@link parseDefinition} does. Curve points, hashes and signatures are checked by {@link verifyLock}.
 * @throws InputError naming the field path, e.g. `"distributed_validators[0].public_shares[2]" must be 48 bytes of 0x-hex`
 */
export function parseLock(json: unknown): ClusterLock {
  const r = LockJson.safeParse(json);
  if (!r.success) throw zodInputError(r.error);
  const j = r.data;
  const definition = parseDefinition(j.definition, "definition");
  return {
    definition,
    distributedValidators: j.distributed_validators.map((v) => ({
      publicKey: fromHex(v.public_key) as BlsPublicKey,
      publicShares: v.public_shares.map((s) => fromHex(s) as BlsPublicKey),
      depositData: v.deposit_data.map((d) => ({
        pubkey: fromHex(d.pubkey) as BlsPublicKey,
        withdrawalCredentials: fromHex(d.withdrawal_credentials),
        amountGwei: BigInt(d.amount),
        signature: fromHex(d.signature) as BlsSignature,
        depositMessageRoot: fromHex(d.deposit_message_root) as Root,
        depositDataRoot: fromHex(d.deposit_data_root) as Root,
      })),
    })),
    lockHash: fromHex(j.lock_hash) as Root,
    signatureAggregate: fromHex(j.signature_aggregate) as BlsSignature,
    nodeSignatures: j.node_signatures.map((s) => fromHex(s)),
  };
}

/** The JSON value of a lock: fixed key order, bytes as lower-case 0x-hex, gwei as decimal strings. */
export function lockToJson(lock: ClusterLock): ClusterLockJson {
  return {
    definition: definitionToJson(lock.definition),
    distributed_validators: lock.distributedValidators.map((v) => ({
      public_key: toHex(v.publicKey),
      public_shares: v.publicShares.map(toHex),
      deposit_data: v.depositData.map((d) => ({
        pubkey: toHex(d.pubkey),
        withdrawal_credentials: toHex(d.withdrawalCredentials),
        amount: d.amountGwei.toString(),
        signature: toHex(d.signature),
        deposit_message_root: toHex(d.depositMessageRoot),
        deposit_data_root: toHex(d.depositDataRoot),
      })),
    })),
    lock_hash: toHex(lock.lockHash),
    signature_aggregate: toHex(lock.signatureAggregate),
    node_signatures: lock.nodeSignatures.map(toHex),
  };
}

/**
 * `cluster-lock.json` text: 2-space pretty JSON, trailing newline, fixed key order, nothing
 * node-specific or time-dependent added, so every node writes the same bytes from the same lock.
 */
export function serializeLock(lock: ClusterLock): string {
  return `${JSON.stringify(lockToJson(lock), null, 2)}\n`;
}

/**
 * Reads and parses a lock file.
 * @param field the flag named in errors, "lock" by default
 * @throws InputError naming `field` when unreadable or not JSON; InputError naming the JSON field otherwise
 */
export async function readLockFile(path: string, field = "lock"): Promise<ClusterLock> {
  return parseLock(await readJsonFile(path, field));
}

/** One staking-deposit-cli file per deposit amount. */
export interface DepositDataFile {
  amountGwei: Gwei;
  /** `deposit-data-<eth>eth.json`. */
  fileName: string;
  entries: DepositCliEntry[];
  /** File text ({@link serializeDepositCliFile}). */
  contents: string;
}

/**
 * The deposit-data files of a lock: one per deposit amount, each with one entry per validator
 * in validator order (staking-deposit-cli format, accepted by the Launchpad).
 */
export function depositDataFiles(lock: ClusterLock): DepositDataFile[] {
  const net = definitionNetwork(lock.definition);
  return lock.definition.depositAmounts.map((amountGwei, k) => {
    const entries = lock.distributedValidators.map((v) => {
      const d = v.depositData[k];
      if (d === undefined) throw new RangeError(`"deposit_data" has no entry ${k} for amount ${amountGwei}`);
      return toDepositCliEntry(d, net);
    });
    return {
      amountGwei,
      fileName: depositDataFileName(amountGwei),
      entries,
      contents: serializeDepositCliFile(entries),
    };
  });
}

/** Result of {@link verifyLock}: `ok` iff `errors` is empty; each error names the field. */
export interface LockVerification {
  ok: boolean;
  errors: string[];
}

/**
 * Verifies everything in a lock (DESIGN § Cluster lock):
 * - the definition: both hashes match its contents and every operator signed `config_hash`;
 * - `lock_hash` matches the contents;
 * - `node_signatures`: operator i's identity key signed `lock_hash`, for every operator in order;
 * - public shares: all points valid; shares 1..t interpolate (Lagrange at 0) to `public_key`, and
 *   interpolated at each other index m they give share m, so all n lie on one polynomial of
 *   degree t − 1 and any t of them recover the key (every validator at once, as one random linear
 *   combination; each on its own only to name a failing one);
 * - deposit data: one per amount with the definition's amount, the validator's key and withdrawal
 *   credentials; both roots match; the signature verifies under `public_key` with the network's
 *   deposit domain (every deposit of the lock in one batched check, bisected on failure to name
 *   the bad ones: 2–3× faster than one pairing each);
 * - `signature_aggregate`: FastAggregateVerify of `lock_hash` under every public share of every validator.
 * Malformed points and signatures are reported as errors, not thrown.
 */
export async function verifyLock(lock: ClusterLock): Promise<LockVerification> {
  const errors: string[] = [];
  const def = lock.definition;
  const n = def.operators.length;
  const t = def.threshold;

  try {
    await verifyDefinition(def, "definition");
  } catch (err) {
    errors.push(errorMessage(err));
  }

  if (lock.distributedValidators.length !== def.numValidators) {
    errors.push(
      `"distributed_validators" has ${lock.distributedValidators.length} entries, the definition ${def.numValidators}`,
    );
  }

  try {
    const expected = computeLockHash(def, lock.distributedValidators);
    if (!bytesEqual(expected, lock.lockHash)) {
      errors.push(`"lock_hash" ${toHex(lock.lockHash)} does not match the lock's contents (${toHex(expected)})`);
    }
  } catch (err) {
    errors.push(`"lock_hash" cannot be computed: ${errorMessage(err)}`);
  }

  if (lock.nodeSignatures.length !== n) {
    errors.push(`"node_signatures" has ${lock.nodeSignatures.length} entries, expected one per operator (${n})`);
  }
  for (const [i, op] of def.operators.entries()) {
    const sig = lock.nodeSignatures[i];
    if (sig === undefined) continue;
    if (!(await verifyIdentitySignature(op.peerId, lock.lockHash, sig))) {
      errors.push(`"node_signatures[${i}]" is not operator ${i}'s (${op.peerId}) signature over lock_hash`);
    }
  }

  const allShares: BlsPublicKey[] = [];
  let sharesUsable = true;
  const deposits: { field: string; set: SignatureSet }[] = [];
  const wellFormed: { dv: DistributedValidator; field: string }[] = [];
  for (const [v, dv] of lock.distributedValidators.entries()) {
    const field = `distributed_validators[${v}]`;
    const ok = parsePublicShares(dv, n, field, errors);
    if (ok) {
      allShares.push(...dv.publicShares);
      wellFormed.push({ dv, field });
    } else sharesUsable = false;
    verifyValidatorDeposits(def, v, dv, field, errors, deposits);
  }
  // every validator's polynomial in one random linear combination; on failure, each on its own to name it
  let polynomialsHold = false;
  try {
    polynomialsHold =
      t >= 1 &&
      t <= n &&
      sharesLieOnPolynomials(
        wellFormed.map((w) => w.dv),
        t,
      );
  } catch {
    polynomialsHold = false;
  }
  if (!polynomialsHold) for (const w of wellFormed) verifyPolynomial(w.dv, n, t, w.field, errors);
  // every deposit signature in one batched check (random linear combination), bisected on failure
  for (const i of findInvalid(deposits.map((d) => d.set))) {
    errors.push(`"${deposits[i]!.field}": ${DEPOSIT_SIGNATURE_INVALID}`);
  }

  if (!sharesUsable) {
    errors.push(`"signature_aggregate" not checked: some public shares are invalid`);
  } else if (allShares.length === 0) {
    errors.push(`"signature_aggregate" not checked: the lock has no public shares`);
  } else {
    try {
      if (
        !fastAggregateVerify(lock.lockHash, allShares, parseSignature(lock.signatureAggregate, "signature_aggregate"))
      ) {
        errors.push(`"signature_aggregate" does not verify over lock_hash under all public shares`);
      }
    } catch (err) {
      errors.push(`"signature_aggregate" is malformed: ${errorMessage(err)}`);
    }
  }
  return { ok: errors.length === 0, errors };
}

/** Checks the key and the n public shares are valid points; pushes errors; true when all are. */
function parsePublicShares(dv: DistributedValidator, n: number, field: string, errors: string[]): boolean {
  let valid = true;
  try {
    parsePublicKey(dv.publicKey, `${field}.public_key`);
  } catch (err) {
    errors.push(errorMessage(err));
    valid = false;
  }
  if (dv.publicShares.length !== n) {
    errors.push(`"${field}.public_shares" has ${dv.publicShares.length} entries, expected one per operator (${n})`);
    return false;
  }
  for (const [i, s] of dv.publicShares.entries()) {
    try {
      parsePublicKey(s, `${field}.public_shares[${i}]`);
    } catch (err) {
      errors.push(errorMessage(err));
      valid = false;
    }
  }
  return valid;
}

/** Checks one validator's shares lie on a degree t − 1 polynomial through its key; pushes errors. */
function verifyPolynomial(dv: DistributedValidator, n: number, t: number, field: string, errors: string[]): void {
  const base = dv.publicShares.slice(0, t).map((value, i) => ({ index: i + 1, value }));
  try {
    if (!bytesEqual(interpolatePublicKey(base), dv.publicKey)) {
      errors.push(`"${field}.public_shares" 1..${t} do not interpolate to public_key`);
    }
    for (let m = t + 1; m <= n; m++) {
      if (!bytesEqual(interpolatePublicKey(base, m), dv.publicShares[m - 1]!)) {
        errors.push(
          `"${field}.public_shares[${m - 1}]" does not lie on the degree ${t - 1} polynomial of shares 1..${t}`,
        );
      }
    }
  } catch (err) {
    errors.push(`"${field}.public_shares" cannot be interpolated: ${errorMessage(err)}`);
  }
}

function verifyValidatorDeposits(
  def: ClusterDefinition,
  v: number,
  dv: DistributedValidator,
  field: string,
  errors: string[],
  signatures: { field: string; set: SignatureSet }[],
): void {
  if (dv.depositData.length !== def.depositAmounts.length) {
    errors.push(
      `"${field}.deposit_data" has ${dv.depositData.length} entries, expected one per deposit amount (${def.depositAmounts.length})`,
    );
  }
  const wc = v < def.validators.length ? validatorWithdrawalCredentials(def, v) : undefined;
  for (const [k, d] of dv.depositData.entries()) {
    const f = `${field}.deposit_data[${k}]`;
    if (!bytesEqual(d.pubkey, dv.publicKey)) errors.push(`"${f}.pubkey" is not the validator's public_key`);
    if (wc !== undefined && !bytesEqual(d.withdrawalCredentials, wc)) {
      errors.push(
        `"${f}.withdrawal_credentials" ${toHex(d.withdrawalCredentials)} is not the definition's ${toHex(wc)}`,
      );
    }
    const amount = def.depositAmounts[k];
    if (amount !== undefined && d.amountGwei !== amount) {
      errors.push(`"${f}.amount" ${d.amountGwei} is not the definition's deposit amount ${amount}`);
    }
    const checked = checkDepositDatum(d, def.network.genesisForkVersion);
    for (const e of checked.errors) errors.push(`"${f}": ${e}`);
    if (checked.set !== undefined) signatures.push({ field: f, set: checked.set });
  }
}

/**
 * {@link verifyLock} of the lock file `file` in a worker thread, so that the caller's thread does
 * other work meanwhile (`cohort run` decrypts its keystores). Runs in this thread when the worker's
 * compiled entry is absent (the sources run under a TypeScript loader).
 * @throws InputError "lock" when the file cannot be read or parsed (as {@link readLockFile})
 */
export async function verifyLockFileInWorker(file: string): Promise<LockVerification> {
  const entry = new URL("./lockWorker.js", import.meta.url);
  if (!existsSync(fileURLToPath(entry))) return verifyLock(await readLockFile(file));
  const worker = new Worker(entry, { workerData: { file } });
  try {
    const answer = await new Promise<{ verdict?: LockVerification; error?: string }>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`lock verification worker exited (code ${code})`)));
    });
    if (answer.verdict === undefined) throw new InputError("lock", answer.error ?? "lock verification failed");
    return answer.verdict;
  } finally {
    await worker.terminate();
  }
}
