/**
 * Operator identities: a libp2p secp256k1 key, stored protobuf-encoded (@libp2p/crypto) in
 * `identity.key` (mode 0600). The peer ID is the operator's name in definitions and locks, and
 * the key signs `config_hash`, ceremony envelopes and `lock_hash`.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { promises as fsp } from "node:fs";
import path from "node:path";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { DATA_DIR_FILES } from "../lib/datadir.js";
import { InputError } from "../lib/errors.js";
import { ensureDir, exists, writeFileAtomic } from "../lib/fs.js";

/** File name of the identity key inside a data directory. */
export const IDENTITY_FILE = DATA_DIR_FILES.identity;

/** A loaded operator identity. The private key never leaves this object except to libp2p. */
export interface Identity {
  /** Base58 peer ID, e.g. `16Uiu2HAm…` for secp256k1. */
  readonly peerId: string;
  /** libp2p private key, for the host only. */
  readonly privateKey: PrivateKey;
  /** secp256k1 ECDSA signature (libp2p format: sha256 prehash, DER) over `msg`. */
  sign(msg: Uint8Array): Promise<Uint8Array>;
  /**
   * The same signature, made synchronously by OpenSSL (node:crypto), with low S as libp2p's verifier
   * requires: about 4× faster than {@link sign}, for messages signed on a hot path (agreement batches).
   */
  signSync(msg: Uint8Array): Uint8Array;
}

const b64url = (b: Uint8Array) => Buffer.from(b).toString("base64url");
const SECP256K1_N = secp256k1.Point.Fn.ORDER;

/** A node:crypto public key object for a 33- or 65-byte secp256k1 public key. */
function secpPublicKeyObject(raw: Uint8Array): KeyObject {
  const p = secp256k1.Point.fromBytes(raw).toBytes(false);
  return createPublicKey({
    key: { kty: "EC", crv: "secp256k1", x: b64url(p.subarray(1, 33)), y: b64url(p.subarray(33)) },
    format: "jwk",
  });
}

function toIdentity(privateKey: PrivateKey): Identity {
  const peerId = peerIdFromPrivateKey(privateKey).toString();
  let native: KeyObject | undefined;
  return {
    peerId,
    privateKey,
    sign: async (msg) => await privateKey.sign(msg),
    signSync(msg) {
      if (native === undefined) {
        const d = privateKey.raw;
        const p = secp256k1.getPublicKey(d, false);
        native = createPrivateKey({
          key: { kty: "EC", crv: "secp256k1", d: b64url(d), x: b64url(p.subarray(1, 33)), y: b64url(p.subarray(33)) },
          format: "jwk",
        });
      }
      const der = nodeSign("sha256", msg, native);
      const sig = secp256k1.Signature.fromBytes(der, "der");
      return sig.hasHighS() ? new secp256k1.Signature(sig.r, SECP256K1_N - sig.s).toBytes("der") : new Uint8Array(der);
    },
  };
}

/**
 * A synchronous verifier of identity signatures by the given operators (OpenSSL through node:crypto;
 * libp2p format: sha256 prehash, DER, low S): `verify(i, msg, sig)` checks a signature by operator i
 * (1-based, in `peerIds` order). Returns false for a bad signature or an unknown index, never throws.
 * @throws InputError for a malformed peer ID in `peerIds`
 */
export function identityVerifier(
  peerIds: readonly string[],
): (index: number, msg: Uint8Array, sig: Uint8Array) => boolean {
  const keys = peerIds.map((p) => {
    const id = peerIdFromString(parsePeerId(p, "peer_id"));
    if (id.publicKey === undefined) throw new InputError("peer_id", `"peer_id" ${p} carries no public key`);
    return secpPublicKeyObject(id.publicKey.raw);
  });
  return (index, msg, sig) => {
    const key = keys[index - 1];
    if (key === undefined) return false;
    try {
      const parsed = secp256k1.Signature.fromBytes(sig, "der");
      if (parsed.hasHighS()) return false;
      return nodeVerify("sha256", msg, key, sig);
    } catch {
      return false;
    }
  };
}

/**
 * Creates `identity.key` in `dataDir` (created 0700 if missing), mode 0600.
 * @throws InputError "data-dir" when an identity already exists there
 */
export async function createIdentity(dataDir: string): Promise<Identity> {
  const identity = await generateIdentity();
  await saveIdentity(dataDir, identity);
  return identity;
}

/** A new secp256k1 identity, in memory only. */
export async function generateIdentity(): Promise<Identity> {
  return toIdentity(await generateKeyPair("secp256k1"));
}

/**
 * Writes `identity` as `dataDir/identity.key` (dir 0700, file 0600).
 * @throws InputError "data-dir" when an identity already exists there
 */
export async function saveIdentity(dataDir: string, identity: Identity): Promise<void> {
  const file = path.join(dataDir, IDENTITY_FILE);
  if (await exists(file)) throw new InputError("data-dir", `${file} already exists; refusing to overwrite an identity`);
  await ensureDir(dataDir);
  await writeFileAtomic(file, privateKeyToProtobuf(identity.privateKey));
}

/**
 * Loads `identity.key` from `dataDir`.
 * @throws InputError "data-dir" when missing or unreadable, or not a secp256k1 libp2p key
 */
export async function loadIdentity(dataDir: string): Promise<Identity> {
  const file = path.join(dataDir, IDENTITY_FILE);
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(file);
  } catch (err) {
    throw new InputError("data-dir", `cannot read ${file} (run "cohort identity create --data-dir ${dataDir}")`, {
      cause: err,
    });
  }
  let key: PrivateKey;
  try {
    key = privateKeyFromProtobuf(bytes);
  } catch (err) {
    throw new InputError("data-dir", `${file} is not a libp2p private key`, { cause: err });
  }
  if (key.type !== "secp256k1") throw new InputError("data-dir", `${file} must hold a secp256k1 key, got ${key.type}`);
  return toIdentity(key);
}

/**
 * Validates a secp256k1 peer ID string and returns it in canonical form.
 * @throws InputError naming `field` when malformed or not secp256k1 (its public key must be inline)
 */
export function parsePeerId(value: string, field: string): string {
  let id: ReturnType<typeof peerIdFromString>;
  try {
    id = peerIdFromString(value);
  } catch (err) {
    throw new InputError(field, `"${field}" is not a valid peer ID: ${value}`, { cause: err });
  }
  if (id.type !== "secp256k1") throw new InputError(field, `"${field}" must be a secp256k1 peer ID, got ${id.type}`);
  return id.toString();
}

/**
 * Verifies an identity-key signature by the operator `peerId` over `msg`.
 * @returns false for a signature that does not verify
 * @throws InputError for a malformed peer ID
 */
export async function verifyIdentitySignature(
  peerId: string,
  msg: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  const id = peerIdFromString(parsePeerId(peerId, "peer_id"));
  if (id.publicKey === undefined) return false;
  try {
    return await id.publicKey.verify(msg, signature);
  } catch {
    // malformed DER: an invalid signature, not malformed input of ours
    return false;
  }
}
