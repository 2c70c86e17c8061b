/**
 * In-memory CeremonyTransport for round tests (Charon's frostMemTransport). A `tamper` hook at
 * this I/O edge lets a test play a Byzantine operator by rewriting its outgoing bytes.
 */

import { randomBytes } from "node:crypto";
import { attemptSession } from "../../src/dkg/envelope.js";
import type {
  CeremonyTransport,
  Inbound,
  Outbound,
  TransportErrorType,
  WaitingCallback,
} from "../../src/dkg/transport.js";
import { CodedError } from "../../src/lib/errors.js";
import type { ShareIndex } from "../../src/lib/types.js";

export type Tamper = (
  from: number,
  to: number,
  step: number,
  kind: "broadcast" | "direct",
  bytes: Uint8Array,
) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

interface Waiter {
  step: number;
  check: () => void;
}

export class MemHub {
  readonly inbox: Map<number, Map<number, Inbound>>[] = [];
  readonly connected = new Set<number>();
  readonly closed = new Set<number>();
  /** Signed ABORT envelope each endpoint sent, by share index (its peers see it once it left). */
  readonly aborts = new Map<number, Uint8Array>();
  readonly waiters = new Map<number, Waiter>();
  /** Hello nonce of share index i at index i − 1: fresh per hub (one attempt) unless given. */
  readonly nonces: Uint8Array[];

  /**
   * @param definitionHash the session every endpoint's hello carries, 32 bytes
   * @param nonces this attempt's hello nonces (a test replaying an earlier attempt picks them)
   */
  constructor(
    readonly n: number,
    readonly definitionHash: Uint8Array,
    readonly tamper?: Tamper,
    nonces?: Uint8Array[],
  ) {
    for (let i = 0; i <= n; i++) this.inbox.push(new Map());
    this.nonces = nonces ?? Array.from({ length: n }, () => Uint8Array.from(randomBytes(32)));
  }

  /** The attempt session every endpoint agrees on after sync. */
  session(): Uint8Array {
    return attemptSession(this.definitionHash, this.nonces);
  }

  notifyAll(): void {
    for (const w of this.waiters.values()) w.check();
  }

  endpoint(self: number): CeremonyTransport {
    const hub = this;
    const peers = Array.from({ length: this.n }, (_, i) => i + 1).filter((i) => i !== self);
    const wait = (step: number, ready: () => ShareIndex[], signal: AbortSignal, onWaiting?: WaitingCallback) =>
      new Promise<void>((resolve, reject) => {
        const fail = (type: TransportErrorType, msg: string) => {
          hub.waiters.delete(self);
          reject(new CodedError(type, msg));
        };
        const check = () => {
          const missing = ready();
          const quit = missing.find((m) => hub.aborts.has(m));
          if (quit !== undefined)
            return fail(
              {
                code: "PEER_ABORTED",
                step,
                peer: quit as ShareIndex,
                envelope: hub.aborts.get(quit)!,
                missing: missing as ShareIndex[],
              },
              `peer ${quit} aborted`,
            );
          const gone = missing.find((m) => hub.closed.has(m));
          if (gone !== undefined)
            return fail({ code: "PEER_DISCONNECTED", step, peer: gone as ShareIndex }, `peer ${gone} disconnected`);
          if (missing.length === 0) {
            hub.waiters.delete(self);
            signal.removeEventListener("abort", onAbort);
            resolve();
          }
        };
        const onAbort = () =>
          fail({ code: "TIMEOUT", step, missing: ready() }, `timed out waiting for ${ready().join(", ")}`);
        if (signal.aborted) return onAbort();
        signal.addEventListener("abort", onAbort, { once: true });
        hub.waiters.set(self, { step, check });
        onWaiting?.(step, ready());
        check();
      });

    return {
      self: self as ShareIndex,
      n: this.n,
      async connect({ signal, onWaiting }) {
        hub.connected.add(self);
        hub.notifyAll();
        await wait(0, () => peers.filter((j) => !hub.connected.has(j)) as ShareIndex[], signal, onWaiting);
        return { nonces: hub.nonces.map((x) => Uint8Array.from(x)), session: hub.session() };
      },
      async exchange(step: number, out: Outbound, { signal, onWaiting }) {
        for (const j of peers) {
          const b = hub.tamper ? await hub.tamper(self, j, step, "broadcast", out.broadcast) : out.broadcast;
          const dRaw = out.direct?.get(j as ShareIndex);
          const d = dRaw && hub.tamper ? await hub.tamper(self, j, step, "direct", dRaw) : dRaw;
          if (b === undefined) continue;
          const box = hub.inbox[j]!;
          if (!box.has(step)) box.set(step, new Map());
          if (!box.get(step)!.has(self)) box.get(step)!.set(self, { broadcast: b, direct: d });
        }
        hub.notifyAll();
        const mine = () => hub.inbox[self]!.get(step) ?? new Map<number, Inbound>();
        await wait(step, () => peers.filter((j) => !mine().has(j)) as ShareIndex[], signal, onWaiting);
        return new Map([...mine()].map(([k, v]) => [k as ShareIndex, v]));
      },
      async abort(envelope: Uint8Array) {
        if (!hub.aborts.has(self)) hub.aborts.set(self, envelope);
        hub.notifyAll();
      },
      async close() {
        hub.closed.add(self);
        hub.notifyAll();
      },
    };
  }
}
