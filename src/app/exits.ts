/**
 * Pre-signed voluntary exits (DESIGN.md § Cluster lifecycle, Exits and deposits): each one the
 * cluster signs through this node, once t operators consented, is kept in the data dir as the
 * beacon API's `SignedVoluntaryExit` JSON, exported for pool protocols, and submitted to a beacon
 * node (`POST /eth/v1/beacon/pool/voluntary_exits`, beacon-APIs v2).
 */
import { promises as fsp } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { definitionNetwork } from "../cluster/definition.js";
import type { ClusterLock } from "../cluster/lock.js";
import { verify } from "../crypto/bls.js";
import { parseSignRequest, requestSigningRoot, type SignedVoluntaryExitJson } from "../eth2/requests.js";
import { fromHex, toHex } from "../lib/bytes.js";
import { DATA_DIR_FILES, exitFile } from "../lib/datadir.js";
import { InputError } from "../lib/errors.js";
import { ensureDir, exists, writeFileAtomic } from "../lib/fs.js";

const SIGNED_EXIT = z
  .object({
    message: z
      .object({
        epoch: z.string().regex(/^\d{1,20}$/, "must be a decimal string"),
        validator_index: z.string().regex(/^\d{1,20}$/, "must be a decimal string"),
      })
      .strict(),
    signature: z.string().regex(/^0x[0-9a-fA-F]{192}$/, "must be 0x and 192 hex digits"),
  })
  .strict();

/** How long a beacon node may take to answer a submission, ms. */
export const BROADCAST_TIMEOUT_MS = 30_000;

/** Writes a validator's signed exit to `exits/<pubkey>.json` (0600, atomically), replacing an earlier one. */
export async function storeSignedExit(
  dataDir: string,
  publicKeyHex: string,
  signed: SignedVoluntaryExitJson,
): Promise<string> {
  await ensureDir(path.join(dataDir, DATA_DIR_FILES.exits));
  const file = path.join(dataDir, exitFile(publicKeyHex));
  await writeFileAtomic(file, `${JSON.stringify(signed, null, 2)}\n`);
  return file;
}

/**
 * Reads the signed exit stored for a validator, checking its shape.
 * @throws InputError "--validator" when none is stored; "exits" when the file is malformed
 */
export async function readSignedExit(dataDir: string, publicKeyHex: string): Promise<SignedVoluntaryExitJson> {
  const file = path.join(dataDir, exitFile(publicKeyHex));
  if (!(await exists(file))) {
    throw new InputError(
      "--validator",
      `no signed exit stored for ${publicKeyHex} in ${dataDir}: run cohort exit sign on t operators' nodes first`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(await fsp.readFile(file, "utf8"));
  } catch (err) {
    throw new InputError("exits", `${exitFile(publicKeyHex)} is not JSON`, { cause: err });
  }
  const parsed = SIGNED_EXIT.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError("exits", `${exitFile(publicKeyHex)}: "${issue?.path.join(".")}" ${issue?.message}`);
  }
  return parsed.data;
}

/** The public keys (0x-hex, lowercase) of the validators with a stored exit, in the lock's order. */
export async function storedExits(dataDir: string, lock: ClusterLock): Promise<string[]> {
  const out: string[] = [];
  for (const dv of lock.distributedValidators) {
    const pk = toHex(dv.publicKey);
    if (await exists(path.join(dataDir, exitFile(pk)))) out.push(pk);
  }
  return out;
}

/**
 * Whether `signed` is a valid exit of the lock's validator `publicKeyHex`: its signature verifies
 * under the validator key with the EIP-7044 domain (the network's Capella fork version).
 * @throws InputError "network" when the network's Capella fork version is unknown
 */
export function verifySignedExit(lock: ClusterLock, publicKeyHex: string, signed: SignedVoluntaryExitJson): boolean {
  const net = definitionNetwork(lock.definition);
  if (net.capellaForkVersion === undefined) {
    throw new InputError("network", `network ${net.name} has no known Capella fork version: exits cannot be checked`);
  }
  const gfv = toHex(net.genesisForkVersion);
  const req = parseSignRequest({
    type: "VOLUNTARY_EXIT",
    fork_info: {
      fork: { previous_version: gfv, current_version: gfv, epoch: "0" },
      genesis_validators_root: toHex(net.genesisValidatorsRoot),
    },
    voluntary_exit: signed.message,
  });
  const root = requestSigningRoot(req, net);
  return verify(fromHex(publicKeyHex, "validator", 48), root, fromHex(signed.signature, "signature", 96));
}

/**
 * Submits a signed exit to a beacon node's pool.
 * @param beaconNode base URL (http or https)
 * @throws InputError "--beacon-node" for a URL that is not http(s); Error naming the node and its
 *   answer when it refuses, or when it cannot be reached within {@link BROADCAST_TIMEOUT_MS}
 */
export async function broadcastExit(beaconNode: string, signed: SignedVoluntaryExitJson): Promise<void> {
  let base: URL;
  try {
    base = new URL(beaconNode);
  } catch {
    throw new InputError("--beacon-node", `--beacon-node must be an http(s) URL, got "${beaconNode}"`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new InputError("--beacon-node", `--beacon-node must be an http(s) URL, got "${beaconNode}"`);
  }
  const url = new URL("eth/v1/beacon/pool/voluntary_exits", base.href.endsWith("/") ? base.href : `${base.href}/`);
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(signed),
      signal: AbortSignal.timeout(BROADCAST_TIMEOUT_MS),
    });
  } catch (err) {
    throw new Error(`cannot reach the beacon node at ${base.origin}: ${(err as Error).message}`, { cause: err });
  }
  if (res.ok) return;
  const text = (await res.text()).slice(0, 512);
  let message = text;
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === "string") message = body.message;
  } catch {
    // not JSON: its text, cut short
  }
  throw new Error(
    `the beacon node at ${base.origin} refused the exit (${res.status}): ${message.replace(/\s+/g, " ")}`,
  );
}
