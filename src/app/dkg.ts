/**
 * `cohort dkg` composition root: loads the identity and definition, wires the libp2p ceremony
 * transport and the cluster layer into the ceremony runner, and writes the artifacts atomically
 * (DESIGN.md § Identities and files, § DKG protocol steps 6 and 9).
 */
import { promises as fsp } from "node:fs";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import {
  type ClusterDefinition,
  computeDefinitionHash,
  depositMessages,
  readDefinitionFile,
  serializeDefinition,
  verifyDefinition,
} from "../cluster/definition.js";
import {
  type ClusterLock,
  computeLockHash,
  type DistributedValidator,
  depositDataFiles,
  readLockFile,
  serializeLock,
} from "../cluster/lock.js";
import { encryptKeystores, type KdfName, randomPassword } from "../crypto/keystore.js";
import {
  type ArtifactBuilder,
  type CeremonyProgress,
  type CeremonyResult,
  type CeremonyValidator,
  runCeremony,
} from "../dkg/ceremony.js";
import { DkgError } from "../dkg/errors.js";
import { type EnvelopeLimits, envelopeLimits } from "../dkg/limits.js";
import { createCeremonyTransport } from "../dkg/net.js";
import type { CeremonyParams } from "../dkg/rounds.js";
import { DKG_PROTOCOL_VERSION } from "../dkg/steps.js";
import { buildDepositDatum, depositSigningRoot } from "../eth2/deposit.js";
import { bytesEqual, toHex } from "../lib/bytes.js";
import { keystoreFile, keystorePasswordFile } from "../lib/datadir.js";
import { InputError } from "../lib/errors.js";
import { ensureDir, exists, fsyncDir, writeFileAtomic } from "../lib/fs.js";
import { acquireDataDirLock } from "../lib/lockfile.js";
import type { Logger } from "../lib/logger.js";
import type { BlsPublicKey, Root, ShareIndex } from "../lib/types.js";
import { startHeartbeats } from "../p2p/heartbeat.js";
import { createHost } from "../p2p/host.js";
import { loadIdentity, verifyIdentitySignature } from "../p2p/identity.js";
import { defaultListenAddressFor } from "../p2p/protocols.js";

import { DEFAULT_DKG_TIMEOUT_MS, FILES } from "./files.js";

/**
 * Longest `cohort dkg` keeps delivering its confirmation after it has every peer's, ms: a peer
 * still waiting for it then confirms too, instead of seeing this node vanish at the last step.
 */
export const FINAL_DELIVERY_MS = 5_000;
/** Sampling resolution of the event-loop delay a ceremony reports, ms. */
const EVENT_LOOP_RESOLUTION_MS = 10;

export { DEFAULT_DKG_TIMEOUT_MS, FILES };

export interface DkgOpts {
  dataDir: string;
  definitionFile: string;
  /** Listen multiaddr; default: 127.0.0.1 on the port of this operator's own address hint, else 3610. */
  p2pAddress?: string;
  timeoutMs?: number;
  kdf?: KdfName;
  onProgress?: (ev: CeremonyProgress) => void;
}

export interface DkgModules {
  logger: Logger;
}

/** A finished `cohort dkg`. */
export interface DkgOutcome {
  lock: ClusterLock;
  /** Share index of this node, 1-based. */
  self: ShareIndex;
  /** Peers that did not confirm (non-empty → exit code 3: do not deposit yet). */
  unconfirmed: { index: ShareIndex; peerId: string }[];
  /** Paths written, relative to the data dir. */
  written: string[];
}

/** The DKG's checks before anything runs: identity, definition, and a clean data dir. */
export async function prepareDkg(opts: DkgOpts): Promise<{
  def: ClusterDefinition;
  self: ShareIndex;
  identity: Awaited<ReturnType<typeof loadIdentity>>;
}> {
  const identity = await loadIdentity(opts.dataDir);
  const def = await readDefinitionFile(opts.definitionFile);
  await verifyDefinition(def);
  const index = def.operators.findIndex((o) => o.peerId === identity.peerId);
  if (index < 0) {
    throw new InputError("definition", `identity ${identity.peerId} is not an operator of definition "${def.name}"`);
  }
  await refuseExistingLock(opts.dataDir, def);
  return { def, self: (index + 1) as ShareIndex, identity };
}

/** @throws InputError "data-dir" when `dataDir` already holds a cluster lock (never generate keys over one) */
async function refuseExistingLock(dataDir: string, def: ClusterDefinition): Promise<void> {
  const lockFile = path.join(dataDir, FILES.lock);
  if (!(await exists(lockFile))) return;
  let same = false;
  try {
    const lock = await readLockFile(lockFile);
    same = bytesEqual(computeDefinitionHash(lock.definition), def.definitionHash);
  } catch {
    // unreadable lock: still refuse below, never overwrite it
  }
  throw new InputError(
    "data-dir",
    same
      ? `${lockFile} already holds a lock for this definition; refusing to generate new keys over it`
      : `${lockFile} already holds a lock for another cluster; use a fresh data directory`,
  );
}

/**
 * Deposit signing roots and lock hash of a definition, for the ceremony. A reshare signs no
 * deposit (the previous lock's deposit data stay, unchanged); an addition signs the deposits of
 * the new validators only, which follow the `previous` lock's in the definition.
 */
export function definitionArtifacts(def: ClusterDefinition, previous?: ClusterLock) {
  const operation = def.lifecycle?.operation;
  const carried = operation === "add-validators" ? (previous?.distributedValidators.length ?? 0) : 0;
  let last: { validators: CeremonyValidator[]; distributed: DistributedValidator[]; lockHash: Root } | undefined;
  const toDistributed = (validators: CeremonyValidator[]): DistributedValidator[] => {
    if (last?.validators === validators) return last.distributed;
    return validators.map((val, v) => ({
      publicKey: val.publicKey,
      publicShares: val.publicShares,
      depositData:
        operation === "reshare"
          ? previous!.distributedValidators[v]!.depositData
          : depositMessages(def, v, val.publicKey).map((m, a) => buildDepositDatum(m, val.depositSignatures[a]!)),
    }));
  };
  return {
    /** The lock of a finished ceremony, reusing the lock_hash computed for signing. */
    lockOf: (result: CeremonyResult): ClusterLock => {
      const distributedValidators = toDistributed(result.validators);
      const lockHash =
        last?.validators === result.validators ? last.lockHash : computeLockHash(def, distributedValidators);
      return {
        definition: def,
        distributedValidators,
        lockHash,
        signatureAggregate: result.signatureAggregate,
        nodeSignatures: result.nodeSignatures,
      };
    },
    builder: {
      depositSigningRoots: (v: number, publicKey: BlsPublicKey): Root[] =>
        operation === "reshare"
          ? []
          : depositMessages(def, carried + v, publicKey).map((m) =>
              depositSigningRoot(m, def.network.genesisForkVersion),
            ),
      lockHash: (validators: CeremonyValidator[]): Root => {
        const distributed = toDistributed(validators);
        last = { validators, distributed, lockHash: computeLockHash(def, distributed) };
        return last.lockHash;
      },
    },
  };
}

/** The per-step envelope bounds of `def`'s ceremony: n, t, V and one deposit partial per amount. */
export function ceremonyEnvelopeLimits(def: ClusterDefinition): EnvelopeLimits {
  return envelopeLimits({
    n: def.operators.length,
    t: def.threshold,
    numValidators: def.numValidators,
    rootsPerValidator: def.depositAmounts.length,
  });
}

/**
 * Runs the ceremony for this node. On a fault or timeout writes only `dkg-failure.json` naming
 * the operators and rethrows; on success writes every artifact atomically.
 * @throws InputError for a bad definition, identity or data dir (nothing written);
 *   DkgError when the ceremony fails
 */
export async function runDkg(opts: DkgOpts, modules: DkgModules): Promise<DkgOutcome> {
  const log = modules.logger;
  const { def, self, identity } = await prepareDkg(opts);
  // one process per data dir: a second dkg, or a running node, would race for the same files
  const dirLock = await acquireDataDirLock(opts.dataDir, "dkg");
  try {
    // again under the data-dir lock: another dkg may have finished since the check above
    await refuseExistingLock(opts.dataDir, def);
    const { builder, lockOf } = definitionArtifacts(def);
    return await runCeremonyPlan(opts, log, {
      def,
      self,
      identity,
      participants: def.operators.map((o) => ({ peerId: o.peerId, addresses: o.addresses })),
      params: {},
      builder,
      lockOf,
      limits: ceremonyEnvelopeLimits(def),
      write: (lock, result) => writeArtifacts(opts.dataDir, def, lock, result, opts.kdf),
    });
  } finally {
    await dirLock.release();
  }
}

/**
 * One ceremony as the app runs it: a first DKG, or a lifecycle ceremony (src/app/lifecycle.ts)
 * with its own roles, artifacts and writes.
 */
export interface CeremonyPlan {
  def: ClusterDefinition;
  /** This node's 1-based ceremony index (its share index in a first DKG). */
  self: ShareIndex;
  identity: Awaited<ReturnType<typeof loadIdentity>>;
  /** Every participant in ceremony order (the operators, then a reshare's retiring operators). */
  participants: { peerId: string; addresses: string[] }[];
  /** The ceremony's roles beyond n, t and V (dealers, receivers, reshare, carried). */
  params: Partial<CeremonyParams>;
  builder: ArtifactBuilder;
  lockOf: (result: CeremonyResult) => ClusterLock;
  limits: EnvelopeLimits;
  /** Writes the artifacts atomically. @returns the paths written, relative to the data dir */
  write: (lock: ClusterLock, result: CeremonyResult) => Promise<string[]>;
}

/**
 * Runs `plan`'s ceremony over libp2p. On a fault or timeout writes only `dkg-failure.json` naming
 * the operators and rethrows; on success calls `plan.write` once every check passed.
 * @throws DkgError when the ceremony fails
 */
export async function runCeremonyPlan(
  opts: Pick<DkgOpts, "dataDir" | "p2pAddress" | "timeoutMs" | "onProgress">,
  log: Logger,
  plan: CeremonyPlan,
): Promise<DkgOutcome> {
  const { def, self, identity, builder, lockOf } = plan;
  const operators = plan.participants;
  const host = await createHost(
    {
      identity,
      peers: operators,
      listenAddresses: [opts.p2pAddress ?? defaultListenAddressFor(operators[self - 1]!.addresses)],
    },
    { logger: log },
  );
  const transport = await createCeremonyTransport(
    {
      identity,
      operators,
      session: def.definitionHash,
      protocolVersion: DKG_PROTOCOL_VERSION,
      limits: plan.limits,
    },
    { host, logger: log },
  );
  const signal = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_DKG_TIMEOUT_MS);
  let written: string[] = [];
  let lock: ClusterLock | undefined;
  // how well the event loop kept up through the ceremony's computation (src/lib/slice.ts): peers'
  // heartbeats answered, and the loop's delay
  const heartbeats = startHeartbeats(
    host,
    operators.filter((_, i) => i + 1 !== self).map((o) => o.peerId),
    { logger: log },
  );
  const loopDelay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  loopDelay.enable();
  const health = () => {
    const h = heartbeats.counts();
    return {
      heartbeats_sent: h.sent,
      heartbeats_answered: h.answered,
      heartbeats_missed: h.missed,
      heartbeat_max_round_trip_ms: Math.round(h.maxRoundTripMs),
      event_loop_delay_p99_ms: Math.round(loopDelay.percentile(99) / 1e6),
      event_loop_delay_max_ms: Math.round(loopDelay.max / 1e6),
      rss_peak_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  };
  try {
    log.info(
      { peer_id: identity.peerId, share_index: self, operators: operators.length, validators: def.numValidators },
      "starting ceremony",
    );
    const outcome = await runCeremony({
      params: {
        session: def.definitionHash,
        n: operators.length,
        t: def.threshold,
        numValidators: def.numValidators,
        self,
        ...plan.params,
      },
      transport,
      signer: identity,
      verifier: {
        verify: (sender, msg, sig) => {
          const op = operators[sender - 1];
          if (!op) throw new RangeError(`unknown operator ${sender}`);
          return verifyIdentitySignature(op.peerId, msg, sig);
        },
      },
      artifacts: builder,
      logger: log,
      signal,
      onProgress: opts.onProgress,
      persist: async (result) => {
        lock = lockOf(result);
        if (!bytesEqual(lock.lockHash, result.lockHash))
          throw new Error("lock hash changed between signing and writing");
        written = await plan.write(lock, result);
        const cpu = process.cpuUsage();
        log.info(
          {
            lock_hash: toHex(lock.lockHash),
            files: written.length,
            cpu_user_ms: cpu.user / 1000,
            cpu_system_ms: cpu.system / 1000,
            ...health(),
          },
          "artifacts written",
        );
      },
    });
    await fsp.rm(path.join(opts.dataDir, FILES.failure), { force: true });
    return {
      lock: lock!,
      self,
      unconfirmed: outcome.unconfirmed.map((i) => ({ index: i, peerId: operators[i - 1]!.peerId })),
      written,
    };
  } catch (err) {
    if (err instanceof DkgError && lock === undefined) {
      const culprits = err.type.culprits.map((i) => culpritOf(plan, i));
      await writeFailure(opts.dataDir, def, culprits, err);
      log.info(health(), "ceremony ended");
      // the message's "operator i" are ceremony indices: name each by its peer ID and shares too
      const named = culprits.map(
        (c) =>
          `${c.peer_id ?? `ceremony index ${c.ceremony_index}`} (${c.share_index === null ? "retiring" : `share ${c.share_index}`}` +
          `${c.previous_share_index === undefined || c.previous_share_index === null ? "" : `, old share ${c.previous_share_index}`})`,
      );
      throw named.length === 0
        ? err
        : new DkgError(err.type, `${err.message}; culprits: ${named.join(", ")}`, { cause: err });
    }
    log.info(health(), "ceremony ended");
    throw err;
  } finally {
    heartbeats.stop();
    loopDelay.disable();
    // a peer may still be waiting for this node's confirmation: deliver it first (bounded)
    await transport.close({ lingerMs: FINAL_DELIVERY_MS });
  }
}

/**
 * One culprit of a failed ceremony in dkg-failure.json. `ceremony_index` is the index in the
 * ceremony's messages and evidence (the operators, then a reshare's retiring operators);
 * `share_index` the one in the definition (null for a retiring operator); `previous_share_index`,
 * in a reshare only, the one in the previous lock (null for a new or non-dealing operator).
 */
interface Culprit {
  ceremony_index: number;
  share_index: number | null;
  previous_share_index?: number | null;
  peer_id: string | null;
}

function culpritOf(plan: CeremonyPlan, i: number): Culprit {
  const n = plan.def.operators.length;
  const reshare = plan.params.reshare;
  return {
    ceremony_index: i,
    share_index: i >= 1 && i <= n ? i : null,
    ...(reshare === undefined ? {} : { previous_share_index: reshare.oldIndex.get(i as ShareIndex) ?? null }),
    peer_id: plan.participants[i - 1]?.peerId ?? null,
  };
}

/** dkg-failure.json: who failed, why, and the signed messages that prove it. */
async function writeFailure(
  dataDir: string,
  def: ClusterDefinition,
  culprits: Culprit[],
  err: DkgError,
): Promise<void> {
  const report = {
    version: "cohort/dkg-failure/v1",
    timestamp: new Date().toISOString(),
    definition_hash: toHex(def.definitionHash),
    code: err.type.code,
    step: err.type.step,
    message: err.message,
    culprits,
    detail: err.type.detail,
    evidence: err.type.evidence,
  };
  await ensureDir(dataDir);
  await writeFileAtomic(path.join(dataDir, FILES.failure), `${JSON.stringify(report, null, 2)}\n`);
}

/** What a lifecycle ceremony changes in {@link writeArtifacts}. */
export interface WriteHooks {
  /**
   * Number of the first keystore written (an addition continues the lock's numbering); deposit
   * data are written for the validators from this one on.
   */
  firstKeystore?: number;
  /** Existing keystore and password files copied into the new validator_keys (paths relative to the data dir). */
  keepKeystores?: { from: string; to: string }[];
  /** Where the existing validator_keys goes (default `validator_keys.orphaned-<ms>`). */
  keysAside?: string;
  /** Runs after staging, before anything is renamed into place (e.g. keep the previous lock). */
  beforeRename?: (staging: string) => Promise<void>;
}

/**
 * Writes keystores, deposit data, the definition and the lock into a staging directory, then
 * renames them into place, the lock last: a data dir holds a lock only if everything else is there.
 * @returns the paths written, relative to `dataDir`
 */
export async function writeArtifacts(
  dataDir: string,
  def: ClusterDefinition,
  lock: ClusterLock,
  result: CeremonyResult,
  kdf: KdfName | undefined,
  hooks: WriteHooks = {},
): Promise<string[]> {
  const staging = path.join(dataDir, `.dkg-staging-${process.pid}`);
  // a crashed earlier run's staging (encrypted keystores and their passwords) goes too
  for (const f of await fsp.readdir(dataDir).catch(() => [] as string[])) {
    if (f.startsWith(".dkg-staging-")) await fsp.rm(path.join(dataDir, f), { recursive: true, force: true });
  }
  await ensureDir(path.join(staging, FILES.keys));
  const password = randomPassword();
  const keystores = await encryptKeystores(
    result.shares.map((secret, v) => ({
      secret,
      path: "",
      description: `cohort share of validator ${(hooks.firstKeystore ?? 0) + v} (${def.name})`,
    })),
    password,
    { kdf },
  );
  const entries: string[] = [];
  const first = hooks.firstKeystore ?? 0;
  for (const [k, ks] of keystores.entries()) {
    await writeFileAtomic(path.join(staging, keystoreFile(first + k)), `${JSON.stringify(ks, null, 2)}\n`);
    await writeFileAtomic(path.join(staging, keystorePasswordFile(first + k)), password);
  }
  // an addition keeps the existing keystores: they join the staged ones, numbering continues
  for (const f of hooks.keepKeystores ?? [])
    await writeFileAtomic(path.join(staging, f.to), await fsp.readFile(path.join(dataDir, f.from)));
  entries.push(FILES.keys);
  const deposited = { ...lock, distributedValidators: lock.distributedValidators.slice(hooks.firstKeystore ?? 0) };
  for (const f of depositDataFiles(deposited)) {
    await writeFileAtomic(path.join(staging, f.fileName), f.contents);
    entries.push(f.fileName);
  }
  await writeFileAtomic(path.join(staging, FILES.definition), serializeDefinition(def));
  entries.push(FILES.definition);
  await writeFileAtomic(path.join(staging, FILES.lock), serializeLock(lock));
  entries.push(FILES.lock);

  await hooks.beforeRename?.(staging);
  const keysDir = path.join(dataDir, FILES.keys);
  if (await exists(keysDir)) {
    // keys from a ceremony that never wrote its lock (or, in a lifecycle ceremony, the previous
    // lock's, which hooks.keysAside names): keep them aside, never delete key material
    await fsp.rename(keysDir, hooks.keysAside ?? `${keysDir}.orphaned-${Date.now()}`);
  }
  await fsyncDir(path.join(staging, FILES.keys));
  await fsyncDir(staging);
  // everything else is in place and durable before the lock appears
  for (const e of entries.filter((x) => x !== FILES.lock))
    await fsp.rename(path.join(staging, e), path.join(dataDir, e));
  await fsyncDir(dataDir);
  await fsp.rename(path.join(staging, FILES.lock), path.join(dataDir, FILES.lock));
  await fsp.rm(staging, { recursive: true, force: true });
  await fsyncDir(dataDir);
  return [
    ...keystores.flatMap((_, k) => [keystoreFile(first + k), keystorePasswordFile(first + k)]),
    ...entries.filter((e) => e !== FILES.keys),
  ];
}
