// Reshare (verifiable secret redistribution) over the in-memory transport, with real BLS: old
// operators deal their shares to a new operator set; the group keys never change.
import { describe, expect, it } from "vitest";
import { SecretKey } from "../../src/crypto/bls.js";
import { recoverSecret } from "../../src/crypto/tbls.js";
import { sealEnvelope } from "../../src/dkg/envelope.js";
import type { CeremonyParams, CeremonyValidator, SlashingFloor } from "../../src/dkg/rounds.js";
import { STEP } from "../../src/dkg/steps.js";
import { toHex } from "../../src/lib/bytes.js";
import type { ShareIndex } from "../../src/lib/types.js";
import { Abort, Envelope, MessageKind } from "../../src/pb/bcast.js";
import { byzantine } from "./byzantine.js";
import { identities, type NodeRun, runAll } from "./harness.js";

const V = 3;

/** A first DKG: n operators, threshold t, V validators. */
async function dkg(n: number, t: number) {
  const runs = await runAll({ n, t, numValidators: V });
  expect(runs.map((r) => r.error?.message)).toEqual(runs.map(() => undefined));
  return {
    validators: runs[0]!.outcome!.result.validators,
    shares: new Map(runs.map((r) => [r.index, r.outcome!.result.shares])),
  };
}

const floorOf = (i: number, v: number): SlashingFloor => ({
  blockSlot: BigInt(100 * i + v),
  sourceEpoch: i === 2 ? null : BigInt(10 * i),
  targetEpoch: i === 2 ? null : BigInt(10 * i + 1),
});

/**
 * Reshare parameters for ceremony index `index`: `oldIndex` maps each dealing ceremony index to its
 * old share index; ceremony indices 1..nNew receive.
 */
function reshareParams(
  old: Awaited<ReturnType<typeof dkg>>,
  oldT: number,
  oldIndex: Map<number, number>,
  nNew: number,
  index: number,
  ownOldShares?: SecretKey[],
): Partial<CeremonyParams> {
  const dealers = [...oldIndex.keys()].sort((a, b) => a - b) as ShareIndex[];
  const m = oldIndex.get(index);
  return {
    dealers,
    receivers: Array.from({ length: nNew }, (_, i) => (i + 1) as ShareIndex),
    reshare: {
      oldThreshold: oldT,
      oldIndex: oldIndex as Map<ShareIndex, number>,
      publicKeys: old.validators.map((v) => v.publicKey),
      oldPublicShares: old.validators.map((v) => v.publicShares),
      ...(m === undefined
        ? {}
        : {
            ownOldShares: ownOldShares ?? old.shares.get(m)!,
            ownFloors: Array.from({ length: V }, (_, v) => floorOf(m, v)),
          }),
    },
  };
}

/** Checks a clean reshare onto receivers 1..nNew with threshold t. */
function expectReshared(runs: NodeRun[], old: CeremonyValidator[], nNew: number, t: number) {
  expect(runs.map((r) => r.error?.message)).toEqual(runs.map(() => undefined));
  const first = runs[0]!.outcome!.result;
  for (const r of runs) expect(toHex(r.outcome!.result.lockHash)).toBe(toHex(first.lockHash));
  // the lock carries one node signature per new operator, none from a retiring one
  expect(first.nodeSignatures).toHaveLength(nNew);
  const receivers = runs.filter((r) => r.index <= nNew);
  for (const r of runs.filter((x) => x.index > nNew)) expect(r.outcome!.result.shares).toEqual([]);
  first.validators.forEach((val, v) => {
    expect(toHex(val.publicKey)).toBe(toHex(old[v]!.publicKey));
    expect(val.publicShares).toHaveLength(nNew);
    const shares = receivers.map((r) => ({ index: r.index, value: r.outcome!.result.shares[v]! }));
    for (const s of shares) expect(toHex(s.value.publicKey())).toBe(toHex(val.publicShares[s.index - 1]!));
    // every t of the new shares recover the unchanged key; t − 1 do not
    for (let skip = 0; skip < nNew; skip++) {
      const subset = shares.filter((_, k) => k !== skip).slice(0, t);
      expect(toHex(recoverSecret(subset).publicKey())).toBe(toHex(val.publicKey));
    }
    expect(toHex(recoverSecret(shares.slice(0, t - 1)).publicKey())).not.toBe(toHex(val.publicKey));
  });
}

describe("reshare", () => {
  it("4 operators (t=3) to 5 (t=4): same keys, every 4 new shares recover them, old and new shares do not mix", async () => {
    const old = await dkg(4, 3);
    const oldIndex = new Map([1, 2, 3, 4].map((i) => [i, i]));
    const runs = await runAll({
      n: 5,
      t: 4,
      numValidators: V,
      amounts: 0,
      params: (i) => reshareParams(old, 3, oldIndex, 5, i),
    });
    expectReshared(runs, old.validators, 5, 4);
    const result = runs[0]!.outcome!.result;
    // the slashing floor is the maximum over the dealers (operator 2 has no attestation)
    expect(result.slashingFloors).toEqual(
      Array.from({ length: V }, (_, v) => ({ blockSlot: BigInt(400 + v), sourceEpoch: 40n, targetEpoch: 41n })),
    );
    for (let v = 0; v < V; v++) {
      const key = toHex(old.validators[v]!.publicKey);
      const newShares = runs.map((r) => ({ index: r.index, value: r.outcome!.result.shares[v]! }));
      // two old shares (indices 1, 2) with two new ones (3, 4) do not give the key, nor do new
      // shares with old ones of the same indices
      const mixed = [
        { index: 1, value: old.shares.get(1)![v]! },
        { index: 2, value: old.shares.get(2)![v]! },
        newShares[2]!,
        newShares[3]!,
      ];
      expect(toHex(recoverSecret(mixed).publicKey())).not.toBe(key);
      const oldThree = [1, 2, 3].map((i) => ({ index: i, value: old.shares.get(i)![v]! }));
      expect(toHex(recoverSecret([...oldThree.slice(0, 2), newShares[4]!]).publicKey())).not.toBe(key);
      // the old shares still hold the key: only deleting them protects against the old operators
      expect(toHex(recoverSecret(oldThree).publicKey())).toBe(key);
    }
  });

  it("removes an operator that never shows up: 3 of 4 old operators deal to 3 (t=2)", async () => {
    const old = await dkg(4, 3);
    const oldIndex = new Map([1, 2, 3].map((i) => [i, i]));
    const runs = await runAll({
      n: 3,
      t: 2,
      numValidators: V,
      amounts: 0,
      params: (i) => reshareParams(old, 3, oldIndex, 3, i),
    });
    expectReshared(runs, old.validators, 3, 2);
  });

  it("replaces operator 4: the retiring operator deals but receives nothing and does not sign the lock", async () => {
    const old = await dkg(4, 3);
    // ceremony 1..3 = old 1..3, ceremony 4 = the new operator, ceremony 5 = old operator 4 (retiring)
    const oldIndex = new Map([
      [1, 1],
      [2, 2],
      [3, 3],
      [5, 4],
    ]);
    const runs = await runAll({
      n: 5,
      t: 3,
      numValidators: V,
      amounts: 0,
      params: (i) => reshareParams(old, 3, oldIndex, 4, i),
    });
    expectReshared(runs, old.validators, 4, 3);
  });

  it("a dealer that deals anything but its old share is named BAD_COMMITMENT by every honest node", async () => {
    const old = await dkg(4, 3);
    const oldIndex = new Map([1, 2, 3, 4].map((i) => [i, i]));
    const forged = Array.from({ length: V }, () => SecretKey.random());
    const runs = await runAll({
      n: 4,
      t: 3,
      numValidators: V,
      amounts: 0,
      params: (i) => reshareParams(old, 3, oldIndex, 4, i, i === 2 ? forged : undefined),
    });
    for (const r of runs) expect(r.persisted).toBe(false);
    for (const r of runs.filter((x) => x.index !== 2)) {
      expect(r.error?.type).toMatchObject({ code: "BAD_COMMITMENT", culprits: [2] });
    }
  });

  it("a retiring operator that aborts with a dealer's empty Shares to it as BAD_SHARE evidence gets no one named", async () => {
    const old = await dkg(4, 3);
    const oldIndex = new Map([
      [1, 1],
      [2, 2],
      [3, 3],
      [5, 4],
    ]);
    const ids = await identities(5);
    const runs = await runAll({
      n: 5,
      t: 3,
      numValidators: V,
      amounts: 0,
      params: (i) => reshareParams(old, 3, oldIndex, 4, i),
      wrap: (i, t) =>
        i !== 5
          ? t
          : byzantine(t, async (step, out, seen) => {
              if (step !== STEP.JUSTIFY) return undefined;
              // dealer 1's signed, empty Shares to this node, which receives nothing
              const evidence = seen.received.get(STEP.DEAL)!.get(1 as ShareIndex)!.direct!;
              const env = Envelope.decode(out.broadcast);
              const payload = Abort.encode({
                code: "BAD_SHARE",
                step: STEP.DEAL,
                culprits: [1],
                detail: "operator 1's shares do not decode",
                evidence: [evidence as Uint8Array<ArrayBuffer>],
              });
              return {
                abort: await sealEnvelope(ids[4]!.signer, env.session, 5 as ShareIndex, MessageKind.ABORT, payload),
              };
            }),
    });
    for (const r of runs.filter((x) => x.index !== 5)) {
      expect(r.persisted).toBe(false);
      expect(r.error?.type.culprits ?? [], `node ${r.index}: ${r.error?.message}`).not.toContain(1);
    }
  });

  it("refuses a dealer's slashing floor in the future, above 2^63 − 1 or with source above target (MALFORMED_DEAL)", async () => {
    const { floorProblem } = await import("../../src/dkg/rounds.js");
    const ok = { blockSlot: 10n, sourceEpoch: 1n, targetEpoch: 2n };
    const max = { slot: 100n, epoch: 3n };
    expect(floorProblem([ok], max)).toBeUndefined();
    expect(floorProblem([{ ...ok, blockSlot: 101n }], max)).toMatch(/block slot 101 of validator 0 is in the future/);
    expect(floorProblem([{ ...ok, targetEpoch: 4n }], max)).toMatch(/target epoch 4 .* in the future/);
    expect(floorProblem([{ ...ok, blockSlot: 1n << 63n }])).toMatch(/above 2\^63 − 1/);
    expect(floorProblem([{ ...ok, sourceEpoch: 3n }], max)).toMatch(/source epoch 3 above target epoch 2/);
    expect(floorProblem([{ ...ok, sourceEpoch: null }], max)).toMatch(/not both/);
    // over the wire: dealer 2 claims a floor past the bound; every honest node names it
    const old = await dkg(4, 3);
    const oldIndex = new Map([1, 2, 3, 4].map((i) => [i, i]));
    const runs = await runAll({
      n: 4,
      t: 3,
      numValidators: V,
      amounts: 0,
      params: (i) => {
        const p = reshareParams(old, 3, oldIndex, 4, i);
        const floors = Array.from({ length: V }, () => (i === 2 ? { ...ok, blockSlot: 10_000n } : ok));
        return { ...p, reshare: { ...p.reshare!, ownFloors: floors, maxFloor: max } };
      },
    });
    for (const r of runs.filter((x) => x.index !== 2)) {
      expect(r.error?.type).toMatchObject({ code: "MALFORMED_DEAL", culprits: [2] });
    }
  });

  it("refuses fewer dealers than the old threshold", async () => {
    const old = await dkg(4, 3);
    const oldIndex = new Map([1, 2].map((i) => [i, i]));
    const runs = await runAll({
      n: 3,
      t: 2,
      numValidators: V,
      amounts: 0,
      params: (i) => reshareParams(old, 3, oldIndex, 3, i),
    });
    for (const r of runs) {
      expect(r.persisted).toBe(false);
      expect(r.error?.message ?? "").toMatch(/at least 3 old operators/);
    }
  });
});
