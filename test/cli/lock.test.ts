// Runs the built CLI (dist/src/cli/main.js) in child processes against locks built in-process by a trusted dealer.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type ClusterLock, lockToJson, serializeLock } from "../../src/cluster/lock.js";
import { SecretKey } from "../../src/crypto/bls.js";
import { ensureBuilt, runCli } from "../cluster/cli-helpers.js";
import { buildTestLock, makeIdentities, signedDefinition } from "../cluster/fixtures.js";

let dir: string;
let lock: ClusterLock;

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(path.join(tmpdir(), "cohort-cli-lock-"));
  const ids = await makeIdentities(4);
  const def = await signedDefinition(ids, { numValidators: 2 });
  ({ lock } = await buildTestLock(def, ids));
});

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe("cohort lock verify", () => {
  it("exits 0 and prints the validator keys for a valid lock", () => {
    const file = write("ok.json", serializeLock(lock));
    const r = runCli(["lock", "verify", "--lock", file]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`lock ok: 0x${Buffer.from(lock.lockHash).toString("hex")}`);
    expect(r.stdout).toContain(`0x${Buffer.from(lock.distributedValidators[1]!.publicKey).toString("hex")}`);
  });

  it("exits 1 listing every reason for a tampered lock", () => {
    const json = lockToJson(lock);
    json.distributed_validators[0]!.public_shares[3] =
      `0x${Buffer.from(SecretKey.random().publicKey()).toString("hex")}`;
    json.node_signatures = [json.node_signatures[1]!, json.node_signatures[0]!, ...json.node_signatures.slice(2)];
    const file = write("tampered.json", JSON.stringify(json));
    const r = runCli(["lock", "verify", "--lock", file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`"lock_hash"`);
    expect(r.stderr).toContain(`"node_signatures[0]"`);
    expect(r.stderr).toContain(`"distributed_validators[0].public_shares[3]" does not lie on the degree 2 polynomial`);
    expect(r.stderr).toContain(`"signature_aggregate" does not verify`);
    expect(r.stderr).toMatch(/error: lock verification failed: \d+ problem/);
    expect(r.stdout).toBe("");
  });

  it("exits 2 naming the file or field for unreadable or malformed input", () => {
    const missing = path.join(dir, "missing.json");
    let r = runCli(["lock", "verify", "--lock", missing]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`error: "lock": cannot read ${missing} (ENOENT)`);

    const garbage = write("garbage.json", "not json");
    r = runCli(["lock", "verify", "--lock", garbage]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(garbage);

    const json = lockToJson(lock);
    json.signature_aggregate = "0x00";
    r = runCli(["lock", "verify", "--lock", write("badhex.json", JSON.stringify(json))]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(`"signature_aggregate"`);

    const j2 = lockToJson(lock);
    j2.definition.threshold = 1;
    r = runCli(["lock", "verify", "--lock", write("badthreshold.json", JSON.stringify(j2))]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`"definition.threshold"`);

    r = runCli(["lock", "verify"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--lock");
  });

  it("has --help", () => {
    for (const cmd of [["lock"], ["lock", "verify"]]) {
      const r = runCli([...cmd, "--help"]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`Usage: cohort ${cmd.join(" ")}`);
    }
  });
});
