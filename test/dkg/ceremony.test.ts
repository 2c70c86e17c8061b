// Ceremony rounds over the in-memory transport: clean runs and one test per Byzantine behaviour.
import { describe, expect, it } from "vitest";
import { SecretKey, verify } from "../../src/crypto/bls.js";
import { recoverSecret } from "../../src/crypto/tbls.js";
import { envelopeDigest, openEnvelope, sealEnvelope } from "../../src/dkg/envelope.js";
import { encodeDeal } from "../../src/dkg/messages.js";
import { createDeal } from "../../src/dkg/rounds.js";
import { STEP } from "../../src/dkg/steps.js";
import { toHex } from "../../src/lib/bytes.js";
import type { ShareIndex } from "../../src/lib/types.js";
import { AccusationKind, Complaints, Deal, Echo, Envelope, MessageKind, Shares } from "../../src/pb/bcast.js";
import { PartialSignatureSet } from "../../src/pb/parsig.js";
import { identities, type NodeRun, runAll, testArtifacts, verifierFor } from "./harness.js";

function expectClean(runs: NodeRun[], n: number, t: number, V: number, amounts = 1) {
  expect(runs.map((r) => r.error?.message)).toEqual(runs.map(() => undefined));
  const first = runs[0]!.outcome!.result;
  for (const r of runs) {
    expect(r.persisted).toBe(true);
    expect(r.outcome!.unconfirmed).toEqual([]);
    expect(toHex(r.outcome!.result.lockHash)).toBe(toHex(first.lockHash));
    expect(toHex(r.outcome!.result.signatureAggregate)).toBe(toHex(first.signatureAggregate));
  }
  expect(first.validators).toHaveLength(V);
  const artifacts = testArtifacts(amounts);
  first.validators.forEach((val, v) => {
    // any t shares recover a key whose public key is the group key; t − 1 do not
    const shares = runs.map((r) => ({ index: r.index, value: r.outcome!.result.shares[v]! }));
    const secret = recoverSecret(shares.slice(n - t));
    expect(toHex(secret.publicKey())).toBe(toHex(val.publicKey));
    if (t > 1) expect(toHex(recoverSecret(shares.slice(0, t - 1)).publicKey())).not.toBe(toHex(val.publicKey));
    shares.forEach((s) => {
      expect(toHex(s.value.publicKey())).toBe(toHex(val.publicShares[s.index - 1]!));
    });
    artifacts.depositSigningRoots(v, val.publicKey).forEach((root, a) => {
      expect(verify(val.publicKey, root, val.depositSignatures[a]!)).toBe(true);
    });
  });
}

function expectAbort(runs: NodeRun[], code: string, culprits: number[], honest: number[]) {
  for (const r of runs) {
    expect(r.persisted, `node ${r.index} persisted`).toBe(false);
    expect(r.outcome).toBeUndefined();
  }
  for (const i of honest) {
    const r = runs.find((x) => x.index === i)!;
    expect(r.error?.type.code, `node ${i}: ${r.error?.message}`).toBe(code);
    expect(r.error?.type.culprits).toEqual(culprits);
  }
}

describe("clean ceremonies", () => {
  for (const [n, t] of [
    [4, 3],
    [7, 5],
  ] as const) {
    for (const V of [1, 50]) {
      it(`n=${n} t=${t} V=${V}`, async () => {
        const runs = await runAll({ n, t, numValidators: V, amounts: V === 1 ? 2 : 1 });
        expectClean(runs, n, t, V, V === 1 ? 2 : 1);
      });
    }
  }
});

/** Re-signs an envelope as its sender with a modified payload. */
async function resign(bytes: Uint8Array, payload: (old: Uint8Array) => Uint8Array): Promise<Uint8Array> {
  const env = Envelope.decode(bytes);
  const ids = await identities(env.sender);
  return sealEnvelope(
    ids[env.sender - 1]!.signer,
    env.session,
    env.sender as ShareIndex,
    env.kind,
    payload(env.payload),
    env.receiver,
  );
}

describe("adversarial ceremonies (n=4, t=3, V=2)", () => {
  const base = { n: 4, t: 3, numValidators: 2 };

  it("bad share to one peer: complaint with the signed share, then conviction of the dealer", async () => {
    const runs = await runAll({
      ...base,
      tamper: async (from, to, step, kind, bytes) => {
        if (from !== 2 || to !== 3 || step !== STEP.DEAL || kind !== "direct") return bytes;
        return resign(bytes, (p) => {
          const s = Shares.decode(p);
          s.shares.set(SecretKey.random().toBytes(), 32);
          return Shares.encode(s);
        });
      },
    });
    expectAbort(runs, "BAD_SHARE", [2], [1, 2, 3, 4]);
    expect(runs[0]!.error!.type.evidence.length).toBeGreaterThan(0);
  });

  it("bad proof of possession (a dealer consistent in its lie)", async () => {
    let tampered: Uint8Array | undefined;
    const runs = await runAll({
      ...base,
      tamper: async (from, _to, step, kind, bytes) => {
        if (from !== 2 || kind !== "broadcast") return bytes;
        if (step === STEP.DEAL) {
          tampered ??= await resign(bytes, (p) => {
            const d = Deal.decode(p);
            d.pops.set(SecretKey.random().sign(new Uint8Array(32)), 96);
            return Deal.encode(d);
          });
          return tampered;
        }
        if (step === STEP.ECHO) {
          // the dealer echoes the digest of the deal it sent to everyone
          return resign(bytes, (p) => {
            const e = Echo.decode(p);
            e.dealDigests[1] = envelopeDigest(tampered!) as Uint8Array<ArrayBuffer>;
            return Echo.encode(e);
          });
        }
        return bytes;
      },
    });
    expectAbort(runs, "BAD_POP", [2], [1, 3, 4]);
  });

  it("equivocating deal: two signed deals are the proof", async () => {
    const runs = await runAll({
      ...base,
      tamper: async (from, to, step, kind, bytes) => {
        if (from !== 2 || to !== 3 || step !== STEP.DEAL || kind !== "broadcast") return bytes;
        const env = Envelope.decode(bytes);
        const other = await createDeal({ ...base, session: env.session, self: 2 as ShareIndex });
        return resign(bytes, () => encodeDeal(other.deal));
      },
    });
    expectAbort(runs, "EQUIVOCATION", [2], [1, 2, 3, 4]);
    const ev = runs[0]!.error!.type.evidence;
    expect(ev).toHaveLength(2);
    const ids = await identities(4);
    for (const e of ev) {
      const env = await openEnvelope(Buffer.from(e.slice(2), "hex"), {
        session: Envelope.decode(Buffer.from(e.slice(2), "hex")).session,
        kind: MessageKind.DEAL,
        n: 4,
        verifier: verifierFor(ids),
      });
      expect(env.sender).toBe(2);
    }
  });

  it("false complaint without evidence: the accuser is named at once (every receiver holds the signed shares)", async () => {
    const runs = await runAll({
      ...base,
      tamper: async (from, _to, step, kind, bytes) => {
        if (from !== 3 || step !== STEP.COMPLAIN || kind !== "broadcast") return bytes;
        return resign(bytes, () =>
          Complaints.encode({
            accusations: [
              {
                kind: AccusationKind.BAD_SHARE,
                accused: 2,
                validators: [1],
                reason: "lie",
                envelope: new Uint8Array(0),
                echoes: [],
              },
            ],
          }),
        );
      },
    });
    expectAbort(runs, "FALSE_COMPLAINT", [3], [1, 2, 4]);
    expect(runs.find((r) => r.index === 1)!.error!.type.step).toBe(STEP.COMPLAIN);
  });

  it("false complaint with the dealer's genuine signed shares: refuted at once", async () => {
    let genuine: Uint8Array | undefined;
    const runs = await runAll({
      ...base,
      tamper: async (from, to, step, kind, bytes) => {
        if (from === 2 && to === 3 && step === STEP.DEAL && kind === "direct") genuine = bytes;
        if (from !== 3 || step !== STEP.COMPLAIN || kind !== "broadcast") return bytes;
        return resign(bytes, () =>
          Complaints.encode({
            accusations: [
              {
                kind: AccusationKind.BAD_SHARE,
                accused: 2,
                validators: [0],
                reason: "lie",
                envelope: genuine! as Uint8Array<ArrayBuffer>,
                echoes: [],
              },
            ],
          }),
        );
      },
    });
    expectAbort(runs, "FALSE_COMPLAINT", [3], [1, 2, 4]);
    expect(runs.find((r) => r.index === 1)!.error!.type.step).toBe(STEP.COMPLAIN);
  });

  it("silent peer: clean abort naming it, nothing written", async () => {
    const runs = await runAll({ ...base, absent: [4], timeoutMs: 1_500 });
    expectAbort(runs, "TIMEOUT", [4], [1, 2, 3]);
  });

  it("peer silent after the deal: abort naming it", async () => {
    const runs = await runAll({
      ...base,
      timeoutMs: 3_000,
      tamper: async (from, _to, step, _kind, bytes) => (from === 4 && step >= STEP.ECHO ? undefined : bytes),
    });
    // whichever comes first at each honest node: its own deadline or a peer's abort for the same wait
    // (it waits for operator 4 too, so it names 4 as its own timeout would), a peer leaving, or
    // operator 4's own abort, which proves nothing and names no one
    for (const r of runs) {
      expect(r.persisted).toBe(false);
      if (r.index === 4) continue;
      const e = r.error;
      if (e?.type.code === "PEER_ABORTED") expect(e.type.culprits, e.message).toEqual([]);
      else {
        expect(["TIMEOUT", "PEER_DISCONNECTED"], e?.message).toContain(e?.type.code);
        expect(e?.type.culprits, e?.message).toContain(4);
      }
    }
    // at least one honest node saw the silence itself
    expect(runs.some((r) => r.index !== 4 && r.error?.type.culprits.includes(4 as ShareIndex))).toBe(true);
  });

  it("message from another session is rejected naming the sender", async () => {
    const runs = await runAll({
      ...base,
      tamper: async (from, _to, step, kind, bytes) => {
        if (from !== 1 || step !== STEP.ECHO || kind !== "broadcast") return bytes;
        const env = Envelope.decode(bytes);
        const ids = await identities(1);
        return sealEnvelope(ids[0]!.signer, new Uint8Array(32).fill(9), 1 as ShareIndex, env.kind, env.payload);
      },
    });
    expectAbort(runs, "MALFORMED_MESSAGE", [1], [2, 3, 4]);
  });
});

describe("adversarial deposit partials (n=4, t=3, V=2)", () => {
  it("a peer's invalid partial signature is caught and the peer named", async () => {
    const runs = await runAll({
      n: 4,
      t: 3,
      numValidators: 2,
      tamper: async (from, _to, step, kind, bytes) => {
        if (from !== 3 || step !== STEP.DEPOSIT_PARTIALS || kind !== "broadcast") return bytes;
        return resign(bytes, (p) => {
          const set = PartialSignatureSet.decode(p);
          set.partials[1]!.signature = SecretKey.random().sign(set.partials[1]!.signingRoot) as Uint8Array<ArrayBuffer>;
          return PartialSignatureSet.encode(set);
        });
      },
    });
    expectAbort(runs, "BAD_PARTIAL", [3], [1, 2, 4]);
  });
});
