/**
 * The Web3Signer-compatible HTTP server (fastify 5) that validator clients use as their remote
 * signer: serves the routes of ./routes.ts with bearer-token auth, a body-size cap, one-line JSON
 * errors and a per-request AbortSignal. DESIGN.md § Signing protocol; Web3Signer eth2 API.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, fastify } from "fastify";
import type { z } from "zod";
import { errorMessage, InputError } from "../lib/errors.js";
import type { Logger } from "../lib/logger.js";
import type { ApiMetrics, HttpService } from "../lib/metrics.js";
import type { RemoteSigner } from "../signing/types.js";
import {
  createRoutes,
  errorReply,
  JSON_CONTENT_TYPE,
  jsonError,
  type Route,
  type RouteReply,
  requestTypeLabel,
  SIGN_URL,
  TEXT_CONTENT_TYPE,
} from "./routes.js";

/** Default listen address: loopback only (DESIGN.md § Signing protocol). */
export const DEFAULT_API_HOST = "127.0.0.1";
/** Default listen port, as Web3Signer's. */
export const DEFAULT_API_PORT = 9000;
/**
 * Default request body cap, bytes (larger → 413). The largest real body is a pre-Bellatrix
 * BLOCK_V2 carrying a whole block: 128 attestations and full slashings stay well under 1 MiB.
 */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
/** Time a client has to send one whole request (headers and body), ms; guards against slow senders. */
export const API_REQUEST_TIMEOUT_MS = 30_000;

/** Options for {@link createApiServer}. */
export interface ApiServerOpts {
  /** Listen address; default {@link DEFAULT_API_HOST}. */
  host?: string;
  /** Listen port; 0 picks a free one (tests). cohort's default is {@link DEFAULT_API_PORT}. */
  port: number;
  /**
   * When set, every route but `/upcheck` needs `Authorization: Bearer <token>` (compared in
   * constant time); a missing or wrong token gets 401.
   */
  bearerToken?: string;
  /** Request body cap, bytes; default {@link DEFAULT_BODY_LIMIT_BYTES}; larger bodies get 413. */
  bodyLimitBytes?: number;
  /** Deadline of one request, ms: its AbortSignal fires then (or when the client disconnects). */
  signTimeoutMs: number;
}

/** What the API server needs: the node's signer, a logger and optional metrics. */
export interface ApiServerModules {
  signer: RemoteSigner;
  logger: Logger;
  metrics?: ApiMetrics;
}

/**
 * Creates the API server; nothing listens before `start()`. `stop()` stops accepting connections
 * (new requests on open connections get 503), lets in-flight requests finish, then resolves.
 *
 * Status codes: 200; 400 malformed JSON, wrong types, bad identifier or mismatched `signingRoot`;
 * 401 bearer token missing or wrong; 404 unknown key or route; 412 slashing protection refused;
 * 413 body over `bodyLimitBytes`; 415 a `Content-Type` other than application/json (a missing one
 * is read as JSON); 500 internal error; 503 not enough partial signatures (body names the peers),
 * deadline passed, or server closing. Every error body is `{"error": "<one line>"}`.
 * `start()` throws InputError "--api-address" when the address cannot be listened on.
 */
export function createApiServer(opts: ApiServerOpts, modules: ApiServerModules): HttpService {
  const app = buildApiApp(opts, modules);
  const log = modules.logger.child({ module: "api" });
  let started = false;
  let stopped = false;
  return {
    async start() {
      if (started) throw new Error("API server already started");
      started = true;
      const host = opts.host ?? DEFAULT_API_HOST;
      let url: string;
      try {
        url = await app.listen({ host, port: opts.port });
      } catch (err) {
        throw new InputError(
          "--api-address",
          `cannot listen for the signing API on ${host}:${opts.port}: ${errorMessage(err)}`,
          {
            cause: err,
          },
        );
      }
      log.info({ url, auth: opts.bearerToken !== undefined }, "signing API listening");
      return { url };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await app.close();
    },
  };
}

/**
 * The fastify instance behind {@link createApiServer}, not listening; tests drive it with
 * `app.inject()`. Same options and behaviour.
 */
export function buildApiApp(opts: ApiServerOpts, modules: ApiServerModules): FastifyInstance {
  const log = modules.logger.child({ module: "api" });
  const bodyLimit = opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const tokenDigest = opts.bearerToken === undefined ? undefined : sha256(opts.bearerToken);
  const app = fastify({
    logger: false,
    bodyLimit,
    requestTimeout: API_REQUEST_TIMEOUT_MS,
    return503OnClosing: true,
    forceCloseConnections: "idle",
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
  });

  // fastify closes idle keep-alive connections when it starts closing; a connection busy with an
  // in-flight request would then idle until its keep-alive timeout, so close it after the reply.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", async (_request, reply, payload) => {
    if (closing) reply.header("connection", "close");
    return payload;
  });

  // Only JSON bodies: text/plain (fastify's other default) gets 415 like any other type.
  app.removeContentTypeParser("text/plain");

  app.addHook("onRequest", async (request, reply) => {
    if (tokenDigest !== undefined && routeAuth(request) && !tokenMatches(request.headers.authorization, tokenDigest)) {
      log.info({ method: request.method, url: request.url.split("?", 1)[0] }, "unauthorized request");
      reply.header("www-authenticate", 'Bearer realm="cohort"');
      return sendReply(reply, jsonError(401, "missing or wrong bearer token"));
    }
    // Be lenient with clients that omit Content-Type: read the body as JSON.
    if (request.raw.headers["content-type"] === undefined) request.raw.headers["content-type"] = "application/json";
    return undefined;
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const out = frameworkErrorReply(err, bodyLimit);
    if (out.status >= 500) log.error({ err, url: request.url.split("?", 1)[0] }, "API request failed");
    countRejected(request, out, modules.metrics);
    if (out.status === 413 || out.status === 415) reply.header("connection", "close");
    return sendReply(reply, out);
  });

  app.setNotFoundHandler((request, reply) =>
    sendReply(reply, jsonError(404, `no route ${request.method} ${request.url.split("?", 1)[0]}`)),
  );

  for (const route of createRoutes(modules)) registerRoute(app, route, opts, modules.metrics);
  return app;
}

function registerRoute(app: FastifyInstance, route: Route, opts: ApiServerOpts, metrics: ApiMetrics | undefined): void {
  app.route({
    method: route.method,
    url: route.url,
    config: { auth: route.auth },
    handler: async (request, reply) => {
      let params: unknown = request.params;
      const paramsSchema = route.schema?.params;
      if (paramsSchema !== undefined) {
        const parsed = paramsSchema.safeParse(request.params);
        if (!parsed.success) {
          const out = jsonError(400, zodMessage(parsed.error));
          countRejected(request, out, metrics);
          return sendReply(reply, out);
        }
        params = parsed.data;
      }
      const { signal, done } = requestSignal(reply, opts.signTimeoutMs);
      let out: RouteReply;
      try {
        out = await route.handler({ params, body: request.body, accept: request.headers.accept, signal });
      } catch (err) {
        out = errorReply(err);
        if (out.status >= 500) throw err;
      } finally {
        done();
      }
      return sendReply(reply, out);
    },
  });
}

/** An AbortSignal that fires after `timeoutMs` or when the client goes away before the reply. */
function requestSignal(reply: FastifyReply, timeoutMs: number): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException(`no reply within ${timeoutMs} ms`, "TimeoutError")),
    timeoutMs,
  );
  const onClose = () => {
    if (!reply.raw.writableFinished) controller.abort(new DOMException("client disconnected", "AbortError"));
  };
  reply.raw.once("close", onClose);
  return {
    signal: controller.signal,
    done: () => {
      clearTimeout(timer);
      reply.raw.off("close", onClose);
    },
  };
}

function sendReply(reply: FastifyReply, out: RouteReply): FastifyReply {
  reply.code(out.status);
  if (out.kind === "json") return reply.type(JSON_CONTENT_TYPE).send(JSON.stringify(out.body));
  return reply.type(TEXT_CONTENT_TYPE).send(String(out.body));
}

/** Errors fastify raises before a handler runs: body parsing, size, content type, timeouts. */
function frameworkErrorReply(err: FastifyError, bodyLimit: number): RouteReply {
  switch (err.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return jsonError(400, "body is not valid JSON");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return jsonError(400, "body is empty; expected a JSON sign request");
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return jsonError(413, `body is larger than ${bodyLimit} bytes`);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return jsonError(415, "unsupported Content-Type; send application/json");
  }
  const status = err.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    // e.g. proto-poisoned JSON, Content-Length mismatch, bad URL encoding
    return jsonError(status, errorMessage(err));
  }
  return errorReply(err);
}

function countRejected(request: FastifyRequest, out: RouteReply, metrics: ApiMetrics | undefined): void {
  if (metrics === undefined || request.routeOptions.url !== SIGN_URL || out.status === 401) return;
  metrics.signRequest(requestTypeLabel(request.body), out.status >= 500 ? "error" : "bad_request");
}

function routeAuth(request: FastifyRequest): boolean {
  const config = request.routeOptions.config as { auth?: boolean } | undefined;
  return config?.auth !== false;
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/** Constant-time comparison of `Authorization: Bearer <token>` against the configured token (both hashed to 32 bytes). */
function tokenMatches(header: string | undefined, expectedDigest: Buffer): boolean {
  const m = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  const given = m?.[1];
  if (given === undefined) return false;
  return timingSafeEqual(sha256(given), expectedDigest);
}

function zodMessage(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return "invalid request";
  const field = issue.path.join(".");
  return issue.message.startsWith('"') || field === "" ? issue.message : `"${field}": ${issue.message}`;
}
