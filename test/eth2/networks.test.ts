// Vectors: ../shared/vectors/deposit/networks.json (consensus-specs configs, eth-clients network configs).
import { DOMAIN_DEPOSIT } from "@lodestar/params";
import { describe, expect, it } from "vitest";
import { computeDomain, depositDomain } from "../../src/eth2/domain.js";
import { customNetwork, PRESET_NETWORK_NAMES, resolveNetwork } from "../../src/eth2/networks.js";
import { fromHex, toHex } from "../../src/lib/bytes.js";
import { InputError } from "../../src/lib/errors.js";
import { readVectorJson } from "../helpers/vectors.js";

interface NetworkVector {
  genesis_fork_version: string;
  genesis_validators_root: string;
  capella_fork_version: string;
  chain_id: number;
  deposit_domain: string;
}
const vectors = readVectorJson<{ networks: Record<string, NetworkVector>; domain_types: Record<string, string> }>(
  "deposit/networks.json",
);

describe("network presets (networks.json)", () => {
  it("covers exactly the four presets", () => {
    expect([...PRESET_NETWORK_NAMES].sort()).toEqual(Object.keys(vectors.networks).sort());
  });

  for (const name of PRESET_NETWORK_NAMES) {
    it(`${name}: constants and deposit domain match`, () => {
      const v = vectors.networks[name]!;
      const net = resolveNetwork(name);
      expect(net.name).toBe(name);
      expect(toHex(net.genesisForkVersion)).toBe(v.genesis_fork_version);
      expect(toHex(net.genesisValidatorsRoot)).toBe(v.genesis_validators_root);
      expect(toHex(net.capellaForkVersion!)).toBe(v.capella_fork_version);
      expect(net.chainId).toBe(v.chain_id);
      expect(toHex(depositDomain(net.genesisForkVersion))).toBe(v.deposit_domain);
      // same through the generic helper with a zero genesis validators root
      expect(toHex(computeDomain(DOMAIN_DEPOSIT, net.genesisForkVersion, new Uint8Array(32)))).toBe(v.deposit_domain);
    });
  }

  it("the deposit domain is NOT computed with the network's genesis validators root", () => {
    const net = resolveNetwork("mainnet");
    const wrong = computeDomain(DOMAIN_DEPOSIT, net.genesisForkVersion, net.genesisValidatorsRoot);
    expect(toHex(wrong)).not.toBe(vectors.networks.mainnet!.deposit_domain);
  });

  it("DOMAIN_DEPOSIT from @lodestar/params matches domain_types", () => {
    expect(toHex(DOMAIN_DEPOSIT)).toBe(vectors.domain_types.DEPOSIT);
  });
});

describe("resolveNetwork / customNetwork", () => {
  it("rejects an unknown name with InputError naming network", () => {
    expect(() => resolveNetwork("goerli")).toThrow(InputError);
    try {
      resolveNetwork("goerli");
    } catch (err) {
      expect((err as InputError).type.field).toBe("network");
      expect((err as Error).message).toContain("goerli");
    }
  });

  it("builds a custom network from its genesis fork version", () => {
    const net = customNetwork({ genesisForkVersion: "0x12121212" });
    expect(net.name).toBe("custom");
    expect(net.genesisForkVersion).toEqual(fromHex("0x12121212"));
    expect(net.genesisValidatorsRoot).toEqual(new Uint8Array(32));
    expect(net.capellaForkVersion).toBeUndefined();
    const named = customNetwork({
      name: "kurtosis",
      genesisForkVersion: "0x10000038",
      genesisValidatorsRoot: `0x${"ab".repeat(32)}`,
    });
    expect(named.name).toBe("kurtosis");
    expect(named.genesisValidatorsRoot[0]).toBe(0xab);
  });

  it("rejects malformed custom fork versions and preset names", () => {
    expect(() => customNetwork({ genesisForkVersion: "0x1212" })).toThrow(/genesis-fork-version/);
    expect(() => customNetwork({ genesisForkVersion: "12121212" })).toThrow(/genesis-fork-version/);
    expect(() => customNetwork({ genesisForkVersion: "0x12121212", genesisValidatorsRoot: "0x00" })).toThrow(
      /genesis-validators-root/,
    );
    expect(() => customNetwork({ name: "mainnet", genesisForkVersion: "0x12121212" })).toThrow(InputError);
    expect(() => customNetwork({ name: "has space", genesisForkVersion: "0x12121212" })).toThrow(/network/);
  });
});
