/**
 * Deterministic simulation of duty agreement, after TigerBeetle's VOPR and FoundationDB's
 * simulator: n QBFT nodes in one process on a fake clock and a simulated network. A seed drives
 * every choice: message delays, drops, duplicates and reordering before the network stabilises
 * (GST), crashes and restarts (decisions persisted, everything else lost), which nodes' validator
 * clients ask for each duty and with which value, and up to f Byzantine nodes with valid
 * identities that are silent, equivocate, propose values honest nodes refuse, or send garbage.
 */
import { maxFaulty, QbftInstance, type QbftMessage, quorumSize } from "../../src/consensus/qbft.js";
import { roundTimeoutMs } from "../../src/consensus/timers.js";

/** mulberry32: a small seeded PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Behaviour = "silent" | "equivocate" | "invalid" | "garbage";
const BEHAVIOURS: Behaviour[] = ["silent", "equivocate", "invalid", "garbage"];
/** Values honest nodes accept; "X…" stands for a value on another chain or slashable for them. */
const VALID = ["A", "B", "C", "D"];
const enc = (v: string) => new TextEncoder().encode(v);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

export interface SimResult {
  seed: number;
  n: number;
  /** Violations of agreement or of one-value-per-node; empty when the run is correct. */
  safety: string[];
  /** Duties that should have been decided after GST but were not. */
  liveness: string[];
  decided: number;
  duties: number;
}

interface Event {
  at: number;
  seq: number;
  run: () => void;
}

/** Runs one seeded scenario and checks the invariants. */
export function simulate(seed: number, n: number, trace?: (line: string) => void): SimResult {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const f = maxFaulty(n);
  const q = quorumSize(n);
  const byzCount = Math.floor(rand() * (f + 1));
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const byzantine = new Map<number, Behaviour>();
  for (const id of [...ids].sort(() => rand() - 0.5).slice(0, byzCount)) byzantine.set(id, pick(BEHAVIOURS));
  const honest = ids.filter((i) => !byzantine.has(i));
  const gst = 2_000 + Math.floor(rand() * 8_000);
  const dutyCount = 1 + Math.floor(rand() * 6);

  let now = 0;
  let seq = 0;
  const queue: Event[] = [];
  const at = (time: number, run: () => void) => {
    const e = { at: time, seq: seq++, run };
    let lo = 0;
    let hi = queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = queue[mid]!;
      if (m.at < e.at || (m.at === e.at && m.seq < e.seq)) lo = mid + 1;
      else hi = mid;
    }
    queue.splice(lo, 0, e);
  };

  // per node: alive, epoch (bumped on restart), per-duty instance, persisted decisions
  const alive = new Map(ids.map((i) => [i, true]));
  const epoch = new Map(ids.map((i) => [i, 0]));
  const instances = new Map<string, QbftInstance>();
  const learner = new Set<string>();
  const decisions = new Map<string, string>();
  /** Persisted with each decision: its commit certificate, so a restarted node still helps peers. */
  const certificates = new Map<string, QbftMessage>();
  const started = new Map<number, Set<number>>();
  const crashedWhileOpen = new Map<number, Set<number>>();
  const safety: string[] = [];
  const received = new Map<number, QbftMessage[]>();

  const leader = (duty: number) => (round: number) => ((duty + round) % n) + 1;

  const send = (from: number, to: number, duty: number, msg: QbftMessage) => {
    if (from === to) return;
    const before = now < gst;
    if (before && rand() < 0.15) return;
    const copies = before && rand() < 0.1 ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const delay = before ? Math.floor(rand() * 700) : Math.floor(rand() * 120);
      at(now + delay, () => deliver(to, duty, msg));
    }
  };
  const broadcast = (from: number, duty: number, msgs: QbftMessage[]) => {
    for (const m of msgs) for (const to of ids) send(from, to, duty, m);
  };

  const instance = (node: number, duty: number): QbftInstance => {
    const key = `${node}/${duty}`;
    let inst = instances.get(key);
    if (inst === undefined) {
      inst = new QbftInstance({
        n,
        self: node,
        leader: leader(duty),
        validate: (v, b) => VALID.includes(v) && dec(b) === v,
        bindsValue: (v, b) => dec(b) === v,
      });
      instances.set(key, inst);
    }
    return inst;
  };

  const record = (node: number, duty: number, value: string) => {
    const key = `${node}/${duty}`;
    const prev = decisions.get(key);
    if (prev !== undefined && prev !== value)
      safety.push(`node ${node} decided ${prev} then ${value} for duty ${duty}`);
    decisions.set(key, value);
  };

  const armTimer = (node: number, duty: number, round: number) => {
    const e = epoch.get(node);
    at(now + roundTimeoutMs(round), () => {
      if (!alive.get(node) || epoch.get(node) !== e) return;
      const inst = instance(node, duty);
      if (inst.round !== round || inst.decision) return;
      trace?.(`${now} timeout node ${node} d${duty} r${round}`);
      apply(node, duty, inst.timeout(), round);
    });
  };

  const apply = (node: number, duty: number, out: ReturnType<QbftInstance["receive"]>, before = 0) => {
    const inst = instance(node, duty);
    broadcast(node, duty, out.broadcast);
    if (out.decided) {
      record(node, duty, out.decided.value);
      certificates.set(`${node}/${duty}`, inst.decidedMessage()!);
    }
    if (!inst.decision && inst.round !== before && inst.round > 0) armTimer(node, duty, inst.round);
  };

  const deliver = (to: number, duty: number, msg: QbftMessage) => {
    trace?.(
      `${now} ${msg.sender}->${to} d${duty} ${msg.type} r${msg.round} v=${msg.value} pr=${msg.preparedRound} pv=${msg.preparedValue} j=${msg.justification?.length ?? 0} alive=${alive.get(to)}`,
    );
    if (!alive.get(to)) return;
    if (byzantine.has(to)) {
      const log = received.get(to) ?? [];
      if (log.length < 2000) log.push(msg);
      received.set(to, log);
      return;
    }
    const key = `${to}/${duty}`;
    // a decided node answers a round change (a peer whose timer ran out) with its persisted commit
    // certificate, as the engine does
    const cert = certificates.get(key);
    if (cert !== undefined) {
      if (msg.type === "ROUND_CHANGE") send(to, msg.sender, duty, cert);
      return;
    }
    const inst = instance(to, duty);
    if (learner.has(key) && msg.type !== "DECIDED") return;
    const before = inst.round;
    apply(to, duty, inst.receive(msg), before);
  };

  const startDuty = (node: number, duty: number, value: string) => {
    trace?.(`${now} start node ${node} d${duty} ${value} alive=${alive.get(node)}`);
    if (!alive.get(node)) return;
    const key = `${node}/${duty}`;
    if (learner.has(key) || decisions.has(key)) return;
    started.get(duty)!.add(node);
    const inst = instance(node, duty);
    const before = inst.round;
    apply(node, duty, inst.start({ value, bytes: enc(value) }), before);
  };

  // Byzantine behaviour: messages with valid identities (their own), never forged for honest senders
  const byzAct = (node: number, duty: number, rounds: number[]) => {
    const b = byzantine.get(node)!;
    if (b === "silent") return;
    const l = leader(duty);
    for (const round of rounds) {
      const mine = l(round) === node;
      if (b === "equivocate") {
        for (const to of ids) {
          const v = pick(VALID);
          if (mine) send(node, to, duty, { type: "PRE_PREPARE", round, sender: node, value: v, valueBytes: enc(v) });
          send(node, to, duty, { type: "PREPARE", round, sender: node, value: v });
          send(node, to, duty, { type: "COMMIT", round, sender: node, value: v });
        }
      } else if (b === "invalid") {
        const v = `X${round}`;
        if (mine) broadcast(node, duty, [{ type: "PRE_PREPARE", round, sender: node, value: v, valueBytes: enc(v) }]);
        broadcast(node, duty, [
          { type: "PREPARE", round, sender: node, value: v },
          { type: "COMMIT", round, sender: node, value: v },
        ]);
      } else {
        const seen = received.get(node) ?? [];
        const types = ["PRE_PREPARE", "PREPARE", "COMMIT", "ROUND_CHANGE", "DECIDED"] as const;
        for (let k = 0; k < 4; k++) {
          const v = pick([...VALID, "X", "Z"]);
          const just = seen.length > 0 ? Array.from({ length: 3 }, () => pick(seen)) : [];
          const msg: QbftMessage = {
            type: pick(types),
            round: 1 + Math.floor(rand() * 6),
            sender: node,
            value: rand() < 0.9 ? v : undefined,
            valueBytes: rand() < 0.5 ? enc(v) : enc(pick(VALID)),
            preparedRound: Math.floor(rand() * 3),
            preparedValue: rand() < 0.5 ? v : undefined,
            justification: just,
          };
          broadcast(node, duty, [msg]);
        }
      }
    }
  };

  const liveDuties: number[] = [];
  for (let duty = 0; duty < dutyCount; duty++) {
    started.set(duty, new Set());
    crashedWhileOpen.set(duty, new Set());
    const t0 = Math.floor(rand() * gst);
    // which honest validator clients ask, and with which value (divergent beacon nodes)
    const askers = honest.filter(() => rand() < 0.85);
    const divergent = rand() < 0.6;
    const common = pick(VALID);
    for (const node of askers) {
      const value = divergent ? pick(VALID) : common;
      at(t0 + Math.floor(rand() * 1_000), () => startDuty(node, duty, value));
    }
    // Byzantine nodes act at each round's likely start, for that round (messages sent too early
    // for a round would be the only ones counted from them)
    for (const node of byzantine.keys()) {
      for (let round = 1, time = t0; round <= 6; time += roundTimeoutMs(round), round++) {
        const r = round;
        at(time + Math.floor(rand() * 1_000), () => byzAct(node, duty, [r]));
      }
    }
    if (askers.length >= q) liveDuties.push(duty);
  }

  // crashes and restarts before GST: everything but decisions is lost
  for (const node of honest) {
    if (rand() >= 0.3) continue;
    const down = Math.floor(rand() * gst);
    const up = down + Math.floor(rand() * 3_000);
    at(down, () => {
      alive.set(node, false);
      for (let duty = 0; duty < dutyCount; duty++) {
        const key = `${node}/${duty}`;
        if (!decisions.has(key) && started.get(duty)!.has(node)) crashedWhileOpen.get(duty)!.add(node);
      }
    });
    at(up, () => {
      alive.set(node, true);
      epoch.set(node, epoch.get(node)! + 1);
      for (let duty = 0; duty < dutyCount; duty++) {
        const key = `${node}/${duty}`;
        instances.delete(key);
        // the amnesia rule: a node back from a restart only learns decisions of duties already open
        if (!decisions.has(key)) learner.add(key);
      }
    });
  }

  const end = gst + 60_000;
  while (queue.length > 0 && queue[0]!.at <= end) {
    const e = queue.shift()!;
    now = e.at;
    e.run();
  }

  for (let duty = 0; duty < dutyCount; duty++) {
    const values = new Set<string>();
    for (const node of honest) {
      const v = decisions.get(`${node}/${duty}`);
      if (v !== undefined) values.add(v);
    }
    if (values.size > 1) safety.push(`duty ${duty}: honest nodes decided ${[...values].join(" and ")}`);
    for (const v of values) if (!VALID.includes(v)) safety.push(`duty ${duty}: decided invalid value ${v}`);
  }
  const liveness: string[] = [];
  let decided = 0;
  for (const duty of liveDuties) {
    const participants = [...started.get(duty)!].filter((i) => !crashedWhileOpen.get(duty)!.has(i));
    if (participants.length < q) continue;
    for (const node of participants) {
      if (decisions.has(`${node}/${duty}`)) decided += 1;
      else liveness.push(`duty ${duty}: node ${node} did not decide (participants ${participants.join(",")})`);
    }
  }
  return { seed, n, safety, liveness, decided, duties: dutyCount };
}
