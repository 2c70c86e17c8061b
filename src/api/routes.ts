/**
 * The Web3Signer-compatible eth2 HTTP API as data: method, URL, zod schema and a handler that
 * knows nothing of fastify. Spec: Web3Signer eth2 API (https://consensys.github.io/web3signer/web3signer-eth2.html,
 * openapi-specs/eth2 in github.com/Consensys/web3signer) and ethereum/remote-signing-api.
 *
 * Choices: a signature is JSON when `Accept` names application/json or `*∕*`, bare hex text
 * otherwise, including when there is no `Accept` header (Web3Signer's Eth2SignForIdentifierHandler);
 * every error is JSON `{"error": "<one line>"}`; with a bearer token only `/upcheck` stays open.
 */
import { z } from "zod";
import { isSignRequestType, parseSignRequest, type SignRequest } from "../eth2/requests.js";
import { fromHex, toHex } from "../lib/bytes.js";
import { errorMessage, InputError } from "../lib/errors.js";
import type { Logger } from "../lib/logger.js";
import type { ApiMetrics, SignResult } from "../lib/metrics.js";
import type { BlsPublicKey } from "../lib/types.js";
import { type RemoteSigner, SignerError } from "../signing/types.js";

/** `Content-Type` of JSON responses, as Web3Signer sends it. */
export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";
/** `Content-Type` of text responses, as Web3Signer sends it. */
export const TEXT_CONTENT_TYPE = "text/plain; charset=utf-8";

/** A response produced by a {@link Route} handler; the server writes it as is. */
export interface RouteReply {
  /** HTTP status code. */
  status: number;
  /** `json`: `body` is serialised with JSON.stringify; `text`: `body` is a string sent as text/plain. */
  kind: "json" | "text";
  body: unknown;
}

/** What a handler sees of one request. */
export interface RouteContext<P = unknown> {
  /** Path parameters, already validated and transformed by `schema.params`. */
  params: P;
  /** Parsed JSON body (POST), `undefined` for GET; unknown fields are the handler's to ignore. */
  body: unknown;
  /** The raw `Accept` header, if any. */
  accept: string | undefined;
  /** Fires when the client disconnects or the server's per-request deadline (`signTimeoutMs`) passes. */
  signal: AbortSignal;
}

/**
 * One HTTP route as data. The server validates `schema.params` with zod (a failure is a 400 naming
 * the field) and calls `handler`; a thrown error becomes the reply of {@link errorReply}.
 */
export interface Route<P = unknown> {
  method: "GET" | "POST";
  /** fastify path syntax, e.g. `/api/v1/eth2/sign/:identifier`. */
  url: string;
  schema?: { params?: z.ZodType<P> };
  /** False for routes that stay open when the API has a bearer token (`/upcheck`). */
  auth: boolean;
  handler(ctx: RouteContext<P>): RouteReply | Promise<RouteReply>;
}

/** Erases a route's parameter type so routes of different shapes fit in one list. */
export function defineRoute<P>(route: Route<P>): Route {
  return route as unknown as Route;
}

/** What the routes need: the node's signer, optional metrics, and a logger. */
export interface RouteModules {
  signer: RemoteSigner;
  logger: Logger;
  metrics?: ApiMetrics;
}

/** The sign route's URL; the server counts body-parser failures on it in metrics. */
export const SIGN_URL = "/api/v1/eth2/sign/:identifier";

/** Path parameters of {@link SIGN_URL}: `identifier` is a 0x-hex 48-byte compressed G1 validator public key. */
export const signParamsSchema = z.object({
  identifier: z.string().transform((value, ctx): BlsPublicKey => {
    try {
      return fromHex(value, "identifier", 48) as BlsPublicKey;
    } catch (err) {
      ctx.issues.push({ code: "custom", message: errorMessage(err), input: value });
      return z.NEVER;
    }
  }),
});

/**
 * The API's routes:
 * - `POST /api/v1/eth2/sign/:identifier` → 200 `{"signature":"0x…"}` (JSON) or bare `0x…` (text),
 *   see {@link signatureReply}; 400 malformed identifier or body, 404 unknown key, 412 slashing
 *   protection refused, 503 fewer than t partial signatures (body names the peers) or deadline;
 * - `GET /api/v1/eth2/publicKeys` → 200 JSON array of 0x-hex validator (group) public keys;
 * - `GET /upcheck` → 200 `OK` (text/plain), or `{"status":"OK"}` when `Accept` prefers JSON;
 * - `GET /healthcheck` → 200 when this node and its connected peers reach the threshold t, else
 *   503; body shaped like Web3Signer's (vert.x health checks): `{status, checks[], outcome}`.
 */
export function createRoutes(modules: RouteModules): Route[] {
  const { signer, metrics } = modules;
  const log = modules.logger.child({ module: "api" });

  const sign = defineRoute({
    method: "POST",
    url: SIGN_URL,
    schema: { params: signParamsSchema },
    auth: true,
    async handler({ params, body, accept, signal }) {
      const started = performance.now();
      const type = requestTypeLabel(body);
      const pubkey = toHex(params.identifier).slice(0, 12);
      const { reply, result } = await signOnce(params.identifier, body, accept, signal);
      const latencyMs = performance.now() - started;
      metrics?.signRequest(type, result, result === "ok" ? latencyMs / 1000 : undefined);
      const fields = { type, pubkey, status: reply.status, latency_ms: Math.round(latencyMs) };
      if (result === "ok") log.debug(fields, "signed");
      else if (reply.status >= 500 || reply.status === 412)
        log.warn({ ...fields, error: errorText(reply) }, "sign refused");
      else log.info({ ...fields, error: errorText(reply) }, "sign rejected");
      return reply;
    },
  });

  async function signOnce(
    publicKey: BlsPublicKey,
    body: unknown,
    accept: string | undefined,
    signal: AbortSignal,
  ): Promise<{ reply: RouteReply; result: SignResult }> {
    let request: SignRequest;
    try {
      request = parseSignRequest(body);
    } catch (err) {
      return { reply: errorReply(asInputError(err)), result: "bad_request" };
    }
    try {
      const signature = await signer.sign(publicKey, request, { signal });
      return { reply: signatureReply(toHex(signature), accept), result: "ok" };
    } catch (err) {
      // The node may let the parser's InputError through (signingRoot, genesis validators root).
      if (err instanceof SignerError || err instanceof InputError) {
        const reply = errorReply(err);
        return { reply, result: resultOf(reply.status) };
      }
      if (signal.aborted) return { reply: abortedReply(signal), result: "unavailable" };
      log.error({ pubkey: toHex(publicKey).slice(0, 12), err }, "sign request failed");
      return { reply: jsonError(500, "internal error"), result: "error" };
    }
  }

  const publicKeys = defineRoute({
    method: "GET",
    url: "/api/v1/eth2/publicKeys",
    auth: true,
    handler: () => ({ status: 200, kind: "json", body: signer.publicKeys().map((pk) => toHex(pk)) }),
  });

  const upcheck = defineRoute({
    method: "GET",
    url: "/upcheck",
    auth: false,
    handler: ({ accept }) =>
      negotiate(accept, ["text", "json"]) === "json"
        ? { status: 200, kind: "json", body: { status: "OK" } }
        : { status: 200, kind: "text", body: "OK" },
  });

  const healthcheck = defineRoute({
    method: "GET",
    url: "/healthcheck",
    auth: true,
    handler: () => healthReply(signer, log),
  });

  return [sign, publicKeys, upcheck, healthcheck];
}

/**
 * The 200 reply to a sign request: `{"signature":"0x…"}` as JSON when `Accept` prefers JSON or
 * accepts anything (`*∕*`), bare `0x…` as text/plain otherwise, and also when there is no `Accept`
 * header, as Web3Signer's Eth2SignForIdentifierHandler does. Lodestar and Lighthouse send
 * `Accept: application/json`; Teku, Prysm and Nimbus read either type from `Content-Type`.
 */
export function signatureReply(signatureHex: string, accept: string | undefined): RouteReply {
  return negotiate(accept, ["json", "text"]) === "json"
    ? { status: 200, kind: "json", body: { signature: signatureHex } }
    : { status: 200, kind: "text", body: signatureHex };
}

/**
 * Picks `json` or `text` for an `Accept` header (RFC 9110 § 12.5.1): each offer takes the q of the
 * most specific media range matching it; the higher q wins; a tie goes to the first of `offers`.
 * A missing or empty header, or one that accepts neither, gives `text` (Web3Signer's default);
 * the API never answers 406.
 */
export function negotiate(
  accept: string | undefined,
  offers: readonly ["json" | "text", "json" | "text"],
): "json" | "text" {
  if (accept === undefined || accept.trim() === "") return "text";
  const q = { json: qualityOf(accept, "application", "json"), text: qualityOf(accept, "text", "plain") };
  const [first, second] = offers;
  if (q[first] === 0 && q[second] === 0) return "text";
  return q[second] > q[first] ? second : first;
}

function qualityOf(accept: string, type: string, subtype: string): number {
  let best = -1;
  let q = 0;
  for (const range of accept.split(",")) {
    const [mediaRange = "", ...params] = range.split(";");
    const [t = "", s = ""] = mediaRange.trim().toLowerCase().split("/");
    const specificity = t === type && s === subtype ? 3 : t === type && s === "*" ? 2 : t === "*" && s === "*" ? 1 : 0;
    if (specificity === 0 || specificity <= best) continue;
    best = specificity;
    q = 1;
    for (const p of params) {
      const [k = "", v = ""] = p.split("=");
      if (k.trim().toLowerCase() === "q") {
        const n = Number(v.trim());
        q = Number.isFinite(n) && n >= 0 && n <= 1 ? n : 0;
      }
    }
  }
  return q;
}

function healthReply(signer: RemoteSigner, log: Logger): RouteReply {
  let data: Record<string, number>;
  let up: boolean;
  try {
    const h = signer.health();
    up = h.canSign;
    data = { peers_connected: h.peersConnected, peers_total: h.peersTotal, threshold: h.threshold };
  } catch (err) {
    log.warn({ err: errorMessage(err) }, "health check failed");
    up = false;
    data = {};
  }
  const status = up ? "UP" : "DOWN";
  return {
    status: up ? 200 : 503,
    kind: "json",
    body: {
      status,
      checks: [
        { id: "default-check", status: "UP" },
        { id: "peers-check", status, data },
      ],
      outcome: status,
    },
  };
}

/**
 * `type` of a raw sign request body if it is one of the 13 Web3Signer types (SIGN_REQUEST_TYPES of
 * src/eth2/requests.ts), else `unknown`: metric labels stay bounded whatever clients send.
 */
export function requestTypeLabel(body: unknown): string {
  const type = typeof body === "object" && body !== null ? (body as { type?: unknown }).type : undefined;
  return isSignRequestType(type) ? type : "unknown";
}

/** A one-line JSON error reply: `{"error": "..."}` plus optional structured fields. */
export function jsonError(status: number, message: string, extra: Record<string, unknown> = {}): RouteReply {
  return { status, kind: "json", body: { error: oneLine(message), ...extra } };
}

/**
 * Maps an error to its reply. InputError → 400 naming the field; SignerError codes:
 * INVALID_REQUEST → 400, NO_CONSENT → 403, UNKNOWN_KEY → 404, DECIDED_OTHER → 409 or 412 with
 * `decided_signing_root`, SLASHING_REFUSED → 412 (with `refused` when peers refused),
 * NOT_ENOUGH_PARTIALS → 503 with `missing`, `refused` and `invalid` peer lists (and
 * `consent_needed`), NO_AGREEMENT → 503 with `round` and `silent`; anything else → 500 without detail. Never a stack.
 */
export function errorReply(err: unknown): RouteReply {
  if (err instanceof SignerError) {
    const t = err.type;
    switch (t.code) {
      case "INVALID_REQUEST":
        return jsonError(400, withField(t.field, err.message));
      case "UNKNOWN_KEY":
        return jsonError(404, `unknown validator public key ${t.publicKey}`);
      case "SLASHING_REFUSED":
        return jsonError(
          412,
          `slashing protection refused to sign: ${t.slashingCode}` +
            (t.refusedBy ? ` (refused by ${t.refusedBy.join(", ")})` : ""),
          { slashing_code: t.slashingCode, ...(t.refusedBy ? { refused: t.refusedBy } : {}) },
        );
      case "NOT_ENOUGH_PARTIALS": {
        const parts = [
          t.missing.length > 0 ? `no answer from ${t.missing.join(", ")}` : "",
          t.refused.length > 0 ? `refused by ${t.refused.join(", ")}` : "",
          t.invalid.length > 0 ? `invalid partial from ${t.invalid.join(", ")}` : "",
        ].filter((p) => p !== "");
        const consent =
          t.consentNeeded !== undefined ? `at least ${t.consentNeeded} more operator(s) must consent; ` : "";
        return jsonError(
          503,
          `${consent}not enough partial signatures${parts.length > 0 ? `: ${parts.join("; ")}` : ""}`,
          {
            missing: t.missing,
            refused: t.refused,
            invalid: t.invalid,
            ...(t.consentNeeded !== undefined ? { consent_needed: t.consentNeeded } : {}),
          },
        );
      }
      case "NO_AGREEMENT":
        return jsonError(
          503,
          `no agreement on duty ${t.duty} before the deadline (round ${t.round})` +
            (t.silent.length > 0 ? `; nothing from ${t.silent.join(", ")}` : ""),
          { duty: t.duty, round: t.round, silent: t.silent },
        );
      case "DECIDED_OTHER":
        return jsonError(
          t.slashable ? 412 : 409,
          `the cluster agreed on another value for duty ${t.duty} (signing root ${t.decidedSigningRoot}); this node signs only that one`,
          { decided_signing_root: t.decidedSigningRoot, duty: t.duty },
        );
      case "NO_CONSENT":
        return jsonError(403, `this operator does not consent: ${t.reason}`);
    }
  }
  if (err instanceof InputError) return jsonError(400, withField(err.type.field, err.message));
  return jsonError(500, "internal error");
}

/** Anything the request parser throws is about the input: keep InputError, wrap the rest. */
function asInputError(err: unknown): InputError {
  if (err instanceof InputError) return err;
  return new InputError("body", errorMessage(err), { cause: err });
}

function abortedReply(signal: AbortSignal): RouteReply {
  const reason: unknown = signal.reason;
  const timedOut = reason instanceof Error && reason.name === "TimeoutError";
  return jsonError(503, timedOut ? "no signature before the signing deadline" : "request aborted");
}

function resultOf(status: number): SignResult {
  switch (status) {
    case 200:
      return "ok";
    case 404:
      return "unknown_key";
    case 412:
      return "slashing_refused";
    case 409:
      return "decided_other";
    case 403:
      return "no_consent";
    case 503:
      return "unavailable";
    default:
      return status >= 400 && status < 500 ? "bad_request" : "error";
  }
}

function errorText(reply: RouteReply): string | undefined {
  const body = reply.body as { error?: unknown } | undefined;
  return typeof body?.error === "string" ? body.error : undefined;
}

function withField(field: string, message: string): string {
  return message.includes(field) || message.startsWith('"') ? message : `"${field}": ${message}`;
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, " ").slice(0, 1000);
}
