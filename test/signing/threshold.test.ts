// ThresholdSigner's group signature for an agreed duty (src/signing/threshold.ts): each node combines
// it from the partials its peers send once they decided, asking a peer whose partial does not come;
// the deciding round's leader still serves the group signature to peers that ask for it.
// Real BLS shares (t = 3 of 4), a real PartialSigner and slashing database; peers are in-memory fakes.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DistributedValidator } from "../../src/cluster/lock.js";
import type { AgreementValue, DutyAgreement, PeerPartials } from "../../src/consensus/engine.js";
import { SecretKey, verify } from "../../src/crypto/bls.js";
import { Polynomial } from "../../src/crypto/tbls.js";
import { PRESET_GENESIS_TIME, slotClock } from "../../src/eth2/clock.js";
import { resolveNetwork } from "../../src/eth2/networks.js";
import { encodeSignRequest, parseSignRequest, requestDescriptor, requestSigningRoot } from "../../src/eth2/requests.js";
import { toHex } from "../../src/lib/bytes.js";
import { silentLogger } from "../../src/lib/logger.js";
import type { BlsPublicKey, Root, ShareIndex } from "../../src/lib/types.js";
import type { PeerAnswer } from "../../src/signing/combine.js";
import { PartialSigner } from "../../src/signing/partial.js";
import { PeerLatency } from "../../src/signing/peerLatency.js";
import { type PeerPartialRequest, type SignerPeer, ThresholdSigner } from "../../src/signing/threshold.js";
import type { SignerError } from "../../src/signing/types.js";
import { VerifyQueue } from "../../src/signing/verifyQueue.js";
import { type AsyncSlashingProtection, GroupCommit } from "../../src/slashing/groupCommit.js";
import { SlashingError } from "../../src/slashing/rules.js";
import { SlashingProtectionDb } from "../../src/slashing/store.js";
import { attestationRequest, mainnetForkInfo, slotIn } from "../helpers/signRequests.js";

const mainnet = resolveNetwork("mainnet");
const T = 3;
const SELF = 2 as ShareIndex;
const poly = Polynomial.random(T);
const shares = [1, 2, 3, 4].map((i) => poly.evaluate(i));
const dv: DistributedValidator = {
  publicKey: poly.secret().publicKey() as BlsPublicKey,
  publicShares: shares.map((s) => s.publicKey() as BlsPublicKey),
  depositData: [],
};
const pkHex = toHex(dv.publicKey);
const fork = mainnetForkInfo("electra");
const slot = slotIn(fork);
const request = parseSignRequest(attestationRequest(fork).body);
const network = {
  genesisForkVersion: mainnet.genesisForkVersion,
  genesisValidatorsRoot: mainnet.genesisValidatorsRoot,
};
const root = requestSigningRoot(request, network);
const dutyKey = requestDescriptor(request).duty(request).key;

let dir: string;
let db: SlashingProtectionDb;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "cohort-threshold-"));
  db = new SlashingProtectionDb({ dataDir: dir, genesisValidatorsRoot: mainnet.genesisValidatorsRoot });
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Node 2's signer, with the duty decided in a round led by `leader`. */
function signerWith(
  leader: number,
  opts: {
    slashing?: AsyncSlashingProtection;
    refusePartials?: boolean;
    /** The partials peers send once they decided (the engine's PeerPartials). */
    inbox?: PeerPartials;
  } = {},
) {
  const asked: { peer: number; kind: PeerPartialRequest["kind"] }[] = [];
  const peers: SignerPeer[] = [1, 3, 4].map((index) => ({
    index: index as ShareIndex,
    label: `${index} (peer)`,
    isConnected: () => true,
    requestPartial: async (req: PeerPartialRequest): Promise<PeerAnswer> => {
      asked.push({ peer: index, kind: req.kind });
      // the signer combines for itself: a group request is never answered with a signature here
      if (req.kind === "group") return { refusal: { code: "NOT_LEADER", message: "not asked in these tests" } };
      if (opts.refusePartials) return { refusal: { code: "NOT_DECIDED", message: "not decided" } };
      return { signature: shares[index - 1]!.sign(root) };
    },
  }));
  const decided: AgreementValue = {
    root: root as Root,
    json: encodeSignRequest(request),
    leader: leader as ShareIndex,
    partials: opts.inbox,
  };
  const sources: string[] = [];
  const invalid: number[] = [];
  const shared: Uint8Array[] = [];
  const agreement = {
    propose: async () => decided,
    progress: () => undefined,
    sharePartial: (_pk: string, duty: string, r: Root, sig: Uint8Array) => {
      if (duty === dutyKey && toHex(r) === toHex(root)) shared.push(sig);
    },
  } as unknown as DutyAgreement;
  const signer = new ThresholdSigner(
    {
      shareIndex: SELF,
      threshold: T,
      validators: [dv],
      feeRecipients: [new Uint8Array(20)],
      network,
      signTimeoutMs: 2_000,
    },
    {
      partials: new PartialSigner(
        { shareIndex: SELF, shares: new Map([[pkHex, shares[SELF - 1]!]]), ...network },
        { slashing: opts.slashing ?? new GroupCommit(db), logger: silentLogger() },
      ),
      agreement,
      store: db,
      peers,
      clock: slotClock(PRESET_GENESIS_TIME.mainnet, () => (PRESET_GENESIS_TIME.mainnet + slot * 12 + 1) * 1000),
      verifier: new VerifyQueue(),
      latency: new PeerLatency(),
      logger: silentLogger(),
      metrics: {
        hedged: () => {},
        partialReceived: () => {},
        partialInvalid: (i) => invalid.push(i),
        groupSignature: (source) => sources.push(source),
      },
    },
  );
  return { signer, asked, sources, invalid, shared };
}

const signOnce = (signer: ThresholdSigner) =>
  signer.sign(dv.publicKey, request, { signal: AbortSignal.timeout(5_000) });

describe("threshold signer: the group signatures it serves to peers that ask", () => {
  it("the leader combines once for itself and its peers: each peer asked for its partial once", async () => {
    const { signer, asked } = signerWith(SELF);
    const [a, b] = await Promise.all([
      signOnce(signer),
      signer.serveGroup(pkHex, dutyKey, root as Root, AbortSignal.timeout(5_000)),
    ]);
    expect(verify(dv.publicKey, root, a)).toBe(true);
    expect("signature" in b && verify(dv.publicKey, root, b.signature)).toBe(true);
    expect(asked.every((x) => x.kind === "decided")).toBe(true);
    expect(asked.map((x) => x.peer).sort()).toEqual([1, 3, 4]);
  });

  it("a node that did not lead the deciding round refuses peers' group requests", async () => {
    const { signer, asked } = signerWith(1);
    await signOnce(signer);
    const before = asked.length;
    const answer = await signer.serveGroup(pkHex, dutyKey, root as Root, AbortSignal.timeout(5_000));
    expect("refusal" in answer && answer.refusal.code).toBe("NOT_LEADER");
    expect(asked).toHaveLength(before);
  });

  it("a failed combination is not started again for peers within the retry interval", async () => {
    const { signer, asked } = signerWith(SELF, { refusePartials: true });
    const err = await signOnce(signer).catch((e: unknown) => e);
    expect((err as SignerError).type.code).toBe("NOT_ENOUGH_PARTIALS");
    const before = asked.length;
    expect(before).toBe(3);
    const answer = await signer.serveGroup(pkHex, dutyKey, root as Root, AbortSignal.timeout(5_000));
    expect("refusal" in answer && answer.refusal.code).toBe("NOT_ENOUGH_PARTIALS");
    expect(asked).toHaveLength(before);
  });

  it("t partials cannot be had: NOT_ENOUGH_PARTIALS", async () => {
    const { signer } = signerWith(1, { refusePartials: true });
    const err = await signOnce(signer).catch((e: unknown) => e);
    expect((err as SignerError).type.code).toBe("NOT_ENOUGH_PARTIALS");
  });

  it("a peer's group request for another value than this node decided is refused with the decided root", async () => {
    const { signer } = signerWith(SELF);
    await signOnce(signer);
    const other = new Uint8Array(32).fill(9) as Root;
    const answer = await signer.serveGroup(pkHex, dutyKey, other, AbortSignal.timeout(5_000));
    expect("refusal" in answer && answer.refusal.code).toBe("DIFFERENT_DECISION");
  });
});

/** A stand-in for the engine's inbox of the partials peers send once they decided. */
function fakeInbox() {
  const by = new Map<number, Uint8Array>();
  const waiting = new Map<number, ((sig: Uint8Array) => void)[]>();
  const inbox: PeerPartials = {
    get: (i) => by.get(i),
    next: (i, ms, signal) =>
      new Promise((resolve) => {
        const have = by.get(i);
        if (have !== undefined || signal.aborted) return resolve(have);
        waiting.set(i, [...(waiting.get(i) ?? []), resolve]);
        setTimeout(() => resolve(undefined), ms);
        signal.addEventListener("abort", () => resolve(undefined), { once: true });
      }),
  };
  const deliver = (i: number, sig: Uint8Array = shares[i - 1]!.sign(root)) => {
    by.set(i, sig);
    for (const w of waiting.get(i) ?? []) w(sig);
  };
  return { inbox, deliver };
}

describe("threshold signer: partials peers send once they decided", () => {
  it("t − 1 peers' partials here: combined here, no peer asked, and this node's own partial is shared", async () => {
    const { inbox, deliver } = fakeInbox();
    deliver(1);
    deliver(3);
    const { signer, asked, sources, shared } = signerWith(1, { inbox });
    const sig = await signOnce(signer);
    expect(verify(dv.publicKey, root, sig)).toBe(true);
    expect(asked).toEqual([]);
    expect(sources).toEqual(["partials"]);
    expect(shared).toHaveLength(1);
    expect(verify(dv.publicShares[SELF - 1]!, root, shared[0]!)).toBe(true);
  });

  it("partials that arrive after this node's decision are waited for, not asked for", async () => {
    const { inbox, deliver } = fakeInbox();
    setTimeout(() => deliver(4), 30);
    setTimeout(() => deliver(1), 60);
    const { signer, asked } = signerWith(1, { inbox });
    const sig = await signOnce(signer);
    expect(verify(dv.publicKey, root, sig)).toBe(true);
    expect(asked).toEqual([]);
  });

  it("a partial that does not verify is reported, and a peer whose partial does not come is asked for it", async () => {
    const { inbox, deliver } = fakeInbox();
    deliver(1);
    deliver(3, SecretKey.random().sign(root));
    const { signer, asked, invalid } = signerWith(1, { inbox });
    const sig = await signOnce(signer);
    expect(verify(dv.publicKey, root, sig)).toBe(true);
    expect(invalid).toEqual([3]);
    expect(asked).toEqual([{ peer: 4, kind: "decided" }]);
  });

  it("this node's own slashing protection refuses: it shares nothing and returns nothing", async () => {
    const { inbox, deliver } = fakeInbox();
    deliver(1);
    deliver(3);
    const refusing: AsyncSlashingProtection = {
      checkAndRecordBlock: async () => {},
      checkAndRecordAttestation: async (req) => {
        const candidate = {
          sourceEpoch: req.sourceEpoch,
          targetEpoch: req.targetEpoch,
          signingRoot: req.signingRoot as Root,
        };
        throw new SlashingError({
          code: "DOUBLE_VOTE",
          pubkey: req.pubkey as BlsPublicKey,
          candidate,
          existing: { ...candidate, signingRoot: new Uint8Array(32) as Root },
        });
      },
    };
    const { signer, shared } = signerWith(1, { inbox, slashing: refusing });
    const err = await signOnce(signer).catch((e: unknown) => e);
    expect((err as SignerError).type.code).toBe("SLASHING_REFUSED");
    expect(shared).toEqual([]);
  });
});
