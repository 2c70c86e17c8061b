/**
 * Group commit for slashing protection: checks that arrive in the same event-loop turn share one
 * BEGIN IMMEDIATE transaction and one fsync, each still checked and recorded atomically (a savepoint
 * each, in arrival order) by {@link SlashingProtectionDb}'s batch methods. Under load the fsync,
 * not the rules, is the cost of a check; a lone check waits one `setImmediate` turn.
 */
import type { SlashingError } from "./rules.js";
import type { AttestationRequest, BatchOutcome, BlockRequest } from "./store.js";

/** The batch methods of {@link SlashingProtectionDb}. */
export interface BatchingSlashingDb {
  checkAndRecordBlocks(requests: readonly BlockRequest[]): BatchOutcome[];
  checkAndRecordAttestations(requests: readonly AttestationRequest[]): BatchOutcome[];
}

/** Asynchronous slashing protection: each promise settles once the record is durable or refused. */
export interface AsyncSlashingProtection {
  /** @throws SlashingError when refused; TypeError/RangeError on a malformed request */
  checkAndRecordBlock(req: BlockRequest): Promise<void>;
  /** @throws SlashingError when refused; TypeError/RangeError on a malformed request */
  checkAndRecordAttestation(req: AttestationRequest): Promise<void>;
}

interface Waiter<T> {
  req: T;
  resolve: () => void;
  reject: (err: SlashingError | Error) => void;
}

/** Batches concurrent checks into one transaction per kind per event-loop turn. */
export class GroupCommit implements AsyncSlashingProtection {
  #blocks: Waiter<BlockRequest>[] = [];
  #attestations: Waiter<AttestationRequest>[] = [];
  #scheduled = false;

  constructor(private readonly db: BatchingSlashingDb) {}

  checkAndRecordBlock(req: BlockRequest): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#blocks.push({ req, resolve, reject });
      this.#schedule();
    });
  }

  checkAndRecordAttestation(req: AttestationRequest): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#attestations.push({ req, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const blocks = this.#blocks;
      const attestations = this.#attestations;
      this.#blocks = [];
      this.#attestations = [];
      settle(blocks, (reqs) => this.db.checkAndRecordBlocks(reqs));
      settle(attestations, (reqs) => this.db.checkAndRecordAttestations(reqs));
    });
  }
}

function settle<T>(waiters: Waiter<T>[], run: (reqs: T[]) => BatchOutcome[]): void {
  if (waiters.length === 0) return;
  let outcomes: BatchOutcome[];
  try {
    outcomes = run(waiters.map((w) => w.req));
  } catch (err) {
    // a malformed request fails the batch before anything is checked: retry one by one to
    // refuse only the bad one
    if (waiters.length > 1) {
      for (const w of waiters) settle([w], run);
      return;
    }
    waiters[0]!.reject(err instanceof Error ? err : new Error(String(err)));
    return;
  }
  outcomes.forEach((o, i) => {
    const w = waiters[i]!;
    if (o.allowed) w.resolve();
    else w.reject(o.error);
  });
}
