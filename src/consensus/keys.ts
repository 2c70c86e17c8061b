/**
 * Agreement keys: each node signs its agreement batches with an Ed25519 key (RFC 8032) that it
 * makes at start-up, holds in memory only, and certifies once with its secp256k1 identity key for
 * one cluster (lock hash) and one share index. On this machine OpenSSL's secp256k1 ECDSA takes
 * 0.37 ms to sign and 0.40 ms to verify, Ed25519 0.03 ms and 0.10 ms; a node signs two or three
 * batches per duty and verifies three. DESIGN.md § Signing protocol step 2.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from "node:crypto";
import { concatBytes } from "../lib/bytes.js";
import type { AgreementKey } from "../pb/consensus.js";

const KEY_DOMAIN = new TextEncoder().encode("cohort/consensus/agreement-key/v1");
/** Certified agreement keys remembered per sender (a restarted peer brings a new one). */
export const AGREEMENT_KEYS_KEPT_PER_SENDER = 4;
const ED25519_PUBLIC_KEY_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;

/** This node's agreement key and the signer that uses it. */
export interface BatchKey {
  /** The certified public key, sent with every batch. */
  readonly key: AgreementKey;
  /** Ed25519 signature (64 bytes) over `bytes`. */
  sign(bytes: Uint8Array): Uint8Array;
}

/** Verifies a batch signature by the operator with 1-based index `sender` under the agreement key it sent. */
export type BatchVerifier = (
  sender: number,
  key: AgreementKey | undefined,
  bytes: Uint8Array,
  signature: Uint8Array,
) => boolean;

/** The bytes an identity key signs to certify agreement key `publicKey` (32 bytes) of `sender` in cluster `session`. */
export function agreementKeyBytes(session: Uint8Array, sender: number, publicKey: Uint8Array): Uint8Array {
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, sender, false);
  return concatBytes(KEY_DOMAIN, session, head, publicKey);
}

/**
 * Makes a fresh agreement key for operator `sender` (1-based) of cluster `session` (32-byte lock
 * hash), certified by `signIdentity` (the node's identity key, synchronous).
 */
export function createAgreementKey(
  session: Uint8Array,
  sender: number,
  signIdentity: (bytes: Uint8Array) => Uint8Array,
): BatchKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const raw = new Uint8Array(Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url"));
  const key: AgreementKey = {
    publicKey: raw as Uint8Array<ArrayBuffer>,
    signature: signIdentity(agreementKeyBytes(session, sender, raw)) as Uint8Array<ArrayBuffer>,
  };
  return { key, sign: (bytes) => new Uint8Array(sign(null, bytes, privateKey)) };
}

/**
 * A {@link BatchVerifier} for cluster `session`: an agreement key counts once
 * `verifyIdentity(sender, agreementKeyBytes(…), key.signature)` holds, and is then remembered
 * ({@link AGREEMENT_KEYS_KEPT_PER_SENDER} per sender, least recently used dropped). A missing or
 * malformed key, or a signature of the wrong length, verifies nothing; nothing here throws.
 */
export function agreementKeyVerifier(
  session: Uint8Array,
  verifyIdentity: (sender: number, bytes: Uint8Array, signature: Uint8Array) => boolean,
): BatchVerifier {
  const kept = new Map<number, Map<string, KeyObject>>();
  const keyObject = (sender: number, key: AgreementKey): KeyObject | undefined => {
    if (key.publicKey.length !== ED25519_PUBLIC_KEY_BYTES) return undefined;
    const id = `${Buffer.from(key.publicKey).toString("hex")}/${Buffer.from(key.signature).toString("hex")}`;
    const mine = kept.get(sender) ?? new Map<string, KeyObject>();
    const found = mine.get(id);
    if (found !== undefined) {
      mine.delete(id);
      mine.set(id, found);
      return found;
    }
    if (!verifyIdentity(sender, agreementKeyBytes(session, sender, key.publicKey), key.signature)) return undefined;
    let obj: KeyObject;
    try {
      obj = createPublicKey({
        key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(key.publicKey).toString("base64url") },
        format: "jwk",
      });
    } catch {
      return undefined;
    }
    if (mine.size >= AGREEMENT_KEYS_KEPT_PER_SENDER) mine.delete(mine.keys().next().value!);
    mine.set(id, obj);
    kept.set(sender, mine);
    return obj;
  };
  return (sender, key, bytes, signature) => {
    if (key === undefined || signature.length !== ED25519_SIGNATURE_BYTES) return false;
    const obj = keyObject(sender, key);
    if (obj === undefined) return false;
    try {
      return verify(null, bytes, obj, signature);
    } catch {
      return false;
    }
  };
}
