/**
 * `cohort run`: the long-running signing node. It loads the lock and this node's shares, keeps
 * connections to every peer, answers peers' partial-signature requests behind its own slashing
 * protection, and serves the Web3Signer API to the validator client. DESIGN.md § Signing protocol.
 */
import { promises as fsp } from "node:fs";
import path from "node:path";
import type { Registry } from "prom-client";
import { FILES } from "../app/files.js";
import { type ClusterLock, readLockFile, verifyLock } from "../cluster/lock.js";
import type { SecretKey } from "../crypto/bls.js";
import { decryptKeystores } from "../crypto/keystore.js";
import { combinesCheaply } from "../crypto/tbls.js";
import type { SignRequest } from "../eth2/requests.js";
import { toHex } from "../lib/bytes.js";
import { InputError } from "../lib/errors.js";
import { acquireDataDirLock } from "../lib/lockfile.js";
import type { Logger } from "../lib/logger.js";
import type { BlsPublicKey, BlsSignature, ShareIndex } from "../lib/types.js";
import { ChannelClient, serveChannel } from "../p2p/channel.js";
import { createHost, type Host, keepConnected } from "../p2p/host.js";
import { loadIdentity } from "../p2p/identity.js";
import { defaultListenAddressFor, PARSIG_PROTOCOL } from "../p2p/protocols.js";
import { type GatherOpts, gatherSignature } from "../signing/combine.js";
import { createParSigHandler, decodeParSigResponse, encodeParSigRequest } from "../signing/parsig.js";
import { PartialSigner } from "../signing/partial.js";
import { PeerLatency } from "../signing/peerLatency.js";
import type { RemoteSigner, SignerHealth, SignOpts } from "../signing/types.js";
import { VerifyQueue } from "../signing/verifyQueue.js";
import { GroupCommit } from "../slashing/groupCommit.js";
import { SlashingProtectionDb } from "../slashing/store.js";
import type { NodeMetrics } from "./metrics.js";

/** Default signing deadline: a request without t partials by then gets a 503. */
export const DEFAULT_SIGN_TIMEOUT_MS = 2_000;

export interface NodeOpts {
  dataDir: string;
  /** libp2p listen multiaddr; default 127.0.0.1 on the port of this operator's address hint, else 3610. */
  p2pAddress?: string;
  /**
   * The API's signing deadline, ms: it caps the hedge delay at a quarter of it. The deadline itself
   * is the caller's signal ({@link SignOpts}).
   */
  signTimeoutMs?: number;
}

export interface NodeModules {
  logger: Logger;
  metrics?: NodeMetrics;
  /** Registry for libp2p's own metrics (connections, streams, bytes). */
  metricsRegistry?: Registry;
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
  const dir = path.join(dataDir, FILES.keys);
  const files = [];
  for (let v = 0; v < lock.distributedValidators.length; v++) {
    const field = `${FILES.keys}/keystore-${v}.json`;
    let json: string;
    let password: string;
    try {
      json = await fsp.readFile(path.join(dir, `keystore-${v}.json`), "utf8");
      password = (await fsp.readFile(path.join(dir, `keystore-${v}.txt`), "utf8")).replace(/\r?\n$/, "");
    } catch (err) {
      throw new InputError(field, `cannot read ${field} or its password file`, { cause: err });
    }
    files.push({ json, password, field });
  }
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
      throw new InputError(
        `${FILES.keys}/keystore-${v}.json`,
        `keystore-${v}.json is not this node's share of validator ${v}`,
      );
    }
    shares.set(toHex(dv.publicKey), secret);
  });
  return shares;
}

/**
 * Loads and checks everything, then starts p2p and the partial-signature handler.
 * @throws InputError naming the file or field when the data dir is not usable (nothing started)
 */
export async function startSigningNode(opts: NodeOpts, modules: NodeModules): Promise<SigningNode> {
  const log = modules.logger;
  const identity = await loadIdentity(opts.dataDir);
  const lock = await readLockFile(path.join(opts.dataDir, FILES.lock));
  const verdict = await verifyLock(lock);
  if (!verdict.ok) throw new InputError("lock", `${FILES.lock} does not verify: ${verdict.errors.join("; ")}`);
  const index = lock.definition.operators.findIndex((o) => o.peerId === identity.peerId);
  if (index < 0) throw new InputError("data-dir", `identity ${identity.peerId} is not an operator of this lock`);
  const self = (index + 1) as ShareIndex;
  const dirLock = await acquireDataDirLock(opts.dataDir, "run");
  const cleanup: (() => Promise<void> | void)[] = [() => dirLock.release()];
  const undo = async () => {
    for (const f of cleanup.reverse()) await f();
  };
  try {
    const started = Date.now();
    const shares = await loadShares(opts.dataDir, lock, self);
    const loaded = shares.size;
    log.info({ validators: loaded, ms: Date.now() - started }, "keystores decrypted");
    const slashing = new SlashingProtectionDb(
      { dataDir: opts.dataDir, genesisValidatorsRoot: lock.definition.network.genesisValidatorsRoot },
      { logger: log },
    );
    cleanup.push(() => slashing.close());
    const partials = new PartialSigner(
      {
        shareIndex: self,
        shares,
        genesisForkVersion: lock.definition.network.genesisForkVersion,
        genesisValidatorsRoot: lock.definition.network.genesisValidatorsRoot,
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
    const handler = createParSigHandler(
      { lockHash: lock.lockHash },
      { signer: partials, logger: log, onRequest: (result) => modules.metrics?.parsigServed(result) },
    );
    await serveChannel(host, PARSIG_PROTOCOL, async (req) => handler(req.bytes, req.peer), log);
    await host.start();
    const stopConnecting = new AbortController();
    cleanup.push(() => stopConnecting.abort());
    keepConnected(host, operators, { signal: stopConnecting.signal, logger: log });
    const countPeers = () => modules.metrics?.peersConnected(host.connectedPeers().length);
    cleanup.push(host.onPeerConnect(countPeers), host.onPeerDisconnect(countPeers));
    const peers = operators
      .map((o, i) => ({ ...o, index: (i + 1) as ShareIndex, label: `${i + 1} (${o.peerId})` }))
      .filter((p) => p.index !== self);
    const channels = new Map(peers.map((p) => [p.index, new ChannelClient(host, p.peerId, PARSIG_PROTOCOL)]));
    const byKey = new Map(lock.distributedValidators.map((dv) => [toHex(dv.publicKey), dv]));
    const t = lock.definition.threshold;
    const signTimeoutMs = opts.signTimeoutMs ?? DEFAULT_SIGN_TIMEOUT_MS;
    const verifier = new VerifyQueue();
    const latency = new PeerLatency();
    // made once: a DOMException per request would capture a stack each time
    const settledReason = new DOMException("signature request settled", "AbortError");

    const health = (): SignerHealth => {
      const connected = peers.filter((p) => host.isConnected(p.peerId)).length;
      return { peersConnected: connected, peersTotal: peers.length, threshold: t, canSign: connected + 1 >= t };
    };
    const signer: RemoteSigner = {
      publicKeys: () => lock.distributedValidators.map((dv) => dv.publicKey),
      health,
      async sign(publicKey: BlsPublicKey, request: SignRequest, sopts: SignOpts): Promise<BlsSignature> {
        const pkHex = toHex(publicKey);
        // the root now; this node's slashing check runs while the peers are asked (gatherSignature)
        const own = partials.prepare(pkHex, request);
        const dv = byKey.get(pkHex)!;
        // the caller's signal is the deadline; this controller also cancels the peer requests still
        // out once the request settles (AbortSignal.any costs more)
        const deadline = new AbortController();
        const onAbort = () => deadline.abort(sopts.signal.reason);
        if (sopts.signal.aborted) onAbort();
        else sopts.signal.addEventListener("abort", onAbort, { once: true });
        const payload = encodeParSigRequest(lock.lockHash, publicKey, request);
        // the t − 1 fastest peers, unless a set nearly as fast combines without a full scalar multiplication
        const ordered = latency.preferCheap(
          latency.order(peers, (p) => host.isConnected(p.peerId), performance.now()),
          t - 1,
          (first) => combinesCheaply([self, ...first.map((p) => p.index)]),
        );
        const gather: GatherOpts = {
          // the lock's bytes: their validated blst point is cached, the request's would be decoded anew
          publicKey: dv.publicKey,
          root: own.root,
          threshold: t,
          publicShares: dv.publicShares,
          own: { index: self, sign: own.sign },
          signal: deadline.signal,
          // hedged fan-out: the t − 1 best peers now, the rest after a multiple of their round trip
          peers: ordered.map((p) => ({
            index: p.index,
            label: p.label,
            fetch: async (signal) => {
              const started = performance.now();
              try {
                const answer = decodeParSigResponse(await channels.get(p.index)!.request(payload, { signal }), p.index);
                latency.observe(p.index, performance.now() - started);
                return answer;
              } catch (err) {
                if (!signal.aborted) latency.failed(p.index, performance.now());
                throw err;
              }
            },
          })),
          hedgeMs: latency.hedgeDelay(ordered.slice(0, t - 1), signTimeoutMs / 4),
          onHedge: (reason) => modules.metrics?.hedged(reason),
          verifyCombined: (pk, root, sig) => verifier.verify(pk, root, sig),
          onPartial: (i) => modules.metrics?.partialReceived(i),
          onInvalid: (i, reason) => {
            // a peer sending bad partials is asked after the others from now on
            latency.failed(i, performance.now());
            modules.metrics?.partialInvalid(i);
            log.warn({ peer: i, validator: pkHex.slice(0, 12), reason }, "invalid partial signature");
          },
          onPeerError: (i, err) => log.debug({ peer: i, err: (err as Error).message }, "no partial from peer"),
        };
        try {
          return await gatherSignature(gather);
        } finally {
          sopts.signal.removeEventListener("abort", onAbort);
          // cancels the peer requests still out
          deadline.abort(settledReason);
        }
      },
    };
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
