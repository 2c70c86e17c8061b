// Ceremony faults through the built CLI, each `cohort dkg` its own OS process over real libp2p.
import { existsSync, promises as fsp } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../src/lib/ports.js";
import { runCli, startCli } from "./cli.js";

const N = 4;
let dir: string;
let defFile: string;
const dataDirs: string[] = [];
const addrs: string[] = [];
const peerIds: string[] = [];

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), "cohort-e2e-faults-"));
  const specs: string[] = [];
  for (let i = 1; i <= N; i++) {
    const d = path.join(dir, `node-${i}`);
    dataDirs.push(d);
    const res = await runCli(["identity", "create", "--data-dir", d]);
    expect(res.code, res.stderr).toBe(0);
    peerIds.push(res.stdout.trim());
    addrs.push(`/ip4/127.0.0.1/tcp/${await freePort()}`);
    specs.push(`${res.stdout.trim()}@${addrs[i - 1]}`);
  }
  defFile = path.join(dir, "cluster-definition.json");
  const created = await runCli([
    "definition",
    "create",
    "--name",
    "faults",
    "--operators",
    specs.join(","),
    "--validators",
    "20",
    "--network",
    "hoodi",
    "--withdrawal-address",
    "0x000000000000000000000000000000000000dEaD",
    "--out",
    defFile,
  ]);
  expect(created.code, created.stderr).toBe(0);
  for (const d of dataDirs) {
    const signed = await runCli(["definition", "sign", "--data-dir", d, "--definition", defFile]);
    expect(signed.code, signed.stderr).toBe(0);
  }
}, 120_000);

afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

function dkgArgs(i: number, timeout = "60s"): string[] {
  return ["dkg", "--data-dir", dataDirs[i]!, "--definition", defFile, "--p2p-address", addrs[i]!, "--timeout", timeout];
}

function assertNothingWritten(i: number): void {
  expect(existsSync(path.join(dataDirs[i]!, "cluster-lock.json"))).toBe(false);
  expect(existsSync(path.join(dataDirs[i]!, "validator_keys"))).toBe(false);
}

describe("cohort dkg faults", () => {
  it("a node started alone exits within --timeout naming the missing peers", async () => {
    const res = await runCli(dkgArgs(0, "3s"));
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/timed out/);
    for (const i of [1, 2, 3]) expect(res.stderr).toContain(peerIds[i]!);
    const report = JSON.parse(await fsp.readFile(path.join(dataDirs[0]!, "dkg-failure.json"), "utf8"));
    expect(report.code).toBe("TIMEOUT");
    expect(report.culprits.map((c: { share_index: number }) => c.share_index)).toEqual([2, 3, 4]);
    assertNothingWritten(0);
  }, 60_000);

  it("killing one node mid-ceremony fails the others with nothing written; a rerun succeeds", async () => {
    let killed = false;
    const runs = dataDirs.map((_, i) =>
      startCli(dkgArgs(i), (line, child) => {
        // node 4 dies right after sync, before any artifact exists anywhere
        if (i === 3 && !killed && line.includes("[sync] all peers connected")) {
          killed = true;
          child.kill("SIGKILL");
        }
      }),
    );
    const results = await Promise.all(runs.map((r) => r.done));
    expect(killed).toBe(true);
    expect(results[3]!.signal).toBe("SIGKILL");
    for (const i of [0, 1, 2]) {
      expect(results[i]!.code, results[i]!.stderr).toBe(1);
      expect(results[i]!.stderr).toMatch(/error: .*(disconnected|timed out|restarted)/);
      expect(results[i]!.stderr).toContain(peerIds[3]!);
    }
    for (let i = 0; i < N; i++) assertNothingWritten(i);

    const rerun = await Promise.all(dataDirs.map((_, i) => startCli(dkgArgs(i)).done));
    for (const r of rerun) expect(r.code, r.stderr).toBe(0);
    const locks = await Promise.all(dataDirs.map((d) => fsp.readFile(path.join(d, "cluster-lock.json"), "utf8")));
    expect(new Set(locks).size).toBe(1);
    expect(existsSync(path.join(dataDirs[0]!, "dkg-failure.json"))).toBe(false);

    // a third run must refuse to make new keys over the lock
    const again = await runCli(dkgArgs(0));
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds a lock for this definition/);
  }, 240_000);
});
