// gatherSignature with real BLS shares; peers are PartialSources answering at the I/O edge.
import { describe, expect, it } from "vitest";
import { SecretKey, verify } from "../../src/crypto/bls.js";
import { Polynomial } from "../../src/crypto/tbls.js";
import { toHex } from "../../src/lib/bytes.js";
import type { BlsPublicKey, Root, ShareIndex } from "../../src/lib/types.js";
import { gatherSignature, type PartialSource, type PeerAnswer } from "../../src/signing/combine.js";
import { SignerError } from "../../src/signing/types.js";

const n = 4;
const t = 3;
const poly = Polynomial.random(t);
const publicKey = poly.secret().publicKey();
const shares = Array.from({ length: n }, (_, i) => poly.evaluate(i + 1));
const publicShares = shares.map((s) => s.publicKey()) as BlsPublicKey[];
const root = new Uint8Array(32).fill(5) as Root;

type Behaviour = "good" | "garbage" | "silent" | "refuse" | "unknown-key" | "error";

function peers(behaviours: Record<number, Behaviour>, asked: number[] = []): PartialSource[] {
  return [2, 3, 4].map((i) => ({
    index: i as ShareIndex,
    label: `${i} (peer-${i})`,
    fetch: (signal: AbortSignal): Promise<PeerAnswer> => {
      asked.push(i);
      const b = behaviours[i] ?? "good";
      if (b === "good") return Promise.resolve({ signature: shares[i - 1]!.sign(root) });
      if (b === "garbage") return Promise.resolve({ signature: SecretKey.random().sign(root) });
      if (b === "refuse") return Promise.resolve({ refusal: { code: "DOUBLE_VOTE", message: "no" } });
      if (b === "unknown-key") return Promise.resolve({ refusal: { code: "UNKNOWN_KEY", message: "no" } });
      if (b === "error") return Promise.reject(new Error("connection reset"));
      return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
    },
  }));
}

function run(
  behaviours: Record<number, Behaviour>,
  opts: {
    timeoutMs?: number;
    invalid?: number[];
    ownSign?: () => Promise<Uint8Array>;
    hedgeMs?: number;
    asked?: number[];
    hedges?: string[];
    awaitAll?: boolean;
  } = {},
) {
  return gatherSignature({
    publicKey,
    root,
    threshold: t,
    publicShares,
    own: { index: 1 as ShareIndex, sign: opts.ownSign ?? (async () => shares[0]!.sign(root)) },
    peers: peers(behaviours, opts.asked),
    hedgeMs: opts.hedgeMs,
    onHedge: (reason) => opts.hedges?.push(reason),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    onInvalid: (i) => opts.invalid?.push(i),
    awaitAll: opts.awaitAll,
  });
}

async function failure(p: Promise<unknown>): Promise<SignerError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SignerError) return err;
    throw err;
  }
  throw new Error("expected a SignerError");
}

describe("gatherSignature", () => {
  it("combines t partials into a signature that verifies under the group key", async () => {
    const sig = await run({});
    expect(verify(publicKey, root, sig)).toBe(true);
    expect(toHex(sig)).toBe(toHex(poly.secret().sign(root)));
  });

  it("one node down: still signs", async () => {
    expect(verify(publicKey, root, await run({ 4: "silent" }))).toBe(true);
  });

  it("a peer sending garbage: the signature is still correct and the peer is reported", async () => {
    const invalid: number[] = [];
    // whichever two answer first, the garbage one is caught and the third peer's partial is used
    const sig = await run({ 2: "garbage" }, { invalid });
    expect(verify(publicKey, root, sig)).toBe(true);
    expect(invalid.every((i) => i === 2)).toBe(true);
  });

  it("two nodes down: NOT_ENOUGH_PARTIALS naming them", async () => {
    const err = await failure(run({ 3: "silent", 4: "error" }, { timeoutMs: 300 }));
    expect(err.type.code).toBe("NOT_ENOUGH_PARTIALS");
    if (err.type.code !== "NOT_ENOUGH_PARTIALS") return;
    expect(err.type.missing).toEqual(["3 (peer-3)", "4 (peer-4)"]);
  });

  it("slashing refusals that leave fewer than t signers: SLASHING_REFUSED at once, naming the peers", async () => {
    // this node's own check passed (it was never asked for the conflicting message), two peers refuse
    const err = await failure(run({ 2: "refuse", 3: "refuse" }));
    expect(err.type.code).toBe("SLASHING_REFUSED");
    if (err.type.code !== "SLASHING_REFUSED") return;
    expect(err.type.slashingCode).toBe("DOUBLE_VOTE");
    expect(err.type.refusedBy).toEqual(expect.arrayContaining(["2 (peer-2): DOUBLE_VOTE", "3 (peer-3): DOUBLE_VOTE"]));
    expect(err.message).toMatch(/2 of 4 operators refused/);
  });

  it("one slashing refusal and one peer down: NOT_ENOUGH_PARTIALS, since the missing peer could have signed", async () => {
    const err = await failure(run({ 2: "refuse", 3: "silent" }, { timeoutMs: 300 }));
    expect(err.type.code).toBe("NOT_ENOUGH_PARTIALS");
    if (err.type.code !== "NOT_ENOUGH_PARTIALS") return;
    expect(err.type.refused).toEqual(["2 (peer-2): DOUBLE_VOTE"]);
    expect(err.type.missing).toEqual(["3 (peer-3)"]);
  });

  it("refusals that are not slashing refusals end the request as soon as t is out of reach: NOT_ENOUGH_PARTIALS", async () => {
    const err = await failure(run({ 2: "unknown-key", 3: "unknown-key" }));
    expect(err.type.code).toBe("NOT_ENOUGH_PARTIALS");
    if (err.type.code !== "NOT_ENOUGH_PARTIALS") return;
    expect(err.type.refused).toEqual(expect.arrayContaining(["2 (peer-2): UNKNOWN_KEY", "3 (peer-3): UNKNOWN_KEY"]));
    expect(err.message).toMatch(/refused by/);
  });

  it("with awaitAll, a request out of reach still waits for every answer, so the refusals are complete", async () => {
    const slowRefusal: Record<number, Behaviour> = { 2: "unknown-key", 3: "unknown-key" };
    // peer 4 answers last: without awaitAll it is "missing"; with it, its refusal is counted
    const delayed = peers(slowRefusal).map((p) =>
      p.index === 4
        ? {
            ...p,
            fetch: async () => {
              await new Promise((r) => setTimeout(r, 50));
              return { refusal: { code: "UNKNOWN_KEY", message: "no" } };
            },
          }
        : p,
    );
    const base = {
      publicKey,
      root,
      threshold: t,
      publicShares,
      own: { index: 1 as ShareIndex, sign: async () => shares[0]!.sign(root) },
      peers: delayed,
      signal: AbortSignal.timeout(10_000),
    };
    const early = await failure(gatherSignature(base));
    const all = await failure(gatherSignature({ ...base, awaitAll: true }));
    if (early.type.code !== "NOT_ENOUGH_PARTIALS" || all.type.code !== "NOT_ENOUGH_PARTIALS") throw early;
    expect(early.type.missing).toEqual(["4 (peer-4)"]);
    expect(all.type.missing).toEqual([]);
    expect(all.type.refused).toHaveLength(3);
  });

  it("garbage from two peers never yields an unverified signature", async () => {
    const invalid: number[] = [];
    const err = await failure(run({ 2: "garbage", 3: "garbage", 4: "silent" }, { timeoutMs: 300, invalid }));
    expect(err.type.code).toBe("NOT_ENOUGH_PARTIALS");
    expect(invalid.sort()).toEqual([2, 3]);
  });

  it("this node's refusal fails the request even when t peers sign, and nothing is combined", async () => {
    const refusal = new SignerError({ code: "SLASHING_REFUSED", slashingCode: "DOUBLE_VOTE" }, "double vote");
    // the own check answers after all three peers: their t partials alone must not be combined
    const ownSign = () => new Promise<Uint8Array>((_, reject) => setTimeout(() => reject(refusal), 50));
    const err = await failure(run({}, { ownSign }));
    expect(err).toBe(refusal);
  });

  it("waits for this node's partial before combining, then uses it", async () => {
    let ownAt = 0;
    const ownSign = () =>
      new Promise<Uint8Array>((resolve) =>
        setTimeout(() => {
          ownAt = performance.now();
          resolve(shares[0]!.sign(root));
        }, 50),
      );
    const sig = await run({}, { ownSign });
    expect(ownAt).toBeGreaterThan(0);
    expect(toHex(sig)).toBe(toHex(poly.secret().sign(root)));
  });

  it("when the combined check fails, partials are checked one by one and the result by blst itself", async () => {
    const seen: number[] = [];
    const sig = await gatherSignature({
      publicKey,
      root,
      threshold: t,
      publicShares,
      own: { index: 1 as ShareIndex, sign: async () => shares[0]!.sign(root) },
      peers: peers({}),
      signal: AbortSignal.timeout(10_000),
      // a verifier that wrongly rejects every combination
      verifyCombined: async () => false,
      onInvalid: (i) => seen.push(i),
    });
    expect(seen).toEqual([]);
    expect(verify(publicKey, root, sig)).toBe(true);
  });

  describe("hedged fan-out", () => {
    it("asks only the first t − 1 peers when they answer", async () => {
      const asked: number[] = [];
      const hedges: string[] = [];
      const sig = await run({}, { hedgeMs: 60_000, asked, hedges });
      expect(toHex(sig)).toBe(toHex(poly.secret().sign(root)));
      expect(asked.sort()).toEqual([2, 3]);
      expect(hedges).toEqual([]);
    });

    it("a silent first peer: the rest are asked when the hedge delay passes", async () => {
      const asked: number[] = [];
      const hedges: string[] = [];
      const sig = await run({ 2: "silent" }, { hedgeMs: 50, asked, hedges });
      expect(verify(publicKey, root, sig)).toBe(true);
      expect(asked.sort()).toEqual([2, 3, 4]);
      expect(hedges).toEqual(["timer"]);
    });

    for (const b of ["refuse", "error", "garbage"] as const) {
      it(`a first peer that answers "${b}": the rest are asked at once, not after the delay`, async () => {
        const asked: number[] = [];
        const hedges: string[] = [];
        const invalid: number[] = [];
        const sig = await run({ 2: b }, { hedgeMs: 60_000, asked, hedges, invalid });
        expect(verify(publicKey, root, sig)).toBe(true);
        expect(asked.sort()).toEqual([2, 3, 4]);
        expect(hedges).toEqual(["failure"]);
        expect(invalid).toEqual(b === "garbage" ? [2] : []);
      });
    }

    it("two nodes down: NOT_ENOUGH_PARTIALS naming both, every peer asked", async () => {
      const asked: number[] = [];
      const err = await failure(run({ 2: "error", 4: "silent" }, { hedgeMs: 60_000, asked, timeoutMs: 300 }));
      expect(err.type.code).toBe("NOT_ENOUGH_PARTIALS");
      if (err.type.code !== "NOT_ENOUGH_PARTIALS") return;
      expect(err.type.missing).toEqual(["2 (peer-2)", "4 (peer-4)"]);
      expect(asked.sort()).toEqual([2, 3, 4]);
    });
  });
});
