/**
 * EIP-2335 keystores (https://eips.ethereum.org/EIPS/eip-2335) through @chainsafe/bls-keystore.
 * For a batch of share keystores the KDF (pbkdf2 by default, c = 262144) runs once: the keystores
 * share one password and one salt, and each gets its own AES-128-CTR IV. Every file is a standard
 * EIP-2335 keystore that any client decrypts on its own.
 */
import { randomBytes } from "node:crypto";
import { type IKeystore, Keystore } from "@chainsafe/bls-keystore";
import { checksum, defaultSha256Module } from "@chainsafe/bls-keystore/lib/checksum/index.js";
import { cipherEncrypt, defaultAes128CtrModule } from "@chainsafe/bls-keystore/lib/cipher/index.js";
import { defaultPbkdfModule, defaultScryptModule, kdf } from "@chainsafe/bls-keystore/lib/kdf/index.js";
import { normalizePassword } from "@chainsafe/bls-keystore/lib/password.js";
import { SecretKey } from "./bls.js";

/** Key derivation function for new keystores. */
export type KdfName = "pbkdf2" | "scrypt";

/** One secret to encrypt. */
export interface KeystoreInput {
  secret: SecretKey;
  /** EIP-2334 path, or "" for a DKG share (no HD path). */
  path: string;
  description?: string;
}

/** A fresh random keystore password: 32 random bytes as 64 hex characters. */
export function randomPassword(): string {
  return randomBytes(32).toString("hex");
}

/**
 * Encrypts each secret into an EIP-2335 keystore under one password, deriving the key once.
 * @returns keystore JSON objects, in input order
 */
export async function encryptKeystores(
  inputs: readonly KeystoreInput[],
  password: string,
  opts: { kdf?: KdfName } = {},
): Promise<IKeystore[]> {
  const kdfMod = opts.kdf === "scrypt" ? defaultScryptModule() : defaultPbkdfModule();
  const derived = await kdf({ ...kdfMod, message: "" }, normalizePassword(password));
  const out: IKeystore[] = [];
  for (const input of inputs) {
    const cipherMod = { ...defaultAes128CtrModule(), message: "" };
    const ciphertext = await cipherEncrypt(cipherMod, derived.slice(0, 16), input.secret.toBytes());
    const sum = await checksum({ ...defaultSha256Module(), params: {}, message: "" }, derived, ciphertext);
    const obj = {
      version: 4,
      uuid: crypto.randomUUID(),
      description: input.description,
      path: input.path,
      pubkey: Buffer.from(input.secret.publicKey()).toString("hex"),
      crypto: {
        kdf: { function: kdfMod.function, params: { ...kdfMod.params }, message: "" },
        checksum: { function: "sha256", params: {}, message: Buffer.from(sum).toString("hex") },
        cipher: {
          function: cipherMod.function,
          params: { ...cipherMod.params },
          message: Buffer.from(ciphertext).toString("hex"),
        },
      },
    };
    // schema check by the library: what we write is what it reads
    out.push(Keystore.fromObject(obj).toObject());
  }
  return out;
}

/**
 * Decrypts an EIP-2335 keystore (pbkdf2 or scrypt) and checks that the secret matches `pubkey`.
 * Scrypt blocks the thread for about 0.8 s: decrypt many keystores in worker threads.
 * @throws TypeError on a malformed keystore; RangeError on a wrong password, an invalid secret
 *   scalar, or a pubkey that does not match the secret
 */
export async function decryptKeystore(json: unknown, password: string, field = "keystore"): Promise<SecretKey> {
  let ks: Keystore;
  try {
    ks = typeof json === "string" ? Keystore.parse(json) : Keystore.fromObject(json);
  } catch (err) {
    throw new TypeError(`"${field}" is not an EIP-2335 keystore`, { cause: err });
  }
  let bytes: Uint8Array;
  try {
    bytes = await ks.decrypt(password);
  } catch (err) {
    throw new RangeError(`decrypt ${field}: wrong password or corrupted ciphertext`, { cause: err });
  }
  const secret = SecretKey.fromBytes(bytes, `${field} secret`);
  if (ks.pubkey !== "" && ks.pubkey.replace(/^0x/, "") !== Buffer.from(secret.publicKey()).toString("hex")) {
    throw new RangeError(`"${field}" pubkey does not match its secret`);
  }
  return secret;
}
