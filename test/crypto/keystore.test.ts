// EIP-2335 vectors from ../shared/vectors/eip2335 (staking-deposit-cli test0.json / test1.json).
import { Keystore } from "@chainsafe/bls-keystore";
import { describe, expect, it } from "vitest";
import { SecretKey } from "../../src/crypto/bls.js";
import { decryptKeystore, decryptKeystores, encryptKeystores, randomPassword } from "../../src/crypto/keystore.js";
import { readVectorJson } from "../helpers/vectors.js";

const PASSWORD = "𝔱𝔢𝔰𝔱𝔭𝔞𝔰𝔰𝔴𝔬𝔯𝔡🔑";
const SECRET = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";

describe("EIP-2335 vectors", () => {
  for (const file of ["eip2335/pbkdf2.json", "eip2335/scrypt.json"]) {
    it(`decrypts ${file}`, async () => {
      const sk = await decryptKeystore(readVectorJson(file), PASSWORD);
      expect(Buffer.from(sk.toBytes()).toString("hex")).toBe(SECRET);
    });
    it(`rejects a wrong password for ${file}`, async () => {
      await expect(decryptKeystore(readVectorJson(file), "wrong")).rejects.toThrow(/wrong password/);
    });
  }
});

describe("encryptKeystores", () => {
  it("writes standard keystores that the library decrypts one by one", async () => {
    const secrets = [SecretKey.random(), SecretKey.random(), SecretKey.random()];
    const password = randomPassword();
    const ks = await encryptKeystores(
      secrets.map((secret) => ({ secret, path: "" })),
      password,
    );
    expect(ks).toHaveLength(3);
    for (const [i, k] of ks.entries()) {
      expect(k.crypto.kdf.function).toBe("pbkdf2");
      const raw = await Keystore.fromObject(k).decrypt(password);
      expect(Buffer.from(raw).toString("hex")).toBe(Buffer.from(secrets[i]!.toBytes()).toString("hex"));
      expect(k.pubkey).toBe(Buffer.from(secrets[i]!.publicKey()).toString("hex"));
    }
    // distinct IVs and ciphertexts even under one derived key
    expect(new Set(ks.map((k) => (k.crypto.cipher.params as { iv: string }).iv)).size).toBe(3);
  });

  it("rejects malformed keystores and mismatched pubkeys", async () => {
    await expect(decryptKeystore({ version: 4 }, "x")).rejects.toThrow(TypeError);
    const secret = SecretKey.random();
    const [k] = await encryptKeystores([{ secret, path: "" }], "pw");
    const other = { ...k!, pubkey: Buffer.from(SecretKey.random().publicKey()).toString("hex") };
    await expect(decryptKeystore(other, "pw")).rejects.toThrow(/does not match/);
  });
});

describe("decryptKeystores (worker pool, one derivation per KDF group)", () => {
  it("decrypts a ceremony batch and the EIP-2335 vectors together, in input order", async () => {
    const secrets = [SecretKey.random(), SecretKey.random(), SecretKey.random()];
    const password = randomPassword();
    const batch = await encryptKeystores(
      secrets.map((secret) => ({ secret, path: "" })),
      password,
    );
    const files = [
      ...batch.map((json, i) => ({ json, password, field: `keystore-${i}.json` })),
      { json: readVectorJson("eip2335/pbkdf2.json"), password: PASSWORD, field: "pbkdf2.json" },
      { json: JSON.stringify(readVectorJson("eip2335/scrypt.json")), password: PASSWORD, field: "scrypt.json" },
    ];
    const out = await decryptKeystores(files, { workers: 2 });
    expect(out.slice(0, 3).map((s) => Buffer.from(s.toBytes()).toString("hex"))).toEqual(
      secrets.map((s) => Buffer.from(s.toBytes()).toString("hex")),
    );
    expect(Buffer.from(out[3]!.toBytes()).toString("hex")).toBe(SECRET);
    expect(Buffer.from(out[4]!.toBytes()).toString("hex")).toBe(SECRET);
  });

  it("a key derivation failing before its turn is reported by name, never as an unhandled rejection", async () => {
    const [json] = await encryptKeystores([{ secret: SecretKey.random(), path: "" }], "right");
    const bad = readVectorJson("eip2335/scrypt.json") as { crypto: { kdf: { params: { n: number } } } };
    bad.crypto.kdf.params.n = 3; // not a power of two: scrypt throws at once in the worker
    const files = [
      { json, password: "wrong", field: "keystore-0.json" },
      { json: JSON.stringify(bad), password: PASSWORD, field: "keystore-1.json" },
    ];
    // keystore-0 is awaited first and fails on its checksum, after keystore-1's derivation has failed
    await expect(decryptKeystores(files, { workers: 2 })).rejects.toThrow(/keystore-0\.json/);
    await expect(decryptKeystores(files.slice(1), { workers: 1 })).rejects.toThrow(/keystore-1\.json/);
  });

  it("names the keystore with a wrong password", async () => {
    const [json] = await encryptKeystores([{ secret: SecretKey.random(), path: "" }], "right");
    await expect(decryptKeystores([{ json, password: "wrong", field: "keystore-7.json" }])).rejects.toThrow(
      /keystore-7\.json/,
    );
  });
});
