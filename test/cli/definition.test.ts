// Runs the built CLI (dist/src/cli/main.js) in child processes: exit codes, messages, files written.
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseDefinition, readDefinitionFile } from "../../src/cluster/definition.js";
import type { Identity } from "../../src/p2p/identity.js";
import { createIdentity } from "../../src/p2p/identity.js";
import { ensureBuilt, runCli } from "../cluster/cli-helpers.js";
import { ADDRESS, ADDRESS2 } from "../cluster/fixtures.js";

let dir: string;
const dataDirs: string[] = [];
const ids: Identity[] = [];
let operators: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(path.join(tmpdir(), "cohort-cli-def-"));
  for (let i = 0; i < 5; i++) {
    const d = path.join(dir, `node${i}`);
    dataDirs.push(d);
    ids.push(await createIdentity(d));
  }
  operators = ids
    .slice(0, 4)
    .map((id) => id.peerId)
    .join(",");
});

const createArgs = (out: string, extra: string[] = []) => [
  "definition",
  "create",
  "--name",
  "cli test",
  "--operators",
  operators,
  "--validators",
  "2",
  "--network",
  "hoodi",
  "--withdrawal-address",
  ADDRESS,
  "--out",
  out,
  ...extra,
];

/** Expects exit 2, a one-line error naming `field`, and `file` not written. */
function expectBadInput(args: string[], field: string | RegExp, file?: string): string {
  const r = runCli(args);
  expect(r.status).toBe(2);
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  if (typeof field === "string") expect(lines[0]).toContain(field);
  else expect(lines[0]).toMatch(field);
  if (file !== undefined) expect(existsSync(file)).toBe(false);
  return lines[0]!;
}

describe("cohort definition create", () => {
  it("writes a parseable definition, mode 0600, with the defaults", async () => {
    const out = path.join(dir, "create-ok.json");
    const r = runCli(createArgs(out));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const def = await readDefinitionFile(out);
    expect(def.threshold).toBe(3);
    expect(def.numValidators).toBe(2);
    expect(def.network.name).toBe("hoodi");
    expect(def.depositAmounts).toEqual([32_000_000_000n]);
    expect(r.stdout).toContain(`config_hash: 0x${Buffer.from(def.configHash).toString("hex")}`);
  });

  it("takes per-validator addresses, fee recipients, amounts, compounding and a custom network", () => {
    const out = path.join(dir, "create-custom.json");
    const r = runCli([
      "definition",
      "create",
      "--name",
      "custom",
      "--operators",
      `${ids[0]!.peerId}@/ip4/127.0.0.1/tcp/3610,${ids[1]!.peerId},${ids[2]!.peerId}`,
      "--threshold",
      "3",
      "--validators",
      "2",
      "--network",
      "kurtosis",
      "--genesis-fork-version",
      "0x10000038",
      "--genesis-time",
      "1764547200",
      "--capella-fork-version",
      "0x40000038",
      "--capella-fork-epoch",
      "2",
      "--withdrawal-address",
      `${ADDRESS},${ADDRESS2}`,
      "--fee-recipient",
      ADDRESS2,
      "--deposit-amounts",
      "1,63",
      "--compounding",
      "--out",
      out,
    ]);
    expect(r.status).toBe(0);
    const json = JSON.parse(readFileSync(out, "utf8"));
    expect(json.network.name).toBe("kurtosis");
    expect(json.network.genesis_fork_version).toBe("0x10000038");
    expect(json.network.genesis_time).toBe("1764547200");
    expect(json.network.capella_fork_version).toBe("0x40000038");
    expect(json.network.capella_fork_epoch).toBe("2");
    expect(json.threshold).toBe(3);
    expect(json.operators[0].addresses).toEqual(["/ip4/127.0.0.1/tcp/3610"]);
    expect(json.validators.map((v: { withdrawal_address: string }) => v.withdrawal_address)).toEqual([
      ADDRESS,
      ADDRESS2,
    ]);
    expect(json.validators[0].fee_recipient).toBe(ADDRESS2);
    expect(json.deposit_amounts).toEqual(["1000000000", "63000000000"]);
    expect(json.compounding).toBe(true);
    expect(() => parseDefinition(json)).not.toThrow();
  });

  // each case spawns the CLI: split so that a loaded machine stays inside each test's timeout
  it("exits 2 naming the field, writing nothing, on bad addresses and numbers", () => {
    const out = path.join(dir, "never.json");
    expectBadInput(createArgs(out, ["--network", "goerli"]), '"network"', out);
    expectBadInput(
      createArgs(out, ["--withdrawal-address", `${ADDRESS.slice(0, -1)}D`]),
      /"withdrawal-address".*checksum/,
      out,
    );
    expectBadInput(
      createArgs(out, ["--withdrawal-address", `${ADDRESS},${ADDRESS2},${ADDRESS}`]),
      '"withdrawal-address"',
      out,
    );
    expectBadInput(createArgs(out, ["--fee-recipient", "0x1234"]), '"fee-recipient"', out);
    expectBadInput(createArgs(out, ["--threshold", "2"]), '"threshold"', out);
    expectBadInput(createArgs(out, ["--threshold", "5"]), '"threshold"', out);
    expectBadInput(createArgs(out, ["--threshold", "two"]), '"threshold"', out);
    expectBadInput(createArgs(out, ["--validators", "0"]), '"validators"', out);
  });

  it("exits 2 naming the field, writing nothing, on bad amounts, operators, networks and paths", () => {
    const out = path.join(dir, "never.json");
    expectBadInput(createArgs(out, ["--deposit-amounts", "16"]), '"deposit-amounts"', out);
    expectBadInput(createArgs(out, ["--deposit-amounts", "33"]), '"deposit-amounts"', out);
    expectBadInput(
      createArgs(out, ["--operators", `${ids[0]!.peerId},bogus,${ids[1]!.peerId}`]),
      '"operators[1]"',
      out,
    );
    expectBadInput(
      createArgs(out, ["--operators", `${ids[0]!.peerId}@/ip4/nope,${ids[1]!.peerId},${ids[2]!.peerId}`]),
      '"operators[0].addresses[0]"',
      out,
    );
    expectBadInput(createArgs(out, ["--genesis-fork-version", "0x1234"]), '"genesis-fork-version"', out);
    // every rule of the network flags is unit-tested (test/eth2/clock.test.ts); here, that the CLI applies them
    const custom = ["--network", "local", "--genesis-fork-version", "0x10000038"];
    expectBadInput(createArgs(out, custom), '"genesis-time"', out);
    expectBadInput(createArgs(out, [...custom, "--genesis-time", "now"]), '"capella-fork-version"', out);
    expectBadInput(createArgs(path.join(dir, "no-such-dir", "def.json")), '"out"');
    // a usage error from commander: exit 2 too
    expectBadInput(["definition", "create", "--name", "x", "--out", out], "--operators", out);
  });

  it("n < 3 needs --allow-small, then warns", () => {
    const out = path.join(dir, "small.json");
    const two = `${ids[0]!.peerId},${ids[1]!.peerId}`;
    expectBadInput(createArgs(out, ["--operators", two]), '"operators"', out);
    const r = runCli(createArgs(out, ["--operators", two, "--allow-small"]));
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^warning: .*at least 3/);
  });

  it("refuses to overwrite --out unless --force", () => {
    const out = path.join(dir, "exists.json");
    writeFileSync(out, "keep me");
    expectBadInput(createArgs(out), '"out"');
    expect(readFileSync(out, "utf8")).toBe("keep me");
    expect(runCli(createArgs(out, ["--force"])).status).toBe(0);
    expect(JSON.parse(readFileSync(out, "utf8")).version).toBe("cohort/v2");
  });
});

describe("cohort definition sign / verify", () => {
  it("every operator signs in place; verify passes only when all have", async () => {
    const file = path.join(dir, "sign.json");
    expect(runCli(createArgs(file)).status).toBe(0);
    const unsigned = expectBadInput(["definition", "verify", "--definition", file], '"operators[0].config_signature"');
    expect(unsigned).toContain(ids[0]!.peerId);
    for (let i = 0; i < 4; i++) {
      const r = runCli(["definition", "sign", "--data-dir", dataDirs[i]!, "--definition", file]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`signed as operator ${i} (${ids[i]!.peerId})`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
    const v = runCli(["definition", "verify", "--definition", file]);
    expect(v.status).toBe(0);
    expect(v.stdout).toContain("definition ok");
  });

  it("refuses a non-operator identity, naming it, and leaves the file unchanged", () => {
    const file = path.join(dir, "sign-outsider.json");
    expect(runCli(createArgs(file)).status).toBe(0);
    const before = readFileSync(file, "utf8");
    const line = expectBadInput(
      ["definition", "sign", "--data-dir", dataDirs[4]!, "--definition", file],
      ids[4]!.peerId,
    );
    expect(line).toContain("not an operator");
    expect(readFileSync(file, "utf8")).toBe(before);
  });

  it("refuses a definition whose hash does not match its contents", () => {
    const file = path.join(dir, "sign-tampered.json");
    expect(runCli(createArgs(file)).status).toBe(0);
    const json = JSON.parse(readFileSync(file, "utf8"));
    json.name = "tampered";
    const text = `${JSON.stringify(json, null, 2)}\n`;
    writeFileSync(file, text);
    expectBadInput(["definition", "sign", "--data-dir", dataDirs[0]!, "--definition", file], '"config_hash"');
    expect(readFileSync(file, "utf8")).toBe(text);
    expectBadInput(["definition", "verify", "--definition", file], '"config_hash"');
  });

  it("names an unreadable definition file or a missing identity", () => {
    const missing = path.join(dir, "missing.json");
    expectBadInput(["definition", "sign", "--data-dir", dataDirs[0]!, "--definition", missing], missing, missing);
    const file = path.join(dir, "sign-noid.json");
    expect(runCli(createArgs(file)).status).toBe(0);
    expectBadInput(
      ["definition", "sign", "--data-dir", path.join(dir, "nobody"), "--definition", file],
      /identity\.key/,
    );
    const garbage = path.join(dir, "garbage.json");
    writeFileSync(garbage, "{");
    expectBadInput(["definition", "verify", "--definition", garbage], garbage);
  });

  it("has --help for every command", () => {
    for (const cmd of [["definition"], ["definition", "create"], ["definition", "sign"], ["definition", "verify"]]) {
      const r = runCli([...cmd, "--help"]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`Usage: cohort ${cmd.join(" ")}`);
    }
  });
});
