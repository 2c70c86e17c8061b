// Golden files: cluster-configs/*/ (cohort/v2) and cluster-configs/v1/*/ (cohort/v1, still read):
// cluster-definition.json, hashes.json, and for a real ceremony cluster-lock.json (see cluster-configs/README.md).
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  computeConfigHash,
  computeDefinitionHash,
  definitionNetwork,
  readDefinitionFile,
  serializeDefinition,
  verifyDefinition,
} from "../../src/cluster/definition.js";
import { computeLockHash, parseLock, serializeLock, verifyLock } from "../../src/cluster/lock.js";
import { toHex } from "../../src/lib/bytes.js";
import { REPO_ROOT } from "../helpers/vectors.js";

const CONFIGS = path.join(REPO_ROOT, "cluster-configs");
const subdirs = (dir: string) =>
  readdirSync(path.join(CONFIGS, dir), { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== "v1")
    .map((e) => path.join(dir, e.name))
    .sort();
const folders = [...subdirs("."), ...subdirs("v1")].map((f) => path.normalize(f));
const versionOf = (folder: string) => (folder.startsWith("v1/") ? "cohort/v1" : "cohort/v2");

describe("cluster-configs golden definitions", () => {
  it("has the 4-node hoodi devnet, the 7-node mainnet cluster and a custom network, in both versions, and no key files", () => {
    expect(folders).toEqual(
      expect.arrayContaining([
        "hoodi-devnet-4",
        "mainnet-7",
        "local-4",
        "devnet-4-lock",
        "v1/hoodi-devnet-4",
        "v1/mainnet-7",
        "v1/devnet-4-lock",
      ]),
    );
    for (const f of folders) {
      expect(readdirSync(path.join(CONFIGS, f)).filter((n) => n.endsWith(".key") || n.includes("keystore"))).toEqual(
        [],
      );
    }
  });

  for (const folder of folders) {
    it(`${folder}: hashes recomputed from the contents match hashes.json; all operators signed`, async () => {
      const file = path.join(CONFIGS, folder, "cluster-definition.json");
      const golden = JSON.parse(readFileSync(path.join(CONFIGS, folder, "hashes.json"), "utf8")) as {
        config_hash: string;
        definition_hash: string;
      };
      const def = await readDefinitionFile(file);
      expect(def.version).toBe(versionOf(folder));
      expect(toHex(computeConfigHash(def))).toBe(golden.config_hash);
      expect(toHex(computeDefinitionHash(def))).toBe(golden.definition_hash);
      await verifyDefinition(def);
      // the file is in canonical form: re-serialising gives the same bytes
      expect(serializeDefinition(def)).toBe(readFileSync(file, "utf8"));
    });
  }

  for (const folder of ["mainnet-7", "v1/mainnet-7"]) {
    it(`${folder} has the documented shape`, async () => {
      const def = await readDefinitionFile(path.join(CONFIGS, folder, "cluster-definition.json"));
      expect(def.operators).toHaveLength(7);
      expect(def.threshold).toBe(5);
      expect(def.numValidators).toBe(4);
      expect(def.compounding).toBe(true);
      expect(def.depositAmounts).toEqual([1_000_000_000n, 31_000_000_000n]);
      expect(def.network.name).toBe("mainnet");
      expect(definitionNetwork(def).genesisTime).toBe(1606824023);
    });
  }

  it("local-4 holds its custom network's genesis time and Capella fork", async () => {
    const def = await readDefinitionFile(path.join(CONFIGS, "local-4", "cluster-definition.json"));
    expect(def.network).toMatchObject({ name: "kurtosis", genesisTime: 1764547200, capellaForkEpoch: 0 });
    expect(toHex(def.network.capellaForkVersion!)).toBe("0x40000038");
  });
});

describe("cluster-configs golden locks (made by `cohort devnet`)", () => {
  for (const folder of folders.filter((f) => readdirSync(path.join(CONFIGS, f)).includes("cluster-lock.json"))) {
    it(`${folder}: lock_hash recomputed from the contents matches, and every lock check passes`, async () => {
      const text = readFileSync(path.join(CONFIGS, folder, "cluster-lock.json"), "utf8");
      const golden = JSON.parse(readFileSync(path.join(CONFIGS, folder, "hashes.json"), "utf8")) as {
        lock_hash: string;
      };
      const lock = parseLock(JSON.parse(text));
      expect(toHex(computeLockHash(lock.definition, lock.distributedValidators))).toBe(golden.lock_hash);
      expect(await verifyLock(lock)).toEqual({ ok: true, errors: [] });
      expect(serializeLock(lock)).toBe(text);
      // the lock embeds exactly the definition beside it
      expect(serializeDefinition(lock.definition)).toBe(
        readFileSync(path.join(CONFIGS, folder, "cluster-definition.json"), "utf8"),
      );
    });
  }
});
