/** File names inside a data directory (DESIGN.md § Identities and files). No imports: the CLI loads it eagerly. */
export const FILES = {
  identity: "identity.key",
  definition: "cluster-definition.json",
  lock: "cluster-lock.json",
  failure: "dkg-failure.json",
  keys: "validator_keys",
  dkgLog: "dkg.log",
} as const;

/** Default ceremony timeout: 10 minutes. */
export const DEFAULT_DKG_TIMEOUT_MS = 10 * 60_000;
