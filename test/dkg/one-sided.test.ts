// Faults only one honest node can see (issue 9, identifiable abort): a Byzantine operator with a
// valid identity sends one honest node a different message from the one the others get. Steps
// after the echo have no echo of their own, so without a relay of complaints and a signed abort
// the node that saw the fault left, and every other honest node named it as the one that vanished.
import { describe, expect, it } from "vitest";
import { judgeAbort } from "../../src/dkg/abort.js";
import { sealEnvelope } from "../../src/dkg/envelope.js";
import { encodeAbort } from "../../src/dkg/messages.js";
import { STEP } from "../../src/dkg/steps.js";
import type { ShareIndex } from "../../src/lib/types.js";
import { AccusationKind, Complaints, Envelope, MessageKind } from "../../src/pb/bcast.js";
import { byzantine, falseAbort } from "./byzantine.js";
import { identities, type NodeRun, runAll, verifierFor } from "./harness.js";

/** No honest node names an honest operator, and none wrote a lock unless every node could. */
function expectOnlyNamed(runs: NodeRun[], faulty: number) {
  for (const r of runs) {
    if (r.index === faulty) continue;
    const named = r.error?.type.culprits ?? [];
    expect(named, `node ${r.index}: ${r.error?.message}`).toEqual(r.error ? [faulty] : []);
  }
}

const base = { n: 4, t: 3, numValidators: 2, timeoutMs: 8_000 } as const;

describe("a message only one honest node sees (n=4, t=3)", () => {
  for (const step of [STEP.COMPLAIN, STEP.DEPOSIT_PARTIALS, STEP.LOCK_SIGNATURES]) {
    it(`undecodable ${Object.entries(STEP).find(([, s]) => s === step)![0]} to node 2 only: the sender is named`, async () => {
      const ids = await identities(4);
      const runs = await runAll({
        ...base,
        tamper: async (from, to, s, kind, bytes) => {
          if (from !== 1 || to !== 2 || s !== step || kind !== "broadcast") return bytes;
          const env = Envelope.decode(bytes);
          return sealEnvelope(ids[0]!.signer, env.session, 1 as ShareIndex, env.kind, Uint8Array.of(0xff, 0xff, 0xff));
        },
      });
      expectOnlyNamed(runs, 1);
      expect(runs.find((r) => r.index === 2)!.error?.type.culprits).toEqual([1]);
    });
  }

  it("a complaint sent to one node only: the accuser is named, never the accused dealer", async () => {
    const ids = await identities(4);
    const runs = await runAll({
      ...base,
      tamper: async (from, to, s, kind, bytes) => {
        if (from !== 3 || to !== 4 || s !== STEP.COMPLAIN || kind !== "broadcast") return bytes;
        const env = Envelope.decode(bytes);
        const accusations = [
          {
            kind: AccusationKind.BAD_SHARE,
            accused: 2,
            validators: [1],
            reason: "lie",
            envelope: new Uint8Array(0),
            echoes: [],
          },
        ];
        return sealEnvelope(ids[2]!.signer, env.session, 3 as ShareIndex, env.kind, Complaints.encode({ accusations }));
      },
    });
    expectOnlyNamed(runs, 3);
    for (const r of runs) expect(r.persisted).toBe(false);
  });
});

describe("a false signed abort (n=4, t=3)", () => {
  it("evidence that is the victim's genuine message: every honest node names the aborter", async () => {
    const ids = await identities(4);
    const runs = await runAll({
      ...base,
      wrap: (i, t) => (i === 1 ? byzantine(t, falseAbort(ids[0]!.signer, 2 as ShareIndex)) : t),
    });
    for (const r of runs.filter((x) => x.index !== 1)) {
      expect(r.error?.type.code, `node ${r.index}: ${r.error?.message}`).toBe("FALSE_ABORT");
      expect(r.error?.type.culprits).toEqual([1]);
      expect(r.persisted).toBe(false);
    }
  });

  it("evidence that authenticates as nothing proves nothing: no one is named", async () => {
    const ids = await identities(4);
    const runs = await runAll({
      ...base,
      wrap: (i, t) => (i === 1 ? byzantine(t, falseAbort(ids[0]!.signer, 2 as ShareIndex, true)) : t),
    });
    for (const r of runs.filter((x) => x.index !== 1)) {
      expect(r.error?.type.code, `node ${r.index}: ${r.error?.message}`).toBe("PEER_ABORTED");
      expect(r.error?.type.culprits).toEqual([]);
      expect(r.persisted).toBe(false);
    }
  });
});

/**
 * A network failure in an abort proves nothing: an operator that withholds its message from one
 * honest node makes that node time out while the others got the message. A node names only the
 * operators it is itself still waiting for at that step.
 */
describe("judging an abort that reports a timeout", () => {
  const session = new Uint8Array(32).fill(5);
  const all = [1, 2, 3, 4] as ShareIndex[];
  const ctx = async (waiting: { step: number; missing: ShareIndex[] }) => ({
    session,
    verifier: verifierFor(await identities(4)),
    received: new Map(),
    n: 4,
    numValidators: 2,
    dealers: all,
    receivers: all,
    waiting,
  });
  /** Operator 2's signed abort: it timed out at `step` waiting for operator 1. */
  const abortFrom2 = async (step: number) =>
    sealEnvelope(
      (await identities(4))[1]!.signer,
      session,
      2 as ShareIndex,
      MessageKind.ABORT,
      encodeAbort({ code: "TIMEOUT", step, culprits: [1], detail: "timed out waiting for 1", evidence: [] }),
    );

  it("this node has operator 1's message of that step (it is a step ahead): no one is named", async () => {
    const judged = await judgeAbort(
      2 as ShareIndex,
      await abortFrom2(STEP.COMPLAIN),
      await ctx({ step: STEP.JUSTIFY, missing: [2] as ShareIndex[] }),
    );
    expect(judged.type.code).toBe("PEER_ABORTED");
    expect(judged.type.culprits).toEqual([]);
    expect(judged.message).toMatch(/operator 2 aborted reporting TIMEOUT .*no one is named/);
  });

  it("this node waits for operator 1 at that step too: it names operator 1, as its own timeout would", async () => {
    const judged = await judgeAbort(
      2 as ShareIndex,
      await abortFrom2(STEP.COMPLAIN),
      await ctx({ step: STEP.COMPLAIN, missing: [1, 2] as ShareIndex[] }),
    );
    expect(judged.type.code).toBe("TIMEOUT");
    expect(judged.type.culprits).toEqual([1]);
  });

  it("the aborter never names itself into a conviction, and a forged abort names no one", async () => {
    const forged = await sealEnvelope(
      (await identities(4))[2]!.signer,
      session,
      2 as ShareIndex,
      MessageKind.ABORT,
      encodeAbort({ code: "TIMEOUT", step: STEP.COMPLAIN, culprits: [1], detail: "x", evidence: [] }),
    );
    const judged = await judgeAbort(
      2 as ShareIndex,
      forged,
      await ctx({ step: STEP.COMPLAIN, missing: [1, 2] as ShareIndex[] }),
    );
    expect(judged.type.culprits).not.toContain(1);
  });
});
