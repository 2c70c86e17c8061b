// A reshare with a dishonest old operator, in child processes over libp2p: operator 2 runs modified
// code with its valid identity (bad-dealer.mjs) and deals random secrets instead of its old shares.
// Every honest node fails with BAD_COMMITMENT naming it, with the signed deal as evidence in
// dkg-failure.json and nothing else written; the rerun with an honest operator 2 succeeds.
import { spawn } from "node:child_process";
import { existsSync, promises as fsp } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClusterLock, parseLock } from "../../src/cluster/lock.js";
import { toHex } from "../../src/lib/bytes.js";
import { REPO_ROOT } from "../helpers/vectors.js";
import { runCli, startCli } from "./cli.js";

let dir: string;
let lock: ClusterLock;
const node = (i: number) => path.join(dir, "net", `node-${i}`);
const lockFile = (i: number) => path.join(node(i), "cluster-lock.json");
const peerOf = (i: number) => lock.definition.operators[i - 1]!.peerId;

function badDealer(definition: string): Promise<string> {
  const cfg = { dist: path.join(REPO_ROOT, "dist"), dataDir: node(2), definition, timeoutMs: 60_000 };
  const child = spawn(process.execPath, [path.join(REPO_ROOT, "test/e2e/bad-dealer.mjs"), JSON.stringify(cfg)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (b: Buffer) => {
    out += b.toString();
  });
  return new Promise((resolve) => child.on("close", () => resolve(out.trim())));
}

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), "cohort-e2e-bad-deal-"));
  const res = await runCli(["devnet", "--nodes", "4", "--validators", "2", "--out", path.join(dir, "net"), "--quiet"]);
  expect(res.code, res.stderr).toBe(0);
  lock = parseLock(JSON.parse(await fsp.readFile(lockFile(1), "utf8")));
}, 120_000);

afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe("reshare with a dishonest dealer", () => {
  it("a dealer whose commitment is not its public share is named BAD_COMMITMENT; nothing is written; the rerun succeeds", async () => {
    const def = path.join(dir, "recreate.json");
    const made = await runCli([
      "definition",
      "reshare",
      "--lock",
      lockFile(1),
      "--operators",
      [1, 2, 3, 4].map(peerOf).join(","),
      "--out",
      def,
    ]);
    expect(made.code, made.stderr).toBe(0);
    for (const i of [1, 2, 3, 4]) {
      const s = await runCli(["definition", "sign", "--data-dir", node(i), "--definition", def]);
      expect(s.code, s.stderr).toBe(0);
    }
    const before = await fsp.readFile(lockFile(1), "utf8");
    const reshare = (i: number) =>
      startCli(["reshare", "--data-dir", node(i), "--definition", def, "--timeout", "1m"]).done;
    const [attacker, ...honest] = await Promise.all([badDealer(def), reshare(1), reshare(3), reshare(4)]);
    expect(attacker).toMatch(/"error"/);
    for (const [k, i] of [1, 3, 4].entries()) {
      const r = honest[k]!;
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/bad commitment by operator 2/);
      expect(r.stderr).toContain(`${peerOf(2)} (share 2, old share 2)`);
      const failure = JSON.parse(await fsp.readFile(path.join(node(i), "dkg-failure.json"), "utf8"));
      expect(failure.code).toBe("BAD_COMMITMENT");
      expect(failure.culprits).toEqual([
        { ceremony_index: 2, share_index: 2, previous_share_index: 2, peer_id: peerOf(2) },
      ]);
      expect(failure.evidence.length).toBeGreaterThan(0);
      expect(await fsp.readFile(lockFile(i), "utf8")).toBe(before);
      expect(existsSync(path.join(node(i), "locks"))).toBe(false);
      expect((await fsp.readdir(node(i))).filter((f) => f.startsWith("validator_keys."))).toEqual([]);
    }
    // operator 2 runs the real code again: the same definition now reshares
    const rerun = await Promise.all([1, 2, 3, 4].map(reshare));
    for (const r of rerun) expect(r.code, r.stderr).toBe(0);
    const after = parseLock(JSON.parse(await fsp.readFile(lockFile(3), "utf8")));
    expect(after.distributedValidators.map((dv) => toHex(dv.publicKey))).toEqual(
      lock.distributedValidators.map((dv) => toHex(dv.publicKey)),
    );
    expect(toHex(after.definition.lifecycle!.previousLockHash)).toBe(toHex(lock.lockHash));
    expect(existsSync(path.join(node(1), "dkg-failure.json"))).toBe(false);
  }, 240_000);
});
