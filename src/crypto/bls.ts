/**
 * BLS12-381 signatures (Ethereum proof-of-possession scheme, min-pubkey-size) on blst through
 * @chainsafe/blst. Spec: https://datatracker.ietf.org/doc/html/draft-irtf-cfrg-bls-signature-05
 * and consensus-specs phase0 § BLS signatures. This module and tbls.ts are the only places that
 * hold secret scalars.
 */

import { randomBytes } from "node:crypto";
import * as blst from "@chainsafe/blst";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import type { BlsPublicKey, BlsSignature } from "../lib/types.js";

/** Compressed G1 public key length, bytes. */
export const PUBLIC_KEY_LENGTH = 48;
/** Compressed G2 signature length, bytes. */
export const SIGNATURE_LENGTH = 96;
/** Secret key (Fr scalar, big-endian) length, bytes. */
export const SECRET_KEY_LENGTH = 32;
/** Order r of G1, G2 and Fr. */
export const CURVE_ORDER: bigint = bls12_381.fields.Fr.ORDER;

const Fr = bls12_381.fields.Fr;

function scalarFromBytes(bytes: Uint8Array, field: string): bigint {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`"${field}" must be bytes`);
  if (bytes.length !== SECRET_KEY_LENGTH)
    throw new RangeError(`"${field}" must be ${SECRET_KEY_LENGTH} bytes, got ${bytes.length}`);
  let x = 0n;
  for (const b of bytes) x = (x << 8n) | BigInt(b);
  if (x === 0n || x >= CURVE_ORDER) throw new RangeError(`"${field}" must be a scalar with 0 < x < r`);
  return x;
}

/** 32-byte big-endian encoding of a scalar. */
export function scalarToBytes(x: bigint): Uint8Array {
  const out = new Uint8Array(SECRET_KEY_LENGTH);
  let v = x;
  for (let i = SECRET_KEY_LENGTH - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * A secret BLS scalar x with 0 < x < r: a validator key, a key share or a polynomial coefficient.
 * It is never serialised except by {@link SecretKey.toBytes} for keystores and justifications.
 */
export class SecretKey {
  readonly #scalar: bigint;
  #blst: blst.SecretKey | undefined;
  #publicKey: BlsPublicKey | undefined;

  private constructor(scalar: bigint) {
    this.#scalar = scalar;
  }

  /**
   * Parses a 32-byte big-endian scalar.
   * @throws TypeError when not bytes; RangeError on a wrong length, zero, or a value ≥ r
   */
  static fromBytes(bytes: Uint8Array, field = "secret key"): SecretKey {
    return new SecretKey(scalarFromBytes(bytes, field));
  }

  /** A uniformly random non-zero scalar from the OS CSPRNG. */
  static random(): SecretKey {
    for (;;) {
      // 48 bytes reduced mod r: bias below 2^-128 (RFC 9380 § 5 hash_to_field style)
      const wide = randomBytes(48);
      let x = 0n;
      for (const b of wide) x = (x << 8n) | BigInt(b);
      x %= CURVE_ORDER;
      if (x !== 0n) return new SecretKey(x);
    }
  }

  /** @internal Fr arithmetic inside src/crypto only. @throws RangeError for zero. */
  static fromScalar(x: bigint): SecretKey {
    const v = Fr.create(x);
    if (v === 0n) throw new RangeError("secret scalar must be non-zero");
    return new SecretKey(v);
  }

  /** @internal The scalar, for Fr arithmetic inside src/crypto only. */
  get scalar(): bigint {
    return this.#scalar;
  }

  private get blstKey(): blst.SecretKey {
    this.#blst ??= blst.SecretKey.fromBytes(scalarToBytes(this.#scalar));
    return this.#blst;
  }

  /** Signs `msg` (hash-to-G2 with DST `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`). @returns 96-byte compressed G2 */
  sign(msg: Uint8Array): BlsSignature {
    return this.blstKey.sign(msg).toBytes() as BlsSignature;
  }

  /** x·G1, 48-byte compressed; computed once per key (callers never mutate the bytes). */
  publicKey(): BlsPublicKey {
    this.#publicKey ??= this.blstKey.toPublicKey().toBytes() as BlsPublicKey;
    return this.#publicKey;
  }

  /** 32-byte big-endian scalar. Only for keystores and DKG share messages. */
  toBytes(): Uint8Array {
    return scalarToBytes(this.#scalar);
  }

  /** Equality of two secret scalars (tests and self-checks). */
  equals(other: SecretKey): boolean {
    return this.#scalar === other.#scalar;
  }
}

/**
 * Parses and fully validates a compressed G1 point: length, canonical encoding, on curve, in the
 * r-order subgroup, not infinity.
 * @throws TypeError when not bytes; RangeError naming `field` otherwise
 */
export function parsePublicKey(bytes: Uint8Array, field = "public key"): BlsPublicKey {
  blstPublicKey(bytes, field);
  return bytes as BlsPublicKey;
}

// Decompression and subgroup checks dominate batch verification, and the same public shares and
// partials are checked several times in a ceremony: validated points are cached per byte array
// object. Callers never mutate key or signature bytes after handing them over.
const pkCache = new WeakMap<Uint8Array, blst.PublicKey>();
const sigCache = new WeakMap<Uint8Array, blst.Signature>();

/** @internal Validated blst public key. @throws as {@link parsePublicKey} */
export function blstPublicKey(bytes: Uint8Array, field = "public key"): blst.PublicKey {
  const hit = pkCache.get(bytes);
  if (hit !== undefined) return hit;
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`"${field}" must be bytes`);
  if (bytes.length !== PUBLIC_KEY_LENGTH)
    throw new RangeError(`"${field}" must be ${PUBLIC_KEY_LENGTH} bytes, got ${bytes.length}`);
  let pk: blst.PublicKey;
  try {
    pk = blst.PublicKey.fromBytes(bytes, true);
  } catch (err) {
    throw new RangeError(`"${field}" is not a valid G1 point (encoding, curve, subgroup or infinity)`, { cause: err });
  }
  pkCache.set(bytes, pk);
  return pk;
}

/**
 * Parses and fully validates a compressed G2 point (signature): length, canonical encoding, on
 * curve, in the subgroup, not infinity.
 * @throws TypeError when not bytes; RangeError naming `field` otherwise
 */
export function parseSignature(bytes: Uint8Array, field = "signature"): BlsSignature {
  blstSignature(bytes, field);
  return bytes as BlsSignature;
}

/** @internal Validated blst signature. @throws as {@link parseSignature} */
export function blstSignature(bytes: Uint8Array, field = "signature"): blst.Signature {
  const hit = sigCache.get(bytes);
  if (hit !== undefined) return hit;
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`"${field}" must be bytes`);
  if (bytes.length !== SIGNATURE_LENGTH)
    throw new RangeError(`"${field}" must be ${SIGNATURE_LENGTH} bytes, got ${bytes.length}`);
  let sig: blst.Signature;
  try {
    sig = blst.Signature.fromBytes(bytes, true);
  } catch (err) {
    throw new RangeError(`"${field}" is not a valid G2 point (encoding, curve or subgroup)`, { cause: err });
  }
  // blst's group check accepts the identity; a signature at infinity is never valid here.
  if ((bytes[0]! & 0x40) !== 0) throw new RangeError(`"${field}" is the point at infinity`);
  sigCache.set(bytes, sig);
  return sig;
}

/**
 * Verifies `sig` over `msg` under `pk` (CoreVerify).
 * @returns false when the signature does not verify
 * @throws RangeError/TypeError when `pk` or `sig` is malformed
 */
export function verify(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  return blst.verify(msg, blstPublicKey(pk), blstSignature(sig));
}

/**
 * FastAggregateVerify: every key in `pks` signed the same `msg`, and `sig` is their aggregate.
 * Requires proofs of possession for `pks`. @throws on malformed input; false on an empty list
 */
export function fastAggregateVerify(msg: Uint8Array, pks: Uint8Array[], sig: Uint8Array): boolean {
  if (pks.length === 0) return false;
  return blst.fastAggregateVerify(
    msg,
    pks.map((pk, i) => blstPublicKey(pk, `public key ${i}`)),
    blstSignature(sig),
  );
}

/**
 * AggregateVerify: `sig` aggregates one signature per (pks[i], msgs[i]); messages must be distinct.
 * @returns false on an empty list, distinct-length inputs, or a failed check
 * @throws on malformed keys or signature
 */
export function aggregateVerify(msgs: Uint8Array[], pks: Uint8Array[], sig: Uint8Array): boolean {
  if (pks.length === 0 || pks.length !== msgs.length) return false;
  return blst.aggregateVerify(
    msgs,
    pks.map((pk, i) => blstPublicKey(pk, `public key ${i}`)),
    blstSignature(sig),
  );
}

/** One (public key, message, signature) triple for {@link verifyBatch}. */
export interface SignatureSet {
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

/**
 * Verifies many signatures at once with random linear combination (one multi-pairing);
 * https://ethresear.ch/t/fast-verification-of-multiple-bls-signatures/5407. A false result does
 * not say which set failed: fall back to {@link verify} per set to find it.
 * @returns true iff every set verifies (true for an empty list)
 * @throws on malformed keys or signatures
 */
export function verifyBatch(sets: SignatureSet[]): boolean {
  if (sets.length === 0) return true;
  if (sets.length === 1) {
    const s = sets[0]!;
    return verify(s.publicKey, s.message, s.signature);
  }
  return blst.verifyMultipleAggregateSignatures(
    sets.map((s, i) => ({
      pk: blstPublicKey(s.publicKey, `sets[${i}].public_key`),
      msg: s.message,
      sig: blstSignature(s.signature, `sets[${i}].signature`),
    })),
  );
}

/** Signatures by several keys over one message, for {@link verifyGroups}. */
export interface SameMessageGroup {
  message: Uint8Array;
  pairs: { publicKey: Uint8Array; signature: Uint8Array }[];
}

/**
 * Verifies groups of signatures where every signature in a group signs the group's message:
 * each group is folded into one blinded (public key, signature) pair with 64-bit random weights
 * (blst aggregateWithRandomness), and the groups are checked in one multi-pairing. The cost is
 * one Miller loop per group, not per signature; soundness error 2^-64 per group.
 * @returns true iff every signature verifies; false says nothing of which one failed
 * @throws on malformed keys or signatures
 */
export function verifyGroups(groups: SameMessageGroup[]): boolean {
  const sets = groups
    .filter((g) => g.pairs.length > 0)
    .map((g, gi) => {
      const pks = g.pairs.map((p, i) => blstPublicKey(p.publicKey, `groups[${gi}].public_key[${i}]`));
      for (const [i, p] of g.pairs.entries()) blstSignature(p.signature, `groups[${gi}].signature[${i}]`);
      if (g.pairs.length === 1) return { msg: g.message, pk: pks[0]!, sig: blstSignature(g.pairs[0]!.signature) };
      const agg = blst.aggregateWithRandomness(g.pairs.map((p, i) => ({ pk: pks[i]!, sig: p.signature })));
      return { msg: g.message, pk: agg.pk, sig: agg.sig };
    });
  if (sets.length === 0) return true;
  if (sets.length === 1) return blst.verify(sets[0]!.msg, sets[0]!.pk, sets[0]!.sig);
  return blst.verifyMultipleAggregateSignatures(sets);
}

/** Aggregates signatures (G2 sum). @throws on malformed input or an empty list */
export function aggregateSignatures(sigs: Uint8Array[]): BlsSignature {
  if (sigs.length === 0) throw new RangeError('"signatures" must not be empty');
  return blst.aggregateSignatures(sigs.map((s, i) => blstSignature(s, `signature ${i}`))).toBytes() as BlsSignature;
}

/** Aggregates public keys (G1 sum). @throws on malformed input or an empty list */
export function aggregatePublicKeys(pks: Uint8Array[]): BlsPublicKey {
  if (pks.length === 0) throw new RangeError('"public keys" must not be empty');
  return blst.aggregatePublicKeys(pks.map((p, i) => blstPublicKey(p, `public key ${i}`))).toBytes() as BlsPublicKey;
}
