/**
 * The API over real HTTP on 127.0.0.1: listening, client disconnects aborting the signer, graceful
 * stop with a request in flight, and garbage on the socket.
 */
import { request } from "node:http";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createApiServer } from "../../src/api/server.js";
import { verify } from "../../src/crypto/bls.js";
import { parseSignRequest, requestSigningRoot } from "../../src/eth2/requests.js";
import { fromHex, toHex } from "../../src/lib/bytes.js";
import { silentLogger } from "../../src/lib/logger.js";
import type { HttpService } from "../../src/lib/metrics.js";
import { attestationRequest, mainnetForkInfo } from "../helpers/signRequests.js";
import { SIGNING_ROOT_OPTS, TestSigner } from "./testSigner.js";

const attestation = attestationRequest(mainnetForkInfo("deneb")).body;

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with exactly the given headers (no default Accept, unlike fetch). */
function send(
  url: string,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    onRequest?: (r: ReturnType<typeof request>) => void;
  } = {},
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? "GET", headers: opts.headers ?? {} }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    opts.onRequest?.(req);
    req.end(opts.body);
  });
}

function raw(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let out = "";
    socket.setEncoding("utf8");
    socket.on("data", (c: string) => {
      out += c;
    });
    socket.on("end", () => resolve(out));
    socket.on("close", () => resolve(out));
    socket.on("error", reject);
    socket.write(bytes);
  });
}

describe("API server over HTTP", () => {
  let server: HttpService | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  function start(signer: TestSigner, opts: { signTimeoutMs?: number; bodyLimitBytes?: number } = {}) {
    server = createApiServer(
      { port: 0, signTimeoutMs: opts.signTimeoutMs ?? 60_000, bodyLimitBytes: opts.bodyLimitBytes },
      { signer, logger: silentLogger() },
    );
    return server.start();
  }

  it("listens on 127.0.0.1 by default and signs; no Accept header gets text/plain", async () => {
    const signer = new TestSigner(["sign"]);
    const { url } = await start(signer);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const pk = toHex(signer.keys[0]!.pk);
    const res = await send(`${url}/api/v1/eth2/sign/${pk}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(attestation),
    });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
    const root = requestSigningRoot(parseSignRequest(attestation), SIGNING_ROOT_OPTS);
    expect(verify(fromHex(pk), root, fromHex(res.body))).toBe(true);

    const keys = await fetch(`${url}/api/v1/eth2/publicKeys`);
    expect(await keys.json()).toEqual([pk]);
    await expect(server!.start()).rejects.toThrow(/already started/);
  });

  it("aborts the signer's signal when the client disconnects", async () => {
    const signer = new TestSigner(["hang", "sign"]);
    const { url } = await start(signer);
    let clientReq: ReturnType<typeof request> | undefined;
    const pending = send(`${url}/api/v1/eth2/sign/${toHex(signer.keys[0]!.pk)}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(attestation),
      onRequest: (r) => {
        clientReq = r;
      },
    });
    pending.catch(() => {});
    await signer.called(1);
    const { signal } = signer.calls[0]!;
    expect(signal.aborted).toBe(false);
    const aborted = new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    clientReq!.destroy();
    await aborted;
    expect((signal.reason as Error).name).toBe("AbortError");
    await expect(pending).rejects.toThrow();

    // the server is still serving
    const ok = await send(`${url}/api/v1/eth2/sign/${toHex(signer.keys[1]!.pk)}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(attestation),
    });
    expect(ok.status).toBe(200);
  });

  it("stop() lets an in-flight request finish, then refuses connections", async () => {
    const signer = new TestSigner(["gate"]);
    const { url } = await start(signer);
    const pending = send(`${url}/api/v1/eth2/sign/${toHex(signer.keys[0]!.pk)}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(attestation),
    });
    await signer.called(1);
    let stopped = false;
    const stopping = server!.stop().then(() => {
      stopped = true;
    });
    // let the close begin before the signature is released
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    signer.release();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toHaveProperty("signature");
    await stopping;
    expect(signer.calls[0]!.signal.aborted).toBe(false);
    await expect(send(`${url}/upcheck`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("answers garbage on the socket with 400 and keeps serving", async () => {
    const signer = new TestSigner(["sign"]);
    const { url } = await start(signer, { bodyLimitBytes: 4096 });
    expect(await raw(url, "GARBAGE\r\n\r\n")).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(url, "POST /api/v1/eth2/sign/0x00 HTTP/1.1\r\nContent-Length: -5\r\n\r\n")).toMatch(
      /^HTTP\/1\.1 400/,
    );
    const big = await send(`${url}/api/v1/eth2/sign/${toHex(signer.keys[0]!.pk)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...attestation, pad: "x".repeat(8192) }),
    });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body)).toEqual({ error: "body is larger than 4096 bytes" });

    const up = await send(`${url}/upcheck`, { headers: { accept: "application/json" } });
    expect(JSON.parse(up.body)).toEqual({ status: "OK" });
  });

  it("reports a port already in use", async () => {
    const signer = new TestSigner(["sign"]);
    const { url } = await start(signer);
    const other = createApiServer(
      { port: Number(new URL(url).port), signTimeoutMs: 1000 },
      { signer, logger: silentLogger() },
    );
    await expect(other.start()).rejects.toThrow(/listen for the signing API .*EADDRINUSE/);
    await other.stop();
  });
});
