// Framing attacks over real libp2p (TCP, Noise, Yamux) on 127.0.0.1: operator 3 keeps its valid
// identity but rewrites what it sends (test/dkg/byzantine.ts wraps its transport). Honest nodes must
// name operator 3, never the dealer it accuses.
import { beforeAll, describe, expect, it } from "vitest";
import { ceremonyEnvelopeLimits, definitionArtifacts } from "../../src/app/dkg.js";
import { type ClusterDefinition, createDefinition, signDefinition } from "../../src/cluster/definition.js";
import { runCeremony } from "../../src/dkg/ceremony.js";
import { sealEnvelope } from "../../src/dkg/envelope.js";
import { DkgError } from "../../src/dkg/errors.js";
import { DKG_BCAST_PROTOCOL, DKG_PARSIG_PROTOCOL, DKG_SHARE_PROTOCOL } from "../../src/dkg/protocols.js";
import { DKG_PROTOCOL_VERSION, STEP } from "../../src/dkg/steps.js";
import type { CeremonyTransport, Inbound } from "../../src/dkg/transport.js";
import { resolveNetwork } from "../../src/eth2/networks.js";
import { silentLogger } from "../../src/lib/logger.js";
import { freePort } from "../../src/lib/ports.js";
import type { ShareIndex } from "../../src/lib/types.js";
import { generateIdentity, type Identity, verifyIdentitySignature } from "../../src/p2p/identity.js";
import { Envelope } from "../../src/pb/bcast.js";
import {
  byzantine,
  falseAbort,
  frameBadShareWithDeal,
  frameBadShareWithOthersShares,
  frameEquivocationWithOldDeal,
  frameEquivocationWithShares,
  observed,
  type Rewrite,
} from "../dkg/byzantine.js";
import { netTransport, type Withhold, withholdingHost } from "../dkg/netHelpers.js";

const N = 4;
const ATTACKER = 3;
let def: ClusterDefinition;
let ids: Identity[];
/** The listen addresses of the last run's definition. */
let lastAddrs: string[] = [];

beforeAll(async () => {
  ids = [];
  for (let i = 0; i < N; i++) ids.push(await generateIdentity());
});

/** A fresh definition on fresh ports (each run is its own cluster). */
async function definition(): Promise<string[]> {
  const addrs: string[] = [];
  for (let i = 0; i < N; i++) addrs.push(`/ip4/127.0.0.1/tcp/${await freePort()}`);
  def = createDefinition({
    name: "framing",
    operators: ids.map((id, i) => `${id.peerId}@${addrs[i]}`),
    numValidators: 2,
    network: resolveNetwork("hoodi"),
    withdrawalAddresses: ["0x000000000000000000000000000000000000dEaD"],
  }).definition;
  for (const id of ids) def = await signDefinition(def, id);
  return addrs;
}

interface RunOpts {
  /** Set to true at a node's index when it writes; without it, a write fails the node. */
  persisted?: boolean[];
  /** Run the current definition again (a rerun: same definition hash, fresh hello nonces). */
  rerun?: string[];
  /** Sees what each honest node received, step by step (a leak to the attacker, or a recording). */
  observe?: (node: number, step: number, got: Map<ShareIndex, Inbound>) => void;
  /** What the attacker's network edge withholds from node 1, given the attacker's current step. */
  withhold?: (step: () => number, victim: string) => Withhold;
  /**
   * The honest nodes' WITHHELD delay, ms (the transport's default without it, and always for the
   * attacker: its own real transport, whose sends to node 1 fail, would otherwise stop first).
   */
  withheldAfterMs?: number;
}

/**
 * Runs the ceremony on all four nodes, operator ATTACKER playing `attack` (all honest without it);
 * returns each node's error.
 */
async function run(
  attack: ((signer: Identity) => Rewrite) | undefined,
  opts: RunOpts = {},
): Promise<(Error | undefined)[]> {
  const { persisted, observe, withhold } = opts;
  const addrs = opts.rerun ?? (await definition());
  lastAddrs = addrs;
  let attackerStep = 0;
  return Promise.all(
    ids.map(async (identity, i) => {
      const attacker = i + 1 === ATTACKER;
      const rewrite = attacker ? attack?.(identity) : undefined;
      const real = await netTransport({
        withheldAfterMs: attacker ? undefined : opts.withheldAfterMs,
        wrapHost:
          attacker && withhold !== undefined
            ? (h) =>
                withholdingHost(
                  h,
                  withhold(() => attackerStep, def.operators[0]!.peerId),
                )
            : undefined,
        identity,
        operators: def.operators.map((o) => ({ peerId: o.peerId, addresses: o.addresses })),
        limits: ceremonyEnvelopeLimits(def),
        session: def.definitionHash,
        protocolVersion: DKG_PROTOCOL_VERSION,
        listenAddress: addrs[i],
        logger: silentLogger(),
      });
      const transport: CeremonyTransport =
        attacker && (rewrite !== undefined || withhold !== undefined)
          ? byzantine(real, async (step, out, seen) => {
              attackerStep = step;
              return rewrite?.(step, out, seen);
            })
          : observe === undefined
            ? real
            : observed(real, (step, got) => observe(i + 1, step, got));
      try {
        await runCeremony({
          params: {
            session: def.definitionHash,
            n: N,
            t: def.threshold,
            numValidators: def.numValidators,
            self: (i + 1) as ShareIndex,
          },
          transport,
          signer: identity,
          verifier: { verify: (s, m, sig) => verifyIdentitySignature(def.operators[s - 1]!.peerId, m, sig) },
          artifacts: definitionArtifacts(def).builder,
          logger: silentLogger(),
          signal: AbortSignal.timeout(120_000),
          persist: async () => {
            if (persisted === undefined) throw new Error("a framed ceremony must not persist");
            persisted[i] = true;
          },
        });
        return undefined;
      } catch (err) {
        return err as Error;
      } finally {
        await transport.close();
      }
    }),
  );
}

/** Every node's outcome on one line, for a failed expectation: a node's error may stem from another's. */
function outcomes(errors: (Error | undefined)[]): string {
  return errors.map((e, i) => `node ${i + 1}: ${e?.message ?? "succeeded"}`).join(" | ");
}

function expectAccuserNamed(errors: (Error | undefined)[]) {
  for (const i of [1, 2, 4]) {
    const e = errors[i - 1] as DkgError | undefined;
    expect(e?.type.code, outcomes(errors)).toBe("FALSE_COMPLAINT");
    expect(e?.type.culprits, outcomes(errors)).toEqual([ATTACKER]);
  }
}

describe("framing attacks over libp2p, 4 nodes on loopback", () => {
  it("BAD_SHARE with the dealer's public Deal envelope as evidence names the accuser", async () => {
    expectAccuserNamed(await run((id) => frameBadShareWithDeal(id, 2 as ShareIndex)));
  }, 180_000);

  it("EQUIVOCATION with the dealer's private Shares envelope as the second deal names the accuser", async () => {
    expectAccuserNamed(await run((id) => frameEquivocationWithShares(id, 2 as ShareIndex)));
  }, 180_000);

  it("BAD_SHARE with Shares the dealer sent another receiver (leaked by collusion) names the accuser", async () => {
    let toFour: Uint8Array | undefined;
    const errors = await run((id) => frameBadShareWithOthersShares(id, 2 as ShareIndex, () => toFour!), {
      // honest node 4 behaves honestly; what it received from dealer 2 reaches the attacker
      observe: (node, step, got) => {
        if (node === 4 && step === STEP.DEAL) toFour = got.get(2 as ShareIndex)!.direct;
      },
    });
    expectAccuserNamed(errors);
    expect(errors[0]!.message, outcomes(errors)).toMatch(/addressed to 4, expected 3/);
  }, 180_000);

  it("EQUIVOCATION with the dealer's deal from an earlier attempt of the same definition names the accuser", async () => {
    // attempt 1: all honest, the attacker keeps dealer 2's deal
    let oldDeal: Uint8Array | undefined;
    const persisted: boolean[] = [];
    const first = await run(undefined, {
      persisted,
      observe: (node, step, got) => {
        if (node === ATTACKER && step === STEP.DEAL) oldDeal = got.get(2 as ShareIndex)!.broadcast;
      },
    });
    expect(first, outcomes(first)).toEqual([undefined, undefined, undefined, undefined]);
    // attempt 2 of the same definition (same hash, fresh nonces): the old deal is offered as the second one
    const errors = await run((id) => frameEquivocationWithOldDeal(id, 2 as ShareIndex, oldDeal!), {
      rerun: lastAddrs,
    });
    expectAccuserNamed(errors);
    expect(errors[0]!.message, outcomes(errors)).toMatch(/another session or attempt/);
  }, 180_000);

  it("a signed abort whose evidence is the victim's genuine complaints names the aborter (FALSE_ABORT)", async () => {
    const errors = await run((id) => falseAbort(id, 2 as ShareIndex));
    for (const i of [1, 2, 4]) {
      const e = errors[i - 1] as DkgError | undefined;
      expect(e?.type.code, outcomes(errors)).toBe("FALSE_ABORT");
      expect(e?.type.culprits, outcomes(errors)).toEqual([ATTACKER]);
    }
  }, 180_000);
});

/**
 * Withholding over real libp2p: operator 3 sends node 1 less than the others (its network edge,
 * test/dkg/netHelpers.ts withholdingHost, drops it). Node 1 must neither fall behind for good nor be
 * named: a broadcast it lacks is relayed by the peers that moved on (src/dkg/relay.ts), a withheld ack
 * is replaced by the sender's next-step message, and shares, which cannot be relayed, end node 1's
 * ceremony with WITHHELD naming operator 3 before the others time out waiting for node 1.
 */
describe("withholding from one node over libp2p, 4 nodes on loopback", () => {
  it("an echo withheld from node 1 reaches it relayed, and every node writes the lock", async () => {
    const persisted: boolean[] = [];
    const errors = await run(undefined, {
      persisted,
      withhold: (step, victim) => ({
        send: (peer, protocol) => peer === victim && protocol === DKG_BCAST_PROTOCOL && step() === STEP.ECHO,
      }),
    });
    expect(errors, outcomes(errors)).toEqual([undefined, undefined, undefined, undefined]);
    expect(persisted).toEqual([true, true, true, true]);
  }, 180_000);

  it("every broadcast from the echo to the lock withheld from node 1: relayed each step, every node writes", async () => {
    const persisted: boolean[] = [];
    const errors = await run(undefined, {
      persisted,
      withhold: (step, victim) => ({
        send: (peer, protocol) =>
          peer === victim &&
          [DKG_BCAST_PROTOCOL, DKG_PARSIG_PROTOCOL].includes(protocol) &&
          step() >= STEP.ECHO &&
          step() <= STEP.LOCK_SIGNATURES,
      }),
    });
    expect(errors, outcomes(errors)).toEqual([undefined, undefined, undefined, undefined]);
    expect(persisted).toEqual([true, true, true, true]);
  }, 180_000);

  it("acks withheld from node 1 at the echo: its next-step message stands in, and every node writes", async () => {
    const persisted: boolean[] = [];
    const errors = await run(undefined, {
      persisted,
      withhold: (step, victim) => ({
        ack: (peer, protocol) => peer === victim && protocol === DKG_BCAST_PROTOCOL && step() === STEP.ECHO,
      }),
    });
    expect(errors, outcomes(errors)).toEqual([undefined, undefined, undefined, undefined]);
    expect(persisted).toEqual([true, true, true, true]);
  }, 180_000);

  it("shares withheld from node 1: it stops with WITHHELD naming operator 3, and no node names an honest one", async () => {
    const errors = await run(undefined, {
      withheldAfterMs: 5_000,
      withhold: (_step, victim) => ({ send: (peer, protocol) => peer === victim && protocol === DKG_SHARE_PROTOCOL }),
    });
    const victim = errors[0] as DkgError | undefined;
    expect(victim, outcomes(errors)).toBeInstanceOf(DkgError);
    expect(victim!.type.code, outcomes(errors)).toBe("WITHHELD");
    expect(victim!.type.culprits, outcomes(errors)).toEqual([ATTACKER]);
    for (const i of [2, 4]) {
      const e = errors[i - 1];
      expect(e, outcomes(errors)).toBeInstanceOf(DkgError);
      for (const c of (e as DkgError).type.culprits) expect(c, outcomes(errors)).toBe(ATTACKER);
    }
  }, 180_000);
});

/**
 * The mutation fuzzer's cases over real libp2p (test/dkg/fuzz.test.ts runs the one-sided ones in
 * memory): operator 3 re-signs a mutated payload of one step's message to every peer. Honest nodes
 * never crash and never name an honest operator; they all write, or none does.
 */
describe("mutations over libp2p, 4 nodes on loopback", () => {
  const steps: [string, number, "broadcast" | "direct"][] = [
    ["deal", STEP.DEAL, "broadcast"],
    ["shares", STEP.DEAL, "direct"],
    ["echo", STEP.ECHO, "broadcast"],
    ["complaints", STEP.COMPLAIN, "broadcast"],
    ["justifications", STEP.JUSTIFY, "broadcast"],
    ["deposit partials", STEP.DEPOSIT_PARTIALS, "broadcast"],
    ["lock signature", STEP.LOCK_SIGNATURES, "broadcast"],
  ];
  const mutate = {
    truncated: (b: Uint8Array) => (b.length > 1 ? b.subarray(0, b.length >> 1) : Uint8Array.of(0xff, 0xff)),
    flipped: (b: Uint8Array) => {
      const out = b.length > 0 ? Uint8Array.from(b) : Uint8Array.of(0x08, 0x01);
      out[out.length >> 1]! ^= 0x41;
      return out;
    },
  };
  for (const [name, step, kind] of steps) {
    for (const [how, fn] of Object.entries(mutate)) {
      it(`${how} ${name}`, async () => {
        const persisted: boolean[] = [];
        const errors = await run(
          (id) => async (s, out) => {
            if (s !== step) return undefined;
            const reseal = (bytes: Uint8Array) => {
              const env = Envelope.decode(bytes);
              return sealEnvelope(id, env.session, env.sender as ShareIndex, env.kind, fn(env.payload), env.receiver);
            };
            if (kind === "broadcast") return { ...out, broadcast: await reseal(out.broadcast) };
            const direct = new Map<ShareIndex, Uint8Array>();
            for (const [j, d] of out.direct!) direct.set(j, await reseal(d));
            return { ...out, direct };
          },
          { persisted },
        );
        const honest = [1, 2, 4];
        for (const i of honest) {
          const e = errors[i - 1];
          if (e === undefined) continue;
          expect(e, `node ${i}: ${e.message}`).toBeInstanceOf(DkgError);
          for (const c of (e as DkgError).type.culprits) expect(c, `node ${i}: ${e.message}`).toBe(ATTACKER);
        }
        const wrote = honest.filter((i) => persisted[i - 1] === true).length;
        expect([0, honest.length]).toContain(wrote);
        // every honest node received the same mutation: unless it changed nothing, each names the attacker
        if (wrote === 0) for (const i of honest) expect((errors[i - 1] as DkgError).type.culprits).toEqual([ATTACKER]);
      }, 180_000);
    }
  }
});
