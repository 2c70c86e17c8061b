/**
 * Signature domains and signing roots, as consensus-specs phase0 `compute_fork_data_root`,
 * `compute_domain` and `compute_signing_root` define them:
 * https://github.com/ethereum/consensus-specs/blob/dev/specs/phase0/beacon-chain.md#helper-functions
 */
import type { Type } from "@chainsafe/ssz";
import { DOMAIN_DEPOSIT } from "@lodestar/params";
import { ssz } from "@lodestar/types";
import { concatBytes } from "../lib/bytes.js";
import type { Root } from "../lib/types.js";

const ZERO_ROOT = new Uint8Array(32);

function checkLength(bytes: Uint8Array, length: number, field: string): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`"${field}" must be a Uint8Array`);
  if (bytes.length !== length) throw new RangeError(`"${field}" must be ${length} bytes, got ${bytes.length}`);
}

/**
 * `compute_fork_data_root(current_version, genesis_validators_root)`: hash_tree_root of `ForkData`.
 * @param currentVersion fork version, 4 bytes
 * @param genesisValidatorsRoot 32 bytes
 * @returns 32-byte root
 * @throws RangeError on a wrong length
 */
export function computeForkDataRoot(currentVersion: Uint8Array, genesisValidatorsRoot: Uint8Array): Root {
  checkLength(currentVersion, 4, "fork_version");
  checkLength(genesisValidatorsRoot, 32, "genesis_validators_root");
  return ssz.phase0.ForkData.hashTreeRoot({ currentVersion, genesisValidatorsRoot }) as Root;
}

/**
 * `compute_domain(domain_type, fork_version, genesis_validators_root)`:
 * `domain_type ‖ compute_fork_data_root(fork_version, genesis_validators_root)[:28]`.
 * @param domainType 4 bytes, a `DOMAIN_*` constant from @lodestar/params
 * @param forkVersion 4 bytes
 * @param genesisValidatorsRoot 32 bytes
 * @returns the 32-byte domain
 * @throws RangeError on a wrong length
 */
export function computeDomain(
  domainType: Uint8Array,
  forkVersion: Uint8Array,
  genesisValidatorsRoot: Uint8Array,
): Uint8Array {
  checkLength(domainType, 4, "domain_type");
  const forkDataRoot = computeForkDataRoot(forkVersion, genesisValidatorsRoot);
  return concatBytes(domainType, forkDataRoot.subarray(0, 28));
}

/**
 * `compute_signing_root(ssz_object, domain)`: hash_tree_root of `SigningData{object_root, domain}`.
 * @param type the SSZ type of `value` (from `ssz` of @lodestar/types)
 * @param domain 32 bytes, from {@link computeDomain}
 * @returns the 32-byte signing root, the message a BLS signature covers
 * @throws RangeError on a wrong domain length
 */
export function computeSigningRoot<T>(type: Type<T>, value: T, domain: Uint8Array): Root {
  return signingRootOf(type.hashTreeRoot(value), domain);
}

/**
 * `compute_signing_root` from an object's hash_tree_root already computed.
 * @param objectRoot 32 bytes
 * @param domain 32 bytes
 * @throws RangeError on a wrong length
 */
export function signingRootOf(objectRoot: Uint8Array, domain: Uint8Array): Root {
  checkLength(objectRoot, 32, "object_root");
  checkLength(domain, 32, "domain");
  return ssz.phase0.SigningData.hashTreeRoot({ objectRoot, domain }) as Root;
}

/**
 * The deposit domain: `compute_domain(DOMAIN_DEPOSIT, genesis_fork_version, 0x00…00)`. Deposits are
 * valid across forks, so they use the genesis fork version and a zero genesis validators root.
 * https://github.com/ethereum/consensus-specs/blob/dev/specs/phase0/beacon-chain.md#deposits
 * @param genesisForkVersion 4 bytes
 * @returns the 32-byte domain
 * @throws RangeError on a wrong length
 */
export function depositDomain(genesisForkVersion: Uint8Array): Uint8Array {
  return computeDomain(DOMAIN_DEPOSIT, genesisForkVersion, ZERO_ROOT);
}
