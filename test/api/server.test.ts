/**
 * The Web3Signer-compatible API through fastify's inject: status codes, Accept handling, auth,
 * health endpoints and metrics, with real BLS signatures (TestSigner) and the request builders of
 * test/helpers/signRequests.ts.
 */
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { errorReply } from "../../src/api/routes.js";
import { buildApiApp, DEFAULT_BODY_LIMIT_BYTES } from "../../src/api/server.js";
import { verify } from "../../src/crypto/bls.js";
import { parseSignRequest, requestSigningRoot } from "../../src/eth2/requests.js";
import { fromHex, toHex } from "../../src/lib/bytes.js";
import { silentLogger } from "../../src/lib/logger.js";
import { createApiMetrics, createMetricsRegistry } from "../../src/lib/metrics.js";
import { SignerError } from "../../src/signing/types.js";
import {
  allSignRequests,
  attestationRequest,
  blockV2Request,
  mainnetForkInfo,
  testRoot,
  withSigningRoot,
} from "../helpers/signRequests.js";
import { MISSING_PEERS, REFUSED_PEERS, SIGNING_ROOT_OPTS, TestSigner } from "./testSigner.js";

const TOKEN = "s3cret-api-token-for-tests";
const SIGN = "/api/v1/eth2/sign/";

interface Harness {
  app: FastifyInstance;
  signer: TestSigner;
  registry: Registry;
  /** Public keys by behaviour. */
  pk: { sign: string; slashing: string; partials: string; hang: string; crash: string };
}

function harness(opts: { bearerToken?: string; bodyLimitBytes?: number } = {}): Harness {
  const signer = new TestSigner(["sign", "slashing", "partials", "hang", "crash"]);
  const registry = createMetricsRegistry({ collectDefault: false });
  const app = buildApiApp(
    { port: 0, signTimeoutMs: 100, ...opts },
    { signer, logger: silentLogger(), metrics: createApiMetrics(registry) },
  );
  const [sign, slashing, partials, hang, crash] = signer.publicKeys().map((k) => toHex(k)) as [
    string,
    string,
    string,
    string,
    string,
  ];
  return { app, signer, registry, pk: { sign, slashing, partials, hang, crash } };
}

function post(app: FastifyInstance, pubkey: string, body: unknown, headers: Record<string, string> = {}) {
  return app.inject({
    method: "POST",
    url: `${SIGN}${pubkey}`,
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    payload: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The root a correct signer signs for `body`, computed independently of the API. */
function rootOf(body: unknown): Uint8Array {
  return requestSigningRoot(parseSignRequest(body), SIGNING_ROOT_OPTS);
}

/** Every error body is one JSON object with a one-line `error`, and never a stack trace. */
function expectErrorBody(
  res: { headers: Record<string, unknown>; body: string },
  pattern: RegExp,
): Record<string, unknown> {
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(typeof body.error).toBe("string");
  const error = body.error as string;
  expect(error).not.toMatch(/\n|\bat .*\(|\.ts:\d+/);
  expect(error).toMatch(pattern);
  return body;
}

const forkInfo = mainnetForkInfo("electra");
const attestation = attestationRequest(forkInfo).body;

describe("POST /api/v1/eth2/sign/:identifier", () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });
  afterEach(async () => {
    await h.app.close();
  });

  it.each(allSignRequests().map((f) => [f.type, f.body] as const))(
    "signs %s with a signature that verifies under the validator key",
    async (_type, body) => {
      const res = await post(h.app, h.pk.sign, body);
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
      const { signature } = res.json() as { signature: string };
      expect(signature).toMatch(/^0x[0-9a-f]{192}$/);
      expect(verify(fromHex(h.pk.sign), rootOf(body), fromHex(signature))).toBe(true);
      // wrong message: the same signature must not verify over another root
      expect(verify(fromHex(h.pk.sign), testRoot("other"), fromHex(signature))).toBe(false);
    },
  );

  it("answers Lodestar (Accept: application/json, camelCase signingRoot) with JSON", async () => {
    const body = withSigningRoot(attestationRequest(forkInfo), rootOf(attestation)).body;
    const res = await post(h.app, h.pk.sign, body, { accept: "application/json" });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json())).toEqual(["signature"]);
  });

  it("accepts snake_case signing_root too", async () => {
    const body = withSigningRoot(attestationRequest(forkInfo), rootOf(attestation), "signing_root").body;
    expect((await post(h.app, h.pk.sign, body)).statusCode).toBe(200);
  });

  it("answers bare hex as text/plain to Accept: text/plain and to a request without Accept", async () => {
    const text = await post(h.app, h.pk.sign, attestation, { accept: "text/plain" });
    expect(text.statusCode).toBe(200);
    expect(text.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(text.body).toMatch(/^0x[0-9a-f]{192}$/);
    expect(verify(fromHex(h.pk.sign), rootOf(attestation), fromHex(text.body))).toBe(true);

    const none = await h.app.inject({
      method: "POST",
      url: `${SIGN}${h.pk.sign}`,
      headers: { "content-type": "application/json" },
      payload: JSON.stringify(attestation),
    });
    expect(none.statusCode).toBe(200);
    expect(none.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(none.body).toBe(text.body);
  });

  it("answers JSON to Accept: */* (Lighthouse before it sent application/json)", async () => {
    const res = await post(h.app, h.pk.sign, attestation, { accept: "*/*" });
    expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(res.json()).toHaveProperty("signature");
  });

  it("ignores unknown fields such as Nimbus's proofs", async () => {
    const body = {
      ...blockV2Request(forkInfo, "electra").body,
      proofs: [{ index: "12", proof: [toHex(testRoot("p1")), toHex(testRoot("p2"))] }],
      something_new: { nested: true },
    };
    const res = await post(h.app, h.pk.sign, body);
    expect(res.statusCode).toBe(200);
    const { signature } = res.json() as { signature: string };
    expect(verify(fromHex(h.pk.sign), rootOf(body), fromHex(signature))).toBe(true);
  });

  it("reads a body without Content-Type as JSON", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: `${SIGN}${h.pk.sign}`,
      headers: { accept: "application/json" },
      payload: Buffer.from(JSON.stringify(attestation)),
    });
    expect(res.statusCode).toBe(200);
  });

  it("accepts an upper-case hex identifier", async () => {
    const res = await post(h.app, `0x${h.pk.sign.slice(2).toUpperCase()}`, attestation);
    expect(res.statusCode).toBe(200);
  });

  describe("400", () => {
    it("malformed JSON", async () => {
      const res = await post(h.app, h.pk.sign, '{"type":"ATTESTATION",');
      expect(res.statusCode).toBe(400);
      expectErrorBody(res, /not valid JSON/);
    });

    it("an empty body", async () => {
      const res = await post(h.app, h.pk.sign, "");
      expect(res.statusCode).toBe(400);
      expectErrorBody(res, /empty/);
    });

    it("a body that is not an object", async () => {
      for (const body of ["null", "[]", '"ATTESTATION"', "42"]) {
        const res = await post(h.app, h.pk.sign, body);
        expect(res.statusCode).toBe(400);
        expectErrorBody(res, /body/);
      }
    });

    it("a missing or unknown type, naming the field", async () => {
      const { type: _t, ...untyped } = attestation;
      expectErrorBody(await post(h.app, h.pk.sign, untyped), /"type"/);
      const res = await post(h.app, h.pk.sign, { ...attestation, type: "ATTESTATION_V9" });
      expect(res.statusCode).toBe(400);
      expectErrorBody(res, /"type"/);
    });

    it("a field of the wrong type, naming it", async () => {
      const data = attestation.attestation as Record<string, unknown>;
      const body = { ...attestation, attestation: { ...data, slot: 5 } };
      const res = await post(h.app, h.pk.sign, body);
      expect(res.statusCode).toBe(400);
      expectErrorBody(res, /attestation\.slot/);

      const noFork = { ...attestation, fork_info: "mainnet" };
      const res2 = await post(h.app, h.pk.sign, noFork);
      expect(res2.statusCode).toBe(400);
      expectErrorBody(res2, /fork_info/);
    });

    it("a truncated, overlong or non-hex identifier, naming it", async () => {
      for (const id of [h.pk.sign.slice(0, -2), `${h.pk.sign}00`, h.pk.sign.slice(2), `0x${"zz".repeat(48)}`, "0x"]) {
        const res = await post(h.app, id, attestation);
        expect(res.statusCode).toBe(400);
        expectErrorBody(res, /identifier/);
      }
      expect(h.signer.calls).toHaveLength(0);
    });

    it("a signingRoot that does not match the message", async () => {
      const body = withSigningRoot(attestationRequest(forkInfo), testRoot("not the root")).body;
      const res = await post(h.app, h.pk.sign, body);
      expect(res.statusCode).toBe(400);
      expectErrorBody(res, /signingRoot/);
    });

    it("a prototype-poisoning body", async () => {
      const res = await post(h.app, h.pk.sign, '{"type":"ATTESTATION","__proto__":{"polluted":1}}');
      expect(res.statusCode).toBe(400);
      expectErrorBody(res, /./);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  it("404 for a well-formed key the cluster does not hold", async () => {
    const unknown = toHex(new Uint8Array(48).fill(0xa1));
    const res = await post(h.app, unknown, attestation);
    expect(res.statusCode).toBe(404);
    expectErrorBody(res, new RegExp(unknown));
  });

  it("412 when slashing protection refuses", async () => {
    const res = await post(h.app, h.pk.slashing, attestation);
    expect(res.statusCode).toBe(412);
    const body = expectErrorBody(res, /slashing protection/);
    expect(body.slashing_code).toBe("DOUBLE_VOTE");
  });

  it("503 naming the peers when partial signatures are missing", async () => {
    const res = await post(h.app, h.pk.partials, attestation);
    expect(res.statusCode).toBe(503);
    const body = expectErrorBody(res, /not enough partial signatures/);
    for (const peer of [...MISSING_PEERS, ...REFUSED_PEERS]) expect(body.error).toContain(peer);
    expect(body.missing).toEqual(MISSING_PEERS);
    expect(body.refused).toEqual(REFUSED_PEERS);
    expect(body.invalid).toEqual([]);
  });

  it("503 when the signer does not answer before the deadline, which aborts its signal", async () => {
    const res = await post(h.app, h.pk.hang, attestation);
    expect(res.statusCode).toBe(503);
    expectErrorBody(res, /deadline/);
    const call = h.signer.calls.at(-1)!;
    expect(call.signal.aborted).toBe(true);
    expect((call.signal.reason as Error).name).toBe("TimeoutError");
  });

  it("500 without detail when the signer fails unexpectedly", async () => {
    const res = await post(h.app, h.pk.crash, attestation);
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: "internal error" });
    expect(res.body).not.toContain("secret");
  });

  it("413 for a body over the limit", async () => {
    const huge = { ...attestation, padding: "x".repeat(DEFAULT_BODY_LIMIT_BYTES) };
    const res = await post(h.app, h.pk.sign, huge);
    expect(res.statusCode).toBe(413);
    expectErrorBody(res, /larger than 1048576 bytes/);
    expect(h.signer.calls).toHaveLength(0);
  });

  it("415 for a Content-Type that is not JSON", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/octet-stream"]) {
      const res = await post(h.app, h.pk.sign, JSON.stringify(attestation), { "content-type": type });
      expect(res.statusCode).toBe(415);
      expectErrorBody(res, /Content-Type/);
    }
  });

  it("stays up after garbage: the next good request signs", async () => {
    const garbage: string[] = [
      "\u0000\u0001\u0002",
      "{".repeat(10_000),
      `{"type":"ATTESTATION","fork_info":${"[".repeat(5000)}`,
      JSON.stringify({ ...attestation, attestation: null }),
      JSON.stringify({ ...attestation, fork_info: { fork: { epoch: "1".repeat(400) } } }),
      JSON.stringify({ ...attestation, attestation: { slot: "-1" } }),
      JSON.stringify({ type: { toString: "x" } }),
      "\uD800",
    ];
    for (const g of garbage) {
      const res = await post(h.app, h.pk.sign, g);
      expect(res.statusCode).toBe(400);
      expectErrorBody(res, /./);
    }
    const res = await post(h.app, h.pk.sign, attestation);
    expect(res.statusCode).toBe(200);
  });

  it("counts every outcome in cohort_api_requests_total and times successes", async () => {
    await post(h.app, h.pk.sign, attestation);
    await post(h.app, h.pk.sign, attestation);
    await post(h.app, h.pk.sign, blockV2Request(forkInfo, "electra").body);
    await post(h.app, h.pk.sign, "{oops");
    await post(h.app, h.pk.sign.slice(0, 20), attestation);
    await post(h.app, h.pk.sign, { ...attestation, type: "NOPE" });
    await post(h.app, toHex(new Uint8Array(48).fill(7)), attestation);
    await post(h.app, h.pk.slashing, attestation);
    await post(h.app, h.pk.partials, attestation);
    await post(h.app, h.pk.hang, attestation);
    await post(h.app, h.pk.crash, attestation);
    await post(h.app, h.pk.sign, { ...attestation, pad: "x".repeat(DEFAULT_BODY_LIMIT_BYTES) });
    const text = await h.registry.metrics();
    const count = (type: string, result: string) =>
      new RegExp(`cohort_api_requests_total\\{type="${type}",result="${result}"\\} (\\d+)`).exec(text)?.[1];
    expect(count("ATTESTATION", "ok")).toBe("2");
    expect(count("BLOCK_V2", "ok")).toBe("1");
    expect(count("unknown", "bad_request")).toBe("3"); // malformed JSON, unknown type, 413
    expect(count("ATTESTATION", "bad_request")).toBe("1"); // truncated identifier
    expect(count("ATTESTATION", "unknown_key")).toBe("1");
    expect(count("ATTESTATION", "slashing_refused")).toBe("1");
    expect(count("ATTESTATION", "unavailable")).toBe("2"); // partials, deadline
    expect(count("ATTESTATION", "error")).toBe("1");
    expect(text).toContain('cohort_signing_latency_seconds_count{type="ATTESTATION"} 2');
    expect(text).toContain('cohort_signing_latency_seconds_count{type="BLOCK_V2"} 1');
  });
});

describe("GET endpoints", () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });
  afterEach(async () => {
    await h.app.close();
  });

  it("publicKeys lists the validator keys as 0x-hex", async () => {
    const res = await h.app.inject({ method: "GET", url: "/api/v1/eth2/publicKeys" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(res.json()).toEqual(Object.values(h.pk));
  });

  it("upcheck answers OK as text, and {status: OK} when JSON is asked for", async () => {
    for (const accept of [undefined, "text/plain", "*/*"]) {
      const res = await h.app.inject({ method: "GET", url: "/upcheck", headers: accept ? { accept } : {} });
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
      expect(res.body).toBe("OK");
    }
    const res = await h.app.inject({ method: "GET", url: "/upcheck", headers: { accept: "application/json" } });
    expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(res.json()).toEqual({ status: "OK" });
  });

  it("healthcheck is UP with 200 when the node can sign, DOWN with 503 otherwise", async () => {
    const up = await h.app.inject({ method: "GET", url: "/healthcheck" });
    expect(up.statusCode).toBe(200);
    expect(up.json()).toEqual({
      status: "UP",
      checks: [
        { id: "default-check", status: "UP" },
        { id: "peers-check", status: "UP", data: { peers_connected: 3, peers_total: 3, threshold: 3 } },
      ],
      outcome: "UP",
    });

    h.signer.health_ = { peersConnected: 1, peersTotal: 3, threshold: 3, canSign: false };
    const down = await h.app.inject({ method: "GET", url: "/healthcheck" });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({
      status: "DOWN",
      outcome: "DOWN",
      checks: [{}, { id: "peers-check", status: "DOWN", data: { peers_connected: 1, peers_total: 3, threshold: 3 } }],
    });
  });

  it("404 JSON for an unknown route", async () => {
    const res = await h.app.inject({ method: "GET", url: "/api/v1/eth1/publicKeys" });
    expect(res.statusCode).toBe(404);
    expectErrorBody(res, /no route GET \/api\/v1\/eth1\/publicKeys/);
  });
});

describe("bearer token", () => {
  let h: Harness;
  beforeEach(() => {
    h = harness({ bearerToken: TOKEN });
  });
  afterEach(async () => {
    await h.app.close();
  });

  it("401 without a token or with a wrong one, on every route but /upcheck", async () => {
    for (const authorization of [
      undefined,
      "",
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Basic ${TOKEN}`,
      TOKEN,
      "Bearer",
    ]) {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
      const sign = await post(h.app, h.pk.sign, attestation, headers);
      expect(sign.statusCode).toBe(401);
      expect(sign.headers["www-authenticate"]).toMatch(/^Bearer/);
      expectErrorBody(sign, /bearer token/);
      for (const url of ["/api/v1/eth2/publicKeys", "/healthcheck", "/nowhere"]) {
        expect((await h.app.inject({ method: "GET", url, headers })).statusCode).toBe(401);
      }
    }
    expect(h.signer.calls).toHaveLength(0);
  });

  it("serves requests with the right token, and /upcheck without one", async () => {
    const headers = { authorization: `Bearer ${TOKEN}` };
    expect((await post(h.app, h.pk.sign, attestation, headers)).statusCode).toBe(200);
    expect((await post(h.app, h.pk.sign, attestation, { authorization: `bearer  ${TOKEN}` })).statusCode).toBe(200);
    expect((await h.app.inject({ method: "GET", url: "/api/v1/eth2/publicKeys", headers })).statusCode).toBe(200);
    expect((await h.app.inject({ method: "GET", url: "/healthcheck", headers })).statusCode).toBe(200);
    expect((await h.app.inject({ method: "GET", url: "/upcheck" })).body).toBe("OK");
  });

  it("checks the token before reading the body", async () => {
    const res = await post(h.app, h.pk.sign, { pad: "x".repeat(2 * DEFAULT_BODY_LIMIT_BYTES) });
    expect(res.statusCode).toBe(401);
  });
});

describe("errorReply", () => {
  it("412 naming the peers whose slashing protection refused, when they leave fewer than t signers", () => {
    const refusedBy = ["2 (16Uiu2HAmPeerTwo): DOUBLE_VOTE", "3 (16Uiu2HAmPeerThree): DOUBLE_VOTE"];
    const reply = errorReply(
      new SignerError({ code: "SLASHING_REFUSED", slashingCode: "DOUBLE_VOTE", refusedBy }, "refused"),
    );
    expect(reply.status).toBe(412);
    const body = reply.body as Record<string, unknown>;
    expect(body.slashing_code).toBe("DOUBLE_VOTE");
    expect(body.refused).toEqual(refusedBy);
    for (const peer of refusedBy) expect(body.error).toContain(peer);
  });

  it("412 without a peer list when this node refused", () => {
    const reply = errorReply(new SignerError({ code: "SLASHING_REFUSED", slashingCode: "SURROUNDING_VOTE" }, "x"));
    expect(reply.status).toBe(412);
    expect(reply.body).toEqual({
      error: "slashing protection refused to sign: SURROUNDING_VOTE",
      slashing_code: "SURROUNDING_VOTE",
    });
  });
});
