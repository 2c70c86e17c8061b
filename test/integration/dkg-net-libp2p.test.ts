/**
 * Four networked ceremony transports on libp2p on 127.0.0.1 in one process: sync, three exchange steps with broadcast
 * and direct messages, a silent peer, and a peer that stops mid-ceremony.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { NetworkCeremonyTransport } from "../../src/dkg/net.js";
import type { Inbound } from "../../src/dkg/transport.js";
import type { CodedError } from "../../src/lib/errors.js";
import type { ShareIndex } from "../../src/lib/types.js";
import type { Identity } from "../../src/p2p/identity.js";
import { envelope, netTransport, payloadOf } from "../dkg/netHelpers.js";
import { cleanupIdentities, freePort, newIdentity, sessionOf, tcpAddr } from "../p2p/helpers.js";

const VERSION = "cohort/test-1";
const SESSION = sessionOf(7);
const LONG_MS = 60_000;

interface Node {
  identity: Identity;
  address: string;
}

let open: NetworkCeremonyTransport[] = [];

afterEach(async () => {
  await Promise.all(open.map((t) => t.close()));
  open = [];
  await cleanupIdentities();
});

async function cluster(n: number): Promise<Node[]> {
  const nodes: Node[] = [];
  for (let i = 0; i < n; i++) nodes.push({ identity: await newIdentity(), address: tcpAddr(await freePort()) });
  return nodes;
}

async function transport(nodes: Node[], i: number): Promise<NetworkCeremonyTransport> {
  const me = nodes[i]!;
  const t = await netTransport({
    identity: me.identity,
    operators: nodes.map((n) => ({ peerId: n.identity.peerId, addresses: [n.address] })),
    session: SESSION,
    protocolVersion: VERSION,
    listenAddress: me.address,
  });
  open.push(t);
  return t;
}

const code = (err: unknown) => (err as CodedError<{ code: string }>).type;

/** Runs one step on every transport: a broadcast per node, plus direct messages per receiver when `direct`. */
async function step(ts: NetworkCeremonyTransport[], s: number, channel: "bcast" | "parsig", direct: boolean) {
  return await Promise.all(
    ts.map((t) =>
      t.exchange(
        s,
        {
          channel,
          broadcast: envelope(t.session()!, t.self, s, `b${s} from ${t.self}`),
          direct: direct
            ? new Map(
                ts
                  .filter((o) => o.self !== t.self)
                  .map((o) => [o.self, envelope(t.session()!, t.self, s, `d${s} ${t.self}->${o.self}`)]),
              )
            : undefined,
        },
        { signal: AbortSignal.timeout(LONG_MS) },
      ),
    ),
  );
}

function expectStep(t: NetworkCeremonyTransport, got: Map<ShareIndex, Inbound>, s: number, n: number, direct: boolean) {
  const peers = [...got.keys()].sort();
  expect(peers).toEqual([1, 2, 3, 4].filter((i) => i !== t.self && i <= n));
  for (const [from, msg] of got) {
    expect(payloadOf(msg.broadcast)).toBe(`b${s} from ${from}`);
    if (direct) expect(payloadOf(msg.direct!)).toBe(`d${s} ${from}->${t.self}`);
    else expect(msg.direct).toBeUndefined();
  }
}

describe("libp2p ceremony transport, 4 nodes on loopback", () => {
  it("syncs peers started in any order and runs three steps with broadcast and direct messages", async () => {
    const nodes = await cluster(4);
    const ts = await Promise.all([0, 1, 2, 3].map((i) => transport(nodes, i)));
    // start in reverse order, a little apart: early nodes dial peers that are not listening yet
    const connects: Promise<unknown>[] = [];
    for (const t of [...ts].reverse()) {
      connects.push(t.connect({ signal: AbortSignal.timeout(LONG_MS) }));
      await new Promise((r) => setTimeout(r, 150));
    }
    await Promise.all(connects);
    expect(ts.map((t) => t.self)).toEqual([1, 2, 3, 4]);
    expect(ts.every((t) => t.n === 4)).toBe(true);

    const r1 = await step(ts, 1, "bcast", true);
    for (const [i, t] of ts.entries()) expectStep(t, r1[i]!, 1, 4, true);
    const r2 = await step(ts, 2, "bcast", false);
    for (const [i, t] of ts.entries()) expectStep(t, r2[i]!, 2, 4, false);
    const r3 = await step(ts, 3, "parsig", false);
    for (const [i, t] of ts.entries()) expectStep(t, r3[i]!, 3, 4, false);
    for (const t of ts) expect(t.faults().size).toBe(0);
  });

  it("a peer that never starts: connect fails with TIMEOUT naming it, after reporting it as missing", async () => {
    const nodes = await cluster(4);
    const ts = await Promise.all([0, 1, 2].map((i) => transport(nodes, i)));
    const results = await Promise.allSettled(
      ts.map((t) => {
        // the caller's deadline fires once this node is waiting for node 4 alone
        const deadline = new AbortController();
        return t.connect({
          signal: deadline.signal,
          onWaiting: (s, missing) => {
            expect(s).toBe(0);
            if (missing.length === 1 && missing[0] === 4) deadline.abort(new DOMException("deadline", "TimeoutError"));
          },
        });
      }),
    );
    for (const r of results) {
      expect(r.status).toBe("rejected");
      expect(code((r as PromiseRejectedResult).reason)).toEqual({ code: "TIMEOUT", step: 0, missing: [4] });
    }
  });

  it("a peer that stays silent in a step: exchange fails with TIMEOUT naming it", async () => {
    const nodes = await cluster(4);
    const ts = await Promise.all([0, 1, 2, 3].map((i) => transport(nodes, i)));
    await Promise.all(ts.map((t) => t.connect({ signal: AbortSignal.timeout(LONG_MS) })));
    const active = ts.slice(0, 3);
    const results = await Promise.allSettled(
      active.map((t) => {
        const deadline = new AbortController();
        return t.exchange(
          1,
          { channel: "bcast", broadcast: envelope(t.session()!, t.self, 1, "x") },
          {
            signal: deadline.signal,
            onWaiting: (_s, missing) => {
              if (missing.length === 1 && missing[0] === 4)
                deadline.abort(new DOMException("deadline", "TimeoutError"));
            },
          },
        );
      }),
    );
    for (const r of results) {
      expect(r.status).toBe("rejected");
      expect(code((r as PromiseRejectedResult).reason)).toEqual({ code: "TIMEOUT", step: 1, missing: [4] });
    }
  });

  it("a peer that stops mid-ceremony: the others fail with PEER_DISCONNECTED, not a timeout", async () => {
    const nodes = await cluster(4);
    const ts = await Promise.all([0, 1, 2, 3].map((i) => transport(nodes, i)));
    await Promise.all(ts.map((t) => t.connect({ signal: AbortSignal.timeout(LONG_MS) })));
    await step(ts, 1, "bcast", true);
    await ts[3]!.close();
    const results = await Promise.allSettled(
      ts
        .slice(0, 3)
        .map((t) =>
          t.exchange(
            2,
            { channel: "bcast", broadcast: envelope(t.session()!, t.self, 2, "y") },
            { signal: AbortSignal.timeout(LONG_MS) },
          ),
        ),
    );
    for (const r of results) {
      expect(r.status).toBe("rejected");
      expect(code((r as PromiseRejectedResult).reason)).toEqual({ code: "PEER_DISCONNECTED", step: 2, peer: 4 });
    }
  });
});
