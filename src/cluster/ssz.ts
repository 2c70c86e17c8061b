/**
 * Fixed SSZ containers whose hash_tree_root gives `config_hash`, `definition_hash` and
 * `lock_hash` (the Charon scheme: https://docs.obol.org/learn/charon/cluster-configuration).
 * Changing any type, field order or limit here changes every hash: bump `cohort/vN` if you do.
 * Strings are hashed as their UTF-8 bytes, addresses and versions as raw bytes, amounts as uint64 gwei.
 */
import {
  BooleanType,
  ByteListType,
  ByteVectorType,
  ContainerType,
  ListBasicType,
  ListCompositeType,
  UintBigintType,
  UintNumberType,
} from "@chainsafe/ssz";
import { ssz } from "@lodestar/types";

/** Most operators in a cluster. */
export const MAX_OPERATORS = 256;
/** Most validators in a cluster. */
export const MAX_VALIDATORS = 65_536;
/** Most deposit amounts per validator. */
export const MAX_DEPOSIT_AMOUNTS = 16;
/** Most multiaddr hints per operator. */
export const MAX_ADDRESSES = 16;
/** Longest multiaddr hint, UTF-8 bytes. */
export const MAX_ADDRESS_BYTES = 256;
/** Longest cluster name, UTF-8 bytes. */
export const MAX_NAME_BYTES = 256;
/** Longest peer ID string, bytes. */
export const MAX_PEER_ID_BYTES = 128;
/** Longest identity signature (secp256k1 DER is at most 72), bytes. */
export const MAX_CONFIG_SIGNATURE_BYTES = 256;

const Bytes4 = new ByteVectorType(4);
const Bytes20 = new ByteVectorType(20);
const Bytes32 = new ByteVectorType(32);
const Bytes48 = new ByteVectorType(48);
const Uint64 = new UintNumberType(8);
const Gwei64 = new UintBigintType(8);

/** `network` in a `cohort/v1` definition. */
export const NetworkSszV1 = new ContainerType(
  { name: new ByteListType(64), genesis_fork_version: Bytes4, genesis_validators_root: Bytes32 },
  { typeName: "CohortNetwork" },
);

/**
 * `network` in a `cohort/v2` definition: v1's fields, then the genesis time (unix seconds) and the
 * Capella fork (EIP-7044 exit domain; `cohort exit sign`'s default epoch).
 */
export const NetworkSsz = new ContainerType(
  {
    name: new ByteListType(64),
    genesis_fork_version: Bytes4,
    genesis_validators_root: Bytes32,
    genesis_time: Uint64,
    capella_fork_version: Bytes4,
    capella_fork_epoch: Uint64,
  },
  { typeName: "CohortNetworkV2" },
);

const PeerIdSsz = new ByteListType(MAX_PEER_ID_BYTES);
const AddressesSsz = new ListCompositeType(new ByteListType(MAX_ADDRESS_BYTES), MAX_ADDRESSES);

/** An operator as `config_hash` covers it: no signature. */
export const OperatorConfigSsz = new ContainerType(
  { peer_id: PeerIdSsz, addresses: AddressesSsz },
  { typeName: "CohortOperatorConfig" },
);

/** An operator as `definition_hash` covers it, with its `config_signature`. */
export const OperatorSsz = new ContainerType(
  { peer_id: PeerIdSsz, addresses: AddressesSsz, config_signature: new ByteListType(MAX_CONFIG_SIGNATURE_BYTES) },
  { typeName: "CohortOperator" },
);

/** One validator's addresses. */
export const ValidatorConfigSsz = new ContainerType(
  { withdrawal_address: Bytes20, fee_recipient: Bytes20 },
  { typeName: "CohortValidatorConfig" },
);

/**
 * The lifecycle fields of a `cohort/v3` definition (DESIGN.md § Cluster lifecycle): the operation
 * ("reshare" or "add-validators"), the lock it starts from, the retiring operators that take
 * part in a reshare (old operators not in the new set; they deal and sign, and receive nothing),
 * and the non-dealing operators (old operators in the new set that lost their old shares: they
 * receive new shares and deal nothing), by peer ID.
 */
function lifecycleFields(operator: typeof OperatorConfigSsz | typeof OperatorSsz) {
  return {
    operation: new ByteListType(32),
    previous_lock_hash: Bytes32,
    retiring_operators: new ListCompositeType(operator, MAX_OPERATORS),
    non_dealing_operators: new ListCompositeType(PeerIdSsz, MAX_OPERATORS),
  };
}

function definitionContainers<N extends typeof NetworkSszV1 | typeof NetworkSsz>(
  network: N,
  suffix: string,
  lifecycle = false,
) {
  const commonFields = {
    version: new ByteListType(32),
    uuid: new ByteListType(64),
    name: new ByteListType(MAX_NAME_BYTES),
    timestamp: new ByteListType(64),
    network,
    threshold: Uint64,
    num_validators: Uint64,
  };
  const tailFields = {
    validators: new ListCompositeType(ValidatorConfigSsz, MAX_VALIDATORS),
    deposit_amounts: new ListBasicType(Gwei64, MAX_DEPOSIT_AMOUNTS),
    compounding: new BooleanType(),
  };
  return {
    config: new ContainerType(
      {
        ...commonFields,
        operators: new ListCompositeType(OperatorConfigSsz, MAX_OPERATORS),
        ...tailFields,
        ...(lifecycle ? lifecycleFields(OperatorConfigSsz) : {}),
      },
      { typeName: `CohortDefinitionConfig${suffix}` },
    ),
    full: new ContainerType(
      {
        ...commonFields,
        operators: new ListCompositeType(OperatorSsz, MAX_OPERATORS),
        ...tailFields,
        ...(lifecycle ? lifecycleFields(OperatorSsz) : {}),
        config_hash: Bytes32,
      },
      { typeName: `CohortDefinition${suffix}` },
    ),
  };
}

const v1 = definitionContainers(NetworkSszV1, "");
const v2 = definitionContainers(NetworkSsz, "V2");
const v3 = definitionContainers(NetworkSsz, "V3", true);

/**
 * The hashing containers of each definition version: hash_tree_root of `config` is `config_hash`
 * (everything the operators agree on, no signatures, no hashes), of `full` `definition_hash`
 * (everything, with config signatures and `config_hash`). v1 is read, never written; v3 is v2 with
 * the lifecycle fields, for reshares and additions.
 */
export const DEFINITION_CONTAINERS = { "cohort/v1": v1, "cohort/v2": v2, "cohort/v3": v3 } as const;

/** One distributed validator in the lock. Deposit data use consensus-specs `DepositData`. */
export const DistributedValidatorSsz = new ContainerType(
  {
    public_key: Bytes48,
    public_shares: new ListCompositeType(Bytes48, MAX_OPERATORS),
    deposit_data: new ListCompositeType(ssz.phase0.DepositData, MAX_DEPOSIT_AMOUNTS),
  },
  { typeName: "CohortDistributedValidator" },
);

/**
 * hash_tree_root of this is `lock_hash`. `definition_hash` stands in for the whole definition
 * container: SSZ merkleises a nested container to its root, so the two are the same.
 */
export const LockSsz = new ContainerType(
  {
    definition_hash: Bytes32,
    distributed_validators: new ListCompositeType(DistributedValidatorSsz, MAX_VALIDATORS),
  },
  { typeName: "CohortLock" },
);
