// `cohort combine` through the built CLI on a real devnet: t operators' keystores give each whole
// validator key, checked against the lock, with the operators' merged EIP-3076 history; any bad
// input is refused naming it, and nothing is written.
import { existsSync, promises as fsp, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClusterLock, parseLock } from "../../src/cluster/lock.js";
import { verify } from "../../src/crypto/bls.js";
import { decryptKeystore } from "../../src/crypto/keystore.js";
import { toHex } from "../../src/lib/bytes.js";
import { acquireDataDirLock } from "../../src/lib/lockfile.js";
import { parseInterchangeText } from "../../src/slashing/interchange.js";
import { SlashingError } from "../../src/slashing/rules.js";
import { SlashingProtectionDb } from "../../src/slashing/store.js";
import { runCli } from "./cli.js";

let dir: string;
let net: string;
let lock: ClusterLock;
const node = (i: number) => path.join(net, `node-${i}`);
const root = (b: number) => `0x${b.toString(16).padStart(2, "0").repeat(32)}`;

/** Imports one operator's slashing history for validator 0 through `cohort slashing import`. */
async function seedHistory(i: number, blocks: number[], attestations: [number, number][]): Promise<void> {
  const file = path.join(dir, `history-${i}.json`);
  const doc = {
    metadata: {
      interchange_format_version: "5",
      genesis_validators_root: toHex(lock.definition.network.genesisValidatorsRoot),
    },
    data: [
      {
        pubkey: toHex(lock.distributedValidators[0]!.publicKey),
        signed_blocks: blocks.map((slot) => ({ slot: String(slot), signing_root: root(slot & 0xff) })),
        signed_attestations: attestations.map(([s, t]) => ({
          source_epoch: String(s),
          target_epoch: String(t),
          signing_root: root(0x80 + t),
        })),
      },
    ],
  };
  await fsp.writeFile(file, JSON.stringify(doc));
  const res = await runCli(["slashing", "import", "--data-dir", node(i), "--file", file]);
  expect(res.code, res.stderr).toBe(0);
}

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), "cohort-e2e-combine-"));
  net = path.join(dir, "net");
  const res = await runCli(["devnet", "--nodes", "4", "--validators", "2", "--out", net, "--quiet"]);
  expect(res.code, res.stderr).toBe(0);
  lock = parseLock(JSON.parse(await fsp.readFile(path.join(node(1), "cluster-lock.json"), "utf8")));
  // each operator signed different things while it ran
  await seedHistory(1, [100], [[1, 2]]);
  await seedHistory(2, [], [[2, 3]]);
  await seedHistory(4, [101], []);
}, 180_000);

afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe("cohort combine", () => {
  it("3 of 4 operators give each validator's whole key, and their merged history", async () => {
    const out = path.join(dir, "whole");
    const res = await runCli(["combine", "--data-dir", node(1), node(2), "--data-dir", node(4), "--out", out]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/combined 2 validator key\(s\) .* from shares 1, 2, 4 \(threshold 3\)/);
    expect(res.stderr).toMatch(/whole validator keys on one machine/);
    expect(statSync(out).mode & 0o777).toBe(0o700);
    for (const [v, dv] of lock.distributedValidators.entries()) {
      const ksFile = path.join(out, `keystore-${v}.json`);
      expect(statSync(ksFile).mode & 0o777).toBe(0o600);
      expect(statSync(path.join(out, `keystore-${v}.txt`)).mode & 0o777).toBe(0o600);
      const ks = JSON.parse(await fsp.readFile(ksFile, "utf8"));
      expect(ks.crypto.kdf.function).toBe("scrypt");
      const secret = await decryptKeystore(ks, await fsp.readFile(path.join(out, `keystore-${v}.txt`), "utf8"));
      expect(toHex(secret.publicKey())).toBe(toHex(dv.publicKey));
      const msg = new Uint8Array(32).fill(v + 1);
      expect(verify(dv.publicKey, msg, secret.sign(msg))).toBe(true);
    }
    // the union of the three operators' records for validator 0
    const merged = parseInterchangeText(
      await fsp.readFile(path.join(out, "slashing-protection-interchange.json"), "utf8"),
    );
    expect(toHex(merged.genesisValidatorsRoot)).toBe(toHex(lock.definition.network.genesisValidatorsRoot));
    expect(merged.data).toHaveLength(1);
    const h = merged.data[0]!;
    expect(toHex(h.pubkey)).toBe(toHex(lock.distributedValidators[0]!.publicKey));
    expect(h.signedBlocks.map((b) => Number(b.slot)).sort()).toEqual([100, 101]);
    expect(h.signedAttestations.map((a) => [Number(a.sourceEpoch), Number(a.targetEpoch)]).sort()).toEqual([
      [1, 2],
      [2, 3],
    ]);
    // a signer that imports it first refuses what any of the operators signed differently
    const fresh = path.join(dir, "fresh-signer");
    const store = new SlashingProtectionDb({ dataDir: fresh, genesisValidatorsRoot: merged.genesisValidatorsRoot });
    try {
      store.importRecords(merged.genesisValidatorsRoot, merged.data);
      const pk = lock.distributedValidators[0]!.publicKey;
      expect(() => store.checkAndRecordAttestation(pk, 2n, 3n, new Uint8Array(32).fill(9))).toThrow(SlashingError);
      expect(() => store.checkAndRecordBlock(pk, 101n, new Uint8Array(32).fill(9))).toThrow(SlashingError);
    } finally {
      store.close();
    }
  }, 120_000);

  it("another t operators give the same keys, one of them as keystores plus the lock", async () => {
    const a = path.join(dir, "whole-a");
    const b = path.join(dir, "whole-b");
    // operator 3 gives only its keystores and the lock, in a directory of their own (no identity, no history)
    const bare = path.join(dir, "bare-3");
    await fsp.mkdir(bare);
    await fsp.copyFile(path.join(node(3), "cluster-lock.json"), path.join(bare, "cluster-lock.json"));
    await fsp.cp(path.join(node(3), "validator_keys"), path.join(bare, "validator_keys"), { recursive: true });
    for (const [out, dirs] of [
      [a, [node(1), node(2), node(3)]],
      [b, [node(2), bare, node(4)]],
    ] as const) {
      const res = await runCli(["combine", "--data-dir", ...dirs, "--out", out, "--kdf", "pbkdf2"]);
      expect(res.code, res.stderr).toBe(0);
    }
    for (let v = 0; v < 2; v++) {
      const read = async (out: string) =>
        decryptKeystore(
          JSON.parse(await fsp.readFile(path.join(out, `keystore-${v}.json`), "utf8")),
          await fsp.readFile(path.join(out, `keystore-${v}.txt`), "utf8"),
        );
      expect(toHex((await read(a)).toBytes())).toBe(toHex((await read(b)).toBytes()));
    }
  }, 120_000);

  it("refuses fewer than t operators, one operator twice, another lock's shares, a running node, a used --out", async () => {
    // an operator's data dir copied: the same share twice
    const twin = path.join(dir, "node-1-copy");
    await fsp.cp(node(1), twin, { recursive: true });
    // node 3's keystore of validator 0 swapped for another cluster's share
    const other = path.join(dir, "other");
    const made = await runCli(["devnet", "--nodes", "4", "--validators", "2", "--out", other, "--quiet"]);
    expect(made.code, made.stderr).toBe(0);
    const foreign = path.join(dir, "node-3-foreign");
    await fsp.cp(node(3), foreign, { recursive: true });
    for (const f of ["keystore-0.json", "keystore-0.txt"]) {
      await fsp.copyFile(path.join(other, "node-3/validator_keys", f), path.join(foreign, "validator_keys", f));
    }
    const used = path.join(dir, "used");
    await fsp.mkdir(used);
    await fsp.writeFile(path.join(used, "keep.txt"), "mine");
    const out = path.join(dir, "never");
    const cases: [string[], RegExp][] = [
      [[node(1), node(2)], /2 data dir\(s\) given; this lock needs 3/],
      [[node(1), twin, node(2)], /holds share 1, as .* does/],
      [[node(1), node(2), node(1)], /--data-dir .*node-1 is given twice/],
      [[node(1), node(2), path.join(other, "node-3")], /shares of different locks never combine/],
      [[node(1), node(2), foreign], /keystore-0\.json is not a share of validator 0 of this lock/],
    ];
    for (const [dirs, why] of cases) {
      const res = await runCli(["combine", "--data-dir", ...dirs, "--out", out, "--kdf", "pbkdf2"]);
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr.trim().split("\n").at(-1), res.stderr).toMatch(why);
      expect(existsSync(out)).toBe(false);
    }
    // node 2's slashing database lost: with node 3 never having run, only node 1's history is left,
    // fewer than n − t + 1 = 2, so what 2, 3 and 4 signed together could be missing
    const lost = path.join(dir, "node-2-lost-db");
    await fsp.cp(node(2), lost, { recursive: true });
    for (const f of await fsp.readdir(lost)) if (f.startsWith("slashing-protection")) await fsp.rm(path.join(lost, f));
    const missing = await runCli(["combine", "--data-dir", node(1), lost, node(3), "--out", out, "--kdf", "pbkdf2"]);
    expect(missing.code, missing.stderr).toBe(2);
    expect(missing.stderr).toMatch(/only 1 of the data dirs have a slashing protection history/);
    expect(existsSync(out)).toBe(false);
    const allowed = await runCli([
      "combine",
      "--data-dir",
      node(1),
      lost,
      node(3),
      "--out",
      out,
      "--kdf",
      "pbkdf2",
      "--allow-missing-history",
    ]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stderr).toMatch(/node-2-lost-db has no slashing protection history/);
    await fsp.rm(out, { recursive: true });

    // an interrupted combine's staging dir may hold whole keys: refused until it is deleted
    const leftover = path.join(dir, ".never.combine-abc123");
    await fsp.mkdir(leftover);
    const interrupted = await runCli(["combine", "--data-dir", node(1), node(2), node(4), "--out", out]);
    expect(interrupted.code).toBe(2);
    expect(interrupted.stderr).toMatch(/left from an interrupted combine and may hold whole validator keys/);
    await fsp.rm(leftover, { recursive: true });

    const notEmpty = await runCli(["combine", "--data-dir", node(1), node(2), node(3), "--out", used]);
    expect(notEmpty.code).toBe(2);
    expect(notEmpty.stderr).toMatch(/--out .* exists and is not empty/);
    expect(await fsp.readdir(used)).toEqual(["keep.txt"]);
    // a node still running on its data dir may still sign: its history is not final
    const held = await acquireDataDirLock(node(2), "cohort run");
    try {
      const res = await runCli(["combine", "--data-dir", node(1), node(2), node(3), "--out", out]);
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr).toMatch(/node-2 is in use/);
      expect(existsSync(out)).toBe(false);
    } finally {
      await held.release();
    }
    // nothing left behind next to --out
    expect((await fsp.readdir(dir)).filter((e) => e.includes("combine-"))).toEqual([]);
  }, 180_000);

  it("has --help", async () => {
    const res = await runCli(["combine", "--help"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/--data-dir <dirs\.\.\.>/);
    expect(res.stdout).toMatch(/Emergency only/);
  });
});
