/**
 * Operator identities: a libp2p secp256k1 key, stored protobuf-encoded (@libp2p/crypto) in
 * `identity.key` (mode 0600). The peer ID is the operator's name in definitions and locks, and
 * the key signs `config_hash`, ceremony envelopes and `lock_hash`.
 */
import { promises as fsp } from "node:fs";
import path from "node:path";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import { InputError } from "../lib/errors.js";
import { ensureDir, exists, writeFileAtomic } from "../lib/fs.js";

/** File name of the identity key inside a data directory. */
export const IDENTITY_FILE = "identity.key";

/** A loaded operator identity. The private key never leaves this object except to libp2p. */
export interface Identity {
  /** Base58 peer ID, e.g. `16Uiu2HAm…` for secp256k1. */
  readonly peerId: string;
  /** libp2p private key, for the host only. */
  readonly privateKey: PrivateKey;
  /** secp256k1 ECDSA signature (libp2p format: sha256 prehash, DER) over `msg`. */
  sign(msg: Uint8Array): Promise<Uint8Array>;
}

function toIdentity(privateKey: PrivateKey): Identity {
  const peerId = peerIdFromPrivateKey(privateKey).toString();
  return {
    peerId,
    privateKey,
    sign: async (msg) => await privateKey.sign(msg),
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
