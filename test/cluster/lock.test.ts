import { beforeAll, describe, expect, it } from "vitest";
import type { ClusterDefinition } from "../../src/cluster/definition.js";
import {
  aggregateLockSignatures,
  type ClusterLock,
  computeLockHash,
  depositDataFiles,
  lockToJson,
  parseLock,
  serializeLock,
  verifyLock,
} from "../../src/cluster/lock.js";
import { SecretKey } from "../../src/crypto/bls.js";
import { buildDepositDatum, depositSigningRoot } from "../../src/eth2/deposit.js";
import { toHex } from "../../src/lib/bytes.js";
import { InputError } from "../../src/lib/errors.js";
import type { BlsPublicKey, BlsSignature } from "../../src/lib/types.js";
import type { Identity } from "../../src/p2p/identity.js";
import { nonSubgroupG1 } from "../helpers/points.js";
import { buildTestLock, makeIdentities, signedDefinition } from "./fixtures.js";

let ids: Identity[];
let def: ClusterDefinition;
let lock: ClusterLock;

beforeAll(async () => {
  ids = await makeIdentities(4);
  def = await signedDefinition(ids, { numValidators: 2, depositAmountsGwei: [1_000_000_000n, 31_000_000_000n] });
  ({ lock } = await buildTestLock(def, ids));
});

/** A deep copy of the lock that tests can tamper with. */
function copy(l: ClusterLock = lock): ClusterLock {
  return parseLock(JSON.parse(serializeLock(l)));
}

describe("verifyLock: positive", () => {
  it("a dealer-built lock verifies", async () => {
    expect(await verifyLock(lock)).toEqual({ ok: true, errors: [] });
  });

  it("verifies with n = 7, t = 5 and one validator", async () => {
    const seven = await makeIdentities(7);
    const d = await signedDefinition(seven, { numValidators: 1 });
    expect(d.threshold).toBe(5);
    const { lock: l } = await buildTestLock(d, seven);
    expect(await verifyLock(l)).toEqual({ ok: true, errors: [] });
  });

  it("serializes byte-identically and round-trips", () => {
    const text = serializeLock(lock);
    expect(serializeLock(copy())).toBe(text);
    expect(Object.keys(JSON.parse(text))).toEqual([
      "definition",
      "distributed_validators",
      "lock_hash",
      "signature_aggregate",
      "node_signatures",
    ]);
    const dv = JSON.parse(text).distributed_validators[0];
    expect(Object.keys(dv)).toEqual(["public_key", "public_shares", "deposit_data"]);
    expect(Object.keys(dv.deposit_data[0])).toEqual([
      "pubkey",
      "withdrawal_credentials",
      "amount",
      "signature",
      "deposit_message_root",
      "deposit_data_root",
    ]);
    expect(dv.deposit_data[1].amount).toBe("31000000000");
  });

  it("lock_hash depends on the definition and every validator field", () => {
    const base = toHex(lock.lockHash);
    expect(toHex(computeLockHash(def, lock.distributedValidators))).toBe(base);
    const other = { ...def, name: "x" };
    expect(toHex(computeLockHash(other, lock.distributedValidators))).not.toBe(base);
    const swapped = [lock.distributedValidators[1]!, lock.distributedValidators[0]!];
    expect(toHex(computeLockHash(def, swapped))).not.toBe(base);
  });

  it("exports one staking-deposit-cli file per amount with one entry per validator", () => {
    const files = depositDataFiles(lock);
    expect(files.map((f) => f.fileName)).toEqual(["deposit-data-1eth.json", "deposit-data-31eth.json"]);
    expect(files[1]!.entries).toHaveLength(2);
    expect(files[1]!.entries[0]!.pubkey).toBe(toHex(lock.distributedValidators[0]!.publicKey).slice(2));
    expect(files[0]!.entries[1]!.amount).toBe(1_000_000_000);
    expect(files[0]!.entries[0]!.fork_version).toBe("10000910");
    expect(JSON.parse(files[0]!.contents)).toEqual(files[0]!.entries);
  });
});

describe("verifyLock: negative", () => {
  const errorsOf = async (l: ClusterLock) => {
    const r = await verifyLock(l);
    expect(r.ok).toBe(false);
    return r.errors;
  };

  it("a tampered public share off the polynomial (all hashes and signatures re-made)", async () => {
    const { lock: l } = await buildTestLock(def, ids, {
      validators: (vs) => {
        vs[0]!.publicShares[3] = SecretKey.random().publicKey();
      },
    });
    const errors = await errorsOf(l);
    expect(errors).toContain(
      `"distributed_validators[0].public_shares[3]" does not lie on the degree 2 polynomial of shares 1..3`,
    );
    // share 4's holder cannot have signed lock_hash with a key matching the forged share
    expect(errors).toContain(`"signature_aggregate" does not verify over lock_hash under all public shares`);
  });

  it("a tampered share among the first t breaks the interpolation to public_key", async () => {
    const l = copy();
    l.distributedValidators[1]!.publicShares[0] = SecretKey.random().publicKey();
    const errors = await errorsOf(l);
    expect(errors).toContain(`"distributed_validators[1].public_shares" 1..3 do not interpolate to public_key`);
    expect(errors.some((e) => e.startsWith(`"lock_hash"`))).toBe(true);
  });

  it("shares of another key: consistent polynomial, wrong public key", async () => {
    const { lock: l } = await buildTestLock(def, ids, {
      validators: (vs) => {
        vs[0]!.publicShares = vs[1]!.publicShares;
      },
    });
    expect(await errorsOf(l)).toEqual([
      `"distributed_validators[0].public_shares" 1..3 do not interpolate to public_key`,
      `"signature_aggregate" does not verify over lock_hash under all public shares`,
    ]);
  });

  it("an invalid curve point is reported, not thrown", async () => {
    const l = copy();
    l.distributedValidators[0]!.publicShares[2] = nonSubgroupG1() as BlsPublicKey;
    const errors = await errorsOf(l);
    expect(errors.some((e) => e.includes("distributed_validators[0].public_shares[2]"))).toBe(true);
    expect(errors).toContain(`"signature_aggregate" not checked: some public shares are invalid`);
  });

  it("a wrong deposit signature (roots recomputed, lock re-made)", async () => {
    const { lock: l } = await buildTestLock(def, ids, {
      validators: (vs, dealt) => {
        const d = vs[1]!.depositData[0]!;
        // signed by the right key, but over the other amount's message
        const other = vs[1]!.depositData[1]!;
        const sig = dealt[1]!.secret.sign(depositSigningRoot(other, def.network.genesisForkVersion));
        vs[1]!.depositData[0] = buildDepositDatum(d, sig);
      },
    });
    expect(await errorsOf(l)).toEqual([
      `"distributed_validators[1].deposit_data[0]": signature does not verify under pubkey with the deposit domain`,
    ]);
  });

  it("a deposit for another network, amount or withdrawal address", async () => {
    const { lock: l } = await buildTestLock(def, ids, {
      validators: (vs, dealt) => {
        const d = vs[0]!.depositData[1]!;
        const msg = { ...d, withdrawalCredentials: new Uint8Array(32).fill(1) };
        vs[0]!.depositData[1] = buildDepositDatum(
          msg,
          dealt[0]!.secret.sign(depositSigningRoot(msg, def.network.genesisForkVersion)),
        );
        const e = vs[1]!.depositData[0]!;
        const wrongNet = new Uint8Array([0, 0, 0, 0]);
        vs[1]!.depositData[0] = buildDepositDatum(e, dealt[1]!.secret.sign(depositSigningRoot(e, wrongNet)));
      },
    });
    const errors = await errorsOf(l);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^"distributed_validators\[0\]\.deposit_data\[1\]\.withdrawal_credentials"/);
    expect(errors[1]).toMatch(/deposit_data\[0\]": signature does not verify/);
  });

  it("a deposit root that does not match", async () => {
    const l = copy();
    const d = l.distributedValidators[0]!.depositData[0]!;
    d.depositDataRoot = d.depositMessageRoot;
    const errors = await errorsOf(l);
    expect(errors).toEqual([
      `"distributed_validators[0].deposit_data[0]": deposit_data_root does not match the deposit data`,
    ]);
  });

  it("a wrong node signature names the operator", async () => {
    const l = copy();
    l.nodeSignatures = [l.nodeSignatures[1]!, l.nodeSignatures[0]!, ...l.nodeSignatures.slice(2)];
    const errors = await errorsOf(l);
    expect(errors).toEqual([
      `"node_signatures[0]" is not operator 0's (${ids[0]!.peerId}) signature over lock_hash`,
      `"node_signatures[1]" is not operator 1's (${ids[1]!.peerId}) signature over lock_hash`,
    ]);
    const missing = copy();
    missing.nodeSignatures.pop();
    expect(await errorsOf(missing)).toEqual([`"node_signatures" has 3 entries, expected one per operator (4)`]);
  });

  it("a wrong signature_aggregate", async () => {
    const l = copy();
    // aggregate missing one share's signature per validator
    const { lock: fresh, dealt } = await buildTestLock(def, ids);
    const partial = aggregateLockSignatures(dealt.flatMap((d) => d.shares.slice(1).map((s) => s.sign(fresh.lockHash))));
    const tampered: ClusterLock = { ...fresh, signatureAggregate: partial };
    expect(await errorsOf(tampered)).toEqual([
      `"signature_aggregate" does not verify over lock_hash under all public shares`,
    ]);
    // an aggregate made for another lock
    l.signatureAggregate = fresh.signatureAggregate;
    expect(await errorsOf(l)).toEqual([`"signature_aggregate" does not verify over lock_hash under all public shares`]);
    // not a G2 point
    const bad = copy();
    bad.signatureAggregate = new Uint8Array(96).fill(0xff) as BlsSignature;
    expect((await errorsOf(bad))[0]).toMatch(/^"signature_aggregate" is malformed/);
  });

  it("an unsigned definition or a tampered lock_hash", async () => {
    const l = copy();
    l.definition.operators[1]!.configSignature = new Uint8Array(0);
    const errors = await errorsOf(l);
    expect(errors[0]).toMatch(/"definition\.definition_hash"/);
    const h = copy();
    h.lockHash = new Uint8Array(32).fill(7) as typeof h.lockHash;
    const e2 = await errorsOf(h);
    expect(e2[0]).toMatch(/^"lock_hash" 0x0707/);
    expect(e2.some((e) => e.startsWith(`"node_signatures[0]"`))).toBe(true);
  });

  it("wrong counts are reported", async () => {
    const l = copy();
    l.distributedValidators.pop();
    l.distributedValidators[0]!.depositData.pop();
    const errors = await errorsOf(l);
    expect(errors).toContain(`"distributed_validators" has 1 entries, the definition 2`);
    expect(errors).toContain(
      `"distributed_validators[0].deposit_data" has 1 entries, expected one per deposit amount (2)`,
    );
  });
});

describe("parseLock", () => {
  const cases: [string, (j: ReturnType<typeof lockToJson>) => void][] = [
    ["distributed_validators[0].public_shares[1]", (j) => (j.distributed_validators[0]!.public_shares[1] = "0x1234")],
    [
      "distributed_validators[1].deposit_data[0].amount",
      (j) => (j.distributed_validators[1]!.deposit_data[0]!.amount = "-1"),
    ],
    ["lock_hash", (j) => (j.lock_hash = "nope")],
    ["node_signatures[2]", (j) => (j.node_signatures[2] = "0x")],
    ["definition.threshold", (j) => (j.definition.threshold = 2)],
    ["definition.operators[0].peer_id", (j) => (j.definition.operators[0]!.peer_id = "x")],
    ["definition", (j) => delete (j as Partial<typeof j>).definition],
  ];
  for (const [field, mutate] of cases) {
    it(`names ${field}`, () => {
      const json = structuredClone(lockToJson(lock));
      mutate(json);
      try {
        parseLock(json);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(InputError);
        expect((err as InputError).type.field).toBe(field);
        expect((err as Error).message).toContain(`"${field}"`);
      }
    });
  }
});
