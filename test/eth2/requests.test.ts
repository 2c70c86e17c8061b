// Vectors: ../shared/vectors/deposit/networks.json (domain types, network constants, deposit domains).
// Expected roots are computed here from consensus-specs formulas (compute_domain, get_domain,
// compute_signing_root) with ssz.phase0.ForkData / SigningData, not with src/eth2.
import type { Type } from "@chainsafe/ssz";
import { ssz } from "@lodestar/types";
import { describe, expect, it } from "vitest";
import { resolveNetwork } from "../../src/eth2/networks.js";
import {
  checkSigningRoot,
  decodeSignRequest,
  encodeSignRequest,
  parseSignRequest,
  type RequestSigningRootOpts,
  requestSigningRoot,
  SIGN_REQUEST_FORKS,
  SIGN_REQUEST_TYPES,
  type SignRequest,
  type SignRequestFork,
  slashingCheckOf,
} from "../../src/eth2/requests.js";
import { InputError } from "../../src/lib/errors.js";
import {
  aggregateAndProofElectra,
  aggregateAndProofPhase0,
  aggregateAndProofRequest,
  aggregateAndProofV2Request,
  aggregationSlotRequest,
  allSignRequests,
  altairBlock,
  attestationData,
  attestationRequest,
  beaconBlock,
  beaconBlockType,
  blockRequest,
  blockV2Request,
  contributionAndProof,
  depositMessage,
  depositRequest,
  type ForkInfoJson,
  forkInfoJson,
  MAINNET_FORKS,
  mainnetForkInfo,
  phase0Block,
  randaoRevealRequest,
  type SignRequestBody,
  type SignRequestFixture,
  syncAggregatorSelectionData,
  syncCommitteeContributionAndProofRequest,
  syncCommitteeMessage,
  syncCommitteeMessageRequest,
  syncCommitteeSelectionProofRequest,
  testRoot,
  validatorRegistration,
  validatorRegistrationRequest,
  voluntaryExit,
  voluntaryExitRequest,
  withSigningRoot,
} from "../helpers/signRequests.js";
import { hex, readVectorJson } from "../helpers/vectors.js";

interface NetworkVector {
  genesis_fork_version: string;
  genesis_validators_root: string;
  capella_fork_version: string;
  deposit_domain: string;
}
const vectors = readVectorJson<{ networks: Record<string, NetworkVector>; domain_types: Record<string, string> }>(
  "deposit/networks.json",
);
const MAINNET = vectors.networks.mainnet!;
const domainType = (name: string): Uint8Array => hex(vectors.domain_types[name]!);
const ZERO = new Uint8Array(32);
const OPTS: RequestSigningRootOpts = { genesisForkVersion: hex(MAINNET.genesis_fork_version) };

// ---- consensus-specs formulas, by hand -------------------------------------------------------

/** phase0 `compute_domain`: domain_type ‖ hash_tree_root(ForkData(version, gvr))[:28]. */
function specDomain(type: Uint8Array, version: Uint8Array, gvr: Uint8Array): Uint8Array {
  const forkDataRoot = ssz.phase0.ForkData.hashTreeRoot({ currentVersion: version, genesisValidatorsRoot: gvr });
  const out = new Uint8Array(32);
  out.set(type, 0);
  out.set(forkDataRoot.subarray(0, 28), 4);
  return out;
}

/** phase0 `compute_signing_root`: hash_tree_root(SigningData(object_root, domain)). */
function specSigningRoot(objectRoot: Uint8Array, domain: Uint8Array): string {
  return `0x${Buffer.from(ssz.phase0.SigningData.hashTreeRoot({ objectRoot, domain })).toString("hex")}`;
}

/** hash_tree_root of a uint64: its 8 little-endian bytes, zero-padded to 32. */
function uint64Root(n: number): Uint8Array {
  const out = new Uint8Array(32);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  return out;
}

const epochOf = (slot: number): number => Math.floor(slot / 32);
const htr = (type: Type<unknown>, value: unknown): Uint8Array => type.hashTreeRoot(value);

function rootOf(body: unknown, opts: RequestSigningRootOpts = OPTS): string {
  return `0x${Buffer.from(requestSigningRoot(parseSignRequest(body), opts)).toString("hex")}`;
}

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error("expected an InputError");
}

// ---- per type: object root, domain type and epoch, under fork_info with current and previous version

const PREV = "0x04000000";
const CUR = "0x05000000";
const GVR = MAINNET.genesis_validators_root;
const BASE_SLOT = MAINNET_FORKS.electra.epoch * 32 + 100; // epoch 364035, slot 4

interface TypeCase {
  name: string;
  /** The request for `fi` and the message's object root, domain type name, and domain epoch. */
  make(fi: ForkInfoJson): { fixture: SignRequestFixture; objectRoot: Uint8Array; domain: string; epoch: number };
}

const slot = BASE_SLOT;
const cases: TypeCase[] = [
  {
    name: "AGGREGATION_SLOT",
    make: (fi) => ({
      fixture: aggregationSlotRequest(fi, slot),
      objectRoot: uint64Root(slot),
      domain: "SELECTION_PROOF",
      epoch: epochOf(slot),
    }),
  },
  {
    name: "AGGREGATE_AND_PROOF flat phase0",
    make: (fi) => {
      const v = aggregateAndProofPhase0(slot);
      return {
        fixture: aggregateAndProofRequest(fi, { value: v }),
        objectRoot: htr(ssz.phase0.AggregateAndProof as Type<unknown>, v),
        domain: "AGGREGATE_AND_PROOF",
        epoch: epochOf(slot),
      };
    },
  },
  {
    name: "AGGREGATE_AND_PROOF flat Electra (Lighthouse)",
    make: (fi) => {
      const v = aggregateAndProofElectra(slot);
      return {
        fixture: aggregateAndProofRequest(fi, { value: v }),
        objectRoot: htr(ssz.electra.AggregateAndProof as Type<unknown>, v),
        domain: "AGGREGATE_AND_PROOF",
        epoch: epochOf(slot),
      };
    },
  },
  ...(["deneb", "electra"] as const).map(
    (fork): TypeCase => ({
      name: `AGGREGATE_AND_PROOF {version: ${fork.toUpperCase()}, data}`,
      make: (fi) => {
        const v = fork === "electra" ? aggregateAndProofElectra(slot) : aggregateAndProofPhase0(slot);
        const type = fork === "electra" ? ssz.electra.AggregateAndProof : ssz.phase0.AggregateAndProof;
        return {
          fixture: aggregateAndProofRequest(fi, { form: "versioned", fork, value: v }),
          objectRoot: htr(type as Type<unknown>, v),
          domain: "AGGREGATE_AND_PROOF",
          epoch: epochOf(slot),
        };
      },
    }),
  ),
  ...SIGN_REQUEST_FORKS.map(
    (fork): TypeCase => ({
      name: `AGGREGATE_AND_PROOF_V2 ${fork.toUpperCase()}`,
      make: (fi) => {
        const post = fork === "electra" || fork === "fulu";
        const v = post ? aggregateAndProofElectra(slot) : aggregateAndProofPhase0(slot);
        const type = post ? ssz.electra.AggregateAndProof : ssz.phase0.AggregateAndProof;
        return {
          fixture: aggregateAndProofV2Request(fi, fork, v),
          objectRoot: htr(type as Type<unknown>, v),
          domain: "AGGREGATE_AND_PROOF",
          epoch: epochOf(slot),
        };
      },
    }),
  ),
  {
    name: "ATTESTATION",
    make: (fi) => {
      const d = attestationData(slot);
      return {
        fixture: attestationRequest(fi, d),
        objectRoot: htr(ssz.phase0.AttestationData as Type<unknown>, d),
        domain: "BEACON_ATTESTER",
        epoch: d.target.epoch,
      };
    },
  },
  {
    name: "BLOCK (phase0 block)",
    make: (fi) => {
      const b = phase0Block(slot);
      return {
        fixture: blockRequest(fi, b),
        objectRoot: htr(ssz.phase0.BeaconBlock as Type<unknown>, b),
        domain: "BEACON_PROPOSER",
        epoch: epochOf(slot),
      };
    },
  },
  ...SIGN_REQUEST_FORKS.map(
    (fork): TypeCase => ({
      name: `BLOCK_V2 ${fork.toUpperCase()} (${fork === "phase0" || fork === "altair" ? "block" : "block_header"})`,
      make: (fi) => {
        const b = beaconBlock(fork, slot);
        // For a header the expected object root is still the whole block's: they are equal.
        return {
          fixture: blockV2Request(fi, fork, b),
          objectRoot: htr(beaconBlockType(fork), b),
          domain: "BEACON_PROPOSER",
          epoch: epochOf(slot),
        };
      },
    }),
  ),
  {
    name: "RANDAO_REVEAL",
    make: (fi) => ({
      fixture: randaoRevealRequest(fi, epochOf(slot)),
      objectRoot: uint64Root(epochOf(slot)),
      domain: "RANDAO",
      epoch: epochOf(slot),
    }),
  },
  {
    name: "SYNC_COMMITTEE_MESSAGE",
    make: (fi) => {
      const m = syncCommitteeMessage(slot);
      return {
        fixture: syncCommitteeMessageRequest(fi, m),
        objectRoot: m.beaconBlockRoot, // hash_tree_root(Root) is the root itself
        domain: "SYNC_COMMITTEE",
        epoch: epochOf(slot),
      };
    },
  },
  {
    name: "SYNC_COMMITTEE_SELECTION_PROOF",
    make: (fi) => {
      const d = syncAggregatorSelectionData(slot);
      return {
        fixture: syncCommitteeSelectionProofRequest(fi, d),
        objectRoot: htr(ssz.altair.SyncAggregatorSelectionData as Type<unknown>, d),
        domain: "SYNC_COMMITTEE_SELECTION_PROOF",
        epoch: epochOf(slot),
      };
    },
  },
  {
    name: "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF",
    make: (fi) => {
      const c = contributionAndProof(slot);
      return {
        fixture: syncCommitteeContributionAndProofRequest(fi, c),
        objectRoot: htr(ssz.altair.ContributionAndProof as Type<unknown>, c),
        domain: "CONTRIBUTION_AND_PROOF",
        epoch: epochOf(slot),
      };
    },
  },
];

describe("requestSigningRoot: fork_info types", () => {
  describe.each(cases)("$name", (c) => {
    it("uses current_version when the message epoch is at or after fork.epoch", () => {
      const epoch = c.make(mainnetForkInfo()).epoch;
      const fi = forkInfoJson(PREV, CUR, epoch, GVR); // boundary: epoch == fork.epoch → current
      const { fixture, objectRoot, domain } = c.make(fi);
      const expected = specSigningRoot(objectRoot, specDomain(domainType(domain), hex(CUR), hex(GVR)));
      expect(rootOf(fixture.body)).toBe(expected);
    });

    it("uses previous_version when the message epoch is before fork.epoch", () => {
      const epoch = c.make(mainnetForkInfo()).epoch;
      const fi = forkInfoJson(PREV, CUR, epoch + 1, GVR);
      const { fixture, objectRoot, domain } = c.make(fi);
      const expected = specSigningRoot(objectRoot, specDomain(domainType(domain), hex(PREV), hex(GVR)));
      expect(rootOf(fixture.body)).toBe(expected);
      expect(rootOf(fixture.body)).not.toBe(rootOf(c.make(forkInfoJson(PREV, CUR, epoch, GVR)).fixture.body));
    });
  });

  it("ATTESTATION picks the version by target.epoch, not by the slot's epoch", () => {
    const d = attestationData(BASE_SLOT);
    d.target = { epoch: epochOf(BASE_SLOT) - 1, root: testRoot("old-target") };
    d.source = { epoch: epochOf(BASE_SLOT) - 2, root: testRoot("old-source") };
    const fi = forkInfoJson(PREV, CUR, epochOf(BASE_SLOT), GVR); // slot's epoch is current, target's previous
    const expected = specSigningRoot(
      ssz.phase0.AttestationData.hashTreeRoot(d),
      specDomain(domainType("BEACON_ATTESTER"), hex(PREV), hex(GVR)),
    );
    expect(rootOf(attestationRequest(fi, d).body)).toBe(expected);
  });

  it("a BLOCK_V2 header and the whole block have the same root (Lodestar's header equals a Bellatrix block)", () => {
    const fi = mainnetForkInfo("deneb");
    const b = beaconBlock("deneb", BASE_SLOT);
    const viaHeader = rootOf(blockV2Request(fi, "deneb", b).body);
    const expected = specSigningRoot(
      ssz.deneb.BeaconBlock.hashTreeRoot(b as never),
      specDomain(domainType("BEACON_PROPOSER"), hex(MAINNET_FORKS.deneb.version), hex(GVR)),
    );
    expect(viaHeader).toBe(expected);
  });

  it("the genesis validators root is part of every fork_info domain", () => {
    const a = attestationRequest(forkInfoJson(PREV, CUR, 0, GVR), attestationData(BASE_SLOT));
    const b = attestationRequest(
      forkInfoJson(PREV, CUR, 0, vectors.networks.hoodi!.genesis_validators_root),
      attestationData(BASE_SLOT),
    );
    expect(rootOf(a.body)).not.toBe(rootOf(b.body));
  });
});

describe("requestSigningRoot: VOLUNTARY_EXIT (EIP-7044)", () => {
  const exitRoot = (e: ReturnType<typeof voluntaryExit>) => ssz.phase0.VoluntaryExit.hashTreeRoot(e);

  it.each(["deneb", "electra", "fulu"] as const)(
    "mainnet uses the Capella version even with a %s fork_info",
    (fork) => {
      const fi = mainnetForkInfo(fork);
      const exit = voluntaryExit(MAINNET_FORKS[fork].epoch + 10);
      const expected = specSigningRoot(
        exitRoot(exit),
        specDomain(domainType("VOLUNTARY_EXIT"), hex(MAINNET.capella_fork_version), hex(GVR)),
      );
      expect(rootOf(voluntaryExitRequest(fi, exit).body)).toBe(expected);
      const forkInfoRule = specSigningRoot(
        exitRoot(exit),
        specDomain(domainType("VOLUNTARY_EXIT"), hex(MAINNET_FORKS[fork].version), hex(GVR)),
      );
      expect(expected).not.toBe(forkInfoRule);
    },
  );

  it("an exit epoch before Capella still signs with the Capella version on a preset network", () => {
    const fi = mainnetForkInfo("altair");
    const exit = voluntaryExit(MAINNET_FORKS.altair.epoch + 1);
    const expected = specSigningRoot(
      exitRoot(exit),
      specDomain(domainType("VOLUNTARY_EXIT"), hex(MAINNET.capella_fork_version), hex(GVR)),
    );
    expect(rootOf(voluntaryExitRequest(fi, exit).body)).toBe(expected);
  });

  it.each(["hoodi", "sepolia", "holesky"])("%s: the preset is found by genesis_validators_root", (name) => {
    const net = vectors.networks[name]!;
    const fi = forkInfoJson("0x11111111", "0x22222222", 1000, net.genesis_validators_root);
    const exit = voluntaryExit(2000);
    const expected = specSigningRoot(
      exitRoot(exit),
      specDomain(domainType("VOLUNTARY_EXIT"), hex(net.capella_fork_version), hex(net.genesis_validators_root)),
    );
    // opts of another network do not override the preset matched by the request's root
    expect(rootOf(voluntaryExitRequest(fi, exit).body, { ...OPTS, capellaForkVersion: hex("0x99999999") })).toBe(
      expected,
    );
  });

  it("a custom network uses opts.capellaForkVersion", () => {
    const gvr = `0x${"ab".repeat(32)}`;
    const fi = forkInfoJson("0x50000038", "0x60000038", 100, gvr);
    const exit = voluntaryExit(150);
    const expected = specSigningRoot(
      exitRoot(exit),
      specDomain(domainType("VOLUNTARY_EXIT"), hex("0x40000038"), hex(gvr)),
    );
    expect(rootOf(voluntaryExitRequest(fi, exit).body, { ...OPTS, capellaForkVersion: hex("0x40000038") })).toBe(
      expected,
    );
  });

  it("a custom network without a Capella version falls back to fork_info by the exit's epoch", () => {
    const gvr = `0x${"ab".repeat(32)}`;
    const exit = voluntaryExit(150);
    for (const [forkEpoch, version] of [
      [150, "0x40000038"],
      [151, "0x30000038"],
    ] as const) {
      const fi = forkInfoJson("0x30000038", "0x40000038", forkEpoch, gvr);
      const expected = specSigningRoot(
        exitRoot(exit),
        specDomain(domainType("VOLUNTARY_EXIT"), hex(version), hex(gvr)),
      );
      expect(rootOf(voluntaryExitRequest(fi, exit).body)).toBe(expected);
    }
  });
});

describe("requestSigningRoot: DEPOSIT and VALIDATOR_REGISTRATION (genesis fork version, zero root)", () => {
  it.each(Object.keys(vectors.networks))("DEPOSIT on %s uses the request's genesis_fork_version", (name) => {
    const net = vectors.networks[name]!;
    const domain = specDomain(domainType("DEPOSIT"), hex(net.genesis_fork_version), ZERO);
    expect(domain).toEqual(hex(net.deposit_domain)); // the by-hand formula agrees with the vector
    const m = depositMessage();
    const expected = specSigningRoot(ssz.phase0.DepositMessage.hashTreeRoot(m), domain);
    // opts (mainnet) and a stray fork_info do not matter: only the request's genesis_fork_version does
    const body = { ...depositRequest(m, net.genesis_fork_version).body, fork_info: mainnetForkInfo() };
    expect(rootOf(body)).toBe(expected);
  });

  it("DEPOSIT of 2048 ETH (compounding) and of 1 ETH", () => {
    for (const amount of [2_048_000_000_000, 1_000_000_000]) {
      const m = depositMessage(amount);
      m.withdrawalCredentials[0] = 0x02;
      const expected = specSigningRoot(
        ssz.phase0.DepositMessage.hashTreeRoot(m),
        specDomain(domainType("DEPOSIT"), hex(MAINNET.genesis_fork_version), ZERO),
      );
      expect(rootOf(depositRequest(m).body)).toBe(expected);
    }
  });

  it.each(["mainnet", "hoodi"])("VALIDATOR_REGISTRATION on %s uses opts.genesisForkVersion", (name) => {
    const net = vectors.networks[name]!;
    const r = validatorRegistration();
    const expected = specSigningRoot(
      ssz.bellatrix.ValidatorRegistrationV1.hashTreeRoot(r),
      specDomain(domainType("APPLICATION_BUILDER"), hex(net.genesis_fork_version), ZERO),
    );
    // a stray fork_info changes nothing: the builder domain has a zero genesis validators root
    const body = { ...validatorRegistrationRequest(r).body, fork_info: mainnetForkInfo() };
    expect(rootOf(body, { genesisForkVersion: hex(net.genesis_fork_version) })).toBe(expected);
  });

  it("a resolved Network works as opts", () => {
    const r = validatorRegistrationRequest();
    expect(rootOf(r.body, resolveNetwork("hoodi"))).toBe(
      rootOf(r.body, { genesisForkVersion: hex(vectors.networks.hoodi!.genesis_fork_version) }),
    );
  });
});

describe("opts.genesisValidatorsRoot", () => {
  it("refuses a request for another chain", () => {
    const req = parseSignRequest(attestationRequest(mainnetForkInfo()).body);
    const hoodi = resolveNetwork("hoodi");
    const err = inputError(() => requestSigningRoot(req, hoodi));
    expect(err.type.field).toBe("fork_info.genesis_validators_root");
    expect(() => requestSigningRoot(req, resolveNetwork("mainnet"))).not.toThrow();
  });

  it("is skipped when zero (custom network before genesis) and for DEPOSIT / VALIDATOR_REGISTRATION", () => {
    const req = parseSignRequest(attestationRequest(mainnetForkInfo()).body);
    expect(() => requestSigningRoot(req, { ...OPTS, genesisValidatorsRoot: ZERO })).not.toThrow();
    const dep = parseSignRequest({ ...depositRequest().body, fork_info: mainnetForkInfo() });
    expect(() => requestSigningRoot(dep, resolveNetwork("hoodi"))).not.toThrow();
  });
});

describe("signingRoot", () => {
  const fixture = attestationRequest(mainnetForkInfo());
  const good = rootOf(fixture.body);

  it.each(["signingRoot", "signing_root"] as const)("a matching %s passes checkSigningRoot", (spelling) => {
    const req = parseSignRequest(withSigningRoot(fixture, good, spelling).body);
    expect(req.signingRoot).toEqual(hex(good));
    expect(() => checkSigningRoot(req, requestSigningRoot(req, OPTS))).not.toThrow();
  });

  it.each(["signingRoot", "signing_root"] as const)("a different %s → InputError(signingRoot)", (spelling) => {
    const req = parseSignRequest(withSigningRoot(fixture, testRoot("other"), spelling).body);
    const err = inputError(() => checkSigningRoot(req, requestSigningRoot(req, OPTS)));
    expect(err.type).toEqual({ code: "INVALID_INPUT", field: "signingRoot" });
    expect(err.message).toMatch(/does not match/);
  });

  it("a request without a root, or with null, passes", () => {
    for (const body of [fixture.body, { ...fixture.body, signingRoot: null }]) {
      const req = parseSignRequest(body);
      expect(req.signingRoot).toBeUndefined();
      expect(() => checkSigningRoot(req, requestSigningRoot(req, OPTS))).not.toThrow();
    }
  });

  it("both spellings with different roots → InputError(signingRoot)", () => {
    const body = { ...fixture.body, signingRoot: good, signing_root: `0x${"00".repeat(32)}` };
    expect(inputError(() => parseSignRequest(body)).type.field).toBe("signingRoot");
    expect(parseSignRequest({ ...body, signing_root: good }).signingRoot).toEqual(hex(good));
  });

  it("a fork_info change the client did not make is caught by its signingRoot", () => {
    const signed = withSigningRoot(fixture, good);
    const tampered = { ...signed.body, fork_info: forkInfoJson(PREV, "0x05000001", 0, GVR) };
    const req = parseSignRequest(tampered);
    expect(inputError(() => checkSigningRoot(req, requestSigningRoot(req, OPTS))).type.field).toBe("signingRoot");
  });
});

describe("unknown fields", () => {
  it("Nimbus's proofs and other extra fields are ignored and not forwarded", () => {
    const fixture = attestationRequest(mainnetForkInfo());
    const attestation = fixture.body.attestation as Record<string, unknown>;
    const body = {
      ...fixture.body,
      proofs: [{ type: "attestation", proof: "0x00" }],
      attestation: { ...attestation, extra: 1, source: { ...(attestation.source as object), note: "x" } },
      fork_info: { ...mainnetForkInfo(), comment: "hi" },
    };
    expect(rootOf(body)).toBe(rootOf(fixture.body));
    const req = parseSignRequest(body);
    expect(req.json).not.toHaveProperty("proofs");
    expect(req.json).toEqual(parseSignRequest(fixture.body).json);
  });

  it("an AGGREGATE_AND_PROOF_V2 PHASE0 body with a stray committee_bits is hashed as phase0", () => {
    const fi = mainnetForkInfo("deneb");
    const v = aggregateAndProofPhase0(BASE_SLOT);
    const f = aggregateAndProofV2Request(fi, "deneb", v);
    const ap = f.body.aggregate_and_proof as { data: { aggregate: Record<string, unknown> } };
    ap.data.aggregate.committee_bits = "0x0100000000000000";
    expect(rootOf(f.body)).toBe(rootOf(aggregateAndProofV2Request(fi, "deneb", v).body));
  });
});

describe("parsed values", () => {
  it("keeps forkInfo, versions and message fields", () => {
    const fi = mainnetForkInfo("fulu");
    const req = parseSignRequest(aggregateAndProofV2Request(fi, "fulu").body);
    expect(req.type).toBe("AGGREGATE_AND_PROOF_V2");
    if (req.type !== "AGGREGATE_AND_PROOF_V2") return;
    expect(req.forkInfo.fork).toEqual({
      previousVersion: hex(MAINNET_FORKS.electra.version),
      currentVersion: hex(MAINNET_FORKS.fulu.version),
      epoch: MAINNET_FORKS.fulu.epoch,
    });
    expect(req.forkInfo.genesisValidatorsRoot).toEqual(hex(GVR));
    expect(req.aggregateAndProof.container).toBe("electra");
    expect(req.aggregateAndProof.version).toBe("fulu");

    const flat = parseSignRequest(aggregateAndProofRequest(fi, { value: aggregateAndProofElectra(BASE_SLOT) }).body);
    if (flat.type !== "AGGREGATE_AND_PROOF") throw new Error("type");
    expect(flat.aggregateAndProof.container).toBe("electra");
    expect(flat.aggregateAndProof.version).toBeUndefined();
  });

  it("accepts version names in any case", () => {
    const fi = mainnetForkInfo("altair");
    const f = blockV2Request(fi, "altair", altairBlock(BASE_SLOT));
    const lower = { ...f.body, beacon_block: { ...(f.body.beacon_block as object), version: "altair" } };
    expect(rootOf(lower)).toBe(rootOf(f.body));
  });

  it("accepts upper-case hex", () => {
    const f = attestationRequest(mainnetForkInfo());
    const a = f.body.attestation as Record<string, string>;
    const upper = {
      ...f.body,
      attestation: { ...a, beacon_block_root: `0x${a.beacon_block_root!.slice(2).toUpperCase()}` },
    };
    expect(rootOf(upper)).toBe(rootOf(f.body));
  });
});

describe("slashingCheckOf", () => {
  const fi = mainnetForkInfo();

  it("BLOCK and BLOCK_V2 (block and block_header) → the block slot", () => {
    expect(slashingCheckOf(parseSignRequest(blockRequest(fi, phase0Block(BASE_SLOT)).body))).toEqual({
      kind: "block",
      slot: BigInt(BASE_SLOT),
    });
    for (const fork of SIGN_REQUEST_FORKS) {
      const req = parseSignRequest(blockV2Request(fi, fork, beaconBlock(fork, BASE_SLOT + 1)).body);
      expect(slashingCheckOf(req)).toEqual({ kind: "block", slot: BigInt(BASE_SLOT + 1) });
    }
  });

  it("ATTESTATION → source and target epochs", () => {
    const d = attestationData(BASE_SLOT);
    expect(slashingCheckOf(parseSignRequest(attestationRequest(fi, d).body))).toEqual({
      kind: "attestation",
      sourceEpoch: BigInt(d.source.epoch),
      targetEpoch: BigInt(d.target.epoch),
    });
  });

  it("every other type → undefined", () => {
    const others = allSignRequests(fi).filter((f) => !["BLOCK", "BLOCK_V2", "ATTESTATION"].includes(f.type));
    expect(others).toHaveLength(10);
    for (const f of others) expect(slashingCheckOf(parseSignRequest(f.body))).toBeUndefined();
  });
});

describe("forwarding to peers: encodeSignRequest / decodeSignRequest", () => {
  const fixtures = [
    ...allSignRequests(mainnetForkInfo("electra")),
    ...allSignRequests(mainnetForkInfo("altair"), "altair"),
  ];

  it("the helpers cover all 13 types", () => {
    expect(allSignRequests().map((f) => f.type)).toEqual([...SIGN_REQUEST_TYPES]);
  });

  it.each(fixtures.map((f, i) => [`${f.type} #${i}`, f] as const))(
    "%s round-trips to an equal request and root",
    (_, f) => {
      const body = withSigningRoot(f, testRoot("root"), "signing_root").body;
      const req = parseSignRequest(body);
      const peer = decodeSignRequest(encodeSignRequest(req));
      expect(peer).toEqual(req);
      expect(requestSigningRoot(peer, OPTS)).toEqual(requestSigningRoot(req, OPTS));
      expect(encodeSignRequest(peer)).toEqual(encodeSignRequest(req));
    },
  );

  it("key order in the client's body does not change the forwarded bytes", () => {
    const f = attestationRequest(mainnetForkInfo());
    const reversed = (o: unknown): unknown =>
      o !== null && typeof o === "object" && !Array.isArray(o)
        ? Object.fromEntries(
            Object.entries(o)
              .reverse()
              .map(([k, v]) => [k, reversed(v)]),
          )
        : o;
    const a = encodeSignRequest(parseSignRequest(f.body));
    const b = encodeSignRequest(parseSignRequest(reversed(f.body)));
    expect(Buffer.from(b).toString()).toBe(Buffer.from(a).toString());
  });

  it("bytes that are not UTF-8 JSON → InputError(body)", () => {
    for (const bytes of [new TextEncoder().encode("{"), new Uint8Array([0x7b, 0xff, 0x7d]), new Uint8Array()]) {
      expect(inputError(() => decodeSignRequest(bytes)).type.field).toBe("body");
    }
  });
});

describe("malformed bodies → InputError naming the field", () => {
  const fi = mainnetForkInfo();
  const att = attestationRequest(fi).body;
  const set = (body: SignRequestBody, path: string, value: unknown): SignRequestBody => {
    const copy = structuredClone(body);
    const keys = path.split(".");
    let o = copy as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
    if (value === undefined) delete o[keys.at(-1)!];
    else o[keys.at(-1)!] = value;
    return copy;
  };
  const b32 = (n: number) => `0x${"ab".repeat(n)}`;

  const cases: [string, unknown, string, RegExp][] = [
    ["a number for a uint64", set(att, "attestation.source.epoch", 5), "attestation.source.epoch", /decimal string/],
    ["a negative uint64", set(att, "attestation.slot", "-1"), "attestation.slot", /decimal string/],
    ["a non-decimal uint64", set(att, "attestation.index", "0x10"), "attestation.index", /decimal string/],
    [
      "a uint64 above 2^53 - 1",
      set(att, "attestation.target.epoch", "9007199254740992"),
      "attestation.target.epoch",
      /at most 9007199254740991/,
    ],
    [
      "a truncated root",
      set(att, "attestation.beacon_block_root", b32(31)),
      "attestation.beacon_block_root",
      /32 bytes, got 31/,
    ],
    [
      "an odd-length hex",
      set(att, "attestation.target.root", `${b32(32)}a`),
      "attestation.target.root",
      /0x-prefixed hex/,
    ],
    [
      "non-hex characters",
      set(att, "attestation.source.root", `0x${"zz".repeat(32)}`),
      "attestation.source.root",
      /0x-prefixed hex/,
    ],
    [
      "hex without 0x",
      set(att, "attestation.source.root", "ab".repeat(32)),
      "attestation.source.root",
      /0x-prefixed hex/,
    ],
    ["a missing message", set(att, "attestation", undefined), "attestation", /is required/],
    ["a missing field", set(att, "attestation.target", undefined), "attestation.target", /is required/],
    ["a message of the wrong type", set(att, "attestation", "x"), "attestation", /must be an object/],
    ["a missing fork_info", set(att, "fork_info", undefined), "fork_info", /is required/],
    [
      "a 3-byte fork version",
      set(att, "fork_info.fork.current_version", "0x050000"),
      "fork_info.fork.current_version",
      /4 bytes, got 3/,
    ],
    [
      "a missing genesis_validators_root",
      set(att, "fork_info.genesis_validators_root", undefined),
      "fork_info.genesis_validators_root",
      /is required/,
    ],
    ["a truncated signingRoot", { ...att, signingRoot: b32(16) }, "signingRoot", /32 bytes, got 16/],
    ["a truncated signing_root", { ...att, signing_root: "0x" }, "signing_root", /32 bytes, got 0/],
    ["an unknown type", { ...att, type: "BLOCK_V3" }, "type", /must be one of AGGREGATION_SLOT/],
    ["a missing type", set(att, "type", undefined), "type", /is required/],
    ["a numeric type", { ...att, type: 7 }, "type", /got number/],
    ["an array body", [att], "body", /JSON object/],
    ["a null body", null, "body", /JSON object/],
    ["a string body", "ATTESTATION", "body", /JSON object/],
    [
      "an unknown BLOCK_V2 version",
      set(blockV2Request(fi, "electra").body, "beacon_block.version", "GLOAS"),
      "beacon_block.version",
      /must be one of PHASE0, ALTAIR, BELLATRIX, CAPELLA, DENEB, ELECTRA, FULU/,
    ],
    [
      "a BLOCK_V2 without beacon_block",
      set(blockV2Request(fi, "electra").body, "beacon_block", undefined),
      "beacon_block",
      /is required/,
    ],
    [
      "a BELLATRIX+ block without block_header",
      (() => {
        const b = blockV2Request(fi, "capella").body;
        return set(b, "beacon_block", { version: "CAPELLA", block: blockRequest(fi).body.block });
      })(),
      "beacon_block.block_header",
      /is required/,
    ],
    [
      "an ALTAIR block sent as a header",
      (() => {
        const header = (blockV2Request(fi, "capella").body.beacon_block as Record<string, unknown>).block_header;
        return { ...att, type: "BLOCK_V2", beacon_block: { version: "ALTAIR", block_header: header } };
      })(),
      "beacon_block.block",
      /is required/,
    ],
    [
      "a deep field in a phase0 block",
      set(blockRequest(fi).body, "block.body.attestations", [
        { aggregation_bits: "0x01", data: {}, signature: b32(96) },
      ]),
      "block.body.attestations[0].data.slot",
      /is required/,
    ],
    [
      "an ELECTRA aggregate without committee_bits",
      set(
        aggregateAndProofV2Request(fi, "electra").body,
        "aggregate_and_proof.data.aggregate.committee_bits",
        undefined,
      ),
      "aggregate_and_proof.data.aggregate.committee_bits",
      /is required/,
    ],
    [
      "a bitlist without its delimiter bit",
      set(
        aggregateAndProofV2Request(fi, "deneb").body,
        "aggregate_and_proof.data.aggregate.aggregation_bits",
        "0x0000",
      ),
      "aggregate_and_proof.data.aggregate.aggregation_bits",
      /bitlist/,
    ],
    [
      "a sync contribution bitvector of the wrong size",
      set(
        syncCommitteeContributionAndProofRequest(fi).body,
        "contribution_and_proof.contribution.aggregation_bits",
        "0x24",
      ),
      "contribution_and_proof.contribution.aggregation_bits",
      /bitvector of 128 bits/,
    ],
    [
      "an aggregation_slot without slot",
      set(aggregationSlotRequest(fi).body, "aggregation_slot", {}),
      "aggregation_slot.slot",
      /is required/,
    ],
    [
      "a selection proof cut short",
      set(aggregateAndProofRequest(fi).body, "aggregate_and_proof.selection_proof", b32(95)),
      "aggregate_and_proof.selection_proof",
      /96 bytes, got 95/,
    ],
    [
      "an exit validator index above 2^53 - 1",
      set(voluntaryExitRequest(fi).body, "voluntary_exit.validator_index", "18446744073709551615"),
      "voluntary_exit.validator_index",
      /at most/,
    ],
    [
      "a DEPOSIT without genesis_fork_version",
      set(depositRequest().body, "deposit.genesis_fork_version", undefined),
      "deposit.genesis_fork_version",
      /is required/,
    ],
    [
      "a 47-byte deposit pubkey",
      set(depositRequest().body, "deposit.pubkey", b32(47)),
      "deposit.pubkey",
      /48 bytes, got 47/,
    ],
    [
      "a 19-byte fee recipient",
      set(validatorRegistrationRequest().body, "validator_registration.fee_recipient", b32(19)),
      "validator_registration.fee_recipient",
      /20 bytes, got 19/,
    ],
    [
      "a sync committee message without its root",
      set(syncCommitteeMessageRequest(fi).body, "sync_committee_message.beacon_block_root", undefined),
      "sync_committee_message.beacon_block_root",
      /is required/,
    ],
    [
      "a RANDAO epoch as a boolean",
      set(randaoRevealRequest(fi).body, "randao_reveal.epoch", true),
      "randao_reveal.epoch",
      /decimal string/,
    ],
    [
      "a selection proof request without subcommittee_index",
      set(syncCommitteeSelectionProofRequest(fi).body, "sync_aggregator_selection_data.subcommittee_index", undefined),
      "sync_aggregator_selection_data.subcommittee_index",
      /is required/,
    ],
  ];

  it.each(cases)("%s", (_, body, field, message) => {
    const err = inputError(() => parseSignRequest(body));
    expect(err.type).toEqual({ code: "INVALID_INPUT", field });
    expect(err.message).toContain(`"${field}"`);
    expect(err.message).toMatch(message);
  });

  it("the fixtures themselves parse (so each case above fails for its own reason)", () => {
    for (const f of allSignRequests(fi)) expect(() => parseSignRequest(f.body)).not.toThrow();
  });
});

describe("fork list", () => {
  it("SIGN_REQUEST_FORKS are Web3Signer's versions PHASE0…FULU", () => {
    expect(SIGN_REQUEST_FORKS.map((f) => f.toUpperCase())).toEqual([
      "PHASE0",
      "ALTAIR",
      "BELLATRIX",
      "CAPELLA",
      "DENEB",
      "ELECTRA",
      "FULU",
    ]);
    const forks: readonly SignRequestFork[] = Object.keys(MAINNET_FORKS) as SignRequestFork[];
    expect(forks).toEqual(SIGN_REQUEST_FORKS);
  });

  it("parse results are plain values with the type's fields", () => {
    const req: SignRequest = parseSignRequest(depositRequest().body);
    expect(req.type).toBe("DEPOSIT");
    if (req.type !== "DEPOSIT") return;
    expect(req.deposit.amount).toBe(32_000_000_000);
    expect(req.deposit.genesisForkVersion).toEqual(hex(MAINNET.genesis_fork_version));
    expect(req.forkInfo).toBeUndefined();
  });
});
