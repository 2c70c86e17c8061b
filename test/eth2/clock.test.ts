import { describe, expect, it } from "vitest";
import { networkFromFlags } from "../../src/app/options.js";
import { genesisTimeOf, PRESET_GENESIS_TIME, slotClock } from "../../src/eth2/clock.js";
import { toHex } from "../../src/lib/bytes.js";
import { InputError } from "../../src/lib/errors.js";

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as InputError).type.field;
  }
  throw new Error("expected an InputError");
}

describe("genesisTimeOf", () => {
  it("takes the definition's genesis time, else the preset's, else the flag", () => {
    expect(genesisTimeOf({ name: "kurtosis", genesisTime: 1_764_547_200 })).toBe(1_764_547_200);
    expect(genesisTimeOf({ name: "hoodi" })).toBe(PRESET_GENESIS_TIME.hoodi);
    expect(genesisTimeOf({ name: "hoodi" }, PRESET_GENESIS_TIME.hoodi)).toBe(PRESET_GENESIS_TIME.hoodi);
    expect(genesisTimeOf({ name: "kurtosis" }, 1_700_000_000)).toBe(1_700_000_000);
  });

  it("refuses a flag that contradicts the definition or preset, and a custom network with none", () => {
    expect(fieldOf(() => genesisTimeOf({ name: "kurtosis", genesisTime: 5 }, 6))).toBe("genesis-time");
    expect(fieldOf(() => genesisTimeOf({ name: "mainnet" }, 6))).toBe("genesis-time");
    expect(fieldOf(() => genesisTimeOf({ name: "kurtosis" }))).toBe("genesis-time");
  });

  it("a genesis now gives slot 0, and slot 1 one slot later", () => {
    const t0 = 1_764_547_200;
    let now = t0 * 1000;
    const clock = slotClock(genesisTimeOf({ name: "devnet", genesisTime: t0 }), () => now);
    expect(clock.currentSlot()).toBe(0);
    now += 12_000;
    expect(clock.currentSlot()).toBe(1);
  });
});

describe("networkFromFlags", () => {
  const custom = {
    network: "local",
    genesisForkVersion: "0x10000038",
    genesisTime: "1764547200",
    capellaForkVersion: "0x40000038",
  };

  it("a preset by name; a custom network with its genesis time and Capella fork", () => {
    expect(networkFromFlags({ network: "hoodi" }).genesisTime).toBe(PRESET_GENESIS_TIME.hoodi);
    const net = networkFromFlags(custom);
    expect(net).toMatchObject({ name: "local", genesisTime: 1_764_547_200, capellaForkEpoch: 0 });
    expect(toHex(net.capellaForkVersion!)).toBe("0x40000038");
    expect(networkFromFlags({ ...custom, capellaForkEpoch: "7" }).capellaForkEpoch).toBe(7);
    expect(networkFromFlags({ ...custom, genesisTime: "now" }, () => 1_800_000_000_999).genesisTime).toBe(
      1_800_000_000,
    );
  });

  it("names the flag that is missing, malformed or misplaced", () => {
    expect(fieldOf(() => networkFromFlags({}))).toBe("network");
    expect(fieldOf(() => networkFromFlags({ network: "goerli" }))).toBe("network");
    expect(fieldOf(() => networkFromFlags({ network: "hoodi", genesisTime: "1" }))).toBe("genesis-time");
    expect(fieldOf(() => networkFromFlags({ network: "hoodi", capellaForkEpoch: "1" }))).toBe("capella-fork-epoch");
    expect(fieldOf(() => networkFromFlags({ ...custom, genesisTime: undefined }))).toBe("genesis-time");
    expect(fieldOf(() => networkFromFlags({ ...custom, genesisTime: "-5" }))).toBe("genesis-time");
    expect(fieldOf(() => networkFromFlags({ ...custom, capellaForkVersion: undefined }))).toBe("capella-fork-version");
    expect(fieldOf(() => networkFromFlags({ ...custom, capellaForkVersion: "0x40" }))).toBe("capella-fork-version");
    expect(fieldOf(() => networkFromFlags({ ...custom, capellaForkEpoch: "x" }))).toBe("capella-fork-epoch");
    expect(fieldOf(() => networkFromFlags({ ...custom, network: "mainnet" }))).toBe("network");
  });
});
