// End to end through the built CLI: `cohort devnet` runs N `cohort dkg` processes over real libp2p.
import { existsSync, promises as fsp, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { sha256 } from "@noble/hashes/sha2.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseLock } from "../../src/cluster/lock.js";
import { decryptKeystore } from "../../src/crypto/keystore.js";
import { recoverSecret } from "../../src/crypto/tbls.js";
import { toHex } from "../../src/lib/bytes.js";
import { acquireDataDirLock } from "../../src/lib/lockfile.js";
import { runCli, startCli } from "./cli.js";

describe("cohort devnet --nodes 4 --validators 3", () => {
  let dir: string;
  let result: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "cohort-e2e-devnet-"));
    result = await runCli(["devnet", "--nodes", "4", "--validators", "3", "--out", path.join(dir, "net"), "--quiet"]);
  }, 180_000);
  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it("exits 0 and prints the validators and the threshold", () => {
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/4 nodes, threshold 3/);
    expect(result.stdout.match(/^ {2}0x[0-9a-f]{96}$/gm)).toHaveLength(3);
  });

  it("recovers every validator key from any t keystores and matches the lock", async () => {
    const net = path.join(dir, "net");
    const lockText = await fsp.readFile(path.join(net, "node-1/cluster-lock.json"), "utf8");
    const lock = parseLock(JSON.parse(lockText));
    expect(lock.distributedValidators).toHaveLength(3);
    for (let i = 2; i <= 4; i++) {
      expect(await fsp.readFile(path.join(net, `node-${i}/cluster-lock.json`), "utf8")).toBe(lockText);
    }
    for (const [v, dv] of lock.distributedValidators.entries()) {
      const shares: { index: number; value: Awaited<ReturnType<typeof decryptKeystore>> }[] = [];
      for (let i = 1; i <= 4; i++) {
        const keys = path.join(net, `node-${i}/validator_keys`);
        const ks = await fsp.readFile(path.join(keys, `keystore-${v}.json`), "utf8");
        const pw = await fsp.readFile(path.join(keys, `keystore-${v}.txt`), "utf8");
        const share = await decryptKeystore(ks, pw);
        expect(toHex(share.publicKey())).toBe(toHex(dv.publicShares[i - 1]!));
        shares.push({ index: i, value: share });
        expect(statSync(path.join(keys, `keystore-${v}.json`)).mode & 0o777).toBe(0o600);
      }
      for (const subset of [
        [0, 1, 2],
        [1, 2, 3],
        [0, 2, 3],
      ]) {
        const secret = recoverSecret(subset.map((k) => shares[k]!));
        expect(toHex(secret.publicKey())).toBe(toHex(dv.publicKey));
      }
      expect(toHex(recoverSecret(shares.slice(0, 2)).publicKey())).not.toBe(toHex(dv.publicKey));
    }
    expect(statSync(path.join(net, "node-1")).mode & 0o777).toBe(0o700);
  });

  it("lock verify accepts the lock and rejects a tampered copy", async () => {
    const net = path.join(dir, "net");
    const ok = await runCli(["lock", "verify", "--lock", path.join(net, "node-2/cluster-lock.json")]);
    expect(ok.code, ok.stderr).toBe(0);
    const lock = JSON.parse(await fsp.readFile(path.join(net, "node-2/cluster-lock.json"), "utf8"));
    const shares = lock.distributed_validators[0].public_shares;
    [shares[0], shares[1]] = [shares[1], shares[0]];
    const bad = path.join(dir, "tampered-lock.json");
    await fsp.writeFile(bad, JSON.stringify(lock));
    const res = await runCli(["lock", "verify", "--lock", bad]);
    expect(res.code).toBe(1);
  });

  it("refuses to run again over an existing devnet without --force", async () => {
    const res = await runCli(["devnet", "--out", path.join(dir, "net")]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--force/);
  });

  it("cohort run: a second signal during shutdown does not cut it short", async () => {
    const dataDir = path.join(dir, "net", "node-1");
    const { child, done } = startCli(
      ["run", "--data-dir", dataDir, "--api-address", "127.0.0.1:0", "--metrics-address", "off"],
      (line, c) => {
        if (!line.startsWith("  signing API")) return;
        // Ctrl-C on `devnet --run` reaches the node, then the devnet's own SIGTERM follows
        c.kill("SIGINT");
        setTimeout(() => c.kill("SIGTERM"), 10);
      },
    );
    const res = await done;
    expect(res.code, res.stderr).toBe(0);
    expect(res.signal).toBeNull();
    expect(res.stderr).toMatch(/signing node stopped/);
    expect(existsSync(path.join(dataDir, "cohort.lock"))).toBe(false);
    expect(child.exitCode).toBe(0);
  });

  it("cohort run verifies its lock in full once per lock bytes, and again when they change", async () => {
    const dataDir = path.join(dir, "net", "node-3");
    const lockFile = path.join(dataDir, "cluster-lock.json");
    const marker = path.join(dataDir, "cluster-lock.verified");
    const runOnce = () =>
      startCli(
        ["run", "--data-dir", dataDir, "--api-address", "127.0.0.1:0", "--metrics-address", "off"],
        (line, c) => {
          if (line.startsWith("  signing API")) c.kill("SIGTERM");
        },
      ).done;
    const original = await fsp.readFile(lockFile);
    const first = await runOnce();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/"lock verified"/);
    expect((await fsp.readFile(marker, "utf8")).trim()).toBe(toHex(sha256(original)));
    expect(statSync(marker).mode & 0o777).toBe(0o600);
    const second = await runOnce();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/full check skipped/);
    // other bytes under the same marker: verified again, and a tampered lock is refused
    const lock = JSON.parse(original.toString("utf8"));
    const shares = lock.distributed_validators[0].public_shares;
    [shares[0], shares[1]] = [shares[1], shares[0]];
    await fsp.writeFile(lockFile, `${JSON.stringify(lock, null, 2)}\n`);
    try {
      const third = await runCli([
        "run",
        "--data-dir",
        dataDir,
        "--api-address",
        "127.0.0.1:0",
        "--metrics-address",
        "off",
      ]);
      expect(third.code).toBe(2);
      expect(third.stderr).toMatch(/does not verify/);
    } finally {
      await fsp.writeFile(lockFile, original);
    }
  });

  it("bad flags of run and devnet exit 2 naming the flag, before anything starts", async () => {
    const dataDir = path.join(dir, "net", "node-1");
    for (const [args, flag] of [
      [["run", "--data-dir", dataDir, "--log-level", "bogus"], "--log-level"],
      [["run", "--data-dir", dataDir, "--sign-timeout", "999h"], "--sign-timeout"],
      [["run", "--data-dir", dataDir, "--api-address", "nope"], "--api-address"],
      // hoodi's genesis time is in the definition: another one is refused
      [["run", "--data-dir", dataDir, "--genesis-time", "1700000000"], "--genesis-time"],
      [["devnet", "--out", path.join(dir, "never"), "--genesis-time", "now"], "genesis-time"],
      [["devnet", "--out", path.join(dir, "never"), "--sign-once"], "--sign-once"],
      [["devnet", "--out", path.join(dir, "never"), "--sign-timeout", "30s"], "--sign-timeout"],
      [["devnet", "--out", path.join(dir, "never"), "--run", "--sign-timeout", "soon"], "--sign-timeout"],
    ] as const) {
      const res = await runCli([...args]);
      expect(res.code, `${args.join(" ")}: ${res.stderr}`).toBe(2);
      expect(res.stderr.trim().split("\n")).toHaveLength(1);
      expect(res.stderr).toContain(flag);
    }
    expect(existsSync(path.join(dir, "never"))).toBe(false);
    expect(existsSync(path.join(dataDir, "cohort.lock"))).toBe(false);
  });

  it("--force refuses to replace a devnet whose node is in use, and deletes nothing", async () => {
    const net = path.join(dir, "net");
    // this process stands in for a `cohort run` still using node-2's data dir
    const held = await acquireDataDirLock(path.join(net, "node-2"), "cohort run");
    try {
      const before = await fsp.readdir(net, { recursive: true });
      const res = await runCli(["devnet", "--out", net, "--force"]);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/node-2 is in use/);
      expect(res.stderr).toContain(String(process.pid));
      expect((await fsp.readdir(net, { recursive: true })).sort()).toEqual(before.sort());
    } finally {
      await held.release();
    }
  });
});

describe("cohort devnet on a custom network whose genesis is now", () => {
  it("--run --sign-once: the nodes read the genesis time from the definition and sign at slot 0", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "cohort-devnet-custom-"));
    try {
      const net = path.join(dir, "net");
      const res = await runCli([
        "devnet",
        "--nodes",
        "4",
        "--out",
        net,
        "--genesis-fork-version",
        "0x10000038",
        "--genesis-time",
        "now",
        "--capella-fork-version",
        "0x40000038",
        "--run",
        "--sign-once",
        // this checks what the nodes sign, not how fast: on a CI machine busy with other suites the
        // first duty of a cold cluster may miss the 4 s attestation deadline
        "--sign-timeout",
        "60s",
        "--quiet",
      ]);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/network devnet/);
      expect(res.stdout).toMatch(/signed an ATTESTATION at all 4 nodes/);
      const def = JSON.parse(readFileSync(path.join(net, "cluster-definition.json"), "utf8"));
      expect(def.version).toBe("cohort/v2");
      expect(def.network).toMatchObject({
        name: "devnet",
        capella_fork_version: "0x40000038",
        capella_fork_epoch: "0",
      });
      expect(Math.abs(Number(def.network.genesis_time) - Date.now() / 1000)).toBeLessThan(600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
