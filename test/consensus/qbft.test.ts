// QBFT state machine (src/consensus/qbft.ts): quorum arithmetic, the happy path, and the rules that
// keep a Byzantine leader from splitting honest nodes (Moniz 2020, Algorithms 1–4).
import { describe, expect, it } from "vitest";
import { maxFaulty, QbftInstance, type QbftMessage, quorumSize } from "../../src/consensus/qbft.js";

const enc = (v: string) => new TextEncoder().encode(v);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function node(n: number, self: number, leaderOf = (r: number) => ((r - 1) % n) + 1, valid = ["A", "B", "C"]) {
  return new QbftInstance({
    n,
    self,
    leader: leaderOf,
    validate: (v, b) => valid.includes(v) && dec(b) === v,
    bindsValue: (v, b) => dec(b) === v,
  });
}

/** Delivers every message to every other node, in FIFO order, until the network is quiet. */
function run(
  nodes: QbftInstance[],
  initial: { from: number; msgs: QbftMessage[] }[],
  drop = (_m: QbftMessage, _to: number) => false,
) {
  const queue: { to: number; msg: QbftMessage }[] = [];
  const push = (from: number, msgs: QbftMessage[]) => {
    for (const m of msgs)
      for (let to = 1; to <= nodes.length; to++) if (to !== from && !drop(m, to)) queue.push({ to, msg: m });
  };
  for (const i of initial) push(i.from, i.msgs);
  while (queue.length > 0) {
    const { to, msg } = queue.shift()!;
    push(to, nodes[to - 1]!.receive(msg).broadcast);
  }
}

describe("quorum arithmetic", () => {
  it("f, quorum and the default threshold ⌈2n/3⌉ for n = 3 to 13 (DESIGN.md's table)", () => {
    const rows = [3, 4, 5, 6, 7, 8, 9, 10].map((n) => [n, maxFaulty(n), quorumSize(n), Math.ceil((2 * n) / 3)]);
    expect(rows).toEqual([
      [3, 0, 2, 2],
      [4, 1, 3, 3],
      [5, 1, 4, 4],
      [6, 1, 4, 4],
      [7, 2, 5, 5],
      [8, 2, 6, 6],
      [9, 2, 6, 6],
      [10, 3, 7, 7],
    ]);
    for (let n = 3; n <= 13; n++) expect(quorumSize(n), `n=${n}`).toBe(Math.ceil((2 * n) / 3));
  });
});

describe("QBFT instance", () => {
  it("decides the leader's value when every node starts", () => {
    const nodes = [1, 2, 3, 4].map((i) => node(4, i));
    const starts = nodes.map((x, i) => ({
      from: i + 1,
      msgs: x.start({ value: i === 0 ? "A" : "B", bytes: enc(i === 0 ? "A" : "B") }).broadcast,
    }));
    run(nodes, starts);
    for (const x of nodes) expect(x.decision?.value).toBe("A");
  });

  it("refuses a leader's value it does not validate, and decides the next leader's after a round change", () => {
    // the round 1 leader proposes "X" (another chain): nobody prepares it
    const nodes = [1, 2, 3, 4].map((i) => node(4, i));
    const bad: QbftMessage = { type: "PRE_PREPARE", round: 1, sender: 1, value: "X", valueBytes: enc("X") };
    const starts = [2, 3, 4].map((i) => ({
      from: i,
      msgs: nodes[i - 1]!.start({ value: "B", bytes: enc("B") }).broadcast,
    }));
    run(nodes, [...starts, { from: 1, msgs: [bad] }]);
    for (const x of nodes.slice(1)) expect(x.decision).toBeUndefined();
    run(
      nodes,
      [2, 3, 4].map((i) => ({ from: i, msgs: nodes[i - 1]!.timeout().broadcast })),
    );
    for (const x of nodes.slice(1)) expect(x.decision?.value).toBe("B");
  });

  it("an equivocating leader (A to some, B to others) never makes two honest nodes decide differently", () => {
    const nodes = [1, 2, 3, 4].map((i) => node(4, i));
    for (const i of [2, 3, 4]) nodes[i - 1]!.start({ value: "C", bytes: enc("C") });
    // leader 1 is Byzantine: A to node 2, B to nodes 3 and 4, and prepares/commits both
    const to = (v: string, r: number): QbftMessage[] => [
      { type: "PRE_PREPARE", round: r, sender: 1, value: v, valueBytes: enc(v) },
      { type: "PREPARE", round: r, sender: 1, value: v },
      { type: "COMMIT", round: r, sender: 1, value: v },
    ];
    const queue: { to: number; msg: QbftMessage }[] = [];
    for (const m of to("A", 1)) queue.push({ to: 2, msg: m });
    for (const m of to("B", 1)) queue.push({ to: 3, msg: m }, { to: 4, msg: m });
    while (queue.length > 0) {
      const { to: dest, msg } = queue.shift()!;
      for (const out of nodes[dest - 1]!.receive(msg).broadcast) {
        for (const k of [2, 3, 4]) if (k !== dest) queue.push({ to: k, msg: out });
      }
    }
    const values = new Set(
      nodes
        .slice(1)
        .map((x) => x.decision?.value)
        .filter((v) => v !== undefined),
    );
    expect(values.size).toBeLessThanOrEqual(1);
    // 3 and 4 prepare B, and with the leader's own prepare and commit B reaches a quorum
    expect(nodes[2]!.decision?.value).toBe("B");
  });

  it("an unjustified PRE-PREPARE for a later round is ignored; a justified one carries the prepared value", () => {
    // node 2 leads round 2; node 3 receives its proposals
    const n = 4;
    const y = node(n, 3);
    y.start({ value: "A", bytes: enc("A") });
    const unjustified: QbftMessage = { type: "PRE_PREPARE", round: 2, sender: 2, value: "B", valueBytes: enc("B") };
    expect(y.receive(unjustified).broadcast).toEqual([]);
    expect(y.round).toBe(1);
    // a quorum of ROUND_CHANGEs, one of them prepared A in round 1 with a quorum of PREPAREs
    const prepares: QbftMessage[] = [1, 2, 3].map((s) => ({ type: "PREPARE", round: 1, sender: s, value: "A" }));
    const rcs: QbftMessage[] = [
      { type: "ROUND_CHANGE", round: 2, sender: 1, preparedRound: 1, preparedValue: "A" },
      { type: "ROUND_CHANGE", round: 2, sender: 2 },
      { type: "ROUND_CHANGE", round: 2, sender: 4 },
    ];
    // the leader proposes B although A was prepared: refused
    const wrong: QbftMessage = { ...unjustified, round: 2, justification: [...rcs, ...prepares] };
    const z = node(n, 3);
    z.start({ value: "A", bytes: enc("A") });
    expect(z.receive(wrong).broadcast).toEqual([]);
    // proposing the prepared A is justified: node 3 moves to round 2 and prepares A
    const right: QbftMessage = {
      type: "PRE_PREPARE",
      round: 2,
      sender: 2,
      value: "A",
      valueBytes: enc("A"),
      justification: [...rcs, ...prepares],
    };
    const w = node(n, 3);
    w.start({ value: "A", bytes: enc("A") });
    const out = w.receive(right).broadcast;
    expect(w.round).toBe(2);
    expect(out).toEqual([{ type: "PREPARE", round: 2, sender: 3, value: "A" }]);
  });

  it("a round change that claims a prepared value without a quorum of PREPAREs does not count", () => {
    // node 2 leads round 2; two valid ROUND_CHANGEs plus one bogus one are not a quorum
    const leader = node(4, 2);
    leader.start({ value: "B", bytes: enc("B") });
    leader.timeout();
    const fake: QbftMessage = {
      type: "ROUND_CHANGE",
      round: 2,
      sender: 1,
      preparedRound: 1,
      preparedValue: "C",
      valueBytes: enc("C"),
      justification: [{ type: "PREPARE", round: 1, sender: 1, value: "C" }],
    };
    expect(leader.receive(fake).broadcast).toEqual([]);
    const out = leader.receive({ type: "ROUND_CHANGE", round: 2, sender: 3 }).broadcast;
    expect(out).toEqual([]);
    const out2 = leader.receive({ type: "ROUND_CHANGE", round: 2, sender: 4 }).broadcast;
    // the leader proposes its own value (the bogus claim is not a prepared value) and prepares it
    expect(out2.map((m) => m.type)).toEqual(["PRE_PREPARE", "PREPARE"]);
    expect(out2[0]).toMatchObject({ round: 2, value: "B" });
  });

  it("a DECIDED certificate needs a quorum of distinct COMMITs and bytes that are the value", () => {
    const x = node(4, 4);
    const commits = (senders: number[], v = "A"): QbftMessage[] =>
      senders.map((s) => ({ type: "COMMIT", round: 1, sender: s, value: v }));
    x.receive({
      type: "DECIDED",
      round: 1,
      sender: 1,
      value: "A",
      valueBytes: enc("A"),
      justification: commits([1, 1, 2]),
    });
    expect(x.decision).toBeUndefined();
    x.receive({
      type: "DECIDED",
      round: 1,
      sender: 1,
      value: "A",
      valueBytes: enc("B"),
      justification: commits([1, 2, 3]),
    });
    expect(x.decision).toBeUndefined();
    x.receive({
      type: "DECIDED",
      round: 1,
      sender: 1,
      value: "A",
      valueBytes: enc("A"),
      justification: commits([1, 2, 3]),
    });
    expect(x.decision?.value).toBe("A");
    expect(x.decidedMessage()).toMatchObject({ type: "DECIDED", value: "A", sender: 4 });
  });

  it("keeps value bytes only from the round's leader: a non-leader's bytes are dropped, so its commits decide nothing", () => {
    const x = node(4, 3);
    // leader(1) is node 1; node 2 sends a PRE_PREPARE with A's bytes, then A gets a quorum of commits
    x.receive({ type: "PRE_PREPARE", round: 1, sender: 2, value: "A", valueBytes: enc("A") });
    for (const s of [1, 2, 4]) x.receive({ type: "COMMIT", round: 1, sender: s, value: "A" });
    expect(x.decision).toBeUndefined();
    // the leader's PRE_PREPARE brings the bytes: the quorum of commits now decides
    x.receive({ type: "PRE_PREPARE", round: 1, sender: 1, value: "A", valueBytes: enc("A") });
    expect(x.decision?.value).toBe("A");
  });

  it("a DECIDED certificate for a known value decides with the bytes kept for it, never the certificate's", () => {
    const x = node(4, 2);
    x.start({ value: "A", bytes: enc("A") });
    const commits: QbftMessage[] = [1, 3, 4].map((s) => ({ type: "COMMIT", round: 1, sender: s, value: "A" }));
    x.receive({ type: "DECIDED", round: 1, sender: 1, value: "A", valueBytes: enc("EVIL"), justification: commits });
    expect(x.decision?.value).toBe("A");
    expect(dec(x.decision!.valueBytes)).toBe("A");
  });

  it("garbage from a peer (bad sender, round, missing value) changes nothing", () => {
    const x = node(4, 2);
    x.start({ value: "A", bytes: enc("A") });
    for (const m of [
      { type: "PREPARE", round: 1, sender: 9, value: "A" },
      { type: "PREPARE", round: 0, sender: 1, value: "A" },
      { type: "PREPARE", round: 1e9, sender: 1, value: "A" },
      { type: "COMMIT", round: 1, sender: 1 },
      { type: "PRE_PREPARE", round: 1, sender: 1.5, value: "A" },
    ] as QbftMessage[]) {
      expect(x.receive(m).broadcast).toEqual([]);
    }
    expect(x.round).toBe(1);
    expect(x.decision).toBeUndefined();
  });
});
