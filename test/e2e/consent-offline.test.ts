// `cohort exit sign` and `cohort deposit sign` when the nodes are not running: each operator's
// command holds a short ceremony over libp2p (child processes, the built CLI), and the cluster
// signs once t = 3 of the 4 operators take part; two or one alone get nothing. A running node
// whose operator consented through its admin socket takes part beside the offline commands.
import { existsSync, promises as fsp } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifySignedExit } from "../../src/app/exits.js";
import { EXIT_AWAITING_CONSENT } from "../../src/cli/consent.js";
import { definitionNetwork } from "../../src/cluster/definition.js";
import { type ClusterLock, parseLock } from "../../src/cluster/lock.js";
import { verify } from "../../src/crypto/bls.js";
import { depositSigningRoot } from "../../src/eth2/deposit.js";
import { fromHex, toHex } from "../../src/lib/bytes.js";
import { type CliResult, runCli, startCli } from "./cli.js";

let dir: string;
let lock: ClusterLock;
let pk: string;
const node = (i: number) => path.join(dir, "net", `node-${i}`);
const exitFileOf = (i: number) => path.join(node(i), "exits", `${pk}.json`);

/** `cohort exit sign` of the given operators, started together. */
function exitSign(nodes: number[], validatorIndex: string, timeout: string): Promise<CliResult[]> {
  const args = ["exit", "sign", "--validator", pk, "--validator-index", validatorIndex, "--timeout", timeout];
  return Promise.all(nodes.map((i) => runCli([...args, "--data-dir", node(i)])));
}

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), "cohort-e2e-consent-"));
  const res = await runCli(["devnet", "--nodes", "4", "--validators", "1", "--out", path.join(dir, "net"), "--quiet"]);
  expect(res.code, res.stderr).toBe(0);
  lock = parseLock(JSON.parse(await fsp.readFile(path.join(node(1), "cluster-lock.json"), "utf8")));
  pk = toHex(lock.distributedValidators[0]!.publicKey);
}, 120_000);

afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe("exits and deposits while no node runs: a short ceremony", () => {
  it("one operator alone gets nothing: exit 4, its consent kept, the missing operators named", async () => {
    const [alone] = await exitSign([1], "11", "3s");
    expect(alone!.code, alone!.stderr).toBe(EXIT_AWAITING_CONSENT);
    expect(alone!.stdout).toBe("");
    expect(alone!.stderr).toMatch(/short ceremony/);
    expect(alone!.stderr).toMatch(/timed out after 3s: consent to this exit is recorded/);
    for (const i of [2, 3, 4])
      expect(alone!.stderr).toContain(`operator ${i} (${lock.definition.operators[i - 1]!.peerId})`);
    expect(existsSync(exitFileOf(1))).toBe(false);
    // the data dir is released: nothing of the ceremony is left behind
    expect(existsSync(path.join(node(1), "cohort.lock"))).toBe(false);
    expect(existsSync(path.join(node(1), "admin.sock"))).toBe(false);
  }, 60_000);

  it("two of four get nothing either", async () => {
    const both = await exitSign([2, 3], "12", "6s");
    for (const r of both) {
      expect(r.code, r.stderr).toBe(EXIT_AWAITING_CONSENT);
      expect(r.stdout).toBe("");
    }
    for (const i of [2, 3]) expect(existsSync(exitFileOf(i))).toBe(false);
  }, 60_000);

  it("three of four sign an exit that verifies under the Capella domain (EIP-7044), each keeping it", async () => {
    const three = await exitSign([1, 2, 4], "13", "60s");
    const signatures = new Set<string>();
    for (const r of three) {
      expect(r.code, r.stderr).toBe(0);
      const signed = JSON.parse(r.stdout) as { message: { epoch: string; validator_index: string }; signature: string };
      expect(signed.message).toEqual({ epoch: "0", validator_index: "13" });
      expect(verifySignedExit(lock, pk, signed)).toBe(true);
      signatures.add(signed.signature);
    }
    // a BLS threshold signature is unique: every operator combined the same one
    expect(signatures.size).toBe(1);
    for (const i of [1, 2, 4])
      expect(JSON.parse(await fsp.readFile(exitFileOf(i), "utf8")).message.validator_index).toBe("13");
    expect(existsSync(exitFileOf(3))).toBe(false);
  }, 120_000);

  it("a top-up deposit: one running node's consent and two offline operators' commands sign it", async () => {
    const dep = ["deposit", "sign", "--validator", pk, "--amount", "2"];
    let up: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      up = resolve;
    });
    const running = startCli(
      ["run", "--data-dir", node(3), "--api-address", "127.0.0.1:0", "--metrics-address", "off", "--log-level", "warn"],
      (line) => {
        if (line.startsWith("  signing API")) up();
      },
    );
    try {
      await Promise.race([started, running.done]);
      // operator 3 consents through its running node's admin socket, then 1 and 4 offline
      const online = await runCli([...dep, "--data-dir", node(3)]);
      expect(online.code, online.stderr).toBe(EXIT_AWAITING_CONSENT);
      expect(online.stderr).not.toMatch(/short ceremony/);
      const offline = await Promise.all([1, 4].map((i) => runCli([...dep, "--data-dir", node(i), "--timeout", "60s"])));
      const dv = lock.distributedValidators[0]!;
      const wc = dv.depositData[0]!.withdrawalCredentials;
      const root = depositSigningRoot(
        { pubkey: dv.publicKey, withdrawalCredentials: wc, amountGwei: 2_000_000_000n },
        definitionNetwork(lock.definition).genesisForkVersion,
      );
      for (const r of offline) {
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(/short ceremony/);
        const entry = JSON.parse(r.stdout) as { amount: number; withdrawal_credentials: string; signature: string };
        expect(entry.amount).toBe(2_000_000_000);
        expect(`0x${entry.withdrawal_credentials}`).toBe(toHex(wc));
        expect(verify(dv.publicKey, root, fromHex(`0x${entry.signature}`, "signature", 96))).toBe(true);
      }
    } finally {
      running.child.kill("SIGTERM");
    }
    const res = await running.done;
    expect(res.code, res.stderr).toBe(0);
  }, 120_000);
});
