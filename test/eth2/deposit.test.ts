// Vectors: ../shared/vectors/deposit/ssz_unit.json; EIP-55 examples from https://eips.ethereum.org/EIPS/eip-55.
import { ssz } from "@lodestar/types";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { describe, expect, it } from "vitest";
import { SecretKey } from "../../src/crypto/bls.js";
import {
  buildDepositDatum,
  DEPOSIT_CLI_VERSION,
  depositDataFileName,
  depositDataRoot,
  depositMessageRoot,
  depositSigningRoot,
  formatGweiAsEth,
  parseEthAmount,
  parseExecutionAddress,
  serializeDepositCliFile,
  toChecksumAddress,
  toDepositCliEntry,
  verifyDepositDatum,
  withdrawalCredentials,
} from "../../src/eth2/deposit.js";
import { depositDomain, signingRootOf } from "../../src/eth2/domain.js";
import { resolveNetwork } from "../../src/eth2/networks.js";
import { fromHex, toHex } from "../../src/lib/bytes.js";
import { InputError } from "../../src/lib/errors.js";
import type { BlsPublicKey } from "../../src/lib/types.js";
import { readVectorJson } from "../helpers/vectors.js";

const unit = readVectorJson<{
  compute_signing_root: {
    deposit_message: { pubkey: string; withdrawal_credentials: string; amount: number };
    domain: string;
    signing_root: string;
  };
}>("deposit/ssz_unit.json");

const EIP55 = [
  "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
  "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
  "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
  "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
];

describe("execution addresses (EIP-55)", () => {
  it("checksums the EIP-55 examples", () => {
    for (const a of EIP55) expect(toChecksumAddress(fromHex(a.toLowerCase()))).toBe(a);
  });

  it("accepts a correct checksum, all lower and all upper case", () => {
    for (const a of EIP55) {
      const bytes = parseExecutionAddress(a, "withdrawal-address");
      expect(toHex(bytes)).toBe(a.toLowerCase());
      expect(parseExecutionAddress(a.toLowerCase(), "x")).toEqual(bytes);
      expect(parseExecutionAddress(`0x${a.slice(2).toUpperCase()}`, "x")).toEqual(bytes);
    }
  });

  it("rejects a wrong checksum naming the field", () => {
    const bad = `0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD`; // last letter case flipped
    expect(() => parseExecutionAddress(bad, "withdrawal-address")).toThrow(InputError);
    try {
      parseExecutionAddress(bad, "withdrawal-address");
    } catch (err) {
      expect((err as InputError).type.field).toBe("withdrawal-address");
      expect((err as Error).message).toMatch(/"withdrawal-address".*checksum/);
    }
  });

  it("rejects malformed addresses", () => {
    for (const bad of [
      "",
      "0x",
      "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
      "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA",
      "0xzz".padEnd(42, "0"),
    ]) {
      expect(() => parseExecutionAddress(bad, "fee-recipient")).toThrow(/"fee-recipient"/);
    }
  });
});

describe("withdrawal credentials", () => {
  const addr = fromHex("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
  it("0x01 prefix, 11 zero bytes, address", () => {
    expect(toHex(withdrawalCredentials(addr, false))).toBe(
      `0x01${"00".repeat(11)}5aaeb6053f3e94c9b9a09f33669435e7ef1beaed`,
    );
  });
  it("0x02 with compounding (EIP-7251)", () => {
    expect(toHex(withdrawalCredentials(addr, true))).toBe(
      `0x02${"00".repeat(11)}5aaeb6053f3e94c9b9a09f33669435e7ef1beaed`,
    );
  });
  it("rejects a non-20-byte address", () => {
    expect(() => withdrawalCredentials(new Uint8Array(19), false)).toThrow(RangeError);
  });
});

describe("deposit roots and data", () => {
  it("deposit signing root matches the staking-deposit-cli unit vector", () => {
    const v = unit.compute_signing_root;
    const msg = {
      pubkey: fromHex(v.deposit_message.pubkey) as BlsPublicKey,
      withdrawalCredentials: fromHex(v.deposit_message.withdrawal_credentials),
      amountGwei: BigInt(v.deposit_message.amount),
    };
    expect(toHex(signingRootOf(depositMessageRoot(msg), fromHex(v.domain)))).toBe(v.signing_root);
  });

  it("roots equal the lodestar SSZ roots", () => {
    const pubkey = new Uint8Array(48).fill(0x12) as BlsPublicKey;
    const wc = new Uint8Array(32).fill(0x34);
    const sig = new Uint8Array(96).fill(0x56);
    const msg = { pubkey, withdrawalCredentials: wc, amountGwei: 32_000_000_000n };
    expect(depositMessageRoot(msg)).toEqual(
      ssz.phase0.DepositMessage.hashTreeRoot({ pubkey, withdrawalCredentials: wc, amount: 32_000_000_000 }),
    );
    expect(depositDataRoot(msg, sig)).toEqual(
      ssz.phase0.DepositData.hashTreeRoot({
        pubkey,
        withdrawalCredentials: wc,
        amount: 32_000_000_000,
        signature: sig,
      }),
    );
  });

  it("builds, verifies and exports a deposit in staking-deposit-cli format", () => {
    const net = resolveNetwork("hoodi");
    const sk = SecretKey.fromBytes(fromHex(`0x${"00".repeat(31)}2a`));
    const msg = {
      pubkey: sk.publicKey(),
      withdrawalCredentials: withdrawalCredentials(fromHex("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"), false),
      amountGwei: 32_000_000_000n,
    };
    const root = depositSigningRoot(msg, net.genesisForkVersion);
    expect(root).toEqual(signingRootOf(depositMessageRoot(msg), depositDomain(net.genesisForkVersion)));
    const datum = buildDepositDatum(msg, sk.sign(root));
    expect(verifyDepositDatum(datum, net.genesisForkVersion)).toEqual([]);

    // signed for another network: the signature does not verify here
    expect(verifyDepositDatum(datum, resolveNetwork("mainnet").genesisForkVersion)).toEqual([
      "signature does not verify under pubkey with the deposit domain",
    ]);
    // wrong amount: roots and signature all fail
    expect(verifyDepositDatum({ ...datum, amountGwei: 31_000_000_000n }, net.genesisForkVersion)).toHaveLength(3);
    // tampered root
    const badRoot = { ...datum, depositDataRoot: datum.depositMessageRoot };
    expect(verifyDepositDatum(badRoot, net.genesisForkVersion)).toEqual([
      "deposit_data_root does not match the deposit data",
    ]);
    // malformed signature bytes are a reason, not a crash
    const malformed = { ...datum, signature: new Uint8Array(96).fill(0xff) as typeof datum.signature };
    expect(verifyDepositDatum(malformed, net.genesisForkVersion).join()).toMatch(/malformed|does not match/);

    const entry = toDepositCliEntry(datum, net);
    expect(Object.keys(entry)).toEqual([
      "pubkey",
      "withdrawal_credentials",
      "amount",
      "signature",
      "deposit_message_root",
      "deposit_data_root",
      "fork_version",
      "network_name",
      "deposit_cli_version",
    ]);
    // Launchpad validateDepositKey.ts: hex without 0x, these lengths, amount a number
    expect(entry.pubkey).toMatch(/^[0-9a-f]{96}$/);
    expect(entry.withdrawal_credentials).toMatch(/^[0-9a-f]{64}$/);
    expect(entry.signature).toMatch(/^[0-9a-f]{192}$/);
    expect(entry.deposit_message_root).toMatch(/^[0-9a-f]{64}$/);
    expect(entry.deposit_data_root).toBe(Buffer.from(datum.depositDataRoot).toString("hex"));
    expect(entry.fork_version).toBe("10000910");
    expect(entry.network_name).toBe("hoodi");
    expect(entry.amount).toBe(32_000_000_000);
    expect(entry.deposit_cli_version).toBe(DEPOSIT_CLI_VERSION);
    expect(JSON.parse(serializeDepositCliFile([entry]))).toEqual([entry]);
  });
});

describe("cross-check with noble", () => {
  it("noble verifies a deposit signature over depositSigningRoot under the Ethereum DST", () => {
    const net = resolveNetwork("sepolia");
    const sk = SecretKey.fromBytes(fromHex(`0x${"00".repeat(31)}07`));
    const msg = {
      pubkey: sk.publicKey(),
      withdrawalCredentials: withdrawalCredentials(fromHex("0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb"), true),
      amountGwei: 2_048_000_000_000n,
    };
    const datum = buildDepositDatum(msg, sk.sign(depositSigningRoot(msg, net.genesisForkVersion)));
    const noble = bls12_381.longSignatures;
    const H = noble.hash(
      depositSigningRoot(msg, net.genesisForkVersion),
      "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_",
    );
    expect(noble.verify(noble.Signature.fromBytes(datum.signature), H, datum.pubkey)).toBe(true);
    const wrong = noble.hash(
      depositSigningRoot(msg, resolveNetwork("holesky").genesisForkVersion),
      "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_",
    );
    expect(noble.verify(noble.Signature.fromBytes(datum.signature), wrong, datum.pubkey)).toBe(false);
  });
});

describe("ETH amounts", () => {
  it("parses and formats", () => {
    expect(parseEthAmount("32", "deposit-amounts")).toBe(32_000_000_000n);
    expect(parseEthAmount("1.5", "deposit-amounts")).toBe(1_500_000_000n);
    expect(parseEthAmount("0.000000001", "deposit-amounts")).toBe(1n);
    expect(formatGweiAsEth(32_000_000_000n)).toBe("32");
    expect(formatGweiAsEth(1_500_000_000n)).toBe("1.5");
    expect(formatGweiAsEth(1n)).toBe("0.000000001");
    expect(depositDataFileName(32_000_000_000n)).toBe("deposit-data-32eth.json");
  });
  it("rejects malformed amounts naming the field", () => {
    for (const bad of ["", "-1", "1e9", "0x20", "1.0000000001", "abc"]) {
      expect(() => parseEthAmount(bad, "deposit-amounts")).toThrow(/"deposit-amounts"/);
    }
  });
});
