/**
 * EIP-2335 keystores (https://eips.ethereum.org/EIPS/eip-2335) through @chainsafe/bls-keystore.
 * For a batch of share keystores the KDF (pbkdf2 by default, c = 262144) runs once: the keystores
 * share one password and one salt, and each gets its own AES-128-CTR IV. Every file is a standard
 * EIP-2335 keystore that any client decrypts on its own.
 */
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { type IKeystore, Keystore } from "@chainsafe/bls-keystore";
import { checksum, defaultSha256Module, verifyChecksum } from "@chainsafe/bls-keystore/lib/checksum/index.js";
import { cipherDecrypt, cipherEncrypt, defaultAes128CtrModule } from "@chainsafe/bls-keystore/lib/cipher/index.js";
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

/** One keystore to decrypt in {@link decryptKeystores}. */
export interface KeystoreFile {
  /** Keystore JSON text or object. */
  json: unknown;
  password: string;
  /** Name used in errors, e.g. `keystore-3.json`. */
  field: string;
}

/** Keystores whose checksum and cipher {@link decryptKeystores} runs at once, once their key is derived. */
export const KEYSTORES_AT_ONCE = 256;

const KDF_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { kdf } = require(workerData.kdfModule);
const { normalizePassword } = require(workerData.passwordModule);
parentPort.on("message", async ({ id, mod, password }) => {
  try {
    const key = await kdf(mod, normalizePassword(password));
    parentPort.postMessage({ id, key });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message || err) });
  }
});
`;

/**
 * Decrypts many EIP-2335 keystores, deriving each distinct (KDF parameters, password) key once in
 * a pool of worker threads: keystores written by one ceremony share their KDF and cost one
 * derivation; unrelated keystores still decrypt, `workers` at a time. Every keystore's checksum
 * and pubkey are checked as in {@link decryptKeystore}.
 * @returns the secrets in input order
 * @throws TypeError on a malformed keystore; RangeError on a wrong password, a bad secret scalar,
 *   or a mismatched pubkey (each naming the keystore's `field`)
 */
export async function decryptKeystores(
  files: readonly KeystoreFile[],
  opts: { workers?: number } = {},
): Promise<SecretKey[]> {
  const parsed = files.map((f) => {
    try {
      return typeof f.json === "string" ? Keystore.parse(f.json) : Keystore.fromObject(f.json);
    } catch (err) {
      throw new TypeError(`"${f.field}" is not an EIP-2335 keystore`, { cause: err });
    }
  });
  const groups = new Map<string, { mod: unknown; password: string; field: string; key?: Promise<Uint8Array> }>();
  const groupOf = parsed.map((ks, i) => {
    const id = JSON.stringify([ks.crypto.kdf.function, ks.crypto.kdf.params, files[i]!.password]);
    if (!groups.has(id)) groups.set(id, { mod: ks.crypto.kdf, password: files[i]!.password, field: files[i]!.field });
    return id;
  });
  const size = Math.max(1, Math.min(opts.workers ?? availableParallelism(), groups.size));
  const require = createRequire(import.meta.url);
  const workerData = {
    kdfModule: require.resolve("@chainsafe/bls-keystore/lib/kdf/index.js"),
    passwordModule: require.resolve("@chainsafe/bls-keystore/lib/password.js"),
  };
  const workers = Array.from({ length: size }, () => new Worker(KDF_WORKER, { eval: true, workerData }));
  try {
    let next = 0;
    const pending = new Map<number, { resolve: (k: Uint8Array) => void; reject: (e: Error) => void }>();
    // a worker that dies fails everything still pending, rather than leaving it waiting forever
    const failAll = (err: Error) => {
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(err);
      }
    };
    for (const w of workers) {
      w.on("message", (m: { id: number; key?: Uint8Array; error?: string }) => {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (m.error !== undefined || m.key === undefined) p?.reject(new Error(m.error ?? "no key"));
        else p?.resolve(new Uint8Array(m.key));
      });
      w.on("error", (err) => failAll(new Error(`key derivation worker failed: ${err.message}`)));
      w.on("exit", (code) => failAll(new Error(`key derivation worker exited (code ${code})`)));
    }
    for (const g of groups.values()) {
      const id = next++;
      const worker = workers[id % size]!;
      g.key = new Promise<Uint8Array>((resolve, reject) => {
        pending.set(id, { resolve, reject: (err) => reject(new RangeError(`decrypt ${g.field}: ${err.message}`)) });
        worker.postMessage({ id, mod: g.mod, password: g.password });
      });
      // awaited in file order below; one failing before its turn must not be an unhandled rejection
      g.key.catch(() => {});
    }
    const one = async (i: number): Promise<SecretKey> => {
      const ks = parsed[i]!;
      const field = files[i]!.field;
      const key = await groups.get(groupOf[i]!)!.key!;
      const ciphertext = Buffer.from(ks.crypto.cipher.message, "hex");
      if (!(await verifyChecksum(ks.crypto.checksum, key, ciphertext))) {
        throw new RangeError(`decrypt ${field}: wrong password or corrupted ciphertext`);
      }
      const secret = SecretKey.fromBytes(await cipherDecrypt(ks.crypto.cipher, key.slice(0, 16)), `${field} secret`);
      if (ks.pubkey !== "" && ks.pubkey.replace(/^0x/, "") !== Buffer.from(secret.publicKey()).toString("hex")) {
        throw new RangeError(`"${field}" pubkey does not match its secret`);
      }
      return secret;
    };
    // the checksum and cipher are WebCrypto calls that resolve on the thread pool: many at once
    // keep it busy (one at a time, 10,000 keystores spent most of their time waiting)
    const out: SecretKey[] = [];
    for (let from = 0; from < parsed.length; from += KEYSTORES_AT_ONCE) {
      const batch = Array.from({ length: Math.min(KEYSTORES_AT_ONCE, parsed.length - from) }, (_, k) => one(from + k));
      // the first failure in file order is the one reported
      for (const r of await Promise.allSettled(batch)) {
        if (r.status === "rejected") throw r.reason;
        out.push(r.value);
      }
    }
    return out;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
