/**
 * Durable EIP-3076 slashing protection for one node: SQLite (better-sqlite3) in WAL mode with synchronous=FULL, one
 * BEGIN IMMEDIATE transaction per check-and-record (https://eips.ethereum.org/EIPS/eip-3076).
 */
import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { bytesEqual, toHex } from "../lib/bytes.js";
import { DATA_DIR_FILES } from "../lib/datadir.js";
import { DIR_MODE, FILE_MODE } from "../lib/fs.js";
import { type Logger, silentLogger } from "../lib/logger.js";
import type { BlsPublicKey, Epoch, Root, Slot } from "../lib/types.js";
import type { SlashingProtection } from "./index.js";
import {
  type AttestationHistory,
  attestationWatermarkOf,
  type BlockHistory,
  blockWatermarkOf,
  checkAttestation,
  checkBlock,
  MAX_SLOT_OR_EPOCH,
  type SignedAttestationRecord,
  type SignedBlockRecord,
  SlashingError,
  type Verdict,
} from "./rules.js";

/** File name of the slashing-protection database inside a node's data directory. */
export const SLASHING_DB_FILE = DATA_DIR_FILES.slashingDb;

/** How long a transaction waits for another process's write lock before failing, in milliseconds. */
export const DEFAULT_BUSY_TIMEOUT_MS = 30_000;

/**
 * SQLite page cache per connection, in KiB. A check touches the newest pages of one validator in three b-trees, so
 * the cache must hold those of every active validator: 32 MiB covers thousands of them.
 */
export const DEFAULT_CACHE_SIZE_KIB = 32 * 1024;

/** Schema version this code writes; a database with a newer version is refused. */
export const SCHEMA_VERSION = 3;

/** Ordered schema migrations: entry i moves the database from version i to version i + 1. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE metadata (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
  CREATE TABLE validators (id INTEGER PRIMARY KEY, pubkey BLOB NOT NULL UNIQUE);
  CREATE TABLE signed_blocks (
    validator_id INTEGER NOT NULL,
    slot INTEGER NOT NULL,
    signing_root BLOB
  );
  CREATE INDEX signed_blocks_by_slot ON signed_blocks (validator_id, slot);
  CREATE TABLE signed_attestations (
    validator_id INTEGER NOT NULL,
    source_epoch INTEGER NOT NULL,
    target_epoch INTEGER NOT NULL,
    signing_root BLOB
  );
  CREATE INDEX signed_attestations_by_target ON signed_attestations (validator_id, target_epoch, source_epoch);
  CREATE INDEX signed_attestations_by_source ON signed_attestations (validator_id, source_epoch, target_epoch);
  `,
  // Low watermarks come from imports only (DESIGN.md § Slashing protection; EIP-3076). Version 1 used the minima
  // of every record; a database written by it keeps those minima, since any of its records may have been imported.
  `
  CREATE TABLE watermarks (
    validator_id INTEGER PRIMARY KEY,
    min_slot INTEGER,
    min_source_epoch INTEGER,
    min_target_epoch INTEGER
  );
  INSERT INTO watermarks (validator_id, min_slot, min_source_epoch, min_target_epoch)
    SELECT v.id,
      (SELECT MIN(slot) FROM signed_blocks WHERE validator_id = v.id),
      (SELECT MIN(source_epoch) FROM signed_attestations WHERE validator_id = v.id),
      (SELECT MIN(target_epoch) FROM signed_attestations WHERE validator_id = v.id)
    FROM validators v;
  `,
  // Duty agreement and consent (DESIGN.md § Signing protocol): the value decided for each duty that slashing
  // protection does not record, and the messages this node's operator consented to (exits, deposits).
  `
  CREATE TABLE decisions (
    validator_id INTEGER NOT NULL,
    duty TEXT NOT NULL,
    signing_root BLOB NOT NULL,
    PRIMARY KEY (validator_id, duty)
  ) WITHOUT ROWID;
  CREATE TABLE consents (
    validator_id INTEGER NOT NULL,
    signing_root BLOB NOT NULL,
    request_json BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (validator_id, signing_root)
  ) WITHOUT ROWID;
  `,
];

const PARTICIPATION_KEY = "agreement_participation_slot";

const GVR_KEY = "genesis_validators_root";

/** Options of {@link SlashingProtectionDb}. */
export interface SlashingProtectionDbOpts {
  /** The node's data directory; the database is `<dataDir>/slashing-protection.sqlite` (mode 0600). */
  dataDir: string;
  /**
   * The network's 32-byte genesis validators root. Pinned into the database on first use; a database pinned to
   * another root is refused. Required before signing; tools that only import or export may omit it.
   */
  genesisValidatorsRoot?: Uint8Array | Root;
  /** Wait this long for another process's transaction instead of failing; default {@link DEFAULT_BUSY_TIMEOUT_MS}. */
  busyTimeoutMs?: number;
  /** SQLite page cache in KiB; default {@link DEFAULT_CACHE_SIZE_KIB}. */
  cacheSizeKiB?: number;
}

/** Collaborators of {@link SlashingProtectionDb}. */
export interface SlashingProtectionDbModules {
  logger?: Logger;
}

/** The whole signing history of one validator. `pubkey` is 48 bytes, compressed G1. */
export interface ValidatorHistory {
  pubkey: BlsPublicKey;
  signedBlocks: SignedBlockRecord[];
  signedAttestations: SignedAttestationRecord[];
}

/** The highest recorded block slot and attestation epochs of one validator (for minimal interchange export). */
export interface ValidatorMaxima {
  pubkey: BlsPublicKey;
  /** The highest block slot, with its signing root when exactly one known root is recorded at that slot. */
  maxBlock: SignedBlockRecord | null;
  /**
   * The highest source and the highest target epoch (possibly from different records); the signing root is set only
   * when a single record holds both maxima and is the only record at that target.
   */
  maxAttestation: SignedAttestationRecord | null;
}

/** Counts from {@link SlashingProtectionDb.importRecords}: records given and records new to the database. */
export interface ImportSummary {
  validators: number;
  blocks: number;
  attestations: number;
  newBlocks: number;
  newAttestations: number;
}

/** One block proposal of a batch; see {@link SlashingProtectionDb.checkAndRecordBlocks}. */
export interface BlockRequest {
  /** 48-byte compressed G1 validator public key. */
  pubkey: Uint8Array;
  slot: Slot;
  /** 32-byte signing root. */
  signingRoot: Uint8Array;
}

/** One attestation of a batch; see {@link SlashingProtectionDb.checkAndRecordAttestations}. */
export interface AttestationRequest {
  /** 48-byte compressed G1 validator public key. */
  pubkey: Uint8Array;
  sourceEpoch: Epoch;
  targetEpoch: Epoch;
  /** 32-byte signing root. */
  signingRoot: Uint8Array;
}

/** Outcome of one request of a batch: allowed (recorded durably, or an exact repeat) or refused. */
export type BatchOutcome = { allowed: true } | { allowed: false; error: SlashingError };

type Row = Record<string, unknown>;

/**
 * SQLite-backed {@link SlashingProtection} of one node, EIP-3076 complete strategy with low watermarks
 * (https://eips.ethereum.org/EIPS/eip-3076). Several processes may share the file: every check-and-record is one
 * BEGIN IMMEDIATE transaction, and a busy database is waited for up to `busyTimeoutMs`.
 *
 * The low watermarks are set by imports only: per validator, the minima over every imported record (block slot,
 * attestation source, attestation target), so nothing at or below the imported minima is signed except exact repeats. Records this node signs itself set none: an older attestation that surrounds and is surrounded by
 * nothing is allowed.
 */
export class SlashingProtectionDb implements SlashingProtection {
  /** Absolute path of the database file. */
  readonly file: string;
  private readonly db: Database.Database;
  private readonly log: Logger;
  private readonly validatorIds = new Map<string, bigint>();
  /** The participation slot as this process last raised it (no other process writes while it runs). */
  private participationRaised: number | undefined;
  private gvr: Root | null;
  private readonly stmt: ReturnType<typeof prepareStatements>;
  /** Check-and-record transactions; they return the validator's row id, cached once the transaction committed. */
  private readonly blockTx: (pubkey: BlsPublicKey, candidate: SignedBlockRecord) => bigint;
  private readonly attestationTx: (pubkey: BlsPublicKey, candidate: SignedAttestationRecord) => bigint;
  private readonly batchTx: (run: () => BatchOutcome[]) => BatchOutcome[];
  private readonly decisionTx: (pubkey: BlsPublicKey, duty: string, root: Uint8Array) => Uint8Array;

  /**
   * Opens (creating if missing) the data directory's slashing-protection database, applies schema migrations and
   * pins or checks the genesis validators root.
   * @throws SlashingError `WRONG_GENESIS_VALIDATORS_ROOT` when the database is pinned to another root
   * @throws RangeError when `genesisValidatorsRoot` is not 32 bytes
   * @throws Error when the database's schema is newer than this code
   */
  constructor(opts: SlashingProtectionDbOpts, modules: SlashingProtectionDbModules = {}) {
    this.log = modules.logger ?? silentLogger();
    const wantGvr =
      opts.genesisValidatorsRoot === undefined
        ? null
        : checkRoot(opts.genesisValidatorsRoot, "genesis_validators_root");
    mkdirSync(opts.dataDir, { recursive: true, mode: DIR_MODE });
    this.file = path.resolve(opts.dataDir, SLASHING_DB_FILE);
    // Create the file ourselves so it is 0600 from the start; SQLite gives -wal and -shm the same mode.
    closeSync(openSync(this.file, "a", FILE_MODE));
    chmodSync(this.file, FILE_MODE);
    const busyTimeoutMs = opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    this.db = new Database(this.file, { timeout: busyTimeoutMs });
    try {
      this.db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
      const mode = this.db.pragma("journal_mode = WAL", { simple: true });
      if (mode !== "wal") throw new Error(`set journal_mode=WAL on ${this.file}: got ${String(mode)}`);
      this.db.pragma("synchronous = FULL");
      this.db.pragma(`cache_size = -${Math.trunc(opts.cacheSizeKiB ?? DEFAULT_CACHE_SIZE_KIB)}`);
      this.db.defaultSafeIntegers(true);
      const version = this.migrate();
      this.stmt = prepareStatements(this.db);
      this.gvr = wantGvr === null ? this.readPinnedGvr() : this.pinGvr(wantGvr);
      this.log.info(
        { file: this.file, schema_version: version, genesis_validators_root: this.gvr && toHex(this.gvr) },
        "slashing protection database open",
      );
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.blockTx = this.db.transaction((pubkey: BlsPublicKey, candidate: SignedBlockRecord): bigint => {
      const vid = this.validatorId(pubkey);
      enforce(checkBlock(pubkey, candidate, this.blockHistory(vid)), () =>
        this.stmt.insertBlock.run(vid, candidate.slot, blob(candidate.signingRoot)),
      );
      return vid;
    }).immediate;
    this.attestationTx = this.db.transaction((pubkey: BlsPublicKey, candidate: SignedAttestationRecord): bigint => {
      const vid = this.validatorId(pubkey);
      enforce(checkAttestation(pubkey, candidate, this.attestationHistory(vid)), () =>
        this.stmt.insertAttestation.run(vid, candidate.sourceEpoch, candidate.targetEpoch, blob(candidate.signingRoot)),
      );
      return vid;
    }).immediate;
    this.batchTx = this.db.transaction((run: () => BatchOutcome[]) => run()).immediate;
    this.decisionTx = this.db.transaction((pubkey: BlsPublicKey, duty: string, root: Uint8Array): Uint8Array => {
      const vid = this.validatorId(pubkey);
      const prev = this.stmt.getDecision.get(vid, duty) as Uint8Array | undefined;
      if (prev !== undefined) return new Uint8Array(prev);
      this.stmt.insertDecision.run(vid, duty, blob(root));
      return root;
    }).immediate;
  }

  /** The 32-byte genesis validators root the database is pinned to, or null before first use. */
  get genesisValidatorsRoot(): Root | null {
    return this.gvr;
  }

  /** {@inheritDoc SlashingProtection.checkAndRecordBlock} */
  checkAndRecordBlock(pubkey: Uint8Array, slot: Slot, signingRoot: Uint8Array): void {
    const candidate = { slot: checkUint(slot, "slot"), signingRoot: checkRoot(signingRoot, "signing_root") };
    this.requirePinned();
    const pk = checkPubkey(pubkey);
    this.cacheValidatorId(pk, this.blockTx(pk, candidate));
  }

  /** {@inheritDoc SlashingProtection.checkAndRecordAttestation} */
  checkAndRecordAttestation(pubkey: Uint8Array, sourceEpoch: Epoch, targetEpoch: Epoch, signingRoot: Uint8Array): void {
    const candidate = {
      sourceEpoch: checkUint(sourceEpoch, "source_epoch"),
      targetEpoch: checkUint(targetEpoch, "target_epoch"),
      signingRoot: checkRoot(signingRoot, "signing_root"),
    };
    this.requirePinned();
    const pk = checkPubkey(pubkey);
    this.cacheValidatorId(pk, this.attestationTx(pk, candidate));
  }

  /**
   * Checks and records several block proposals in one BEGIN IMMEDIATE transaction (group commit: one fsync for the
   * batch). Each request is its own check-and-record, in order, inside a savepoint, so later requests see earlier
   * ones, and a refused request writes nothing; nothing is returned, and so nothing may be signed, before the whole
   * batch is durable. Same rules and codes as {@link checkAndRecordBlock}.
   * @returns one {@link BatchOutcome} per request, in order
   * @throws TypeError / RangeError on any malformed request, before anything is checked
   */
  checkAndRecordBlocks(requests: readonly BlockRequest[]): BatchOutcome[] {
    const items = requests.map((r) => ({
      pk: checkPubkey(r.pubkey),
      candidate: { slot: checkUint(r.slot, "slot"), signingRoot: checkRoot(r.signingRoot, "signing_root") },
    }));
    this.requirePinned();
    return this.runBatch(items, (pk, candidate) => this.blockTx(pk, candidate));
  }

  /**
   * Checks and records several attestations in one BEGIN IMMEDIATE transaction (group commit: one fsync for the
   * batch), each as its own check-and-record inside a savepoint, in order. Same rules and codes as
   * {@link checkAndRecordAttestation}; see {@link checkAndRecordBlocks} for the batch semantics.
   * @returns one {@link BatchOutcome} per request, in order
   * @throws TypeError / RangeError on any malformed request, before anything is checked
   */
  checkAndRecordAttestations(requests: readonly AttestationRequest[]): BatchOutcome[] {
    const items = requests.map((r) => ({
      pk: checkPubkey(r.pubkey),
      candidate: {
        sourceEpoch: checkUint(r.sourceEpoch, "source_epoch"),
        targetEpoch: checkUint(r.targetEpoch, "target_epoch"),
        signingRoot: checkRoot(r.signingRoot, "signing_root"),
      },
    }));
    this.requirePinned();
    return this.runBatch(items, (pk, candidate) => this.attestationTx(pk, candidate));
  }

  /**
   * The refusal a block at `slot` with `signingRoot` would get now, or undefined if it would be allowed. Records
   * nothing: duty agreement uses it to judge a leader's value before anything is decided.
   */
  wouldRefuseBlock(pubkey: Uint8Array, slot: Slot, signingRoot: Uint8Array): SlashingError | undefined {
    const pk = checkPubkey(pubkey);
    const candidate = { slot: checkUint(slot, "slot"), signingRoot: checkRoot(signingRoot, "signing_root") };
    const vid = this.existingValidatorId(pk);
    if (vid === null) return undefined;
    const v = checkBlock(pk, candidate, this.blockHistory(vid));
    return v.allowed ? undefined : new SlashingError(v.refusal);
  }

  /** As {@link wouldRefuseBlock}, for an attestation. Records nothing. */
  wouldRefuseAttestation(
    pubkey: Uint8Array,
    sourceEpoch: Epoch,
    targetEpoch: Epoch,
    signingRoot: Uint8Array,
  ): SlashingError | undefined {
    const pk = checkPubkey(pubkey);
    const candidate = {
      sourceEpoch: checkUint(sourceEpoch, "source_epoch"),
      targetEpoch: checkUint(targetEpoch, "target_epoch"),
      signingRoot: checkRoot(signingRoot, "signing_root"),
    };
    const vid = this.existingValidatorId(pk);
    if (vid === null) return undefined;
    const v = checkAttestation(pk, candidate, this.attestationHistory(vid));
    return v.allowed ? undefined : new SlashingError(v.refusal);
  }

  /**
   * Records the value decided for a duty that slashing protection does not cover (sync committee messages,
   * aggregates, contributions), or returns the root recorded before. Durable before it returns.
   * @param duty the duty key (src/eth2/duties.ts)
   * @returns the 32-byte root of the duty's decision: `signingRoot` unless another was recorded first
   */
  recordDecision(pubkey: Uint8Array, duty: string, signingRoot: Uint8Array): Uint8Array {
    const pk = checkPubkey(pubkey);
    const root = checkRoot(signingRoot, "signing_root");
    return this.decisionTx(pk, duty, root);
  }

  /**
   * Records that this node's operator consented to a message (its validator client asked, or `cohort exit sign`).
   * @param requestJson the request's validated JSON (what peers are sent)
   */
  addConsent(pubkey: Uint8Array, signingRoot: Uint8Array, requestJson: Uint8Array, nowSec: number): void {
    const pk = checkPubkey(pubkey);
    const root = checkRoot(signingRoot, "signing_root");
    this.db
      .transaction(() => {
        const vid = this.validatorId(pk);
        this.stmt.addConsent.run(vid, blob(root), blob(requestJson), BigInt(nowSec));
        return vid;
      })
      .immediate();
  }

  /** True when this node's operator consented to the message with this signing root. */
  hasConsent(pubkey: Uint8Array, signingRoot: Uint8Array): boolean {
    const vid = this.existingValidatorId(checkPubkey(pubkey));
    if (vid === null) return false;
    return this.stmt.getConsent.get(vid, blob(checkRoot(signingRoot, "signing_root"))) !== undefined;
  }

  /**
   * The highest slot of any duty this node took part in agreeing on, as last persisted (0 if none). A node back from
   * a restart only learns the decisions of duties at or before it: it may have sent messages for them it forgot.
   */
  participationSlot(): number {
    const row = this.stmt.getMeta.get(PARTICIPATION_KEY) as Row | undefined;
    return row === undefined ? 0 : Number(Buffer.from(row.value as Uint8Array).readBigUInt64BE());
  }

  /**
   * Raises the persisted participation slot to `slot` (durable before it returns); never lowers it.
   * A slot at or below the one this process last raised to writes nothing (agreement calls this per duty).
   */
  raiseParticipationSlot(slot: number): void {
    if (this.participationRaised !== undefined && slot <= this.participationRaised) return;
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(slot));
    this.db
      .transaction(() => {
        if (this.participationSlot() >= slot) return;
        this.stmt.upsertMeta.run(PARTICIPATION_KEY, b);
      })
      .immediate();
    // the persisted slot only rises, so a value read after the commit stays a lower bound
    this.participationRaised = Math.max(slot, this.participationSlot());
  }

  /**
   * Raises `pubkey`'s low watermarks to at least the given block slot and attestation epochs (null
   * leaves one as it is), so nothing at or below them is signed except exact repeats of records
   * already held. A reshare's new operators start from the floor its dealers signed (DESIGN.md
   * § Cluster lifecycle); unlike an import's minima, a floor only ever raises.
   * @throws RangeError when a value is negative or above 2^63 − 1
   */
  raiseWatermarks(
    pubkey: Uint8Array,
    floor: { slot: bigint | null; sourceEpoch: bigint | null; targetEpoch: bigint | null },
  ): void {
    const pk = checkPubkey(pubkey);
    for (const x of [floor.slot, floor.sourceEpoch, floor.targetEpoch]) if (x !== null) checkUint(x, "floor");
    this.db
      .transaction(() => {
        const vid = this.validatorId(pk);
        this.stmt.raiseWatermark.run(vid, floor.slot, floor.sourceEpoch, floor.targetEpoch);
      })
      .immediate();
  }

  /**
   * Merges validated interchange records into the database in one BEGIN IMMEDIATE transaction: all or nothing.
   * The genesis validators root is pinned if the database has none. Records already present (same slot or epochs
   * and same signing root, or both unknown) are not duplicated; every other record is kept, slashable or not, so the
   * complete-strategy checks see all of them.
   * @param genesisValidatorsRoot 32 bytes, from the interchange metadata
   * @throws SlashingError `WRONG_GENESIS_VALIDATORS_ROOT` when the database is pinned to another root
   * @throws TypeError / RangeError on a malformed record, before anything is written
   */
  importRecords(genesisValidatorsRoot: Root, histories: readonly ValidatorHistory[]): ImportSummary {
    const gvr = checkRoot(genesisValidatorsRoot, "genesis_validators_root");
    histories.forEach(checkHistory);
    const summary: ImportSummary = { validators: 0, blocks: 0, attestations: 0, newBlocks: 0, newAttestations: 0 };
    const run = this.db.transaction(() => {
      const pinned = this.readPinnedGvr();
      if (pinned === null) this.stmt.setMeta.run(GVR_KEY, blob(gvr));
      else if (!bytesEqual(pinned, gvr)) {
        throw new SlashingError({ code: "WRONG_GENESIS_VALIDATORS_ROOT", expected: pinned, actual: gvr });
      }
      const pubkeys = new Set<string>();
      for (const h of histories) {
        const key = toHex(h.pubkey);
        // A validator with no rows yet whose records come in strictly increasing order cannot hold a duplicate,
        // so bulk imports skip the per-record lookup until the order breaks.
        let fresh = !pubkeys.has(key) && this.existingValidatorId(h.pubkey) === null;
        pubkeys.add(key);
        const vid = this.validatorId(h.pubkey);
        let prev = -1n;
        for (const b of h.signedBlocks) {
          summary.blocks++;
          fresh &&= b.slot > prev;
          prev = b.slot;
          // A separate lookup, not INSERT … WHERE NOT EXISTS: SQLite would stage that through a temporary table.
          if (!fresh && hasRoot(this.stmt.blockRootsAt.all(vid, b.slot), b.signingRoot)) continue;
          this.stmt.insertBlock.run(vid, b.slot, blob(b.signingRoot));
          summary.newBlocks++;
        }
        // EIP-3076: nothing at or below the minima of the imported records, except exact repeats
        const bw = blockWatermarkOf(h.signedBlocks);
        const aw = attestationWatermarkOf(h.signedAttestations);
        if (bw !== null || aw !== null) {
          this.stmt.lowerWatermark.run(
            vid,
            bw?.minSlot ?? null,
            aw?.minSourceEpoch ?? null,
            aw?.minTargetEpoch ?? null,
          );
        }
        prev = -1n;
        for (const a of h.signedAttestations) {
          summary.attestations++;
          fresh &&= a.targetEpoch > prev;
          prev = a.targetEpoch;
          if (!fresh && hasRoot(this.stmt.attestationRootsAt.all(vid, a.targetEpoch, a.sourceEpoch), a.signingRoot)) {
            continue;
          }
          this.stmt.insertAttestation.run(vid, a.sourceEpoch, a.targetEpoch, blob(a.signingRoot));
          summary.newAttestations++;
        }
      }
      summary.validators = pubkeys.size;
    });
    run.immediate();
    this.gvr = gvr;
    this.log.info(
      { validators: summary.validators, new_blocks: summary.newBlocks, new_attestations: summary.newAttestations },
      "imported slashing protection interchange",
    );
    return summary;
  }

  /** Public keys (48 bytes each) of every validator with a record, sorted by their hex encoding. */
  listPubkeys(): BlsPublicKey[] {
    return (this.stmt.listValidators.all() as Row[]).map((r) => asBytes(r.pubkey) as BlsPublicKey);
  }

  /** Whole history of `pubkey` (blocks by slot, attestations by target then source), or null if it has no record. */
  readHistory(pubkey: Uint8Array): ValidatorHistory | null {
    const pk = checkPubkey(pubkey);
    return this.db
      .transaction(() => {
        const vid = this.existingValidatorId(pk);
        if (vid === null) return null;
        return {
          pubkey: pk,
          signedBlocks: (this.stmt.allBlocks.all(vid) as Row[]).map(blockRow),
          signedAttestations: (this.stmt.allAttestations.all(vid) as Row[]).map(attestationRow),
        };
      })
      .deferred();
  }

  /** Highest block slot and attestation epochs of `pubkey`, or null if it has no record. */
  readMaxima(pubkey: Uint8Array): ValidatorMaxima | null {
    const pk = checkPubkey(pubkey);
    return this.db
      .transaction((): ValidatorMaxima | null => {
        const vid = this.existingValidatorId(pk);
        if (vid === null) return null;
        let maxBlock: SignedBlockRecord | null = null;
        const maxSlot = (this.stmt.maxSlot.get(vid) as Row).m as bigint | null;
        if (maxSlot !== null) {
          const atMax = (this.stmt.blocksAtSlot.all(vid, maxSlot) as Row[]).map(blockRow);
          maxBlock = { slot: maxSlot, signingRoot: atMax.length === 1 ? (atMax[0]?.signingRoot ?? null) : null };
        }
        let maxAttestation: SignedAttestationRecord | null = null;
        const maxTarget = (this.stmt.maxTarget.get(vid) as Row).m as bigint | null;
        const maxSource = (this.stmt.maxSource.get(vid) as Row).m as bigint | null;
        if (maxTarget !== null && maxSource !== null) {
          const atMax = (this.stmt.attestationsAtTarget.all(vid, maxTarget) as Row[]).map(attestationRow);
          const only = atMax.length === 1 && atMax[0]?.sourceEpoch === maxSource ? atMax[0] : undefined;
          maxAttestation = { sourceEpoch: maxSource, targetEpoch: maxTarget, signingRoot: only?.signingRoot ?? null };
        }
        return { pubkey: pk, maxBlock, maxAttestation };
      })
      .deferred();
  }

  /** Closes the database; idempotent. */
  close(): void {
    if (this.db.open) this.db.close();
  }

  private migrate(): number {
    return this.db
      .transaction(() => {
        this.db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
        const row = this.db.prepare("SELECT MAX(version) AS v FROM schema_version").get() as Row;
        const current = Number((row.v as bigint | null) ?? 0n);
        if (current > MIGRATIONS.length) {
          throw new Error(
            `open ${this.file}: schema version ${current} is newer than this cohort's ${MIGRATIONS.length}; upgrade cohort`,
          );
        }
        for (let v = current; v < MIGRATIONS.length; v++) this.db.exec(MIGRATIONS[v] as string);
        if (current < MIGRATIONS.length) {
          this.db.prepare("DELETE FROM schema_version").run();
          this.db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(MIGRATIONS.length);
          this.log.info(
            { file: this.file, from: current, to: MIGRATIONS.length },
            "migrated slashing protection schema",
          );
        }
        return MIGRATIONS.length;
      })
      .immediate();
  }

  /** Runs `one` per item inside one outer transaction; only ids of validators committed with it are cached. */
  private runBatch<C>(
    items: { pk: BlsPublicKey; candidate: C }[],
    one: (pk: BlsPublicKey, c: C) => bigint,
  ): BatchOutcome[] {
    const ids: [BlsPublicKey, bigint][] = [];
    const outcomes = this.batchTx(() =>
      items.map(({ pk, candidate }): BatchOutcome => {
        try {
          ids.push([pk, one(pk, candidate)]);
          return { allowed: true };
        } catch (err) {
          if (err instanceof SlashingError) return { allowed: false, error: err };
          throw err;
        }
      }),
    );
    for (const [pk, id] of ids) this.cacheValidatorId(pk, id);
    return outcomes;
  }

  private readPinnedGvr(): Root | null {
    const row = this.stmt.getMeta.get(GVR_KEY) as Row | undefined;
    return row === undefined ? null : (asBytes(row.value) as Root);
  }

  private pinGvr(gvr: Root): Root {
    return this.db
      .transaction(() => {
        const pinned = this.readPinnedGvr();
        if (pinned === null) {
          this.stmt.setMeta.run(GVR_KEY, blob(gvr));
          this.log.info({ genesis_validators_root: toHex(gvr) }, "pinned genesis validators root");
          return gvr;
        }
        if (!bytesEqual(pinned, gvr)) {
          throw new SlashingError({ code: "WRONG_GENESIS_VALIDATORS_ROOT", expected: pinned, actual: gvr });
        }
        return pinned;
      })
      .immediate();
  }

  private requirePinned(): void {
    if (this.gvr === null) {
      throw new Error("slashing protection: open the database with a genesis_validators_root before signing");
    }
  }

  /**
   * Id of `pubkey`'s validator row, inserting the row if missing; call inside a write transaction. Only ids of
   * committed rows are cached (rows are never deleted), so a rolled-back insert never leaves a stale id behind.
   */
  private validatorId(pubkey: BlsPublicKey): bigint {
    const cached = this.validatorIds.get(toHex(pubkey));
    if (cached !== undefined) return cached;
    this.stmt.insertValidator.run(blob(pubkey));
    return (this.stmt.getValidator.get(blob(pubkey)) as Row).id as bigint;
  }

  private cacheValidatorId(pubkey: BlsPublicKey, id: bigint): void {
    this.validatorIds.set(toHex(pubkey), id);
  }

  private existingValidatorId(pubkey: BlsPublicKey): bigint | null {
    const cached = this.validatorIds.get(toHex(pubkey));
    if (cached !== undefined) return cached;
    const row = this.stmt.getValidator.get(blob(pubkey)) as Row | undefined;
    if (row === undefined) return null;
    // outside a transaction the row is committed, and rows are never deleted: its id can be cached
    if (!this.db.inTransaction) this.cacheValidatorId(pubkey, row.id as bigint);
    return row.id as bigint;
  }

  private blockHistory(vid: bigint): BlockHistory {
    const s = this.stmt;
    return {
      atSlot: (slot) => (s.blocksAtSlot.all(vid, slot) as Row[]).map(blockRow),
      watermark: () => {
        const m = (s.getWatermark.get(vid) as Row | undefined)?.min_slot as bigint | null | undefined;
        return m == null ? null : { minSlot: m };
      },
      maxSlot: () => (s.maxSlot.get(vid) as Row).m as bigint | null,
    };
  }

  private attestationHistory(vid: bigint): AttestationHistory {
    const s = this.stmt;
    return {
      atTarget: (t) => (s.attestationsAtTarget.all(vid, t) as Row[]).map(attestationRow),
      watermark: () => {
        const row = s.getWatermark.get(vid) as Row | undefined;
        const minSource = row?.min_source_epoch as bigint | null | undefined;
        const minTarget = row?.min_target_epoch as bigint | null | undefined;
        return minTarget == null || minSource == null ? null : { minSourceEpoch: minSource, minTargetEpoch: minTarget };
      },
      findSurroundedBy: (source, target) => {
        const row = s.surroundedBy.get(vid, source, target) as Row | undefined;
        return row === undefined ? null : attestationRow(row);
      },
      findSurrounding: (source, target) => {
        const row = s.surrounding.get(vid, target, source) as Row | undefined;
        return row === undefined ? null : attestationRow(row);
      },
      maxima: () => {
        const maxTarget = (s.maxTarget.get(vid) as Row).m as bigint | null;
        const maxSource = (s.maxSource.get(vid) as Row).m as bigint | null;
        return maxTarget === null || maxSource === null
          ? null
          : { maxSourceEpoch: maxSource, maxTargetEpoch: maxTarget };
      },
    };
  }
}

function prepareStatements(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  const att = "source_epoch, target_epoch, signing_root";
  return {
    getMeta: p("SELECT value FROM metadata WHERE key = ?"),
    setMeta: p("INSERT INTO metadata (key, value) VALUES (?, ?)"),
    upsertMeta: p(
      "INSERT INTO metadata (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ),
    getDecision: p("SELECT signing_root FROM decisions WHERE validator_id = ? AND duty = ?").pluck(),
    insertDecision: p("INSERT INTO decisions (validator_id, duty, signing_root) VALUES (?, ?, ?)"),
    addConsent: p(
      "INSERT OR IGNORE INTO consents (validator_id, signing_root, request_json, created_at) VALUES (?, ?, ?, ?)",
    ),
    getConsent: p("SELECT 1 FROM consents WHERE validator_id = ? AND signing_root = ?"),
    insertValidator: p("INSERT OR IGNORE INTO validators (pubkey) VALUES (?)"),
    getValidator: p("SELECT id FROM validators WHERE pubkey = ?"),
    listValidators: p("SELECT pubkey FROM validators ORDER BY hex(pubkey)"),
    blocksAtSlot: p("SELECT slot, signing_root FROM signed_blocks WHERE validator_id = ? AND slot = ?"),
    getWatermark: p("SELECT min_slot, min_source_epoch, min_target_epoch FROM watermarks WHERE validator_id = ?"),
    // Each field becomes the smaller of the stored and the given value (the minima over every import, as the
    // complete strategy keeps every imported record); NULL means "none" on either side.
    lowerWatermark: p(
      `INSERT INTO watermarks (validator_id, min_slot, min_source_epoch, min_target_epoch) VALUES (?, ?, ?, ?)
       ON CONFLICT (validator_id) DO UPDATE SET
         min_slot = MIN(COALESCE(min_slot, excluded.min_slot), COALESCE(excluded.min_slot, min_slot)),
         min_source_epoch = MIN(COALESCE(min_source_epoch, excluded.min_source_epoch),
                                COALESCE(excluded.min_source_epoch, min_source_epoch)),
         min_target_epoch = MIN(COALESCE(min_target_epoch, excluded.min_target_epoch),
                                COALESCE(excluded.min_target_epoch, min_target_epoch))`,
    ),
    // Each field becomes the larger of the stored and the given value (a reshare's floor); NULL means "none".
    raiseWatermark: p(
      `INSERT INTO watermarks (validator_id, min_slot, min_source_epoch, min_target_epoch) VALUES (?, ?, ?, ?)
       ON CONFLICT (validator_id) DO UPDATE SET
         min_slot = MAX(COALESCE(min_slot, excluded.min_slot), COALESCE(excluded.min_slot, min_slot)),
         min_source_epoch = MAX(COALESCE(min_source_epoch, excluded.min_source_epoch),
                                COALESCE(excluded.min_source_epoch, min_source_epoch)),
         min_target_epoch = MAX(COALESCE(min_target_epoch, excluded.min_target_epoch),
                                COALESCE(excluded.min_target_epoch, min_target_epoch))`,
    ),
    maxSlot: p("SELECT MAX(slot) AS m FROM signed_blocks WHERE validator_id = ?"),
    allBlocks: p("SELECT slot, signing_root FROM signed_blocks WHERE validator_id = ? ORDER BY slot, signing_root"),
    insertBlock: p("INSERT INTO signed_blocks (validator_id, slot, signing_root) VALUES (?, ?, ?)"),
    blockRootsAt: p("SELECT signing_root FROM signed_blocks WHERE validator_id = ? AND slot = ?").pluck(),
    attestationsAtTarget: p(
      `SELECT ${att} FROM signed_attestations INDEXED BY signed_attestations_by_target
       WHERE validator_id = ? AND target_epoch = ?`,
    ),
    maxTarget: p(
      `SELECT MAX(target_epoch) AS m FROM signed_attestations INDEXED BY signed_attestations_by_target
       WHERE validator_id = ?`,
    ),
    maxSource: p(
      `SELECT MAX(source_epoch) AS m FROM signed_attestations INDEXED BY signed_attestations_by_source
       WHERE validator_id = ?`,
    ),
    // Records the candidate (source, target) surrounds: scanned from the source index, few rows above the source.
    surroundedBy: p(
      `SELECT ${att} FROM signed_attestations INDEXED BY signed_attestations_by_source
       WHERE validator_id = ? AND source_epoch > ? AND target_epoch < ? LIMIT 1`,
    ),
    // Records surrounding the candidate: scanned from the target index, few rows above the target.
    surrounding: p(
      `SELECT ${att} FROM signed_attestations INDEXED BY signed_attestations_by_target
       WHERE validator_id = ? AND target_epoch > ? AND source_epoch < ? LIMIT 1`,
    ),
    allAttestations: p(
      `SELECT ${att} FROM signed_attestations INDEXED BY signed_attestations_by_target
       WHERE validator_id = ? ORDER BY target_epoch, source_epoch, signing_root`,
    ),
    insertAttestation: p(
      "INSERT INTO signed_attestations (validator_id, source_epoch, target_epoch, signing_root) VALUES (?, ?, ?, ?)",
    ),
    attestationRootsAt: p(
      `SELECT signing_root FROM signed_attestations INDEXED BY signed_attestations_by_target
       WHERE validator_id = ? AND target_epoch = ? AND source_epoch = ?`,
    ).pluck(),
  };
}

/** Runs `record` for a new allowed message, nothing for a repeat, and throws (rolling back) on a refusal. */
function enforce(verdict: Verdict, record: () => void): void {
  if (!verdict.allowed) throw new SlashingError(verdict.refusal);
  if (!verdict.repeat) record();
}

function blockRow(r: Row): SignedBlockRecord {
  return { slot: r.slot as bigint, signingRoot: r.signing_root == null ? null : (asBytes(r.signing_root) as Root) };
}

function attestationRow(r: Row): SignedAttestationRecord {
  return {
    sourceEpoch: r.source_epoch as bigint,
    targetEpoch: r.target_epoch as bigint,
    signingRoot: r.signing_root == null ? null : (asBytes(r.signing_root) as Root),
  };
}

/** True when `roots` (BLOBs or NULLs from SQLite) holds `root`; null matches NULL. */
function hasRoot(roots: unknown[], root: Uint8Array | null): boolean {
  return roots.some((r) => (r == null ? root === null : root !== null && bytesEqual(asBytes(r), root)));
}

/** A Buffer view of `bytes` (no copy) for binding as a BLOB; null stays NULL. */
function blob(bytes: Uint8Array): Buffer;
function blob(bytes: Uint8Array | null): Buffer | null;
function blob(bytes: Uint8Array | null): Buffer | null {
  return bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function asBytes(v: unknown): Uint8Array {
  const b = v as Buffer;
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** @throws TypeError when not a Uint8Array; RangeError on a wrong length */
function checkBytes(v: Uint8Array, field: string, length: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`"${field}" must be a Uint8Array`);
  if (v.length !== length) throw new RangeError(`"${field}" must be ${length} bytes, got ${v.length}`);
  return v;
}

function checkPubkey(v: Uint8Array): BlsPublicKey {
  return checkBytes(v, "pubkey", 48) as BlsPublicKey;
}

function checkRoot(v: Uint8Array, field: string): Root {
  return checkBytes(v, field, 32) as Root;
}

/** Validates every field of an imported history. @throws TypeError / RangeError naming the field */
function checkHistory(h: ValidatorHistory, i: number): void {
  checkBytes(h.pubkey, `data[${i}].pubkey`, 48);
  h.signedBlocks.forEach((b, j) => {
    checkUint(b.slot, `data[${i}].signed_blocks[${j}].slot`);
    if (b.signingRoot !== null) checkRoot(b.signingRoot, `data[${i}].signed_blocks[${j}].signing_root`);
  });
  h.signedAttestations.forEach((a, j) => {
    checkUint(a.sourceEpoch, `data[${i}].signed_attestations[${j}].source_epoch`);
    checkUint(a.targetEpoch, `data[${i}].signed_attestations[${j}].target_epoch`);
    if (a.signingRoot !== null) checkRoot(a.signingRoot, `data[${i}].signed_attestations[${j}].signing_root`);
  });
}

/** @throws TypeError when not a bigint; RangeError outside [0, 2^63 - 1] */
function checkUint(v: bigint, field: string): bigint {
  if (typeof v !== "bigint") throw new TypeError(`"${field}" must be a bigint`);
  if (v < 0n || v > MAX_SLOT_OR_EPOCH) throw new RangeError(`"${field}" must be in [0, 2^63 - 1], got ${v}`);
  return v;
}
