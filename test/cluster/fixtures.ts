/** Test fixtures: throwaway operator identities, signed definitions, and locks from a trusted dealer. */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import {
  type ClusterDefinition,
  type CreateDefinitionOpts,
  createDefinition,
  depositMessages,
  signDefinition,
} from "../../src/cluster/definition.js";
import {
  aggregateLockSignatures,
  buildLock,
  type ClusterLock,
  computeLockHash,
  type DistributedValidator,
} from "../../src/cluster/lock.js";
import { SecretKey, scalarToBytes } from "../../src/crypto/bls.js";
import { combineSignatures } from "../../src/crypto/tbls.js";
import { buildDepositDatum, depositSigningRoot } from "../../src/eth2/deposit.js";
import { resolveNetwork } from "../../src/eth2/networks.js";
import { createIdentity, type Identity } from "../../src/p2p/identity.js";

const Fr = bls12_381.fields.Fr;

/** n fresh identities, each in its own temporary data directory. */
export async function makeIdentities(n: number): Promise<Identity[]> {
  const out: Identity[] = [];
  for (let i = 0; i < n; i++) out.push(await createIdentity(mkdtempSync(path.join(tmpdir(), "cohort-id-"))));
  return out;
}

export const ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
export const ADDRESS2 = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359";

/** Definition options for `ids` on hoodi; override as needed. */
export function defOpts(ids: readonly Identity[], over: Partial<CreateDefinitionOpts> = {}): CreateDefinitionOpts {
  return {
    name: "test cluster",
    operators: ids.map((i) => i.peerId),
    numValidators: 2,
    network: resolveNetwork("hoodi"),
    withdrawalAddresses: [ADDRESS],
    uuid: "0b7a3b51-7a2c-4c57-9d1a-2f4b5e6c7d8e",
    timestamp: "2025-06-01T12:00:00.000Z",
    ...over,
  };
}

/** A definition signed by every identity. */
export async function signedDefinition(
  ids: readonly Identity[],
  over: Partial<CreateDefinitionOpts> = {},
): Promise<ClusterDefinition> {
  let def = createDefinition(defOpts(ids, { allowSmall: true, ...over })).definition;
  for (const id of ids) def = await signDefinition(def, id);
  return def;
}

function randomScalar(): bigint {
  for (;;) {
    const x = Fr.create(BigInt(`0x${randomBytes(48).toString("hex")}`));
    if (x !== 0n) return x;
  }
}

function secretFromScalar(x: bigint): SecretKey {
  return SecretKey.fromBytes(scalarToBytes(x));
}

/** A trusted dealer's sharing of one validator key: f of degree t − 1 over Fr (noble), shares f(1..n). */
export interface Dealt {
  secret: SecretKey;
  shares: SecretKey[];
  publicKey: DistributedValidator["publicKey"];
  publicShares: DistributedValidator["publicShares"];
}

export function deal(t: number, n: number): Dealt {
  const coeffs = Array.from({ length: t }, randomScalar);
  const f = (x: bigint) => coeffs.reduceRight((acc, a) => Fr.add(Fr.mul(acc, x), a), 0n);
  const secret = secretFromScalar(coeffs[0]!);
  const shares = Array.from({ length: n }, (_, i) => secretFromScalar(f(BigInt(i + 1))));
  return { secret, shares, publicKey: secret.publicKey(), publicShares: shares.map((s) => s.publicKey()) };
}

/** Hooks to tamper with a lock before it is hashed and signed (so every other check still passes). */
export interface LockTamper {
  validators?: (vs: DistributedValidator[], dealt: Dealt[]) => void;
}

/**
 * A complete, valid lock for `def` built the way the DKG does: deposits signed by combining t
 * partial signatures, every share signing lock_hash, every identity signing lock_hash.
 */
export async function buildTestLock(
  def: ClusterDefinition,
  ids: readonly Identity[],
  tamper: LockTamper = {},
): Promise<{ lock: ClusterLock; dealt: Dealt[] }> {
  const n = def.operators.length;
  const t = def.threshold;
  const dealt = Array.from({ length: def.numValidators }, () => deal(t, n));
  const validators: DistributedValidator[] = dealt.map((d, v) => ({
    publicKey: d.publicKey,
    publicShares: d.publicShares,
    depositData: depositMessages(def, v, d.publicKey).map((msg) => {
      const root = depositSigningRoot(msg, def.network.genesisForkVersion);
      // the last t shares, so the combination does not always start at index 1
      const partials = d.shares.slice(n - t).map((s, i) => ({ index: n - t + i + 1, value: s.sign(root) }));
      return buildDepositDatum(msg, combineSignatures(partials));
    }),
  }));
  tamper.validators?.(validators, dealt);
  const lockHash = computeLockHash(def, validators);
  const shareSigs = dealt.flatMap((d) => d.shares.map((s) => s.sign(lockHash)));
  const nodeSignatures = await Promise.all(ids.map((id) => id.sign(lockHash)));
  const lock = buildLock({
    definition: def,
    distributedValidators: validators,
    signatureAggregate: aggregateLockSignatures(shareSigs),
    nodeSignatures,
  });
  return { lock, dealt };
}
