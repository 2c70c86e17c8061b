/** Runs n ceremonies concurrently over a MemHub with real secp256k1 identities and real BLS. */
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { sha256 } from "@noble/hashes/sha2.js";
import { type ArtifactBuilder, type CeremonyOutcome, runCeremony } from "../../src/dkg/ceremony.js";
import type { DkgError } from "../../src/dkg/errors.js";
import type { CeremonyParams } from "../../src/dkg/rounds.js";
import type { CeremonyTransport, IdentitySigner, IdentityVerifier } from "../../src/dkg/transport.js";
import { concatBytes, u32be } from "../../src/lib/bytes.js";
import { silentLogger } from "../../src/lib/logger.js";
import type { Root, ShareIndex } from "../../src/lib/types.js";
import { verifyIdentitySignature } from "../../src/p2p/identity.js";
import { MemHub, type Tamper } from "./memTransport.js";

export interface TestIdentity {
  key: PrivateKey;
  peerId: string;
  signer: IdentitySigner;
}

const keyCache: TestIdentity[] = [];

/** n secp256k1 identities (cached across tests: key generation is not under test). */
export async function identities(n: number): Promise<TestIdentity[]> {
  while (keyCache.length < n) {
    const key = await generateKeyPair("secp256k1");
    keyCache.push({ key, peerId: peerIdFromPrivateKey(key).toString(), signer: { sign: async (m) => key.sign(m) } });
  }
  return keyCache.slice(0, n);
}

export function verifierFor(ids: TestIdentity[]): IdentityVerifier {
  return {
    verify: async (sender: ShareIndex, msg, sig) => {
      const id = ids[sender - 1];
      if (!id) throw new RangeError(`unknown operator ${sender}`);
      return verifyIdentitySignature(id.peerId, msg, sig);
    },
  };
}

/** Deposit roots and lock hash as hashes of the ceremony output (the cluster layer is tested elsewhere). */
export function testArtifacts(amounts: number): ArtifactBuilder {
  return {
    depositSigningRoots: (v, pk) =>
      Array.from({ length: amounts }, (_, a) => sha256(concatBytes(pk, u32be(v), u32be(a))) as Root),
    lockHash: (validators) =>
      sha256(
        concatBytes(...validators.flatMap((v) => [v.publicKey, ...v.publicShares, ...v.depositSignatures])),
      ) as Root,
  };
}

export interface NodeRun {
  index: number;
  outcome?: CeremonyOutcome;
  error?: DkgError;
  persisted: boolean;
}

/**
 * Runs the ceremony on nodes 1..n except `absent`, concurrently.
 * @param timeoutMs ceremony deadline (only reached in silent-peer tests)
 */
export async function runAll(opts: {
  n: number;
  t: number;
  numValidators: number;
  amounts?: number;
  tamper?: Tamper;
  absent?: number[];
  timeoutMs?: number;
  /** The definition hash (random unless given). */
  session?: Uint8Array;
  /** The attempt's hello nonces (fresh unless given). */
  nonces?: Uint8Array[];
  /** Called with the hub before any node starts (tests read its attempt session). */
  onHub?: (hub: MemHub) => void;
  /** Wraps a node's transport (a Byzantine node, see byzantine.ts). */
  wrap?: (index: number, transport: CeremonyTransport) => CeremonyTransport;
  /** Extra parameters of a node's ceremony (a reshare's roles and old shares, carried validators). */
  params?: (index: number) => Partial<CeremonyParams>;
}): Promise<NodeRun[]> {
  const ids = await identities(opts.n);
  const session = opts.session ?? sha256(new TextEncoder().encode(`session-${Math.random()}`));
  const hub = new MemHub(opts.n, session, opts.tamper, opts.nonces);
  opts.onHub?.(hub);
  const verifier = verifierFor(ids);
  const runs: NodeRun[] = [];
  await Promise.all(
    ids.map(async (id, i) => {
      const index = i + 1;
      if (opts.absent?.includes(index)) return;
      const run: NodeRun = { index, persisted: false };
      runs.push(run);
      const endpoint = hub.endpoint(index);
      const transport = opts.wrap ? opts.wrap(index, endpoint) : endpoint;
      try {
        run.outcome = await runCeremony({
          params: {
            session,
            n: opts.n,
            t: opts.t,
            numValidators: opts.numValidators,
            self: index as ShareIndex,
            ...opts.params?.(index),
          },
          transport,
          signer: id.signer,
          verifier,
          artifacts: testArtifacts(opts.amounts ?? 1),
          logger: silentLogger(),
          signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000),
          persist: async () => {
            run.persisted = true;
          },
        });
      } catch (err) {
        run.error = err as DkgError;
      } finally {
        await transport.close();
      }
    }),
  );
  return runs.sort((a, b) => a.index - b.index);
}
