// Vectors: ../shared/vectors/deposit/ssz_unit.json (staking-deposit-cli tests/test_utils/test_ssz.py).
import { DOMAIN_BEACON_ATTESTER, DOMAIN_DEPOSIT } from "@lodestar/params";
import { ssz } from "@lodestar/types";
import { describe, expect, it } from "vitest";
import {
  computeDomain,
  computeForkDataRoot,
  computeSigningRoot,
  depositDomain,
  signingRootOf,
} from "../../src/eth2/domain.js";
import { fromHex, toHex } from "../../src/lib/bytes.js";
import { readVectorJson } from "../helpers/vectors.js";

const unit = readVectorJson<{
  compute_deposit_domain: { fork_version: string; domain: string };
  compute_deposit_fork_data_root: { current_version: string; root: string };
  compute_signing_root: {
    deposit_message: { pubkey: string; withdrawal_credentials: string; amount: number };
    domain: string;
    signing_root: string;
  };
}>("deposit/ssz_unit.json");

describe("domain helpers (ssz_unit.json)", () => {
  it("compute_deposit_fork_data_root", () => {
    const v = unit.compute_deposit_fork_data_root;
    expect(toHex(computeForkDataRoot(fromHex(v.current_version), new Uint8Array(32)))).toBe(v.root);
  });

  it("compute_deposit_domain", () => {
    const v = unit.compute_deposit_domain;
    expect(toHex(depositDomain(fromHex(v.fork_version)))).toBe(v.domain);
  });

  it("compute_signing_root of a DepositMessage", () => {
    const v = unit.compute_signing_root;
    const msg = {
      pubkey: fromHex(v.deposit_message.pubkey),
      withdrawalCredentials: fromHex(v.deposit_message.withdrawal_credentials),
      amount: v.deposit_message.amount,
    };
    expect(toHex(computeSigningRoot(ssz.phase0.DepositMessage, msg, fromHex(v.domain)))).toBe(v.signing_root);
    expect(toHex(signingRootOf(ssz.phase0.DepositMessage.hashTreeRoot(msg), fromHex(v.domain)))).toBe(v.signing_root);
  });

  it("a different domain type or fork version changes the domain", () => {
    const fv = fromHex("0x12121212");
    const zero = new Uint8Array(32);
    const d = computeDomain(DOMAIN_DEPOSIT, fv, zero);
    expect(toHex(computeDomain(DOMAIN_BEACON_ATTESTER, fv, zero))).not.toBe(toHex(d));
    expect(toHex(computeDomain(DOMAIN_DEPOSIT, fromHex("0x12121213"), zero))).not.toBe(toHex(d));
    expect(toHex(d.subarray(0, 4))).toBe("0x03000000");
  });

  it("rejects wrong lengths with RangeError naming the field", () => {
    expect(() => computeForkDataRoot(new Uint8Array(3), new Uint8Array(32))).toThrow(/"fork_version" must be 4 bytes/);
    expect(() => computeForkDataRoot(new Uint8Array(4), new Uint8Array(31))).toThrow(RangeError);
    expect(() => computeDomain(new Uint8Array(5), new Uint8Array(4), new Uint8Array(32))).toThrow(/domain_type/);
    expect(() => signingRootOf(new Uint8Array(32), new Uint8Array(8))).toThrow(/"domain"/);
  });
});
