/**
 * QBFT, one instance per duty, as a pure state machine: no I/O, no clock of its own. The caller
 * feeds it authenticated messages and timer expiries and carries out the messages it returns.
 * Moniz, "The Istanbul BFT Consensus Algorithm" (2020), Algorithms 1–4; DESIGN.md § Signing
 * protocol step 2. Values are opaque ids (a signing root as hex) with their bytes; the caller's
 * `validate` decides whether this node may accept one.
 */

/** QBFT message types; DECIDED carries a commit certificate to a node that is behind. */
export type QbftType = "PRE_PREPARE" | "PREPARE" | "COMMIT" | "ROUND_CHANGE" | "DECIDED";

/** One agreement message, as the state machine sees it (authenticated by the caller). */
export interface QbftMessage {
  readonly type: QbftType;
  /** 1-based round. */
  readonly round: number;
  /** 1-based share index of the sender. */
  readonly sender: number;
  /** The value id: PRE_PREPARE, PREPARE, COMMIT, DECIDED. */
  readonly value?: string | undefined;
  /** The value's bytes: PRE_PREPARE, DECIDED, and ROUND_CHANGE with a prepared value. */
  readonly valueBytes?: Uint8Array | undefined;
  /** ROUND_CHANGE: the round and value this sender prepared (0 and undefined when none). */
  readonly preparedRound?: number | undefined;
  readonly preparedValue?: string | undefined;
  /**
   * PRE_PREPARE for round > 1: a quorum of ROUND_CHANGEs plus the PREPAREs of the highest prepared
   * value; ROUND_CHANGE with a prepared value: a quorum of PREPAREs for it; DECIDED: a quorum of
   * COMMITs. Each embedded message must have been checked as signed by its sender.
   */
  readonly justification?: readonly QbftMessage[] | undefined;
}

/** Byzantine nodes tolerated by n nodes: f = ⌊(n − 1)/3⌋. */
export function maxFaulty(n: number): number {
  return Math.floor((n - 1) / 3);
}

/** QBFT quorum ⌈(n + f + 1)/2⌉: any two quorums share at least f + 1 nodes, so one honest node. */
export function quorumSize(n: number): number {
  return Math.ceil((n + maxFaulty(n) + 1) / 2);
}

export interface QbftOpts {
  /** Nodes in the cluster. */
  readonly n: number;
  /** This node's 1-based share index. */
  readonly self: number;
  /** The leader of a round, 1-based. */
  leader(round: number): number;
  /** True when this node may accept the value; its bytes were bound to its id by `bindsValue` first. */
  validate(value: string, bytes: Uint8Array): boolean;
  /** True when `bytes` is the value `value` (id binding only): checked before bytes are kept. */
  bindsValue(value: string, bytes: Uint8Array): boolean;
}

/** What an input or message made the instance do. */
export interface QbftOutput {
  /** Messages to send to every peer. */
  readonly broadcast: QbftMessage[];
  /** Set when this call decided. */
  readonly decided?: { value: string; valueBytes: Uint8Array; round: number; commits: QbftMessage[] } | undefined;
}

/** Most messages kept per instance: a flooding peer's extra messages are dropped. */
export const QBFT_MAX_MESSAGES_PER_INSTANCE = 4096;
/** Highest round accepted; far beyond any duty's deadline at the round timers in use. */
export const QBFT_MAX_ROUND = 64;
/** Distinct values whose bytes one instance keeps: a leader per round, and round changes' prepared values. */
export const QBFT_MAX_VALUES_PER_INSTANCE = 16;

/** One QBFT instance. */
export class QbftInstance {
  readonly #o: QbftOpts;
  readonly #q: number;
  readonly #f: number;
  #round = 0;
  #preparedRound = 0;
  #preparedValue: string | undefined;
  #preparedJustification: QbftMessage[] = [];
  #input: { value: string; bytes: Uint8Array } | undefined;
  /** Messages by "type/round", then sender: the first one counts, later ones are ignored. */
  readonly #seen = new Map<string, Map<number, QbftMessage>>();
  #stored = 0;
  /** Rounds whose PRE_PREPARE this node found invalid: not validated again. */
  readonly #rejected = new Set<number>();
  readonly #bytes = new Map<string, Uint8Array>();
  #acceptedRound = 0;
  #committedRound = 0;
  #proposedRound = 0;
  #decided: QbftOutput["decided"];

  constructor(opts: QbftOpts) {
    this.#o = opts;
    this.#q = quorumSize(opts.n);
    this.#f = maxFaulty(opts.n);
  }

  /** The current round; 0 before {@link start}. */
  get round(): number {
    return this.#round;
  }

  get decision(): QbftOutput["decided"] {
    return this.#decided;
  }

  /** The peers (1-based, ascending, never this node) any message of which this instance holds. */
  senders(): number[] {
    const from = new Set<number>();
    for (const by of this.#seen.values()) for (const sender of by.keys()) from.add(sender);
    from.delete(this.#o.self);
    return [...from].sort((a, b) => a - b);
  }

  /** True once {@link start} ran: this node takes part (its own client asked). */
  get started(): boolean {
    return this.#round > 0;
  }

  /**
   * Starts round 1 with this node's own value. Messages received before are processed now.
   * Without `input`, the node takes part but can propose only a prepared value (a learner that
   * lost its state must not call this; see the engine's amnesia rule).
   */
  start(input: { value: string; bytes: Uint8Array }): QbftOutput {
    if (this.#round > 0 || this.#decided) return { broadcast: [] };
    this.#input = input;
    this.#bytes.set(input.value, input.bytes);
    this.#round = 1;
    const out: QbftMessage[] = [];
    if (this.#o.leader(1) === this.#o.self) {
      this.#proposedRound = 1;
      out.push(this.#own({ type: "PRE_PREPARE", round: 1, value: input.value, valueBytes: input.bytes }));
    }
    return this.#drain(out);
  }

  /** The round timer of the current round expired: move to the next round (Algorithm 3). */
  timeout(): QbftOutput {
    if (this.#round === 0 || this.#decided || this.#round >= QBFT_MAX_ROUND) return { broadcast: [] };
    return this.#drain([...this.#moveTo(this.#round + 1)]);
  }

  /** Handles a message from `msg.sender` (authenticated by the caller). */
  receive(msg: QbftMessage): QbftOutput {
    if (!this.#wellFormed(msg)) return { broadcast: [] };
    if (msg.type === "DECIDED") return this.#onDecided(msg);
    if (this.#decided) return { broadcast: [] };
    // bytes are kept once, in the value map, and only from the round's leader or a round change
    // whose prepared certificate holds: a peer cannot make this node keep bytes it sends at will
    const bytes = msg.valueBytes;
    const stored = bytes === undefined ? msg : { ...msg, valueBytes: undefined };
    if (!this.#store(stored)) return { broadcast: [] };
    if (bytes !== undefined) {
      if (msg.type === "PRE_PREPARE" && msg.sender === this.#o.leader(msg.round)) this.#learn(msg.value!, bytes);
      if (msg.type === "ROUND_CHANGE" && msg.preparedValue !== undefined && this.#roundChangeValid(msg)) {
        this.#learn(msg.preparedValue, bytes);
      }
    }
    return this.#drain([]);
  }

  #wellFormed(m: QbftMessage): boolean {
    if (!Number.isSafeInteger(m.sender) || m.sender < 1 || m.sender > this.#o.n) return false;
    if (!Number.isSafeInteger(m.round) || m.round < 1 || m.round > QBFT_MAX_ROUND) return false;
    if (m.type !== "ROUND_CHANGE" && m.value === undefined) return false;
    return true;
  }

  /** Keeps the first message per (type, round, sender); false for a repeat or over the cap. */
  #store(m: QbftMessage): boolean {
    const k = `${m.type}/${m.round}`;
    let by = this.#seen.get(k);
    if (by?.has(m.sender) || this.#stored >= QBFT_MAX_MESSAGES_PER_INSTANCE) return false;
    if (by === undefined) {
      by = new Map();
      this.#seen.set(k, by);
    }
    by.set(m.sender, m);
    this.#stored += 1;
    return true;
  }

  #own(m: Omit<QbftMessage, "sender">): QbftMessage {
    const msg = { ...m, sender: this.#o.self };
    this.#store(msg);
    return msg;
  }

  #msgs(type: QbftType, round: number): QbftMessage[] {
    const by = this.#seen.get(`${type}/${round}`);
    return by === undefined ? [] : [...by.values()];
  }

  /** Q distinct senders of `type` for (round, value) among `msgs`. */
  #quorumOf(msgs: readonly QbftMessage[], type: QbftType, round: number, value: string): QbftMessage[] | undefined {
    const by = new Map<number, QbftMessage>();
    for (const m of msgs) {
      if (m.type === type && m.round === round && m.value === value && this.#wellFormed(m)) by.set(m.sender, m);
    }
    return by.size >= this.#q ? [...by.values()].slice(0, this.#q) : undefined;
  }

  /** Remembers a value's bytes once they are checked to be that value. */
  #learn(value: string, bytes: Uint8Array): void {
    if (this.#bytes.has(value) || this.#bytes.size >= QBFT_MAX_VALUES_PER_INSTANCE) return;
    if (this.#o.bindsValue(value, bytes)) this.#bytes.set(value, bytes);
  }

  #valid(value: string): boolean {
    const bytes = this.#bytes.get(value);
    return bytes !== undefined && this.#o.validate(value, bytes);
  }

  /** Re-evaluates every rule until nothing changes. */
  #drain(out: QbftMessage[]): QbftOutput {
    for (let progress = true; progress && !this.#decided; ) {
      progress = false;
      const step = this.#step();
      if (step.length > 0) {
        out.push(...step);
        progress = true;
      }
    }
    return { broadcast: out, decided: this.#decided };
  }

  #step(): QbftMessage[] {
    // decision: a quorum of COMMITs for any round
    for (let r = 1; r <= QBFT_MAX_ROUND; r++) {
      const commits = this.#msgs("COMMIT", r);
      if (commits.length < this.#q) continue;
      for (const c of commits) {
        const q = this.#quorumOf(commits, "COMMIT", r, c.value!);
        const bytes = this.#bytes.get(c.value!);
        if (q && bytes) {
          this.#decided = { value: c.value!, valueBytes: bytes, round: r, commits: q };
          return [];
        }
      }
    }
    if (this.#round === 0) return [];
    // a justified PRE-PREPARE from the leader of the current or a later round
    for (let r = Math.max(this.#round, this.#acceptedRound + 1); r <= QBFT_MAX_ROUND; r++) {
      const m = this.#seen.get(`PRE_PREPARE/${r}`)?.get(this.#o.leader(r));
      if (m === undefined || this.#rejected.has(r)) continue;
      if (!this.#justifiedPrePrepare(m) || !this.#valid(m.value!)) {
        this.#rejected.add(r);
        continue;
      }
      const out: QbftMessage[] = m.round > this.#round ? this.#moveTo(m.round, false) : [];
      this.#acceptedRound = m.round;
      out.push(this.#own({ type: "PREPARE", round: m.round, value: m.value }));
      return out;
    }
    // a quorum of PREPAREs in the current round: prepared, send COMMIT
    if (this.#committedRound < this.#round) {
      const all = this.#msgs("PREPARE", this.#round);
      for (const p of all) {
        const prepares = this.#quorumOf(all, "PREPARE", this.#round, p.value!);
        if (!prepares || !this.#bytes.has(p.value!)) continue;
        this.#committedRound = this.#round;
        this.#preparedRound = this.#round;
        this.#preparedValue = p.value;
        this.#preparedJustification = prepares;
        return [this.#own({ type: "COMMIT", round: this.#round, value: p.value })];
      }
    }
    // f + 1 ROUND_CHANGEs for later rounds: join the smallest of them (Algorithm 3, line 5)
    const later = new Map<number, number>();
    for (let r = QBFT_MAX_ROUND; r > this.#round; r--) {
      for (const m of this.#msgs("ROUND_CHANGE", r)) if (m.sender !== this.#o.self) later.set(m.sender, r);
    }
    if (later.size >= this.#f + 1) return this.#moveTo(Math.min(...later.values()));
    // the leader with a quorum of ROUND_CHANGEs for its round proposes (Algorithm 3, line 11)
    if (this.#o.leader(this.#round) === this.#o.self && this.#proposedRound < this.#round) {
      const rcs = this.#validRoundChanges(this.#round);
      if (rcs.length >= this.#q) {
        const pick = this.#highestPrepared(rcs);
        let value: string | undefined;
        // the round change with the highest prepared value goes first, so the quorum sent holds it
        const ordered = pick ? [pick.from, ...rcs.filter((m) => m !== pick.from)] : rcs;
        const just: QbftMessage[] = ordered.slice(0, this.#q).map(stripJustification);
        if (pick) {
          value = pick.value;
          just.push(...pick.prepares);
        } else value = this.#input?.value;
        const bytes = value === undefined ? undefined : this.#bytes.get(value);
        if (value !== undefined && bytes !== undefined) {
          this.#proposedRound = this.#round;
          return [
            this.#own({ type: "PRE_PREPARE", round: this.#round, value, valueBytes: bytes, justification: just }),
          ];
        }
      }
    }
    return [];
  }

  /** Moves to `round` and announces it with this node's prepared certificate. */
  #moveTo(round: number, announce = true): QbftMessage[] {
    this.#round = round;
    if (!announce) return [];
    const bytes = this.#preparedValue === undefined ? undefined : this.#bytes.get(this.#preparedValue);
    return [
      this.#own({
        type: "ROUND_CHANGE",
        round,
        preparedRound: this.#preparedRound,
        preparedValue: this.#preparedValue,
        valueBytes: bytes,
        justification: this.#preparedRound > 0 ? this.#preparedJustification.map(stripJustification) : undefined,
      }),
    ];
  }

  /** A ROUND_CHANGE is valid when it prepared nothing, or carries a quorum of PREPAREs for what it prepared. */
  #roundChangeValid(m: QbftMessage): boolean {
    const pr = m.preparedRound ?? 0;
    if (pr === 0) return m.preparedValue === undefined;
    if (m.preparedValue === undefined || pr >= m.round) return false;
    return this.#quorumOf(m.justification ?? [], "PREPARE", pr, m.preparedValue) !== undefined;
  }

  #validRoundChanges(round: number): QbftMessage[] {
    return this.#msgs("ROUND_CHANGE", round).filter((m) => this.#roundChangeValid(m));
  }

  /** The highest prepared (round, value) among round changes, with its PREPARE quorum. */
  #highestPrepared(
    rcs: readonly QbftMessage[],
  ): { value: string; prepares: QbftMessage[]; from: QbftMessage } | undefined {
    let best: QbftMessage | undefined;
    for (const m of rcs) if ((m.preparedRound ?? 0) > (best?.preparedRound ?? 0)) best = m;
    if (!best || best.preparedValue === undefined) return undefined;
    const prepares = this.#quorumOf(best.justification ?? [], "PREPARE", best.preparedRound!, best.preparedValue);
    return prepares ? { value: best.preparedValue, prepares: prepares.map(stripJustification), from: best } : undefined;
  }

  /** JustifyPrePrepare (Algorithm 4): round 1, or a quorum of ROUND_CHANGEs whose highest prepared value is proposed. */
  #justifiedPrePrepare(m: QbftMessage): boolean {
    if (m.round === 1) return true;
    const just = m.justification ?? [];
    const rcBy = new Map<number, QbftMessage>();
    for (const j of just) {
      if (j.type === "ROUND_CHANGE" && j.round === m.round && this.#wellFormed(j)) rcBy.set(j.sender, j);
    }
    if (rcBy.size < this.#q) return false;
    const rcs = [...rcBy.values()];
    let best = 0;
    let bestValue: string | undefined;
    for (const j of rcs) {
      if ((j.preparedRound ?? 0) > best) {
        best = j.preparedRound!;
        bestValue = j.preparedValue;
      }
    }
    if (best === 0) return true;
    if (bestValue !== m.value || best >= m.round) return false;
    return this.#quorumOf(just, "PREPARE", best, bestValue!) !== undefined;
  }

  #onDecided(m: QbftMessage): QbftOutput {
    if (this.#decided || m.value === undefined || m.valueBytes === undefined) return { broadcast: [] };
    const commits = this.#quorumOf(m.justification ?? [], "COMMIT", m.round, m.value);
    if (!commits) return { broadcast: [] };
    this.#learn(m.value, m.valueBytes);
    // the bytes kept for the value, bound to its id: never the certificate's own, unchecked ones
    const bytes = this.#bytes.get(m.value);
    if (bytes === undefined) return { broadcast: [] };
    this.#decided = { value: m.value, valueBytes: bytes, round: m.round, commits };
    return { broadcast: [], decided: this.#decided };
  }

  /** A DECIDED message for a peer that is behind, or undefined before the decision. */
  decidedMessage(): QbftMessage | undefined {
    const d = this.#decided;
    if (!d) return undefined;
    return {
      type: "DECIDED",
      round: d.round,
      sender: this.#o.self,
      value: d.value,
      valueBytes: d.valueBytes,
      justification: d.commits.map(stripJustification),
    };
  }
}

function stripJustification(m: QbftMessage): QbftMessage {
  if (m.justification === undefined && m.valueBytes === undefined) return m;
  const { justification: _j, valueBytes: _b, ...rest } = m;
  return rest;
}
