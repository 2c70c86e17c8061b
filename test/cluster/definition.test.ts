import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type ClusterDefinition,
  computeConfigHash,
  computeDefinitionHash,
  createDefinition,
  defaultThreshold,
  definitionNetwork,
  definitionToJson,
  definitionWarnings,
  parseDefinition,
  parseOperatorSpec,
  readDefinitionFile,
  serializeDefinition,
  signDefinition,
  verifyDefinition,
  verifyDefinitionHashes,
} from "../../src/cluster/definition.js";
import { customNetwork, resolveNetwork } from "../../src/eth2/networks.js";
import { toHex } from "../../src/lib/bytes.js";
import { InputError } from "../../src/lib/errors.js";
import type { Identity } from "../../src/p2p/identity.js";
import { REPO_ROOT } from "../helpers/vectors.js";
import { ADDRESS, ADDRESS2, defOpts, makeIdentities, signedDefinition } from "./fixtures.js";

/** Runs `fn`, expecting an InputError whose field is `field`; returns its message. */
function inputError(fn: () => unknown, field: string): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).type.field).toBe(field);
    return (err as Error).message;
  }
  throw new Error(`expected InputError for ${field}`);
}

async function inputErrorAsync(fn: () => Promise<unknown>, field: string): Promise<string> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).type.field).toBe(field);
    return (err as Error).message;
  }
  throw new Error(`expected InputError for ${field}`);
}

let ids: Identity[];
beforeAll(async () => {
  ids = await makeIdentities(5);
});

const four = () => ids.slice(0, 4);

describe("createDefinition", () => {
  it("fills defaults: ⌈2n/3⌉ threshold, 32 ETH, 0x01, fee recipient = withdrawal address", () => {
    const { definition: def, warnings } = createDefinition(defOpts(four()));
    expect(warnings).toEqual([]);
    expect(def.version).toBe("cohort/v2");
    expect(def.network.genesisTime).toBe(1742213400);
    expect(toHex(def.network.capellaForkVersion!)).toBe("0x40000910");
    expect(def.network.capellaForkEpoch).toBe(0);
    expect(def.threshold).toBe(3);
    expect(def.depositAmounts).toEqual([32_000_000_000n]);
    expect(def.compounding).toBe(false);
    expect(def.validators).toHaveLength(2);
    expect(def.validators[1]!.feeRecipient).toEqual(def.validators[1]!.withdrawalAddress);
    expect(def.operators.every((o) => o.configSignature.length === 0)).toBe(true);
    expect(def.configHash).toEqual(computeConfigHash(def));
    expect(def.definitionHash).toEqual(computeDefinitionHash(def));
    expect(def.uuid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("defaultThreshold", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 10].map(defaultThreshold)).toEqual([1, 2, 2, 3, 4, 4, 5, 7]);
  });

  it("threshold rule 1 ≤ t ≤ n and 2t > n", () => {
    expect(createDefinition(defOpts(four(), { threshold: 4 })).definition.threshold).toBe(4);
    for (const t of [0, 2, 5, 1.5]) {
      expect(inputError(() => createDefinition(defOpts(four(), { threshold: t })), "threshold")).toMatch(/2t > n/);
    }
  });

  it("n < 3 is an error unless allowSmall, then a warning", () => {
    expect(inputError(() => createDefinition(defOpts(ids.slice(0, 2))), "operators")).toMatch(/at least 3/);
    const { definition, warnings } = createDefinition(defOpts(ids.slice(0, 2), { allowSmall: true }));
    expect(definition.threshold).toBe(2);
    expect(warnings).toHaveLength(1);
    expect(definitionWarnings(definition)).toEqual(warnings);
    expect(createDefinition(defOpts(ids.slice(0, 1), { allowSmall: true })).definition.threshold).toBe(1);
  });

  it("rejects duplicate and malformed operators", () => {
    const dup = [ids[0]!.peerId, ids[1]!.peerId, ids[0]!.peerId];
    expect(inputError(() => createDefinition({ ...defOpts(four()), operators: dup }), "operators[2]")).toMatch(
      /repeats/,
    );
    const bad = [ids[0]!.peerId, "not-a-peer-id", ids[2]!.peerId];
    expect(inputError(() => createDefinition({ ...defOpts(four()), operators: bad }), "operators[1]")).toMatch(
      /peer ID/,
    );
  });

  it("parses peerId@multiaddr hints and validates them", () => {
    const p = ids[0]!.peerId;
    expect(parseOperatorSpec(`${p}@/ip4/127.0.0.1/tcp/3610`, "operators[0]")).toEqual({
      peerId: p,
      addresses: ["/ip4/127.0.0.1/tcp/3610"],
    });
    expect(parseOperatorSpec(`${p}@/dns4/node.example/tcp/3610/p2p/${p}`, "operators[0]").addresses).toHaveLength(1);
    inputError(() => parseOperatorSpec(`${p}@/ip4/999.1.1.1/tcp/1`, "operators[0]"), "operators[0].addresses[0]");
    inputError(() => parseOperatorSpec(`${p}@not a multiaddr`, "operators[3]"), "operators[3].addresses[0]");
    expect(
      inputError(
        () => parseOperatorSpec(`${p}@/ip4/1.2.3.4/tcp/1/p2p/${ids[1]!.peerId}`, "operators[0]"),
        "operators[0].addresses[0]",
      ),
    ).toMatch(/names peer/);
    const def = createDefinition({
      ...defOpts(four()),
      operators: four().map((id, i) => `${id.peerId}@/ip4/10.0.0.${i + 1}/tcp/3610`),
    }).definition;
    expect(def.operators[2]!.addresses).toEqual(["/ip4/10.0.0.3/tcp/3610"]);
    // hints are agreed content: they change config_hash
    expect(def.configHash).not.toEqual(createDefinition(defOpts(four())).definition.configHash);
  });

  it("withdrawal address: one, or one per validator; checksum enforced", () => {
    const per = createDefinition(defOpts(four(), { withdrawalAddresses: [ADDRESS, ADDRESS2] })).definition;
    expect(toHex(per.validators[1]!.withdrawalAddress)).toBe(ADDRESS2.toLowerCase());
    inputError(
      () => createDefinition(defOpts(four(), { withdrawalAddresses: [ADDRESS, ADDRESS2, ADDRESS] })),
      "withdrawal-address",
    );
    const badSum = `${ADDRESS.slice(0, -1)}D`;
    expect(
      inputError(() => createDefinition(defOpts(four(), { withdrawalAddresses: [badSum] })), "withdrawal-address"),
    ).toMatch(/checksum/);
    inputError(() => createDefinition(defOpts(four(), { feeRecipients: [badSum] })), "fee-recipient");
    inputError(
      () => createDefinition(defOpts(four(), { withdrawalAddresses: [`0x${"00".repeat(20)}`] })),
      "withdrawal-address",
    );
    const fee = createDefinition(defOpts(four(), { feeRecipients: [ADDRESS2] })).definition;
    expect(toHex(fee.validators[0]!.feeRecipient)).toBe(ADDRESS2.toLowerCase());
  });

  it("deposit amounts: 1-32 ETH each (2048 compounding), distinct, summing to ≥ 32", () => {
    const e = (eth: number) => BigInt(eth) * 1_000_000_000n;
    expect(createDefinition(defOpts(four(), { depositAmountsGwei: [e(1), e(31)] })).definition.depositAmounts).toEqual([
      e(1),
      e(31),
    ]);
    expect(
      createDefinition(defOpts(four(), { depositAmountsGwei: [e(2048)], compounding: true })).definition.compounding,
    ).toBe(true);
    for (const bad of [[e(33)], [e(16)], [500_000_000n, e(32)], [e(16), e(16)], [], [e(2049)]]) {
      inputError(() => createDefinition(defOpts(four(), { depositAmountsGwei: bad })), "deposit-amounts");
    }
    inputError(
      () => createDefinition(defOpts(four(), { depositAmountsGwei: [e(2049)], compounding: true })),
      "deposit-amounts",
    );
  });

  it("uuid and timestamp, when given, are checked", () => {
    inputError(() => createDefinition(defOpts(four(), { uuid: "ABC" })), "uuid");
    inputError(() => createDefinition(defOpts(four(), { timestamp: "noon" })), "timestamp");
  });

  it("validator count and name are checked", () => {
    inputError(() => createDefinition(defOpts(four(), { numValidators: 0 })), "validators");
    inputError(() => createDefinition(defOpts(four(), { name: "  " })), "name");
  });

  it("every agreed field changes config_hash; the uuid and compounding too", () => {
    const base = createDefinition(defOpts(four())).definition.configHash;
    const variants: Partial<Parameters<typeof defOpts>[1]>[] = [
      { name: "other" },
      { uuid: "0b7a3b51-7a2c-4c57-9d1a-2f4b5e6c7d8f" },
      { timestamp: "2025-06-01T12:00:01.000Z" },
      { threshold: 4 },
      { numValidators: 3 },
      { network: resolveNetwork("sepolia") },
      { network: custom() },
      { network: custom({ genesisTime: 1_700_000_001 }) },
      { network: custom({ capellaForkVersion: "0x40000039" }) },
      { network: custom({ capellaForkEpoch: 5 }) },
      { withdrawalAddresses: [ADDRESS2] },
      { feeRecipients: [ADDRESS2] },
      { depositAmountsGwei: [31_000_000_000n, 1_000_000_000n] },
      { compounding: true },
      { operators: [ids[1]!.peerId, ids[0]!.peerId, ids[2]!.peerId, ids[3]!.peerId] },
    ];
    const hashes = variants.map((v) => toHex(createDefinition(defOpts(four(), v)).definition.configHash));
    expect(new Set([toHex(base), ...hashes]).size).toBe(variants.length + 1);
  });
});

/** A custom network with every field a `cohort/v2` definition needs; `over` changes one. */
function custom(over: Partial<Parameters<typeof customNetwork>[0]> = {}) {
  return customNetwork({
    genesisForkVersion: "0x10000910",
    genesisTime: 1_700_000_000,
    capellaForkVersion: "0x40000038",
    ...over,
  });
}

describe("sign and verify", () => {
  it("each operator's signature changes definition_hash, never config_hash; verify passes once all signed", async () => {
    const created = createDefinition(defOpts(four())).definition;
    await expect(verifyDefinition(created)).rejects.toThrow(/operator 0 .* has not signed/);
    let def = created;
    const seen = new Set([toHex(def.definitionHash)]);
    for (const id of four()) {
      def = await signDefinition(def, id);
      expect(def.configHash).toEqual(created.configHash);
      seen.add(toHex(def.definitionHash));
      verifyDefinitionHashes(def);
    }
    expect(seen.size).toBe(5);
    await verifyDefinition(def);
    // the input is not modified
    expect(created.operators[0]!.configSignature).toHaveLength(0);
  });

  it("refuses to sign for an identity that is not an operator", async () => {
    const def = createDefinition(defOpts(four())).definition;
    const msg = await inputErrorAsync(() => signDefinition(def, ids[4]!), "data-dir");
    expect(msg).toContain(ids[4]!.peerId);
  });

  it("names the operator whose signature is missing or wrong", async () => {
    const def = await signedDefinition(four());
    const missing = structuredClone(def);
    missing.operators[2]!.configSignature = new Uint8Array(0);
    missing.definitionHash = computeDefinitionHash(missing);
    expect(await inputErrorAsync(() => verifyDefinition(missing), "operators[2].config_signature")).toContain(
      def.operators[2]!.peerId,
    );
    const swapped = structuredClone(def);
    swapped.operators[1]!.configSignature = def.operators[3]!.configSignature;
    swapped.definitionHash = computeDefinitionHash(swapped);
    expect(await inputErrorAsync(() => verifyDefinition(swapped), "operators[1].config_signature")).toMatch(
      /does not verify/,
    );
  });

  it("names the hash that does not match the contents", async () => {
    const def = await signedDefinition(four());
    const renamed: ClusterDefinition = { ...def, name: "renamed" };
    await inputErrorAsync(() => verifyDefinition(renamed), "config_hash");
    const resigned: ClusterDefinition = { ...def, definitionHash: def.configHash };
    await inputErrorAsync(() => verifyDefinition(resigned), "definition_hash");
    // signing a definition whose hashes do not match is refused too
    await inputErrorAsync(() => signDefinition(renamed, ids[0]!), "config_hash");
  });
});

describe("JSON codec", () => {
  let def: ClusterDefinition;
  beforeAll(async () => {
    def = await signedDefinition(four(), {
      withdrawalAddresses: [ADDRESS, ADDRESS2],
      depositAmountsGwei: [1_000_000_000n, 31_000_000_000n],
    });
  });

  it("round-trips byte-identically with a fixed key order", () => {
    const text = serializeDefinition(def);
    const back = parseDefinition(JSON.parse(text));
    expect(serializeDefinition(back)).toBe(text);
    expect(back).toEqual(def);
    const json = JSON.parse(text);
    expect(Object.keys(json)).toEqual([
      "version",
      "uuid",
      "name",
      "timestamp",
      "network",
      "threshold",
      "num_validators",
      "operators",
      "validators",
      "deposit_amounts",
      "compounding",
      "config_hash",
      "definition_hash",
    ]);
    expect(json.deposit_amounts).toEqual(["1000000000", "31000000000"]);
    expect(json.validators[0].withdrawal_address).toBe(ADDRESS);
    expect(json.network).toEqual({
      name: "hoodi",
      genesis_fork_version: "0x10000910",
      genesis_validators_root: "0x212f13fc4df078b6cb7db228f1c8307566dcecf900867401a92023d7ba99cb5f",
      genesis_time: "1742213400",
      capella_fork_version: "0x40000910",
      capella_fork_epoch: "0",
    });
  });

  it("accepts lower-case addresses (same hashes)", () => {
    const json = definitionToJson(def);
    json.validators[0]!.withdrawal_address = ADDRESS.toLowerCase();
    expect(computeConfigHash(parseDefinition(json))).toEqual(def.configHash);
  });

  const cases: [string, (j: ReturnType<typeof definitionToJson>) => void][] = [
    ["version", (j) => ((j as { version: string }).version = "cohort/v4")],
    // v3's lifecycle fields: required in v3, refused before it
    ["operation", (j) => ((j as { version: string }).version = "cohort/v3")],
    ["previous_lock_hash", (j) => ((j as { previous_lock_hash?: string }).previous_lock_hash = `0x${"11".repeat(32)}`)],
    // a v2 network without v2's fields, and a v1 network with them
    ["network.genesis_time", (j) => delete (j.network as Partial<typeof j.network>).genesis_time],
    ["network", (j) => ((j as { version: string }).version = "cohort/v1")],
    ["network.genesis_time", (j) => (j.network.genesis_time = "1742213401")],
    ["network.genesis_time", (j) => (j.network.genesis_time = "-1")],
    ["network.capella_fork_version", (j) => (j.network.capella_fork_version = "0x40000911")],
    ["network.capella_fork_epoch", (j) => (j.network.capella_fork_epoch = "1")],
    ["threshold", (j) => delete (j as Partial<typeof j>).threshold],
    ["threshold", (j) => ((j as { threshold: unknown }).threshold = "3")],
    ["threshold", (j) => (j.threshold = 2)],
    ["operators[1].peer_id", (j) => (j.operators[1]!.peer_id = "QmNotAPeer")],
    ["operators[0].addresses[0]", (j) => (j.operators[0]!.addresses = ["/ip4/1.2.3"])],
    ["operators[3].config_signature", (j) => (j.operators[3]!.config_signature = "0xzz")],
    ["validators[1].withdrawal_address", (j) => (j.validators[1]!.withdrawal_address = ADDRESS2.replace("fB", "fb"))],
    ["validators[0].fee_recipient", (j) => (j.validators[0]!.fee_recipient = "0x1234")],
    ["validators", (j) => j.validators.pop()],
    ["deposit_amounts[0]", (j) => (j.deposit_amounts[0] = "1.5")],
    ["deposit_amounts", (j) => (j.deposit_amounts = ["33000000000"])],
    ["config_hash", (j) => (j.config_hash = "0x1234")],
    ["network.genesis_fork_version", (j) => (j.network.genesis_fork_version = "0x00000000")],
    ["network.genesis_validators_root", (j) => (j.network.genesis_validators_root = `0x${"00".repeat(32)}`)],
    ["uuid", (j) => (j.uuid = "not-a-uuid")],
    ["timestamp", (j) => (j.timestamp = "yesterday")],
    ["(root)", (j) => ((j as Record<string, unknown>).extra = 1)],
    // hashes cover the strings as written: a non-canonical multiaddr would re-encode on output
    ["operators[2].addresses[0]", (j) => (j.operators[2]!.addresses = ["/ip4/127.0.0.1/tcp/3610/"])],
  ];
  for (const [field, mutate] of cases) {
    it(`parse error names ${field}`, () => {
      const json = structuredClone(definitionToJson(def));
      mutate(json);
      const msg = inputError(() => parseDefinition(json), field);
      if (field !== "(root)") expect(msg).toContain(`"${field}"`);
    });
  }

  it("a custom network keeps its name, fork versions and genesis time", () => {
    const def = createDefinition(
      defOpts(four(), { network: custom({ name: "kurtosis", genesisForkVersion: "0x10000038", capellaForkEpoch: 3 }) }),
    ).definition;
    const back = parseDefinition(JSON.parse(serializeDefinition(def)));
    expect(back.network.name).toBe("kurtosis");
    expect(toHex(back.network.genesisForkVersion)).toBe("0x10000038");
    expect(back.network.genesisTime).toBe(1_700_000_000);
    expect(toHex(back.network.capellaForkVersion!)).toBe("0x40000038");
    expect(back.network.capellaForkEpoch).toBe(3);
    expect(definitionNetwork(back)).toMatchObject({ genesisTime: 1_700_000_000, capellaForkEpoch: 3 });
  });

  it("a custom network without its genesis time or Capella fork cannot make a definition", () => {
    expect(
      inputError(
        () => createDefinition(defOpts(four(), { network: custom({ genesisTime: undefined }) })),
        "genesis-time",
      ),
    ).toMatch(/--genesis-time/);
    expect(
      inputError(
        () => createDefinition(defOpts(four(), { network: custom({ capellaForkVersion: undefined }) })),
        "capella-fork-version",
      ),
    ).toMatch(/--capella-fork-version/);
  });

  it("a cohort/v1 definition still parses and hashes with v1's containers; the network falls back to the preset", async () => {
    const file = path.join(REPO_ROOT, "cluster-configs", "v1", "hoodi-devnet-4", "cluster-definition.json");
    const v1 = await readDefinitionFile(file);
    expect(v1.version).toBe("cohort/v1");
    expect(v1.network.genesisTime).toBeUndefined();
    verifyDefinitionHashes(v1);
    expect(definitionNetwork(v1)).toMatchObject({ name: "hoodi", genesisTime: 1742213400, capellaForkEpoch: 0 });
    // the same contents as v2 hash differently: the version is hashed, and v2's network has more fields
    const asV2 = { ...v1, version: "cohort/v2" as const, network: definitionNetwork(v1) };
    expect(toHex(computeConfigHash(asV2))).not.toBe(toHex(v1.configHash));
  });

  it("readDefinitionFile names the file when unreadable or not JSON", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "cohort-def-"));
    const missing = path.join(dir, "nope.json");
    expect(await inputErrorAsync(() => readDefinitionFile(missing), "definition")).toContain(missing);
    const garbage = path.join(dir, "garbage.json");
    writeFileSync(garbage, "{not json");
    expect(await inputErrorAsync(() => readDefinitionFile(garbage), "definition")).toContain(garbage);
    const good = path.join(dir, "good.json");
    writeFileSync(good, serializeDefinition(def));
    expect((await readDefinitionFile(good)).definitionHash).toEqual(def.definitionHash);
  });
});
