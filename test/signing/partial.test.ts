// PartialSigner: root, slashing check-and-record and share signature, with a real SQLite database.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SecretKey, verify } from "../../src/crypto/bls.js";
import { resolveNetwork } from "../../src/eth2/networks.js";
import { parseSignRequest } from "../../src/eth2/requests.js";
import { toHex } from "../../src/lib/bytes.js";
import { silentLogger } from "../../src/lib/logger.js";
import type { ShareIndex } from "../../src/lib/types.js";
import { PartialSigner } from "../../src/signing/partial.js";
import { SignerError } from "../../src/signing/types.js";
import { type AsyncSlashingProtection, GroupCommit } from "../../src/slashing/groupCommit.js";
import { SlashingProtectionDb } from "../../src/slashing/store.js";
import { attestationRequest, mainnetForkInfo } from "../helpers/signRequests.js";

const mainnet = resolveNetwork("mainnet");
const share = SecretKey.random();
// the validator's group key only names the share here
const groupKey = toHex(SecretKey.random().publicKey());

/** An attestation request with a distinguishing beacon block root byte. */
function attestation(tag: number) {
  const body = structuredClone(attestationRequest(mainnetForkInfo("electra")).body) as unknown as {
    attestation: { beacon_block_root: string };
  };
  body.attestation.beacon_block_root = `0x${tag.toString(16).padStart(2, "0").repeat(32)}`;
  return parseSignRequest(body);
}

let dir: string;
let db: SlashingProtectionDb;
let checks: number;
let signer: PartialSigner;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "cohort-partial-"));
  db = new SlashingProtectionDb({ dataDir: dir, genesisValidatorsRoot: mainnet.genesisValidatorsRoot });
  const inner = new GroupCommit(db);
  checks = 0;
  const counting: AsyncSlashingProtection = {
    checkAndRecordBlock: (req) => {
      checks++;
      return inner.checkAndRecordBlock(req);
    },
    checkAndRecordAttestation: (req) => {
      checks++;
      return inner.checkAndRecordAttestation(req);
    },
  };
  signer = new PartialSigner(
    {
      shareIndex: 1 as ShareIndex,
      shares: new Map([[groupKey, share]]),
      genesisForkVersion: mainnet.genesisForkVersion,
      genesisValidatorsRoot: mainnet.genesisValidatorsRoot,
    },
    { slashing: counting, logger: silentLogger() },
  );
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("PartialSigner", () => {
  it("requests for one message at once cost one slashing check, and all get the same verifying partial", async () => {
    const request = attestation(1);
    const results = await Promise.all([1, 2, 3].map(() => signer.signPartial(groupKey, request)));
    expect(checks).toBe(1);
    for (const r of results) {
      expect(toHex(r.signature)).toBe(toHex(results[0]!.signature));
      expect(verify(share.publicKey(), r.root, r.signature)).toBe(true);
    }
    // a later repeat is answered from the cache too
    await signer.signPartial(groupKey, request);
    expect(checks).toBe(1);
  });

  it("a refusal is not cached: asking again checks again and is refused again", async () => {
    await signer.signPartial(groupKey, attestation(1));
    for (const expectedChecks of [2, 3]) {
      const err = await signer.signPartial(groupKey, attestation(2)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SignerError);
      expect((err as SignerError).type).toEqual({ code: "SLASHING_REFUSED", slashingCode: "DOUBLE_VOTE" });
      expect(checks).toBe(expectedChecks);
    }
  });
});
