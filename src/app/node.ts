/**
 * `cohort run`'s signing node, composed: it loads the lock and this node's shares, opens the
 * slashing database, starts libp2p, and wires the duty agreement (src/consensus), the threshold
 * signer (src/signing) and the admin endpoint together; ./run.ts adds the Web3Signer API and
 * metrics. The signing engine itself is src/signing/threshold.ts. DESIGN.md § Signing protocol.
 */

import { readFile } from "node:fs/promises";
import path from "node:path";
import { sha256 } from "@noble/hashes/sha2.js";
import type { Registry } from "prom-client";
import { startAdminServer } from "../api/admin.js";
import { definitionNetwork } from "../cluster/definition.js";
import { ForeignLockReporter, readChainLocks } from "../cluster/lifecycle.js";
import { type ClusterLock, readLockFile, verifyLockFileInWorker } from "../cluster/lock.js";
import { DutyAgreement } from "../consensus/engine.js";
import { agreementKeyVerifier, createAgreementKey } from "../consensus/keys.js";
import type { SecretKey } from "../crypto/bls.js";
import { decryptKeystores } from "../crypto/keystore.js";
import { genesisTimeOf, type NowMs, slotClock } from "../eth2/clock.js";
import { bytesEqual, toHex } from "../lib/bytes.js";
import { keystoreFile } from "../lib/datadir.js";
import { InputError } from "../lib/errors.js";
import { writeFileAtomic } from "../lib/fs.js";
import { acquireDataDirLock } from "../lib/lockfile.js";
import type { Logger } from "../lib/logger.js";
import type { Root, ShareIndex } from "../lib/types.js";
import { ChannelClient, type ChannelMetrics, OneWaySender, serveChannel, serveOneWay } from "../p2p/channel.js";
import { createHost, type Host, keepConnected } from "../p2p/host.js";
import { identityVerifier, loadIdentity } from "../p2p/identity.js";
import {
  CONSENSUS_PEER_ENTRIES_BURST,
  CONSENSUS_PEER_ENTRIES_PER_SECOND,
  CONSENSUS_PROTOCOL,
  defaultListenAddressFor,
  PARSIG_PROTOCOL,
} from "../p2p/protocols.js";
import type { NodeMetrics } from "../signing/metrics.js";
import { createParSigHandler, decodeParSigResponse, encodeParSigRequest } from "../signing/parsig.js";
import { PartialSigner } from "../signing/partial.js";
import { PeerLatency } from "../signing/peerLatency.js";
import { type SignerPeer, ThresholdSigner } from "../signing/threshold.js";
import type { RemoteSigner } from "../signing/types.js";
import { VerifyQueue } from "../signing/verifyQueue.js";
import { GroupCommit } from "../slashing/groupCommit.js";
import { SlashingProtectionDb } from "../slashing/store.js";
import { storeSignedExit } from "./exits.js";
import { FILES, readShareKeystores } from "./files.js";
import { exchangeLockHashes } from "./lockExchange.js";
import { recordConfirmations } from "./oldKeys.js";

/**
 * Default signing deadline, ms: a request without a signature by then gets a 503. An attestation
 * has until 4 s into its slot; agreement with a silent leader needs one round change (1 s timer).
 */
export const DEFAULT_SIGN_TIMEOUT_MS = 4_000;

export interface NodeOpts {
  dataDir: string;
  /** libp2p listen multiaddr; default 127.0.0.1 on the port of this operator's address hint, else 3610. */
  p2pAddress?: string;
  /**
   * The API's signing deadline, ms: it caps the hedge delay at a quarter of it. The deadline itself
   * is the caller's signal ({@link SignOpts}).
   */
  signTimeoutMs?: number;
  /** Genesis time of a custom network, unix seconds (presets know theirs). */
  genesisTimeSec?: number;
  /** Wall clock, unix ms (tests inject one); default `Date.now`. */
  now?: NowMs;
  /** What holds the data-dir lock, shown to a process it refuses; default "run". */
  purpose?: string;
}

export interface NodeModules {
  logger: Logger;
  metrics?: NodeMetrics;
  /** Registry for libp2p's own metrics (connections, streams, bytes). */
  metricsRegistry?: Registry;
  /** Called each time a peer asks this node for a partial signature, answered or refused. */
  onPartialRequested?: (peer: string) => void;
}

/** A running node's signing core; the API server and metrics are attached by the caller. */
export interface SigningNode {
  readonly peerId: string;
  readonly shareIndex: ShareIndex;
  readonly lock: ClusterLock;
  readonly signer: RemoteSigner;
  readonly host: Host;
  /** Stops p2p, closes the slashing database, releases the data dir. Idempotent. */
  stop(): Promise<void>;
}

async function loadShares(dataDir: string, lock: ClusterLock, self: ShareIndex): Promise<Map<string, SecretKey>> {
  const files = await readShareKeystores(dataDir, lock.distributedValidators.length);
  let secrets: SecretKey[];
  try {
    secrets = await decryptKeystores(files);
  } catch (err) {
    throw new InputError(FILES.keys, (err as Error).message, { cause: err });
  }
  const shares = new Map<string, SecretKey>();
  secrets.forEach((secret, v) => {
    const dv = lock.distributedValidators[v]!;
    if (toHex(secret.publicKey()) !== toHex(dv.publicShares[self - 1]!)) {
      throw new InputError(keystoreFile(v), `${keystoreFile(v)} is not this node's share of validator ${v}`);
    }
    shares.set(toHex(dv.publicKey), secret);
  });
  return shares;
}

/**
 * Starts verifying the data dir's lock in full ({@link verifyLock}, in a worker thread) unless these
 * very bytes were verified before: the sha256 of the lock file is kept in {@link FILES.lockVerified}
 * after a full check, so a restart of a large cluster does not pay for every signature and share
 * again. A lock that changed by one byte is verified again.
 * @returns `done`, which resolves once the lock verified (and the marker is written)
 * @throws InputError "lock" (from the promise) when the lock does not verify
 */
async function startLockVerification(dataDir: string, log: Logger): Promise<{ done: Promise<void> }> {
  const file = path.join(dataDir, FILES.lock);
  const digest = toHex(sha256(await readFile(file)));
  const marker = path.join(dataDir, FILES.lockVerified);
  const seen = await readFile(marker, "utf8").then(
    (t) => t.trim(),
    () => undefined,
  );
  if (seen === digest) {
    log.info({ lock_sha256: digest }, "lock verified before (same bytes): full check skipped");
    return { done: Promise.resolve() };
  }
  const started = Date.now();
  const done = verifyLockFileInWorker(file).then(async (verdict) => {
    if (!verdict.ok) throw new InputError("lock", `${FILES.lock} does not verify: ${verdict.errors.join("; ")}`);
    log.info({ ms: Date.now() - started }, "lock verified");
    await writeFileAtomic(marker, `${digest}\n`);
  });
  // awaited by the caller once its keystores are decrypted; never an unhandled rejection meanwhile
  done.catch(() => {});
  return { done };
}

/**
 * Loads and checks everything, then starts p2p and the partial-signature handler.
 * @throws InputError naming the file or field when the data dir is not usable (nothing started)
 */
export async function startSigningNode(opts: NodeOpts, modules: NodeModules): Promise<SigningNode> {
  const log = modules.logger;
  const identity = await loadIdentity(opts.dataDir);
  const lock = await readLockFile(path.join(opts.dataDir, FILES.lock));
  const index = lock.definition.operators.findIndex((o) => o.peerId === identity.peerId);
  if (index < 0) throw new InputError("data-dir", `identity ${identity.peerId} is not an operator of this lock`);
  const self = (index + 1) as ShareIndex;
  // a lock that a reshare or an addition replaced must never sign again beside its successor
  const successor = (await readChainLocks(opts.dataDir)).find(
    (l) => l.definition.lifecycle !== undefined && bytesEqual(l.definition.lifecycle.previousLockHash, lock.lockHash),
  );
  if (successor !== undefined) {
    throw new InputError(
      "lock",
      `${FILES.lock} (${toHex(lock.lockHash)}) was replaced by lock ${toHex(successor.lockHash)} in ${FILES.locks}/: run on that lock`,
    );
  }
  const network = definitionNetwork(lock.definition);
  // a flag that contradicts the definition is refused before the lock's expensive checks (and their log lines)
  const clock = slotClock(genesisTimeOf(network, opts.genesisTimeSec), opts.now);
  // the lock's full check runs in a worker while this thread decrypts the keystores
  const { done: lockVerified } = await startLockVerification(opts.dataDir, log);
  let dirLock: Awaited<ReturnType<typeof acquireDataDirLock>>;
  try {
    dirLock = await acquireDataDirLock(opts.dataDir, opts.purpose ?? "run");
  } catch (err) {
    await lockVerified.catch(() => {});
    throw err;
  }
  const cleanup: (() => Promise<void> | void)[] = [() => dirLock.release()];
  const undo = async () => {
    for (const f of cleanup.reverse()) await f();
  };
  try {
    const started = Date.now();
    const decrypting = loadShares(opts.dataDir, lock, self).then((shares) => {
      log.info({ validators: shares.size, ms: Date.now() - started }, "keystores decrypted");
      return shares;
    });
    // both finish before anything starts; a lock that does not verify is reported first
    const [verified, decrypted] = await Promise.allSettled([lockVerified, decrypting]);
    if (verified.status === "rejected") throw verified.reason;
    if (decrypted.status === "rejected") throw decrypted.reason;
    const shares = decrypted.value;
    const slashing = new SlashingProtectionDb(
      { dataDir: opts.dataDir, genesisValidatorsRoot: lock.definition.network.genesisValidatorsRoot },
      { logger: log },
    );
    cleanup.push(() => slashing.close());
    const partials = new PartialSigner(
      {
        shareIndex: self,
        shares,
        genesisForkVersion: network.genesisForkVersion,
        genesisValidatorsRoot: network.genesisValidatorsRoot,
      },
      { slashing: new GroupCommit(slashing), logger: log },
    );
    const operators = lock.definition.operators.map((o) => ({ peerId: o.peerId, addresses: o.addresses }));
    const host = await createHost(
      {
        identity,
        peers: operators,
        listenAddresses: [opts.p2pAddress ?? defaultListenAddressFor(lock.definition.operators[self - 1]!.addresses)],
      },
      { logger: log, metricsRegistry: modules.metricsRegistry },
    );
    cleanup.push(() => host.stop());
    const indexOf = new Map(operators.map((o, i) => [o.peerId, i + 1]));
    const peerList = operators
      .map((o, i) => ({ ...o, index: (i + 1) as ShareIndex, label: `${i + 1} (${o.peerId})` }))
      .filter((p) => p.index !== self);
    const t = lock.definition.threshold;
    const validatorIndex = new Map(lock.distributedValidators.map((dv, i) => [toHex(dv.publicKey), i]));
    const consensusSenders = peerList.map((p) => ({
      p,
      out: new OneWaySender(host, p.peerId, CONSENSUS_PROTOCOL, (err) =>
        log.debug({ peer: p.index, err: (err as Error).message }, "agreement batch not delivered"),
      ),
    }));
    const agreement: DutyAgreement = new DutyAgreement(
      {
        n: operators.length,
        self,
        lockHash: lock.lockHash,
        validatorIndex,
        learnerUpToSlot: slashing.participationSlot(),
      },
      {
        broadcast: (bytes) => {
          for (const { p, out } of consensusSenders) if (host.isConnected(p.peerId)) out.send(bytes);
        },
        batchKey: createAgreementKey(lock.lockHash, self, (bytes) => identity.signSync(bytes)),
        verifyBatch: agreementKeyVerifier(lock.lockHash, identityVerifier(operators.map((o) => o.peerId))),
        // the signer is made below, with this agreement among its modules
        rootOf: (_pkHex, dutyKey, json): Root | undefined => signer.rootOfValue(dutyKey, json),
        raiseParticipationSlot: (slot) => slashing.raiseParticipationSlot(slot),
        logger: log,
        now: opts.now,
        metrics: modules.metrics,
      },
    );
    cleanup.push(() => agreement.stop());
    const parsigChannels = new Map(peerList.map((p) => [p.index, new ChannelClient(host, p.peerId, PARSIG_PROTOCOL)]));
    const peers: SignerPeer[] = peerList.map((p) => ({
      index: p.index,
      label: p.label,
      isConnected: () => host.isConnected(p.peerId),
      requestPartial: async (req, signal) =>
        decodeParSigResponse(
          await parsigChannels.get(p.index)!.request(encodeParSigRequest(lock.lockHash, req), { signal }),
          p.index,
          req.kind,
        ),
    }));
    const signer: ThresholdSigner = new ThresholdSigner(
      {
        shareIndex: self,
        threshold: t,
        validators: lock.distributedValidators,
        feeRecipients: lock.definition.validators.map((v) => v.feeRecipient),
        network,
        signTimeoutMs: opts.signTimeoutMs ?? DEFAULT_SIGN_TIMEOUT_MS,
      },
      {
        partials,
        agreement,
        store: slashing,
        peers,
        clock,
        verifier: new VerifyQueue(),
        latency: new PeerLatency(),
        logger: log,
        metrics: modules.metrics,
      },
    );
    const chain = await readChainLocks(opts.dataDir);
    const foreign = new ForeignLockReporter(lock, chain, (fields, msg) => log.warn(fields, msg));
    const labelOf = new Map(peerList.map((p) => [p.peerId, `operator ${p.label}`]));
    // a peer that announces this lock runs it: it confirmed it (kept for cohort lock delete-old-keys)
    const confirmedHere = new Set<string>();
    let confirming: Promise<unknown> = Promise.resolve();
    const confirm = (peer: string) => {
      if (confirmedHere.has(peer)) return;
      confirmedHere.add(peer);
      confirming = confirming
        .then(() => recordConfirmations(opts.dataDir, lock, [identity.peerId, peer]))
        .catch((err: unknown) => log.warn({ err: (err as Error).message }, "lock confirmation not recorded"));
    };
    // lock hashes are exchanged as peers connect: an operator on another lock of the cluster's
    // chain (before or after a reshare) is named at once
    cleanup.push(
      await exchangeLockHashes(lock, {
        host,
        report: (peer, hash, previous) => foreign.report(peer, hash, previous),
        onSameLock: confirm,
        labelOf: (peer) => labelOf.get(peer) ?? peer,
        logger: log,
      }),
    );
    const handler = createParSigHandler(
      { lockHash: lock.lockHash },
      {
        signer,
        logger: log,
        onRequest: (result) => modules.metrics?.parsigServed(result),
        onWrongSession: (peer, session) => foreign.report(labelOf.get(peer) ?? peer, session),
      },
    );
    const m = modules.metrics;
    // peers are labelled by share index: only operators of the lock connect
    const channelMetrics: ChannelMetrics | undefined =
      m === undefined
        ? undefined
        : {
            frameReceived: (peer, protocol, bytes) => m.p2pFrameReceived(indexOf.get(peer) ?? 0, protocol, bytes),
            frameRefused: (peer, protocol, reason) => m.p2pFrameRefused(indexOf.get(peer) ?? 0, protocol, reason),
            streamReset: (peer, protocol, reason) => m.p2pStreamReset(indexOf.get(peer) ?? 0, protocol, reason),
          };
    const served = [
      await serveChannel(
        host,
        PARSIG_PROTOCOL,
        async (req, ctx) => {
          modules.onPartialRequested?.(req.peer);
          return handler(req.bytes, req.peer, ctx.signal);
        },
        log,
        {
          metrics: channelMetrics,
        },
      ),
      await serveOneWay(
        host,
        CONSENSUS_PROTOCOL,
        (peer, bytes) => {
          const from = indexOf.get(peer);
          return from === undefined ? 1 : 1 + agreement.receive(from, bytes);
        },
        log,
        {
          metrics: channelMetrics,
          rate: { perSecond: CONSENSUS_PEER_ENTRIES_PER_SECOND, burst: CONSENSUS_PEER_ENTRIES_BURST },
        },
      ),
    ] as const;
    for (const [i, protocol] of [PARSIG_PROTOCOL, CONSENSUS_PROTOCOL].entries()) {
      m?.observeP2pLoad(protocol, function* () {
        for (const [peer, load] of served[i]!.load()) yield [indexOf.get(peer) ?? 0, load];
      });
    }
    const admin = await startAdminServer(
      {
        dataDir: opts.dataDir,
        network,
        validators: lock.distributedValidators,
      },
      {
        signer,
        logger: log,
        onExitSigned: async (pk, signed) => {
          const file = await storeSignedExit(opts.dataDir, pk, signed);
          log.info({ validator: pk.slice(0, 12), file }, "signed voluntary exit stored");
        },
      },
    );
    cleanup.push(() => admin.stop());
    await host.start();
    const stopConnecting = new AbortController();
    cleanup.push(() => stopConnecting.abort());
    keepConnected(host, operators, { signal: stopConnecting.signal, logger: log });
    const countPeers = () => modules.metrics?.peersConnected(host.connectedPeers().length);
    cleanup.push(host.onPeerConnect(countPeers), host.onPeerDisconnect(countPeers));
    log.info(
      {
        peer_id: identity.peerId,
        share_index: self,
        threshold: t,
        validators: shares.size,
        listen: host.listenAddresses(),
      },
      "signing node started",
    );
    let stopped = false;
    return {
      peerId: identity.peerId,
      shareIndex: self,
      lock,
      signer,
      host,
      async stop() {
        if (stopped) return;
        stopped = true;
        await undo();
        log.info({}, "signing node stopped");
      },
    };
  } catch (err) {
    await undo();
    throw err;
  }
}
