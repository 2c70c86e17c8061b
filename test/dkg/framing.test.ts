// Identifiable abort that cannot be turned against the honest (issue 9): one operator with a valid
// identity and modified behaviour tries to get an honest dealer convicted; honest nodes must name the
// accuser, and a genuinely faulty dealer must still be convicted with evidence anyone accepts.
import { describe, expect, it } from "vitest";
import { SecretKey } from "../../src/crypto/bls.js";
import { verifyShare } from "../../src/crypto/tbls.js";
import { openEnvelope } from "../../src/dkg/envelope.js";
import { decodeSharesPayload, encodeDeal } from "../../src/dkg/messages.js";
import { parseShares, verifyDeals } from "../../src/dkg/rounds.js";
import { STEP } from "../../src/dkg/steps.js";
import type { Inbound } from "../../src/dkg/transport.js";
import { fromHex, toHex } from "../../src/lib/bytes.js";
import type { ShareIndex } from "../../src/lib/types.js";
import { AccusationKind, Complaints, Deal, Echo, Envelope, MessageKind, Shares } from "../../src/pb/bcast.js";
import {
  byzantine,
  frameBadShareWithDeal,
  frameBadShareWithOthersShares,
  frameEquivocationWithOldDeal,
  frameEquivocationWithShares,
  type Rewrite,
  reseal,
} from "./byzantine.js";
import { identities, type NodeRun, runAll, verifierFor } from "./harness.js";
import type { MemHub } from "./memTransport.js";

const base = { n: 4, t: 3, numValidators: 2 };
const idx = (i: number) => i as ShareIndex;

/** Every honest node aborted with `code` naming exactly `culprits`; nobody wrote anything. */
function expectConvicted(runs: NodeRun[], code: string, culprits: number[], honest: number[]) {
  for (const r of runs) expect(r.persisted, `node ${r.index} persisted`).toBe(false);
  for (const i of honest) {
    const e = runs.find((x) => x.index === i)!.error;
    expect(e?.type.code, `node ${i}: ${e?.message}`).toBe(code);
    expect(e?.type.culprits, `node ${i}: ${e?.message}`).toEqual(culprits);
  }
}

/** Runs the ceremony with operator `attacker` playing `attack` (given its signer). */
async function withAttacker(
  attacker: number,
  attack: (signer: Awaited<ReturnType<typeof identities>>[number]["signer"]) => Rewrite,
  extra: { session?: Uint8Array; onHub?: (hub: MemHub) => void } = {},
) {
  const ids = await identities(base.n);
  return runAll({
    ...base,
    ...extra,
    wrap: (i, t) => (i === attacker ? byzantine(t, attack(ids[attacker - 1]!.signer)) : t),
  });
}

/** A complaint from the attacker carrying `accusation`, replacing its own. */
const complaint =
  (signer: Parameters<typeof reseal>[0], make: (received: Map<number, Map<ShareIndex, Inbound>>) => object): Rewrite =>
  async (step, out, seen) => {
    if (step !== STEP.COMPLAIN) return undefined;
    const acc = { validators: [], reason: "lie", echoes: [], ...make(seen.received) };
    return {
      ...out,
      broadcast: await reseal(signer, out.broadcast, Complaints.encode({ accusations: [acc as never] })),
    };
  };

describe("framing attempts by a Byzantine accuser (n=4, t=3, V=2, in memory)", () => {
  it("BAD_SHARE with the dealer's public Deal envelope as evidence: the accuser is named", async () => {
    const runs = await withAttacker(3, (s) => frameBadShareWithDeal(s, idx(2)));
    expectConvicted(runs, "FALSE_COMPLAINT", [3], [1, 2, 4]);
    expect(runs[0]!.error!.message).toMatch(/kind DEAL, expected SHARES/);
  });

  it("EQUIVOCATION with the dealer's private Shares envelope as the second deal: the accuser is named", async () => {
    const runs = await withAttacker(3, (s) => frameEquivocationWithShares(s, idx(2)));
    expectConvicted(runs, "FALSE_COMPLAINT", [3], [1, 2, 4]);
    expect(runs[0]!.error!.message).toMatch(/kind SHARES, expected DEAL/);
  });

  it("a lying echo with no evidence at all: the echoer is named (INVALID_ECHO)", async () => {
    const runs = await withAttacker(3, (signer) => async (step, out) => {
      if (step !== STEP.ECHO) return undefined;
      const echo = Echo.decode(Envelope.decode(out.broadcast).payload);
      echo.dealDigests[1] = new Uint8Array(32).fill(7);
      return { ...out, broadcast: await reseal(signer, out.broadcast, Echo.encode(echo)) };
    });
    expectConvicted(runs, "INVALID_ECHO", [3], [1, 2, 4]);
  });

  it("a lying echo sent to one node only: that node's complaint carries the echo, everyone names the echoer", async () => {
    const ids = await identities(base.n);
    const runs = await runAll({
      ...base,
      tamper: async (from, to, step, kind, bytes) => {
        if (from !== 3 || to !== 4 || step !== STEP.ECHO || kind !== "broadcast") return bytes;
        const echo = Echo.decode(Envelope.decode(bytes).payload);
        echo.dealDigests[1] = new Uint8Array(32).fill(7);
        return reseal(ids[2]!.signer, bytes, Echo.encode(echo));
      },
    });
    expectConvicted(runs, "INVALID_ECHO", [3], [1, 2, 4]);
  });

  it("misaddressed evidence (Shares the dealer sent to another receiver): the accuser is named", async () => {
    let toFour: Uint8Array | undefined;
    const ids = await identities(base.n);
    const runs = await runAll({
      ...base,
      // the accuser got hold of operator 4's shares (collusion, or a leak)
      tamper: async (from, to, step, kind, bytes) => {
        if (from === 2 && to === 4 && step === STEP.DEAL && kind === "direct") toFour = bytes;
        return bytes;
      },
      wrap: (i, t) =>
        i === 3
          ? byzantine(
              t,
              frameBadShareWithOthersShares(ids[2]!.signer, idx(2), () => toFour!),
            )
          : t,
    });
    expectConvicted(runs, "FALSE_COMPLAINT", [3], [1, 2, 4]);
    expect(runs[0]!.error!.message).toMatch(/addressed to 4, expected 3/);
  });

  it("a complaint stuffed with evidence is the accuser's malformed message, judged before any check", async () => {
    const ids = await identities(base.n);
    const runs = await withAttacker(3, () =>
      complaint(ids[2]!.signer, (r) => ({
        kind: AccusationKind.ECHO_MISMATCH,
        accused: 2,
        envelope: r.get(STEP.DEAL)!.get(idx(2))!.broadcast,
        echoes: Array.from({ length: 50 }, () => r.get(STEP.DEAL)!.get(idx(2))!.broadcast),
      })),
    );
    expectConvicted(runs, "MALFORMED_MESSAGE", [3], [1, 2, 4]);
    // refused while decoding (protons limits), before any evidence is opened
    expect(runs[0]!.error!.message).toMatch(/undecodable payload: .*"echoes" had too many elements/);
  });

  it("an accusation of no kind is the accuser's malformed message", async () => {
    const ids = await identities(base.n);
    const runs = await withAttacker(3, () =>
      complaint(ids[2]!.signer, (r) => ({
        kind: AccusationKind.ACCUSATION_KIND_UNSPECIFIED,
        accused: 2,
        envelope: r.get(STEP.DEAL)!.get(idx(2))!.direct!,
      })),
    );
    expectConvicted(runs, "MALFORMED_MESSAGE", [3], [1, 2, 4]);
  });
});

describe("replays from an earlier attempt of the same definition (n=4, t=3, V=2, in memory)", () => {
  const definitionHash = new Uint8Array(32).fill(0x42);

  /** Attempt 1 runs cleanly; returns dealer 2's deal and its shares for operator 3. */
  async function firstAttempt(): Promise<{ deal: Uint8Array; sharesTo3: Uint8Array; session: Uint8Array }> {
    let deal: Uint8Array | undefined;
    let sharesTo3: Uint8Array | undefined;
    let hub: MemHub | undefined;
    const runs = await runAll({
      ...base,
      session: definitionHash,
      onHub: (h) => {
        hub = h;
      },
      tamper: async (from, to, step, kind, bytes) => {
        if (from === 2 && to === 3 && step === STEP.DEAL) {
          if (kind === "broadcast") deal = bytes;
          else sharesTo3 = bytes;
        }
        return bytes;
      },
    });
    expect(runs.every((r) => r.persisted)).toBe(true);
    return { deal: deal!, sharesTo3: sharesTo3!, session: hub!.session() };
  }

  it("a rerun with fresh nonces has a new session: the same honest nodes succeed, earlier messages do not open", async () => {
    const old = await firstAttempt();
    let hub: MemHub | undefined;
    const runs = await runAll({
      ...base,
      session: definitionHash,
      onHub: (h) => {
        hub = h;
      },
    });
    expect(runs.map((r) => r.error?.message)).toEqual([undefined, undefined, undefined, undefined]);
    expect(toHex(hub!.session())).not.toBe(toHex(old.session));
    const ids = await identities(base.n);
    await expect(
      openEnvelope(old.deal, { session: hub!.session(), kind: MessageKind.DEAL, n: 4, verifier: verifierFor(ids) }),
    ).rejects.toThrow(/another session or attempt/);
    // the nonces are what changed: the same nonces give the same session
    await expect(
      openEnvelope(old.deal, { session: old.session, kind: MessageKind.DEAL, n: 4, verifier: verifierFor(ids) }),
    ).resolves.toMatchObject({ sender: 2 });
  });

  it("an earlier attempt's deal offered as the second deal: the accuser is named", async () => {
    const old = await firstAttempt();
    const ids = await identities(base.n);
    const runs = await runAll({
      ...base,
      session: definitionHash,
      wrap: (i, t) => (i === 3 ? byzantine(t, frameEquivocationWithOldDeal(ids[2]!.signer, idx(2), old.deal)) : t),
    });
    expectConvicted(runs, "FALSE_COMPLAINT", [3], [1, 2, 4]);
    expect(runs[0]!.error!.message).toMatch(/another session or attempt/);
  });

  it("an earlier attempt's shares offered as BAD_SHARE evidence: the accuser is named", async () => {
    const old = await firstAttempt();
    const ids = await identities(base.n);
    const runs = await runAll({
      ...base,
      session: definitionHash,
      wrap: (i, t) =>
        i === 3
          ? byzantine(
              t,
              complaint(ids[2]!.signer, () => ({
                kind: AccusationKind.BAD_SHARE,
                accused: 2,
                envelope: old.sharesTo3,
              })),
            )
          : t,
    });
    expectConvicted(runs, "FALSE_COMPLAINT", [3], [1, 2, 4]);
  });
});

describe("a genuinely faulty dealer is still convicted, with evidence others accept (in memory)", () => {
  it("bad share: every honest node names the dealer; the Shares evidence is typed, addressed and fails its check", async () => {
    let session: Uint8Array | undefined;
    let deal: Uint8Array | undefined;
    const ids = await identities(base.n);
    const runs = await runAll({
      ...base,
      onHub: (h) => {
        session = h.session();
      },
      tamper: async (from, to, step, kind, bytes) => {
        if (from === 2 && step === STEP.DEAL && kind === "broadcast") deal = bytes;
        if (from !== 2 || to !== 3 || step !== STEP.DEAL || kind !== "direct") return bytes;
        const s = Shares.decode(Envelope.decode(bytes).payload);
        s.shares.set(SecretKey.random().toBytes(), 32);
        return reseal(ids[1]!.signer, bytes, Shares.encode(s));
      },
    });
    expectConvicted(runs, "BAD_SHARE", [2], [1, 3, 4]);
    // an outside verifier: the evidence opens as dealer 2's SHARES for operator 3 of this attempt,
    // and validator 1's share fails dealer 2's public commitments
    const verifier = verifierFor(ids);
    const ev = fromHex(runs[0]!.error!.type.evidence[0]!);
    const env = await openEnvelope(ev, {
      session: session!,
      kind: MessageKind.SHARES,
      receiver: 3,
      expectedSender: 2,
      n: 4,
      verifier,
    });
    const p = { ...base, session: session!, self: idx(3) };
    const shares = parseShares(p.numValidators, 3, decodeSharesPayload(env.payload));
    if (typeof shares === "string") throw new Error(shares);
    const dealEnv = await openEnvelope(deal!, { session: session!, kind: MessageKind.DEAL, n: 4, verifier });
    const vectors = (
      await verifyDeals(
        p,
        new Map([[idx(2), { sender: idx(2), message: Deal.decode(dealEnv.payload), envelope: deal! }]]),
        [],
      )
    ).get(idx(2))!;
    expect(verifyShare({ commitments: vectors[0]!, share: shares[0]! }, 3)).toBe(true);
    expect(verifyShare({ commitments: vectors[1]!, share: shares[1]! }, 3)).toBe(false);
    // every honest node carries the same evidence
    for (const i of [3, 4]) expect(runs[i - 1]!.error!.type.evidence[0]).toBe(toHex(ev));
  });

  it("an unusable payload the dealer signed for the accuser convicts the dealer", async () => {
    const ids = await identities(base.n);
    const runs = await runAll({
      ...base,
      tamper: async (from, to, step, kind, bytes) => {
        if (from !== 2 || to !== 3 || step !== STEP.DEAL || kind !== "direct") return bytes;
        return reseal(ids[1]!.signer, bytes, Shares.encode({ receiver: 3, shares: new Uint8Array(5) }));
      },
    });
    expectConvicted(runs, "BAD_SHARE", [2], [1, 3, 4]);
  });

  it("two different deals: every honest node names the dealer; both deals are its, typed, of this attempt", async () => {
    let session: Uint8Array | undefined;
    const ids = await identities(base.n);
    const { createDeal } = await import("../../src/dkg/rounds.js");
    const runs = await runAll({
      ...base,
      onHub: (h) => {
        session = h.session();
      },
      tamper: async (from, to, step, kind, bytes) => {
        if (from !== 2 || to !== 3 || step !== STEP.DEAL || kind !== "broadcast") return bytes;
        const other = await createDeal({ ...base, session: session!, self: idx(2) });
        return reseal(ids[1]!.signer, bytes, encodeDeal(other.deal));
      },
    });
    expectConvicted(runs, "EQUIVOCATION", [2], [1, 3, 4]);
    const ev = runs[0]!.error!.type.evidence;
    expect(ev).toHaveLength(2);
    expect(ev[0]).not.toBe(ev[1]);
    for (const e of ev) {
      const env = await openEnvelope(fromHex(e), {
        session: session!,
        kind: MessageKind.DEAL,
        expectedSender: 2,
        n: 4,
        verifier: verifierFor(ids),
      });
      expect(env.sender).toBe(2);
    }
    for (const i of [3, 4]) expect([...runs[i - 1]!.error!.type.evidence].sort()).toEqual([...ev].sort());
  });
});

describe("frames of many empty entries (n=4, t=3, V=2, in memory)", () => {
  // each empty entry is 2 bytes of protobuf: a few MiB would decode into millions of objects
  const EMPTY_ENTRIES = 1_000_000;
  const flood = (field: number) => {
    const bytes = new Uint8Array(2 * EMPTY_ENTRIES);
    for (let i = 0; i < bytes.length; i += 2) bytes[i] = (field << 3) | 2; // field, length-delimited, length 0
    return bytes;
  };

  for (const [what, step, field] of [
    ["deposit partials", STEP.DEPOSIT_PARTIALS, 1],
    ["complaints", STEP.COMPLAIN, 1],
    ["echoes", STEP.ECHO, 1],
  ] as const) {
    it(`${what}: refused while decoding, its sender named, nothing written`, async () => {
      const runs = await withAttacker(
        3,
        (signer) => async (s, out) =>
          s === step ? { ...out, broadcast: await reseal(signer, out.broadcast, flood(field)) } : undefined,
      );
      expectConvicted(runs, "MALFORMED_MESSAGE", [3], [1, 2, 4]);
    });
  }
});
