// The DKG rounds as a pure state machine: every step's function on crafted typed messages, with no
// transport, no envelopes and no protobuf (the envelopes are opaque evidence bytes to the rounds).
import { sha256 } from "@noble/hashes/sha2.js";
import { beforeAll, describe, expect, it } from "vitest";
import { SecretKey, verify } from "../../src/crypto/bls.js";
import { recoverSecret } from "../../src/crypto/tbls.js";
import type { DkgError } from "../../src/dkg/errors.js";
import {
  type DecodeContext,
  decodeComplaints,
  type Echo,
  type Evidence,
  encodeComplaints,
  type FiledAccusation,
  type Shares,
  type Signed,
} from "../../src/dkg/messages.js";
import {
  type CeremonyParams,
  checkLock,
  combineDeposits,
  createDeal,
  derive,
  echo,
  judgeComplaints,
  signDeposits,
  signLock,
  type Verified,
  verifyAndComplain,
} from "../../src/dkg/rounds.js";
import { STEP } from "../../src/dkg/steps.js";
import { toHex } from "../../src/lib/bytes.js";
import type { Root, ShareIndex } from "../../src/lib/types.js";
import { testArtifacts } from "./harness.js";

const n = 3;
const t = 2;
const V = 2;
const session = new Uint8Array(32).fill(0x5e);
const ids = [1, 2, 3] as ShareIndex[];
const params = (self: ShareIndex): CeremonyParams => ({ session, n, t, numValidators: V, self });
const bytes = (...parts: (string | number)[]) => new TextEncoder().encode(parts.join("/"));
const signed = <T>(sender: ShareIndex, message: T, envelope: Uint8Array): Signed<T> => ({ sender, message, envelope });
const others = (self: ShareIndex) => ids.filter((i) => i !== self);

function caught(fn: () => unknown): DkgError {
  try {
    fn();
  } catch (err) {
    return err as DkgError;
  }
  throw new Error("expected a DkgError");
}

async function caughtAsync(fn: () => Promise<unknown>): Promise<DkgError> {
  try {
    await fn();
  } catch (err) {
    return err as DkgError;
  }
  throw new Error("expected a DkgError");
}

/** Every operator's round-2 output, and the opaque envelopes the "network" carried them in. */
async function dealAll(tamper: { shares?: (dealer: ShareIndex, to: ShareIndex, s: Shares) => Shares } = {}) {
  const dealt = new Map(await Promise.all(ids.map(async (i) => [i, await createDeal(params(i))] as const)));
  const dealEnv = (d: ShareIndex) => bytes("deal", d);
  const sharesEnv = (d: ShareIndex, to: ShareIndex) => bytes("shares", d, to);
  const sharesFor = (d: ShareIndex, to: ShareIndex) => {
    const s = dealt.get(d)!.shares.get(to)!;
    return tamper.shares ? tamper.shares(d, to, s) : s;
  };
  const echoed = new Map(
    ids.map((j) => [
      j,
      echo(dealt.get(j)!.state, new Map(ids.map((d) => [d, { envelope: dealEnv(d), digest: sha256(dealEnv(d)) }]))),
    ]),
  );
  const echoEnv = (s: ShareIndex) => bytes("echo", s);
  const received = (j: ShareIndex, echoes: Map<ShareIndex, Echo> = new Map()) => ({
    deals: new Map(others(j).map((d) => [d, signed(d, dealt.get(d)!.deal, dealEnv(d))])),
    shares: new Map(others(j).map((d) => [d, signed(d, sharesFor(d, j), sharesEnv(d, j))])),
    echoes: new Map(others(j).map((s) => [s, signed(s, echoes.get(s) ?? echoed.get(s)!.echo, echoEnv(s))] as const)),
  });
  return { dealt, echoed, received, dealEnv, sharesEnv, echoEnv };
}

/** Steps 4→9 for every operator, no complaints: the ceremony's results by operator. */
async function runClean(net: Awaited<ReturnType<typeof dealAll>>) {
  const verified = new Map(
    await Promise.all(
      ids.map(async (j) => [j, await verifyAndComplain(net.echoed.get(j)!.state, net.received(j))] as const),
    ),
  );
  for (const v of verified.values()) expect(v.complaints.accusations).toEqual([]);
  const noComplaints = new Map(ids.map((i) => [i, signed<FiledAccusation[]>(i, [], bytes("complaints", i))]));
  const judged = new Map(ids.map((j) => [j, judgeComplaints(verified.get(j)!.state, noComplaints)] as const));
  const derived = new Map(await Promise.all(ids.map(async (j) => [j, await derive(judged.get(j)!)] as const)));
  const artifacts = testArtifacts(2);
  const signedDeposits = new Map(
    await Promise.all(ids.map(async (j) => [j, await signDeposits(derived.get(j)!, artifacts)] as const)),
  );
  const partials = new Map(ids.map((i) => [i, signed(i, signedDeposits.get(i)!.partials, bytes("parsig", i))]));
  const deposited = new Map(
    await Promise.all(
      ids.map(async (j) => [j, await combineDeposits(signedDeposits.get(j)!.state, partials)] as const),
    ),
  );
  const locking = new Map(ids.map((j) => [j, signLock(deposited.get(j)!, artifacts)] as const));
  const locks = new Map(
    ids.map((i) => [
      i,
      signed(
        i,
        {
          lockHash: locking.get(i)!.state.lockHash,
          signature: bytes("identity", i),
          shareSignatureAggregate: locking.get(i)!.shareSignatureAggregate,
          identitySignatureValid: true,
        },
        bytes("lock", i),
      ),
    ]),
  );
  return { verified, judged, derived, signedDeposits, partials, deposited, locking, locks };
}

describe("the rounds, end to end without I/O (n=3, t=2, V=2)", () => {
  it("every operator reaches the same lock; any t shares recover each group key; deposits verify", async () => {
    const net = await dealAll();
    const run = await runClean(net);
    const results = await Promise.all(ids.map((j) => checkLock(run.locking.get(j)!.state, run.locks)));
    for (const r of results) {
      expect(toHex(r.lockHash)).toBe(toHex(results[0]!.lockHash));
      expect(toHex(r.signatureAggregate)).toBe(toHex(results[0]!.signatureAggregate));
    }
    const artifacts = testArtifacts(2);
    results[0]!.validators.forEach((val, v) => {
      const shares = results.map((r, i) => ({ index: i + 1, value: r.shares[v]! }));
      expect(toHex(recoverSecret(shares.slice(1)).publicKey())).toBe(toHex(val.publicKey));
      expect(toHex(recoverSecret(shares.slice(0, t - 1)).publicKey())).not.toBe(toHex(val.publicKey));
      artifacts.depositSigningRoots(v, val.publicKey).forEach((root, a) => {
        expect(verify(val.publicKey, root, val.depositSignatures[a]!)).toBe(true);
      });
    });
  });
});

describe("step 4: verify and complain", () => {
  it("a bad share → a BAD_SHARE accusation naming the dealer and validator, with its signed shares", async () => {
    const net = await dealAll({
      shares: (d, to, s) => {
        if (d !== 2 || to !== 3) return s;
        const bad = s.shares.slice();
        bad.set(SecretKey.random().toBytes(), 32);
        return { ...s, shares: bad };
      },
    });
    const { complaints } = await verifyAndComplain(
      net.echoed.get(3 as ShareIndex)!.state,
      net.received(3 as ShareIndex),
    );
    expect(complaints.accusations).toEqual([
      {
        kind: "BAD_SHARE",
        accused: 2,
        validators: [1],
        reason: "share fails commitment check",
        envelope: net.sharesEnv(2 as ShareIndex, 3 as ShareIndex),
        echoes: [],
      },
    ]);
    // the other receivers' shares are fine
    expect(
      (await verifyAndComplain(net.echoed.get(1 as ShareIndex)!.state, net.received(1 as ShareIndex))).complaints,
    ).toEqual({ accusations: [] });
  });

  it("unusable shares (misaddressed, undecodable) → BAD_SHARE for all validators, with the reason", async () => {
    const net = await dealAll({ shares: (d, to, s) => (d === 1 && to === 2 ? { ...s, receiver: 3 } : s) });
    const j = 2 as ShareIndex;
    const { complaints } = await verifyAndComplain(net.echoed.get(j)!.state, net.received(j));
    expect(complaints.accusations).toMatchObject([
      { kind: "BAD_SHARE", accused: 1, validators: [], reason: "shares addressed to 3" },
    ]);
    const input = net.received(j);
    input.shares.set(
      3 as ShareIndex,
      signed(3 as ShareIndex, { undecodable: "undecodable shares: x" } as never, bytes("s")),
    );
    expect(
      (await verifyAndComplain(net.echoed.get(j)!.state, input)).complaints.accusations.map((a) => a.reason),
    ).toEqual(["shares addressed to 3", "undecodable shares: x"]);
  });

  it("an echo that disagrees → ECHO_MISMATCH with the deal and the echo; no deal is checked", async () => {
    const net = await dealAll();
    const j = 1 as ShareIndex;
    const lying = {
      dealDigests: net.echoed.get(3 as ShareIndex)!.echo.dealDigests.map((d, i) => (i === 1 ? sha256(d) : d)),
    };
    const input = net.received(j, new Map([[3 as ShareIndex, lying]]));
    // an undecodable deal from the disputed dealer is not judged: the dispute settles it
    input.deals.set(
      2 as ShareIndex,
      signed(2 as ShareIndex, { undecodable: "garbage" } as never, net.dealEnv(2 as ShareIndex)),
    );
    const out = await verifyAndComplain(net.echoed.get(j)!.state, input);
    expect(out.complaints.accusations).toEqual([
      {
        kind: "ECHO_MISMATCH",
        accused: 2,
        validators: [],
        reason: "echo mismatch with 3",
        envelope: net.dealEnv(2 as ShareIndex),
        echoes: [net.echoEnv(3 as ShareIndex)],
      },
    ]);
    expect(out.state.verified.size).toBe(0);
  });

  it("an echo with the wrong number of digests is its sender's malformed message", async () => {
    const net = await dealAll();
    const input = net.received(1 as ShareIndex, new Map([[2 as ShareIndex, { dealDigests: [new Uint8Array(32)] }]]));
    const err = await caughtAsync(() => verifyAndComplain(net.echoed.get(1 as ShareIndex)!.state, input));
    expect(err.type).toMatchObject({ code: "MALFORMED_MESSAGE", culprits: [2], step: STEP.ECHO });
  });

  it("an undecodable undisputed deal is its dealer's malformed message, with the envelope", async () => {
    const net = await dealAll();
    const input = net.received(1 as ShareIndex);
    input.deals.set(
      3 as ShareIndex,
      signed(3 as ShareIndex, { undecodable: "bad" } as never, net.dealEnv(3 as ShareIndex)),
    );
    const err = await caughtAsync(() => verifyAndComplain(net.echoed.get(1 as ShareIndex)!.state, input));
    expect(err.type).toMatchObject({
      code: "MALFORMED_MESSAGE",
      culprits: [3],
      evidence: [toHex(net.dealEnv(3 as ShareIndex))],
    });
  });

  it("a bad proof of possession → BAD_POP naming the dealer and its failing validators", async () => {
    const net = await dealAll();
    const input = net.received(1 as ShareIndex);
    const deal = input.deals.get(3 as ShareIndex)!.message as { pops: Uint8Array };
    const pops = deal.pops.slice();
    pops.set(SecretKey.random().sign(new Uint8Array(32)), 96);
    input.deals.set(3 as ShareIndex, signed(3 as ShareIndex, { ...deal, pops } as never, net.dealEnv(3 as ShareIndex)));
    const err = await caughtAsync(() => verifyAndComplain(net.echoed.get(1 as ShareIndex)!.state, input));
    expect(err.type).toMatchObject({ code: "BAD_POP", culprits: [3] });
    expect(err.type.detail).toBe("proof of possession fails for validator(s) 1");
  });

  it("wrong counts → MALFORMED_DEAL", async () => {
    const net = await dealAll();
    const input = net.received(2 as ShareIndex);
    const deal = input.deals.get(1 as ShareIndex)!.message as object;
    input.deals.set(
      1 as ShareIndex,
      signed(1 as ShareIndex, { ...deal, threshold: 3 } as never, net.dealEnv(1 as ShareIndex)),
    );
    const err = await caughtAsync(() => verifyAndComplain(net.echoed.get(2 as ShareIndex)!.state, input));
    expect(err.type).toMatchObject({ code: "MALFORMED_DEAL", culprits: [1] });
  });
});

describe("step 4→5: judging complaints on typed evidence", () => {
  let net: Awaited<ReturnType<typeof dealAll>>;
  let states: Map<ShareIndex, Verified>;
  beforeAll(async () => {
    net = await dealAll();
    states = new Map(
      await Promise.all(
        ids.map(async (j) => [j, (await verifyAndComplain(net.echoed.get(j)!.state, net.received(j))).state] as const),
      ),
    );
  });
  const sharesEvidence = (
    dealer: ShareIndex,
    to: ShareIndex,
    over: Partial<Extract<Evidence, { authentic: true }>> = {},
  ): Evidence => ({
    authentic: true,
    bytes: net.sharesEnv(dealer, to),
    sender: dealer,
    kind: "SHARES",
    receiver: to,
    digest: sha256(net.sharesEnv(dealer, to)),
    shares: net.dealt.get(dealer)!.shares.get(to)!,
    ...over,
  });
  const complaintOf = (accuser: ShareIndex, acc: Partial<FiledAccusation>) =>
    new Map([
      [
        accuser,
        signed<FiledAccusation[]>(
          accuser,
          [{ kind: "BAD_SHARE", accused: 2 as ShareIndex, validators: [], reason: "lie", echoes: [], ...acc }],
          bytes("complaints", accuser),
        ),
      ],
    ]);
  const judge = (state: Verified, c: ReturnType<typeof complaintOf>) => caught(() => judgeComplaints(state, c));

  it("evidence of the wrong kind convicts the accuser, never the accused", () => {
    const env = net.dealEnv(2 as ShareIndex);
    const deal: Evidence = {
      authentic: true,
      bytes: env,
      sender: 2 as ShareIndex,
      kind: "DEAL",
      receiver: 0,
      digest: sha256(env),
    };
    for (const j of ids) {
      const err = judge(states.get(j)!, complaintOf(3 as ShareIndex, { evidence: deal }));
      expect(err.type).toMatchObject({ code: "FALSE_COMPLAINT", culprits: [3], step: STEP.COMPLAIN });
      expect(err.type.detail).toMatch(/kind DEAL, expected SHARES/);
      expect(err.type.evidence).toEqual([toHex(bytes("complaints", 3))]);
    }
  });

  it("evidence that did not authenticate, from another signer, or addressed to another receiver convicts the accuser", () => {
    const state = states.get(1 as ShareIndex)!;
    const cases: [Evidence, RegExp][] = [
      [{ authentic: false, bytes: bytes("x"), detail: "envelope from another session or attempt" }, /another session/],
      [sharesEvidence(2 as ShareIndex, 3 as ShareIndex, { sender: 1 as ShareIndex }), /claims sender 1/],
      [sharesEvidence(2 as ShareIndex, 1 as ShareIndex), /addressed to 1, expected 3/],
    ];
    for (const [evidence, detail] of cases) {
      const err = judge(state, complaintOf(3 as ShareIndex, { evidence }));
      expect(err.type).toMatchObject({ code: "FALSE_COMPLAINT", culprits: [3] });
      expect(err.type.detail).toMatch(detail);
    }
  });

  it("the dealer's genuine shares as evidence refute the complaint", () => {
    const err = judge(
      states.get(1 as ShareIndex)!,
      complaintOf(3 as ShareIndex, { evidence: sharesEvidence(2 as ShareIndex, 3 as ShareIndex), validators: [0] }),
    );
    expect(err.type).toMatchObject({ code: "FALSE_COMPLAINT", culprits: [3], step: STEP.COMPLAIN });
    expect(err.type.detail).toMatch(/refuted by its signed shares/);
  });

  it("signed shares that fail their commitments, or are unusable, convict the dealer", () => {
    const genuine = net.dealt.get(2 as ShareIndex)!.shares.get(3 as ShareIndex)!;
    const bad = genuine.shares.slice();
    bad.set(SecretKey.random().toBytes(), 0);
    const err = judge(
      states.get(1 as ShareIndex)!,
      complaintOf(3 as ShareIndex, {
        evidence: sharesEvidence(2 as ShareIndex, 3 as ShareIndex, { shares: { ...genuine, shares: bad } }),
      }),
    );
    expect(err.type).toMatchObject({ code: "BAD_SHARE", culprits: [2], step: STEP.DEAL });
    expect(err.type.evidence).toEqual([
      toHex(net.sharesEnv(2 as ShareIndex, 3 as ShareIndex)),
      toHex(bytes("complaints", 3)),
    ]);
    const unusable = judge(
      states.get(1 as ShareIndex)!,
      complaintOf(3 as ShareIndex, {
        evidence: sharesEvidence(2 as ShareIndex, 3 as ShareIndex, {
          shares: { undecodable: "undecodable shares: x" },
        }),
      }),
    );
    expect(unusable.type).toMatchObject({ code: "BAD_SHARE", culprits: [2] });
  });

  it("no evidence: the accuser is convicted at once, never the dealer (it may never have seen the complaint)", () => {
    const c = complaintOf(3 as ShareIndex, { validators: [1] });
    for (const j of ids) {
      const e = caught(() => judgeComplaints(states.get(j)!, c));
      expect(e.type).toMatchObject({ code: "FALSE_COMPLAINT", culprits: [3], step: STEP.COMPLAIN });
    }
  });

  /** Operator 3's echo naming `digest` for dealer 2. */
  const echoNaming = (digest: Uint8Array): Evidence => ({
    authentic: true,
    bytes: net.echoEnv(3 as ShareIndex),
    sender: 3 as ShareIndex,
    kind: "ECHO",
    receiver: 0,
    digest: sha256(net.echoEnv(3 as ShareIndex)),
    echo: { dealDigests: [sha256(net.dealEnv(1 as ShareIndex)), digest, sha256(net.dealEnv(3 as ShareIndex))] },
  });
  const dealEvidence = (env: Uint8Array): Evidence => ({
    authentic: true,
    bytes: env,
    sender: 2 as ShareIndex,
    kind: "DEAL",
    receiver: 0,
    digest: sha256(env),
  });

  it("an echo-mismatch complaint carrying a second signed deal convicts the dealer of equivocation", () => {
    // operator 1 got another deal from dealer 2 than operator 3 did, and files both
    const other = bytes("deal", 2, "second");
    const c = complaintOf(1 as ShareIndex, {
      kind: "ECHO_MISMATCH",
      evidence: dealEvidence(other),
      echoes: [echoNaming(sha256(net.dealEnv(2 as ShareIndex)))],
    });
    for (const j of ids) {
      const err = judge(states.get(j)!, c);
      expect(err.type).toMatchObject({ code: "EQUIVOCATION", culprits: [2] });
      expect([...err.type.evidence].sort()).toEqual([toHex(net.dealEnv(2 as ShareIndex)), toHex(other)].sort());
    }
  });

  it("an echo naming a digest of no signed deal convicts the echoer; one that agrees, the accuser", () => {
    const genuine = net.dealEnv(2 as ShareIndex);
    const lying = complaintOf(1 as ShareIndex, {
      kind: "ECHO_MISMATCH",
      evidence: dealEvidence(genuine),
      echoes: [echoNaming(new Uint8Array(32).fill(7))],
    });
    expect(judge(states.get(2 as ShareIndex)!, lying).type).toMatchObject({ code: "INVALID_ECHO", culprits: [3] });
    const agreeing = complaintOf(1 as ShareIndex, {
      kind: "ECHO_MISMATCH",
      evidence: dealEvidence(genuine),
      echoes: [echoNaming(sha256(genuine))],
    });
    expect(judge(states.get(2 as ShareIndex)!, agreeing).type).toMatchObject({
      code: "FALSE_COMPLAINT",
      culprits: [1],
    });
    // an echo the echoer signed that does not decode is the echoer's malformed message
    const garbled = { ...echoNaming(sha256(genuine)), echo: { undecodable: "x" } } as Evidence;
    const malformed = complaintOf(1 as ShareIndex, {
      kind: "ECHO_MISMATCH",
      evidence: dealEvidence(genuine),
      echoes: [garbled],
    });
    expect(judge(states.get(2 as ShareIndex)!, malformed).type).toMatchObject({
      code: "MALFORMED_MESSAGE",
      culprits: [3],
    });
  });
});

describe("steps 8–9: deposits and lock", () => {
  it("a bad deposit partial names its sender and its position", async () => {
    const run = await runClean(await dealAll());
    const partials = new Map(run.partials);
    const p3 = partials.get(3 as ShareIndex)!;
    const list = p3.message.partials.map((x, k) =>
      k === 2 ? { ...x, signature: SecretKey.random().sign(x.signingRoot) } : x,
    );
    partials.set(3 as ShareIndex, { ...p3, message: { partials: list } });
    for (const j of [1, 2] as ShareIndex[]) {
      const err = await caughtAsync(() => combineDeposits(run.signedDeposits.get(j)!.state, partials));
      expect(err.type).toMatchObject({ code: "BAD_PARTIAL", culprits: [3], evidence: [toHex(bytes("parsig", 3))] });
      expect(err.type.detail).toBe("partial 2 does not verify under its public share");
    }
  });

  it("a partial over the wrong root, or too few, is its sender's fault", async () => {
    const run = await runClean(await dealAll());
    const p2 = run.partials.get(2 as ShareIndex)!;
    const wrongRoot = p2.message.partials.map((x, k) =>
      k === 0 ? { ...x, signingRoot: new Uint8Array(32) as Root } : x,
    );
    const e1 = await caughtAsync(() =>
      combineDeposits(
        run.signedDeposits.get(1 as ShareIndex)!.state,
        new Map(run.partials).set(2 as ShareIndex, { ...p2, message: { partials: wrongRoot } }),
      ),
    );
    expect(e1.type).toMatchObject({ code: "BAD_PARTIAL", culprits: [2] });
    const e2 = await caughtAsync(() =>
      combineDeposits(
        run.signedDeposits.get(1 as ShareIndex)!.state,
        new Map(run.partials).set(2 as ShareIndex, { ...p2, message: { partials: [] } }),
      ),
    );
    expect(e2.type).toMatchObject({ code: "MALFORMED_MESSAGE", culprits: [2] });
  });

  it("a different lock hash, a bad identity signature or a bad share signature names the operator", async () => {
    const run = await runClean(await dealAll());
    const state = run.locking.get(1 as ShareIndex)!.state;
    const with2 = (over: object) => {
      const l = run.locks.get(2 as ShareIndex)!;
      return new Map(run.locks).set(2 as ShareIndex, { ...l, message: { ...l.message, ...over } });
    };
    expect((await caughtAsync(() => checkLock(state, with2({ lockHash: new Uint8Array(32) })))).type).toMatchObject({
      code: "LOCK_MISMATCH",
      culprits: [2],
    });
    expect((await caughtAsync(() => checkLock(state, with2({ identitySignatureValid: false })))).type).toMatchObject({
      code: "MALFORMED_MESSAGE",
      culprits: [2],
    });
    const bogus = SecretKey.random().sign(state.lockHash);
    expect((await caughtAsync(() => checkLock(state, with2({ shareSignatureAggregate: bogus })))).type).toMatchObject({
      code: "BAD_PARTIAL",
      culprits: [2],
    });
  });
});

describe("explicit dealer and receiver sets", () => {
  it("echoes carry one digest per dealer, in dealer order", async () => {
    const p = { ...params(1 as ShareIndex), n: 4, dealers: ids, receivers: ids };
    const dealt = await createDeal(p);
    // every other operator gets a Shares message; one that receives nothing gets an empty one
    expect([...dealt.shares.keys()]).toEqual([2, 3, 4]);
    expect(dealt.shares.get(4 as ShareIndex)!.shares.length).toBe(0);
    expect(dealt.shares.get(2 as ShareIndex)!.shares.length).toBe(V * 32);
    const digests = new Map(ids.map((d) => [d, { envelope: bytes("deal", d), digest: sha256(bytes("deal", d)) }]));
    expect(echo(dealt.state, digests).echo.dealDigests).toEqual(ids.map((d) => sha256(bytes("deal", d))));
    // an operator that does not deal sends an empty deal
    const outsider = await createDeal({ ...p, self: 4 as ShareIndex });
    expect(outsider.deal.commitments.length + outsider.deal.pops.length).toBe(0);
  });

  it("a complaint against an operator that is not a dealer is its accuser's malformed message", () => {
    const ctx: DecodeContext = { n: 4, numValidators: V, dealers: ids, receivers: [...ids, 4 as ShareIndex] };
    const payload = encodeComplaints({
      accusations: [
        { kind: "BAD_SHARE", accused: 4, validators: [], reason: "x", envelope: new Uint8Array(0), echoes: [] },
      ],
    });
    const err = caught(() => decodeComplaints({ sender: 1 as ShareIndex, payload, envelope: bytes("c") }, ctx));
    expect(err.type).toMatchObject({ code: "MALFORMED_MESSAGE", culprits: [1] });
    expect(err.type.detail).toBe("complaint against 4");
    // the same accusation against a dealer decodes
    const ok = encodeComplaints({
      accusations: [
        { kind: "BAD_SHARE", accused: 2, validators: [1], reason: "x", envelope: new Uint8Array(0), echoes: [] },
      ],
    });
    expect(
      decodeComplaints({ sender: 1 as ShareIndex, payload: ok, envelope: bytes("c") }, ctx).message.accusations,
    ).toEqual([
      { kind: "BAD_SHARE", accused: 2, validators: [1], reason: "x", envelope: new Uint8Array(0), echoes: [] },
    ]);
  });
});
