/**
 * The ceremony runner: sequences the rounds of rounds.ts (pure, time-sliced) over a
 * CeremonyTransport, one all-to-all exchange per step, and turns every fault into a DkgError that
 * names the operator.
 * DESIGN.md § DKG protocol, steps 1–10.
 */
import { toHex } from "../lib/bytes.js";
import { CodedError } from "../lib/errors.js";
import type { Logger } from "../lib/logger.js";
import { timeSlicer } from "../lib/slice.js";
import type { ShareIndex } from "../lib/types.js";
import { MessageKind } from "../pb/bcast.js";
import { ABORT_DELIVERY_MS, abortPayload, judgeAbort } from "./abort.js";
import { attemptSession, envelopeDigest, openEnvelope, sealEnvelope, stepOfKind } from "./envelope.js";
import { DkgError, type DkgNetworkCode, fault } from "./errors.js";
import {
  type DecodeContext,
  decodeComplaints,
  decodeDeal,
  decodeDepositPartials,
  decodeEcho,
  decodeJustifications,
  decodeLockSignature,
  decodeShares,
  encodeComplaints,
  encodeConfirm,
  encodeDeal,
  encodeDepositPartials,
  encodeEcho,
  encodeJustifications,
  encodeLockSignature,
  encodeShares,
  fileComplaints,
  type Opened,
} from "./messages.js";
import {
  type ArtifactBuilder,
  type CeremonyParams,
  type CeremonyResult,
  type CeremonyValidator,
  checkLock,
  combineDeposits,
  createDeal,
  depositPartialCount,
  derive,
  echo,
  judgeComplaints,
  rosterOf,
  signDeposits,
  signLock,
  type Verified,
  verifyAndComplain,
} from "./rounds.js";
import { STEP, STEP_NAMES } from "./steps.js";
import type {
  CeremonyTransport,
  Channel,
  IdentitySigner,
  IdentityVerifier,
  SyncResult,
  TransportErrorType,
} from "./transport.js";

export type { ArtifactBuilder, CeremonyResult, CeremonyValidator };

/** Progress events for the terminal. */
export type CeremonyProgress =
  | { kind: "waiting"; step: number; missing: ShareIndex[] }
  | { kind: "step"; step: number; name: string; detail: string };

export interface CeremonyOpts {
  /** `params.session` is the definition hash; every round runs under the attempt session derived at sync. */
  params: CeremonyParams;
  transport: CeremonyTransport;
  signer: IdentitySigner;
  verifier: IdentityVerifier;
  artifacts: ArtifactBuilder;
  logger: Logger;
  /** Aborts the whole ceremony (the --timeout). */
  signal: AbortSignal;
  onProgress?: (ev: CeremonyProgress) => void;
  /** Writes the artifacts atomically; called once every lock signature checked out. */
  persist: (result: CeremonyResult) => Promise<void>;
}

/** Outcome of {@link runCeremony}: written, and confirmed by every peer or not. */
export interface CeremonyOutcome {
  result: CeremonyResult;
  /** Peers that did not confirm before the deadline (empty when all did). */
  unconfirmed: ShareIndex[];
}

/** One operator's messages of one step, their envelopes opened (this node's own included). */
interface Received extends Opened {
  /** The direct message to this node, in steps that have one (absent for this node's own). */
  direct?: Opened;
}

/**
 * Runs steps 1–10: seals and opens envelopes, exchanges them over the transport, decodes at the
 * edge (messages.ts) and passes the typed messages through the rounds (rounds.ts). Writes nothing
 * itself: `persist` is called only after every check passed.
 * @throws DkgError naming the faulty or missing operators
 */
export async function runCeremony(opts: CeremonyOpts): Promise<CeremonyOutcome> {
  const { transport, logger: log } = opts;
  // the definition hash until sync; the attempt session from then on
  let p: CeremonyParams = opts.params;
  const ctx: DecodeContext = { n: p.n, numValidators: p.numValidators, ...rosterOf(p) };
  const progress = (step: number, detail: string) => {
    log.info({ step: STEP_NAMES[step], validators: p.numValidators }, detail);
    opts.onProgress?.({ kind: "step", step, name: STEP_NAMES[step] ?? String(step), detail });
  };
  const onWaiting = (step: number, missing: ShareIndex[]) => opts.onProgress?.({ kind: "waiting", step, missing });
  // every broadcast this node accepted, by step and sender: what a peer's abort is judged against
  const received = new Map<number, Map<ShareIndex, Uint8Array>>();
  let verifiedState: Verified | undefined;
  let abortedPeer: ShareIndex | undefined;

  const exchange = async (
    kind: MessageKind,
    channel: Channel,
    payload: Uint8Array,
    direct?: Map<ShareIndex, Uint8Array>,
  ): Promise<Map<ShareIndex, Received>> => {
    const step = stepOfKind(kind);
    const envelope = await sealEnvelope(opts.signer, p.session, p.self, kind, payload);
    let directOut: Map<ShareIndex, Uint8Array> | undefined;
    if (direct) {
      directOut = new Map();
      for (const [j, d] of direct)
        directOut.set(j, await sealEnvelope(opts.signer, p.session, p.self, MessageKind.SHARES, d, j));
    }
    let inbound: Awaited<ReturnType<CeremonyTransport["exchange"]>>;
    try {
      inbound = await transport.exchange(
        step,
        { channel, broadcast: envelope, direct: directOut },
        { signal: opts.signal, onWaiting, final: kind === MessageKind.CONFIRM },
      );
    } catch (err) {
      const t = err instanceof CodedError ? (err.type as TransportErrorType) : undefined;
      if (t?.code === "PEER_ABORTED") {
        abortedPeer = t.peer;
        const judged = await judgeAbort(t.peer, t.envelope, {
          ...ctx,
          session: p.session,
          verifier: opts.verifier,
          received,
          verified: verifiedState,
          waiting: { step, missing: t.missing },
        });
        log.warn({ step, peer: t.peer, code: judged.type.code, culprits: judged.type.culprits }, "peer aborted");
        throw judged;
      }
      throw networkError(err, step);
    }
    const out = new Map<ShareIndex, Received>([[p.self, { sender: p.self, payload, envelope }]]);
    for (const [sender, msg] of [...inbound].sort((a, b) => a[0] - b[0])) {
      const open = async (bytes: Uint8Array, k: MessageKind): Promise<Opened> => {
        const env = await openEnvelope(bytes, {
          session: p.session,
          kind: k,
          receiver: p.self,
          expectedSender: sender,
          n: p.n,
          verifier: opts.verifier,
        });
        return { sender, payload: env.payload, envelope: bytes };
      };
      const rec: Received = await open(msg.broadcast, kind);
      if (direct) {
        if (msg.direct === undefined) throw fault("MALFORMED_MESSAGE", step, [sender], "missing direct message");
        rec.direct = await open(msg.direct, MessageKind.SHARES);
      }
      out.set(sender, rec);
    }
    if (out.size !== p.n) throw fault("MALFORMED_MESSAGE", step, [], `expected ${p.n} messages, got ${out.size}`);
    received.set(step, new Map([...out].map(([s, r]) => [s, r.envelope])));
    return out;
  };
  /** Decodes every operator's message of a step (in the order received: this node's first). */
  const all = <T>(got: Map<ShareIndex, Received>, decode: (r: Received) => T, peersOnly = false) =>
    new Map([...got].filter(([s]) => !peersOnly || s !== p.self).map(([s, r]) => [s, decode(r)] as const));

  // 1. Sync
  progress(STEP.SYNC, `waiting for ${p.n - 1} peers`);
  let sync: SyncResult;
  try {
    sync = await transport.connect({ signal: opts.signal, onWaiting });
  } catch (err) {
    throw networkError(err, STEP.SYNC);
  }
  if (sync.nonces.length !== p.n) throw new RangeError(`sync must return ${p.n} nonces, got ${sync.nonces.length}`);
  p = { ...p, session: attemptSession(p.session, sync.nonces) };
  const cpu = process.cpuUsage();
  log.info({ step: "sync", cpu_user_ms: cpu.user / 1000, cpu_system_ms: cpu.system / 1000 }, "all peers connected");
  opts.onProgress?.({ kind: "step", step: STEP.SYNC, name: "sync", detail: "all peers connected" });

  let result: CeremonyResult;
  try {
    result = await rounds();
  } catch (err) {
    // tell the peers why this node stops, with the proof, so none takes it for one that vanished
    if (err instanceof DkgError) {
      try {
        const env = await sealEnvelope(opts.signer, p.session, p.self, MessageKind.ABORT, abortPayload(err));
        await transport.abort(env, { timeoutMs: ABORT_DELIVERY_MS });
      } catch (sendErr) {
        log.warn({ err: (sendErr as Error).message }, "could not send this node's abort");
      }
    }
    throw err;
  }
  await opts.persist(result);

  // 10. Confirm
  try {
    await exchange(MessageKind.CONFIRM, "bcast", encodeConfirm({ lockHash: result.lockHash }));
  } catch (err) {
    if (err instanceof DkgError) {
      // a peer that aborted has not confirmed, whoever its abort proves at fault
      const network = ["TIMEOUT", "WITHHELD", "PEER_DISCONNECTED", "ABORTED"].includes(err.type.code);
      const unconfirmed =
        abortedPeer !== undefined
          ? [abortedPeer]
          : network && err.type.culprits.length > 0
            ? err.type.culprits
            : allPeers(p);
      log.warn({ step: "confirm", unconfirmed, reason: err.message }, "not every peer confirmed");
      return { result, unconfirmed };
    }
    throw err;
  }
  progress(STEP.CONFIRM, "every operator confirmed");
  return { result, unconfirmed: [] };

  /** Steps 2–9, up to the checked lock. */
  async function rounds(): Promise<CeremonyResult> {
    // every long computation below lets stream reads, sync and heartbeats in as it goes
    const pause = timeSlicer();
    // 2. Deal
    const dealt = await createDeal(p, pause);
    progress(STEP.DEAL, `dealt ${p.numValidators} validator(s)`);
    const shares = new Map([...dealt.shares].map(([j, m]) => [j, encodeShares(m)]));
    const deals = await exchange(MessageKind.DEAL, "bcast", encodeDeal(dealt.deal), shares);

    // 3. Echo
    const echoed = echo(
      dealt.state,
      all(deals, (r) => ({ envelope: r.envelope, digest: envelopeDigest(r.envelope) })),
    );
    const echoes = await exchange(MessageKind.ECHO, "bcast", encodeEcho(echoed.echo));

    // 4. Verify and complain
    const decodedDeals = all(deals, decodeDeal, true);
    const checked = await verifyAndComplain(
      echoed.state,
      {
        echoes: all(echoes, (r) => decodeEcho(r, ctx), true),
        deals: decodedDeals,
        shares: all(deals, (r) => decodeShares(r.direct!), true),
      },
      pause,
    );
    verifiedState = checked.state;
    const accused = checked.complaints.accusations.map((a) => a.accused);
    progress(
      STEP.COMPLAIN,
      accused.length === 0 ? `verified ${ctx.dealers.length} deals` : `complaining about ${accused.join(", ")}`,
    );
    const complaints = await exchange(MessageKind.COMPLAINTS, "bcast", encodeComplaints(checked.complaints));
    const decodedComplaints = all(complaints, (r) => decodeComplaints(r, ctx));
    const filed = new Map<ShareIndex, Awaited<ReturnType<typeof fileComplaints>>>();
    for (const [s, c] of decodedComplaints)
      filed.set(s, await fileComplaints(c, { ...ctx, session: p.session, verifier: opts.verifier }));
    const judged = judgeComplaints(checked.state, filed);

    // 5. Justify: the barrier that every node judged its complaints and none stood (every complaint
    // is settled by its evidence, so no share is revealed); 6–7. Outcome and derive
    const justs = await exchange(MessageKind.JUSTIFICATIONS, "bcast", encodeJustifications({ shares: [] }));
    all(justs, decodeJustifications, true);
    const derived = await derive(judged, decodedDeals, pause);
    progress(STEP.JUSTIFY, `derived ${p.numValidators} validator key(s)`);

    // 8. Deposit partial signatures
    const signed = await signDeposits(derived, opts.artifacts, pause);
    const parsigs = await exchange(MessageKind.DEPOSIT_PARTIALS, "parsig", encodeDepositPartials(signed.partials));
    const count = depositPartialCount(signed.state);
    const deposited = await combineDeposits(
      signed.state,
      all(parsigs, (r) => decodeDepositPartials(r, count)),
      pause,
    );
    progress(STEP.DEPOSIT_PARTIALS, `signed ${count} deposit message(s)`);

    // 9. Lock
    const locking = signLock(deposited, opts.artifacts);
    const { lockHash } = locking.state;
    const locks = await exchange(
      MessageKind.LOCK_SIGNATURE,
      "bcast",
      encodeLockSignature({
        lockHash,
        signature: await opts.signer.sign(lockHash),
        shareSignatureAggregate: locking.shareSignatureAggregate,
      }),
    );
    const checkedLocks = new Map<ShareIndex, Awaited<ReturnType<typeof decodeLockSignature>>>();
    for (const [s, r] of locks) checkedLocks.set(s, await decodeLockSignature(r, p.self, opts.verifier));
    const checkedLock = await checkLock(locking.state, checkedLocks, pause);
    progress(STEP.LOCK_SIGNATURES, `lock ${toHex(lockHash)} signed by all ${ctx.receivers.length} operators`);
    return checkedLock;
  }
}

function allPeers(p: CeremonyParams): ShareIndex[] {
  return Array.from({ length: p.n }, (_, i) => (i + 1) as ShareIndex).filter((i) => i !== p.self);
}

/** Maps a transport failure to a DkgError naming the peers. */
function networkError(err: unknown, step: number): unknown {
  if (err instanceof DkgError) return err;
  if (err instanceof CodedError) {
    const t = err.type as TransportErrorType;
    const culprits: ShareIndex[] =
      t.code === "TIMEOUT" || t.code === "WITHHELD" ? t.missing : "peer" in t ? [t.peer] : [];
    const code = t.code as DkgNetworkCode;
    return new DkgError({ code, step, culprits, evidence: [], detail: err.message }, err.message, { cause: err });
  }
  return err;
}
