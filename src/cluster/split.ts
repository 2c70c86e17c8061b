/**
 * Splitting an existing validator key with a trusted dealer (DESIGN.md § Cluster lifecycle, "Split an
 * existing key"): Shamir shares of the whole key (Shamir 1979), the draft lock the dealer hands every
 * operator, and the lock signatures the operators exchange before the lock is assembled.
 */
import { z } from "zod";
import { fastAggregateVerify, type SecretKey } from "../crypto/bls.js";
import { interpolatePublicKey, Polynomial, sharesLieOnPolynomials, sumSecretKeys } from "../crypto/tbls.js";
import { buildDepositDatum, depositSigningRoot, verifyDepositDatum } from "../eth2/deposit.js";
import { bytesEqual, fromHex, toHex } from "../lib/bytes.js";
import { InputError } from "../lib/errors.js";
import type { BlsPublicKey, BlsSignature, Root, ShareIndex } from "../lib/types.js";
import { verifyIdentitySignature } from "../p2p/identity.js";
import { type ClusterDefinition, definitionToJson, depositMessages, zodInputError } from "./definition.js";
import { type DistributedValidator, lockToJson, parseLock } from "./lock.js";

/** The `version` of a split draft file. */
export const SPLIT_DRAFT_VERSION = "cohort/split-draft/v1";
/** The `version` of a lock signature file. */
export const LOCK_SIGNATURE_VERSION = "cohort/split-lock-signature/v1";

/** One validator key dealt into n shares. Share i (1-based) is `shares[i − 1]`. */
export interface SplitKey {
  /** 48-byte compressed G1: the unchanged validator public key. */
  publicKey: BlsPublicKey;
  shares: SecretKey[];
  /** n public shares x_i·G1, 48-byte compressed G1, share index order. */
  publicShares: BlsPublicKey[];
}

/**
 * Deals `secret` into `n` Shamir shares with threshold `t`: a random polynomial of degree t − 1 with
 * the key as constant term, evaluated at 1..n. Checks that the public shares lie on one polynomial
 * through the public key before returning them.
 * @throws RangeError when t is outside [1, n]
 * @throws Error when the public shares do not interpolate to the key (never expected)
 */
export function splitSecret(secret: SecretKey, n: number, t: number): SplitKey {
  if (!Number.isInteger(t) || !Number.isInteger(n) || t < 1 || t > n) {
    throw new RangeError(`"threshold" must be in [1, ${n}], got ${t}`);
  }
  const poly = Polynomial.withSecret(secret, t);
  const shares = Array.from({ length: n }, (_, i) => poly.evaluate(i + 1));
  const publicKey = secret.publicKey();
  const publicShares = shares.map((s) => s.publicKey());
  const first = publicShares.slice(0, t).map((value, i) => ({ index: i + 1, value }));
  if (
    !bytesEqual(interpolatePublicKey(first), publicKey) ||
    !sharesLieOnPolynomials([{ publicKey, publicShares }], t)
  ) {
    throw new Error("the dealt public shares do not interpolate to the validator key");
  }
  return { publicKey, shares, publicShares };
}

/**
 * The draft entry of validator `v` (0-based): its key, public shares and deposit data, each deposit
 * message (one per amount) signed with the whole key, which only the dealer holds.
 * @throws Error when a deposit signature does not verify (never expected)
 */
export function draftValidator(
  def: ClusterDefinition,
  v: number,
  secret: SecretKey,
  publicShares: BlsPublicKey[],
): DistributedValidator {
  const publicKey = secret.publicKey();
  const depositData = depositMessages(def, v, publicKey).map((m) => {
    const datum = buildDepositDatum(m, secret.sign(depositSigningRoot(m, def.network.genesisForkVersion)));
    const errors = verifyDepositDatum(datum, def.network.genesisForkVersion);
    if (errors.length > 0) throw new Error(`validator ${v}: deposit data does not verify: ${errors.join("; ")}`);
    return datum;
  });
  return { publicKey, publicShares, depositData };
}

/** What the dealer hands each operator besides its shares: the lock without its signatures. */
export interface SplitDraft {
  /** The definition's `config_hash` (32 bytes): `definition_hash` changes as operators sign. */
  configHash: Root;
  /** The operator this bundle is for. */
  operator: { shareIndex: ShareIndex; peerId: string };
  distributedValidators: DistributedValidator[];
}

const ZERO_ROOT = `0x${"00".repeat(32)}`;
const ZERO_SIGNATURE = `0x${"00".repeat(96)}`;

/** The JSON value of a draft: validators in the lock's own JSON form. */
export function draftToJson(def: ClusterDefinition, draft: SplitDraft): Record<string, unknown> {
  const { distributed_validators } = lockToJson({
    definition: def,
    distributedValidators: draft.distributedValidators,
    lockHash: new Uint8Array(32) as Root,
    signatureAggregate: new Uint8Array(96) as BlsSignature,
    nodeSignatures: [],
  });
  return {
    version: SPLIT_DRAFT_VERSION,
    config_hash: toHex(draft.configHash),
    operator: { share_index: draft.operator.shareIndex, peer_id: draft.operator.peerId },
    distributed_validators,
  };
}

/** Draft file text: 2-space JSON with a trailing newline. */
export function serializeDraft(def: ClusterDefinition, draft: SplitDraft): string {
  return `${JSON.stringify(draftToJson(def, draft), null, 2)}\n`;
}

const DraftJson = z.strictObject({
  version: z.literal(SPLIT_DRAFT_VERSION, { error: `must be "${SPLIT_DRAFT_VERSION}"` }),
  config_hash: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be 32 bytes of 0x-hex"),
  operator: z.strictObject({ share_index: z.number().int().min(1), peer_id: z.string() }),
  distributed_validators: z.array(z.unknown()),
});

/**
 * Parses a draft and checks it belongs to `def`: the same `config_hash`, one validator per
 * definition validator with n public shares each, the operator entry naming the definition's
 * operator at that share index, the public shares of each validator on one polynomial of degree
 * t − 1 through its key, and deposit data that verifies under the key (the lock's codec and rules).
 * @throws InputError naming the field, prefixed with `prefix` (e.g. "draft")
 */
export function parseDraft(json: unknown, def: ClusterDefinition, prefix = "draft"): SplitDraft {
  const r = DraftJson.safeParse(json);
  if (!r.success) throw zodInputError(r.error, prefix);
  const j = r.data;
  const configHash = fromHex(j.config_hash) as Root;
  if (!bytesEqual(configHash, def.configHash)) {
    throw new InputError(
      `${prefix}.config_hash`,
      `"${prefix}.config_hash" ${j.config_hash} is not the definition's config_hash ${toHex(def.configHash)}`,
    );
  }
  const shareIndex = j.operator.share_index;
  const op = def.operators[shareIndex - 1];
  if (op === undefined || op.peerId !== j.operator.peer_id) {
    throw new InputError(
      `${prefix}.operator`,
      `"${prefix}.operator" (share ${shareIndex}, ${j.operator.peer_id}) is not an operator of the definition at that share index`,
    );
  }
  let dvs: DistributedValidator[];
  try {
    dvs = parseLock({
      definition: definitionToJson(def),
      distributed_validators: j.distributed_validators,
      lock_hash: ZERO_ROOT,
      signature_aggregate: ZERO_SIGNATURE,
      node_signatures: [],
    }).distributedValidators;
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    throw new InputError(`${prefix}.${err.type.field}`, `${prefix}: ${err.message}`, { cause: err });
  }
  checkDraftValidators(def, dvs, prefix);
  return {
    configHash,
    operator: { shareIndex: shareIndex as ShareIndex, peerId: op.peerId },
    distributedValidators: dvs,
  };
}

function checkDraftValidators(def: ClusterDefinition, dvs: DistributedValidator[], prefix: string): void {
  const n = def.operators.length;
  if (dvs.length !== def.numValidators) {
    throw new InputError(
      `${prefix}.distributed_validators`,
      `"${prefix}.distributed_validators" has ${dvs.length} entries, the definition ${def.numValidators}`,
    );
  }
  for (const [v, dv] of dvs.entries()) {
    const field = `${prefix}.distributed_validators[${v}]`;
    if (dv.publicShares.length !== n) {
      throw new InputError(field, `"${field}.public_shares" has ${dv.publicShares.length} entries, expected ${n}`);
    }
    let onPolynomial: boolean;
    try {
      onPolynomial = sharesLieOnPolynomials([dv], def.threshold);
    } catch (err) {
      throw new InputError(field, `"${field}" holds a malformed key or public share: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (!onPolynomial) {
      throw new InputError(
        field,
        `"${field}.public_shares" do not lie on one degree ${def.threshold - 1} polynomial through public_key`,
      );
    }
    const amounts = def.depositAmounts;
    if (dv.depositData.length !== amounts.length) {
      throw new InputError(
        field,
        `"${field}.deposit_data" has ${dv.depositData.length} entries, expected ${amounts.length}`,
      );
    }
    const expected = depositMessages(def, v, dv.publicKey);
    for (const [k, d] of dv.depositData.entries()) {
      const m = expected[k]!;
      const errors = verifyDepositDatum(d, def.network.genesisForkVersion);
      if (!bytesEqual(d.pubkey, m.pubkey)) errors.push("pubkey is not the validator's public_key");
      if (!bytesEqual(d.withdrawalCredentials, m.withdrawalCredentials)) {
        errors.push("withdrawal_credentials are not the definition's");
      }
      if (d.amountGwei !== m.amountGwei) errors.push(`amount is not the definition's ${m.amountGwei}`);
      if (errors.length > 0) throw new InputError(field, `"${field}.deposit_data[${k}]": ${errors.join("; ")}`);
    }
  }
}

/**
 * Checks an operator's decrypted shares against the draft's public shares at its share index.
 * @param shares one per validator, draft order
 * @throws InputError naming `field` and the validator whose share does not match
 */
export function checkShares(
  draft: SplitDraft,
  shareIndex: ShareIndex,
  shares: readonly SecretKey[],
  field = "bundle",
): void {
  if (shares.length !== draft.distributedValidators.length) {
    throw new InputError(
      field,
      `"${field}" holds ${shares.length} share keystore(s), the draft ${draft.distributedValidators.length} validator(s)`,
    );
  }
  for (const [v, dv] of draft.distributedValidators.entries()) {
    if (!bytesEqual(shares[v]!.publicKey(), dv.publicShares[shareIndex - 1]!)) {
      throw new InputError(
        field,
        `"${field}": the share of validator ${v} (${toHex(dv.publicKey)}) is not public share ${shareIndex} of the draft`,
      );
    }
  }
}

/** One operator's signatures over `lock_hash`, exchanged before the lock is assembled. */
export interface LockSignature {
  /** 32 bytes. */
  lockHash: Root;
  shareIndex: ShareIndex;
  peerId: string;
  /** Identity-key signature over `lock_hash` (secp256k1 ECDSA, DER). */
  nodeSignature: Uint8Array;
  /** Σ_v sign(x_v, lock_hash) over this operator's shares, 96-byte compressed G2. */
  shareSignatureAggregate: BlsSignature;
}

/**
 * The signature of one operator's shares over `lock_hash`: Σ_v x_v signs it, which equals the
 * aggregate of each share's signature (as the DKG's signLock does, src/dkg/rounds.ts).
 * @returns 96-byte compressed G2
 */
export function shareSignatureAggregate(shares: readonly SecretKey[], lockHash: Root): BlsSignature {
  return sumSecretKeys(shares).sign(lockHash);
}

/** Lock signature file text. */
export function serializeLockSignature(sig: LockSignature): string {
  return `${JSON.stringify(
    {
      version: LOCK_SIGNATURE_VERSION,
      lock_hash: toHex(sig.lockHash),
      share_index: sig.shareIndex,
      peer_id: sig.peerId,
      node_signature: toHex(sig.nodeSignature),
      share_signature_aggregate: toHex(sig.shareSignatureAggregate),
    },
    null,
    2,
  )}\n`;
}

const LockSignatureJson = z.strictObject({
  version: z.literal(LOCK_SIGNATURE_VERSION, { error: `must be "${LOCK_SIGNATURE_VERSION}"` }),
  lock_hash: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be 32 bytes of 0x-hex"),
  share_index: z.number().int().min(1),
  peer_id: z.string(),
  node_signature: z.string().regex(/^0x([0-9a-fA-F]{2}){1,256}$/, "must be 0x-hex of 1-256 bytes"),
  share_signature_aggregate: z.string().regex(/^0x[0-9a-fA-F]{192}$/, "must be 96 bytes of 0x-hex"),
});

/**
 * Parses a lock signature file's JSON value (shape only: see {@link checkLockSignature}).
 * @throws InputError naming the field, prefixed with `prefix`
 */
export function parseLockSignature(json: unknown, prefix = "signatures"): LockSignature {
  const r = LockSignatureJson.safeParse(json);
  if (!r.success) throw zodInputError(r.error, prefix);
  const j = r.data;
  return {
    lockHash: fromHex(j.lock_hash) as Root,
    shareIndex: j.share_index as ShareIndex,
    peerId: j.peer_id,
    nodeSignature: fromHex(j.node_signature),
    shareSignatureAggregate: fromHex(j.share_signature_aggregate) as BlsSignature,
  };
}

/**
 * Checks one operator's lock signature: it is by an operator of `def` at its share index, over
 * `lockHash`, its node signature verifies under the operator's peer ID, and its share signature
 * verifies under the operator's public shares of every validator (FastAggregateVerify).
 * @returns the reason it fails, naming the operator, or undefined when it is valid
 */
export async function checkLockSignature(
  def: ClusterDefinition,
  validators: readonly DistributedValidator[],
  lockHash: Root,
  sig: LockSignature,
): Promise<string | undefined> {
  const op = def.operators[sig.shareIndex - 1];
  if (op === undefined) return `share index ${sig.shareIndex} is not an operator of the definition`;
  const who = `operator ${sig.shareIndex - 1} (share ${sig.shareIndex}, ${op.peerId})`;
  if (op.peerId !== sig.peerId) return `share ${sig.shareIndex} belongs to ${op.peerId}, not ${sig.peerId}`;
  if (!bytesEqual(sig.lockHash, lockHash)) {
    return `${who} signed lock_hash ${toHex(sig.lockHash)}, not this lock's ${toHex(lockHash)}`;
  }
  if (!(await verifyIdentitySignature(op.peerId, lockHash, sig.nodeSignature))) {
    return `${who}: node_signature does not verify over lock_hash`;
  }
  const publicShares = validators.map((dv) => dv.publicShares[sig.shareIndex - 1]!);
  let ok: boolean;
  try {
    ok = fastAggregateVerify(lockHash, publicShares, sig.shareSignatureAggregate);
  } catch {
    ok = false;
  }
  return ok ? undefined : `${who}: share_signature_aggregate does not verify over lock_hash under its public shares`;
}
