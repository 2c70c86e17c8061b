/**
 * The local admin endpoint of a running node: a Unix socket in the data directory
 * (`admin.sock`, mode 0600), through which `cohort exit sign` and `cohort deposit sign` give this
 * operator's consent to a message, since the running node holds the data-dir lock and its
 * consent store. DESIGN.md § Signing protocol (consent is persistent). Only processes of the
 * data directory's owner can reach it.
 */
import { chmodSync, promises as fsp } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fastify } from "fastify";
import { z } from "zod";
import type { DistributedValidator } from "../cluster/lock.js";
import { buildDepositDatum, toDepositCliEntry } from "../eth2/deposit.js";
import type { Network } from "../eth2/networks.js";
import { parseSignRequest, type SignedVoluntaryExitJson, type SignRequest } from "../eth2/requests.js";
import { fromHex, toHex } from "../lib/bytes.js";
import { DATA_DIR_FILES } from "../lib/datadir.js";
import { errorMessage, InputError } from "../lib/errors.js";
import type { Logger } from "../lib/logger.js";
import type { BlsPublicKey, BlsSignature } from "../lib/types.js";
import { errorReply } from "./routes.js";

/** File name of the admin socket inside a data directory. */
export const ADMIN_SOCKET_FILE = DATA_DIR_FILES.adminSocket;
/** How long an admin request waits for t operators' partials, ms. */
export const ADMIN_SIGN_TIMEOUT_MS = 10_000;

/** What the admin endpoint needs from the node. */
export interface AdminSigner {
  /** Records this operator's consent to `request` for the validator (persistent). */
  consentTo(publicKey: BlsPublicKey, request: SignRequest): void;
  sign(publicKey: BlsPublicKey, request: SignRequest, opts: { signal: AbortSignal }): Promise<BlsSignature>;
}

const hex = (bytes: number) =>
  z.string().regex(new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`), `must be 0x and ${bytes * 2} hex digits`);
const uint = z.string().regex(/^\d{1,15}$/, "must be a decimal string");
const EXIT = z.object({ public_key: hex(48), validator_index: uint, epoch: uint });
const DEPOSIT = z.object({ public_key: hex(48), withdrawal_credentials: hex(32), amount_gwei: uint });

/**
 * Starts the admin endpoint on `<dataDir>/admin.sock` (a stale socket file is replaced: the
 * caller holds the data-dir lock).
 * @returns a stop function
 * @throws InputError "data-dir" when the socket cannot be listened on
 */
export async function startAdminServer(
  opts: { dataDir: string; network: Network; validators: readonly DistributedValidator[] },
  modules: {
    signer: AdminSigner;
    logger: Logger;
    /** Keeps a voluntary exit the cluster signed (the data dir's `exits/`); a failure fails the request. */
    onExitSigned?: (publicKeyHex: string, signed: SignedVoluntaryExitJson) => Promise<void>;
  },
): Promise<{ socketPath: string; stop: () => Promise<void> }> {
  const socketPath = path.join(opts.dataDir, ADMIN_SOCKET_FILE);
  const byKey = new Map(opts.validators.map((dv) => [toHex(dv.publicKey), dv]));
  const net = opts.network;
  const app = fastify({ logger: false, bodyLimit: 64 * 1024 });
  const run = async (
    body: unknown,
    schema: z.ZodType,
    build: (b: Record<string, string>) => { pk: BlsPublicKey; req: SignRequest },
    done: (sig: BlsSignature, req: SignRequest, publicKeyHex: string) => unknown,
  ) => {
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { status: 400, body: { error: `"${issue?.path.join(".") ?? "body"}" ${issue?.message ?? "is invalid"}` } };
    }
    const b = parsed.data as Record<string, string>;
    if (!byKey.has(b.public_key!.toLowerCase()))
      return { status: 404, body: { error: `validator ${b.public_key} is not in the lock` } };
    let built: { pk: BlsPublicKey; req: SignRequest };
    try {
      built = build(b);
    } catch (err) {
      return { status: 400, body: { error: errorMessage(err) } };
    }
    try {
      modules.signer.consentTo(built.pk, built.req);
      modules.logger.info({ validator: b.public_key!.slice(0, 12), type: built.req.type }, "operator consent recorded");
      const sig = await modules.signer.sign(built.pk, built.req, {
        signal: AbortSignal.timeout(ADMIN_SIGN_TIMEOUT_MS),
      });
      return { status: 200, body: await done(sig, built.req, b.public_key!.toLowerCase()) };
    } catch (err) {
      const out = errorReply(err);
      if (out.status === 500) modules.logger.error({ err: errorMessage(err) }, "admin request failed");
      else modules.logger.info({ status: out.status, err: errorMessage(err) }, "admin request not signed");
      return { status: out.status, body: out.body };
    }
  };
  app.post("/cohort/v1/consent/exit", async (request, reply) => {
    const out = await run(
      request.body,
      EXIT,
      (b) => {
        const gvr = toHex(net.genesisValidatorsRoot);
        const gfv = toHex(net.genesisForkVersion);
        if (net.capellaForkVersion === undefined) {
          throw new InputError(
            "network",
            `network ${net.name} has no known Capella fork version: exits cannot be signed yet`,
          );
        }
        const req = parseSignRequest({
          type: "VOLUNTARY_EXIT",
          fork_info: {
            fork: { previous_version: gfv, current_version: gfv, epoch: "0" },
            genesis_validators_root: gvr,
          },
          voluntary_exit: { epoch: b.epoch, validator_index: b.validator_index },
        });
        return { pk: fromHex(b.public_key!, "public_key", 48) as BlsPublicKey, req };
      },
      async (sig, req, publicKeyHex) => {
        if (req.type !== "VOLUNTARY_EXIT") throw new TypeError(req.type);
        const signed: SignedVoluntaryExitJson = {
          message: {
            epoch: String(req.voluntaryExit.epoch),
            validator_index: String(req.voluntaryExit.validatorIndex),
          },
          signature: toHex(sig),
        };
        await modules.onExitSigned?.(publicKeyHex, signed);
        return signed;
      },
    );
    return reply.code(out.status).send(out.body);
  });
  app.post("/cohort/v1/consent/deposit", async (request, reply) => {
    const out = await run(
      request.body,
      DEPOSIT,
      (b) => {
        // top-ups and partial deposits only: the lock's withdrawal credentials, never others
        const lockWc = toHex(byKey.get(b.public_key!.toLowerCase())!.depositData[0]!.withdrawalCredentials);
        if (b.withdrawal_credentials!.toLowerCase() !== lockWc)
          throw new RangeError(`"withdrawal_credentials" must be the lock's ${lockWc} for this validator`);
        return {
          pk: fromHex(b.public_key!, "public_key", 48) as BlsPublicKey,
          req: parseSignRequest({
            type: "DEPOSIT",
            deposit: {
              pubkey: b.public_key,
              withdrawal_credentials: b.withdrawal_credentials,
              amount: b.amount_gwei,
              genesis_fork_version: toHex(net.genesisForkVersion),
            },
          }),
        };
      },
      (sig, req) => {
        if (req.type !== "DEPOSIT") throw new TypeError(req.type);
        const d = req.deposit;
        const datum = buildDepositDatum(
          {
            pubkey: d.pubkey as BlsPublicKey,
            withdrawalCredentials: d.withdrawalCredentials,
            amountGwei: BigInt(d.amount),
          },
          sig,
        );
        return toDepositCliEntry(datum, net);
      },
    );
    return reply.code(out.status).send(out.body);
  });
  await fsp.rm(socketPath, { force: true });
  try {
    await app.listen({ path: socketPath });
  } catch (err) {
    throw new InputError("data-dir", `cannot listen on ${socketPath}: ${errorMessage(err)}`, { cause: err });
  }
  chmodSync(socketPath, 0o600);
  return {
    socketPath,
    stop: async () => {
      await app.close();
      await fsp.rm(socketPath, { force: true });
    },
  };
}

/** Whether an {@link adminRequest} failure means that no node listens on the data dir's admin socket. */
export function noNodeRunning(err: unknown): boolean {
  const code = ((err as { cause?: NodeJS.ErrnoException } | undefined)?.cause as NodeJS.ErrnoException | undefined)
    ?.code;
  return err instanceof InputError && (code === "ENOENT" || code === "ECONNREFUSED");
}

/**
 * POSTs a JSON body to a running node's admin socket.
 * @throws InputError "data-dir" when no node is running on that data directory
 */
export function adminRequest(
  dataDir: string,
  route: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const socketPath = path.join(dataDir, ADMIN_SOCKET_FILE);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath,
        path: route,
        method: "POST",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          try {
            resolve({
              status: res.statusCode ?? 0,
              json: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>,
            });
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on("error", (err) =>
      reject(
        new InputError("data-dir", `no running "cohort run" on ${dataDir} (${socketPath}: ${errorMessage(err)})`, {
          cause: err,
        }),
      ),
    );
    req.end(payload);
  });
}
