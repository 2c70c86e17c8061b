// ThresholdSigner's group signature for an agreed duty (src/signing/threshold.ts): the leader of the
// deciding round combines it once and the others fetch it; a leader that refuses, is silent, or sends a
// signature that does not verify costs a hedge delay and this node's own combination, never a missed duty.
// Real BLS shares (t = 3 of 4), a real PartialSigner and slashing database; peers are in-memory fakes.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DistributedValidator } from "../../src/cluster/lock.js";
import type { AgreementValue, DutyAgreement } from "../../src/consensus/engine.js";
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
import { SignerError } from "../../src/signing/types.js";
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

/** How a fake peer answers a `group` request. */
type GroupBehaviour = "valid" | "invalid" | "refuse" | "silent";

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

/** Node 2's signer, with the duty decided and led by `leader`, whose `group` answers behave as given. */
function signerWith(
  leader: number,
  group: GroupBehaviour,
  opts: { leaderConnected?: boolean; slashing?: AsyncSlashingProtection; refusePartials?: boolean } = {},
) {
  const asked: { peer: number; kind: PeerPartialRequest["kind"] }[] = [];
  const peers: SignerPeer[] = [1, 3, 4].map((index) => ({
    index: index as ShareIndex,
    label: `${index} (peer)`,
    isConnected: () => index !== leader || (opts.leaderConnected ?? true),
    requestPartial: async (req: PeerPartialRequest, signal: AbortSignal): Promise<PeerAnswer> => {
      asked.push({ peer: index, kind: req.kind });
      if (req.kind === "group") {
        if (group === "refuse") return { refusal: { code: "NOT_DECIDED", message: "not decided" } };
        if (group === "silent") {
          return await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
        }
        // "invalid": a well-formed signature by another key
        const key = group === "valid" ? poly.secret() : SecretKey.random();
        return { signature: key.sign(root) };
      }
      if (opts.refusePartials) return { refusal: { code: "NOT_DECIDED", message: "not decided" } };
      return { signature: shares[index - 1]!.sign(root) };
    },
  }));
  const decided: AgreementValue = {
    root: root as Root,
    json: encodeSignRequest(request),
    leader: leader as ShareIndex,
  };
  const agreement = {
    propose: async () => decided,
    progress: () => undefined,
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
    },
  );
  return { signer, asked };
}

const signOnce = (signer: ThresholdSigner) =>
  signer.sign(dv.publicKey, request, { signal: AbortSignal.timeout(5_000) });

describe("threshold signer: one combination per agreed duty", () => {
  it("a node fetches the group signature from the deciding round's leader and combines nothing itself", async () => {
    const { signer, asked } = signerWith(1, "valid");
    const sig = await signOnce(signer);
    expect(verify(dv.publicKey, root, sig)).toBe(true);
    expect(asked).toEqual([{ peer: 1, kind: "group" }]);
  });

  it("the leader combines once for itself and its peers: each peer asked for its partial once", async () => {
    const { signer, asked } = signerWith(SELF, "valid");
    const [a, b] = await Promise.all([
      signOnce(signer),
      signer.serveGroup(pkHex, dutyKey, root as Root, AbortSignal.timeout(5_000)),
    ]);
    expect(verify(dv.publicKey, root, a)).toBe(true);
    expect("signature" in b && verify(dv.publicKey, root, b.signature)).toBe(true);
    expect(asked.every((x) => x.kind === "decided")).toBe(true);
    expect(asked.map((x) => x.peer).sort()).toEqual([1, 3, 4]);
  });

  it.each<GroupBehaviour>(["invalid", "refuse", "silent"])(
    "a leader whose group answer is %s: this node combines t partials itself, and the result verifies",
    async (behaviour) => {
      const { signer, asked } = signerWith(1, behaviour);
      const sig = await signOnce(signer);
      expect(verify(dv.publicKey, root, sig)).toBe(true);
      expect(asked[0]).toEqual({ peer: 1, kind: "group" });
      expect(asked.filter((x) => x.kind === "decided").length).toBeGreaterThanOrEqual(T - 1);
    },
  );

  it("a leader that is not connected: this node combines itself and asks it nothing", async () => {
    const { signer, asked } = signerWith(1, "valid", { leaderConnected: false });
    const sig = await signOnce(signer);
    expect(verify(dv.publicKey, root, sig)).toBe(true);
    expect(asked.every((x) => x.kind === "decided")).toBe(true);
  });

  it("this node's own slashing protection refuses after the decision: the leader's valid signature is not returned", async () => {
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
    const { signer, asked } = signerWith(1, "valid", { slashing: refusing });
    const err = await signOnce(signer).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SignerError);
    expect((err as SignerError).type.code).toBe("SLASHING_REFUSED");
    expect(asked).toEqual([{ peer: 1, kind: "group" }]);
  });

  it("a node that did not lead the deciding round refuses peers' group requests", async () => {
    const { signer, asked } = signerWith(1, "valid");
    await signOnce(signer);
    const before = asked.length;
    const answer = await signer.serveGroup(pkHex, dutyKey, root as Root, AbortSignal.timeout(5_000));
    expect("refusal" in answer && answer.refusal.code).toBe("NOT_LEADER");
    expect(asked).toHaveLength(before);
  });

  it("a failed combination is not started again for peers within the retry interval", async () => {
    const { signer, asked } = signerWith(SELF, "valid", { refusePartials: true });
    const err = await signOnce(signer).catch((e: unknown) => e);
    expect((err as SignerError).type.code).toBe("NOT_ENOUGH_PARTIALS");
    const before = asked.length;
    expect(before).toBe(3);
    const answer = await signer.serveGroup(pkHex, dutyKey, root as Root, AbortSignal.timeout(5_000));
    expect("refusal" in answer && answer.refusal.code).toBe("NOT_ENOUGH_PARTIALS");
    expect(asked).toHaveLength(before);
  });

  it("a client that gives up while the leader is silent: no combination starts here afterwards", async () => {
    const { signer, asked } = signerWith(1, "silent");
    const err = await signer.sign(dv.publicKey, request, { signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
    expect((err as Error).name).toBe("TimeoutError");
    // the leader wait (a quarter of the 2 s deadline) has passed: its timer was cleared with the request
    await new Promise((r) => setTimeout(r, 700));
    expect(asked).toEqual([{ peer: 1, kind: "group" }]);
  });

  it("the leader refuses and t partials cannot be had: the answer names the missing partials", async () => {
    const { signer } = signerWith(1, "refuse", { refusePartials: true });
    const err = await signOnce(signer).catch((e: unknown) => e);
    expect((err as SignerError).type.code).toBe("NOT_ENOUGH_PARTIALS");
  });

  it("a peer's group request for another value than this node decided is refused with the decided root", async () => {
    const { signer } = signerWith(SELF, "valid");
    await signOnce(signer);
    const other = new Uint8Array(32).fill(9) as Root;
    const answer = await signer.serveGroup(pkHex, dutyKey, other, AbortSignal.timeout(5_000));
    expect("refusal" in answer && answer.refusal.code).toBe("DIFFERENT_DECISION");
  });
});
