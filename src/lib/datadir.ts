/**
 * The data directory's layout (DESIGN.md § Identities and files): every file name and path of a
 * `--data-dir` is defined here and nowhere else. No imports beyond node:path: the CLI loads it eagerly.
 */
import path from "node:path";

/** File and folder names inside a data directory. */
export const DATA_DIR_FILES = {
  /** libp2p secp256k1 private key (protobuf), 0600. */
  identity: "identity.key",
  /** The definition this node approved (input to dkg). */
  definition: "cluster-definition.json",
  /** The ceremony result, identical bytes on every node. */
  lock: "cluster-lock.json",
  /**
   * sha256 (0x-hex) of the lock file's bytes that `cohort run` last verified in full: a node
   * started again on the same bytes skips the signature and share checks.
   */
  lockVerified: "cluster-lock.verified",
  /** Only after a failed ceremony: who, why, and the signed evidence. */
  failure: "dkg-failure.json",
  /** EIP-2335 keystores of this node's shares, and their passwords. */
  keys: "validator_keys",
  /** JSON log lines of the last ceremony. */
  dkgLog: "dkg.log",
  /** Slashing protection, duty decisions, consents (SQLite, WAL). */
  slashingDb: "slashing-protection.sqlite",
  /** The exclusive data-dir lock of the process using it. */
  dirLock: "cohort.lock",
  /** While `cohort run` runs: the local admin endpoint (Unix socket, 0600). */
  adminSocket: "admin.sock",
  /** Voluntary exits the cluster signed through this node, one beacon-API JSON file per validator. */
  exits: "exits",
  /** The chain of locks a reshare or an addition keeps: `locks/<lock_hash 0x-hex>.json`. */
  locks: "locks",
  /** After `cohort split import`: the dealer's draft lock (public shares, deposit data) this node checked its shares against. */
  splitDraft: "split-draft.json",
} as const;

/** `lock-signature-<i>.json`: share index `i`'s signatures over the split cluster's lock_hash, for exchange. */
export function lockSignatureFile(shareIndex: number): string {
  return `lock-signature-${shareIndex}.json`;
}

/** `exits/<validator public key, 0x-hex>.json`: the SignedVoluntaryExit stored for a validator. */
export function exitFile(publicKeyHex: string): string {
  return `${DATA_DIR_FILES.exits}/${publicKeyHex.toLowerCase()}.json`;
}

/** `validator_keys/keystore-<v>.json` for the 0-based validator index `v`, relative to the data dir. */
export function keystoreFile(v: number): string {
  return `${DATA_DIR_FILES.keys}/keystore-${v}.json`;
}

/** `validator_keys/keystore-<v>.txt`: the keystore's password, relative to the data dir. */
export function keystorePasswordFile(v: number): string {
  return `${DATA_DIR_FILES.keys}/keystore-${v}.txt`;
}

/** The absolute-or-relative path of a data-dir file: `dataDir/name`. */
export function dataDirPath(dataDir: string, name: string): string {
  return path.join(dataDir, name);
}
