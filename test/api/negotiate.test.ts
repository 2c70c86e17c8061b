import { describe, expect, it } from "vitest";
import { negotiate, requestTypeLabel, signatureReply } from "../../src/api/routes.js";

describe("negotiate (Accept header)", () => {
  const sign = ["json", "text"] as const;
  const upcheck = ["text", "json"] as const;

  it("answers JSON to application/json, as Lodestar and Lighthouse send it", () => {
    expect(negotiate("application/json", sign)).toBe("json");
    expect(negotiate("Application/JSON; charset=utf-8", sign)).toBe("json");
    expect(negotiate("application/json", upcheck)).toBe("json");
  });

  it("answers text to text/plain and to a missing or empty header (Web3Signer's default)", () => {
    expect(negotiate("text/plain", sign)).toBe("text");
    expect(negotiate(undefined, sign)).toBe("text");
    expect(negotiate("", sign)).toBe("text");
    expect(negotiate("  ", upcheck)).toBe("text");
  });

  it("breaks a */* tie toward the route's first offer: JSON for signatures, text for upcheck", () => {
    expect(negotiate("*/*", sign)).toBe("json");
    expect(negotiate("*/*", upcheck)).toBe("text");
    expect(negotiate("application/*", upcheck)).toBe("json");
  });

  it("honours q-values and the most specific range", () => {
    expect(negotiate("text/plain, application/json;q=0.5", sign)).toBe("text");
    expect(negotiate("text/plain;q=0.2, application/json;q=0.9", upcheck)).toBe("json");
    expect(negotiate("application/json;q=0, */*", sign)).toBe("text");
    expect(negotiate("text/plain, */*;q=0.1", sign)).toBe("text");
    expect(negotiate("*/*;q=0.1, application/json", upcheck)).toBe("json");
  });

  it("falls back to text when neither type is acceptable (never 406)", () => {
    expect(negotiate("application/octet-stream", sign)).toBe("text");
    expect(negotiate("application/json;q=0", sign)).toBe("text");
    expect(negotiate("garbage;;;==,", sign)).toBe("text");
  });
});

describe("signatureReply", () => {
  const sig = `0x${"ab".repeat(96)}`;
  it("wraps the signature for JSON and sends it bare for text", () => {
    expect(signatureReply(sig, "application/json")).toEqual({ status: 200, kind: "json", body: { signature: sig } });
    expect(signatureReply(sig, undefined)).toEqual({ status: 200, kind: "text", body: sig });
  });
});

describe("requestTypeLabel", () => {
  it("keeps the 13 known types and labels anything else unknown", () => {
    expect(requestTypeLabel({ type: "ATTESTATION" })).toBe("ATTESTATION");
    expect(requestTypeLabel({ type: "BLOCK_V2" })).toBe("BLOCK_V2");
    expect(requestTypeLabel({ type: "attestation" })).toBe("unknown");
    expect(requestTypeLabel({ type: "x".repeat(10_000) })).toBe("unknown");
    expect(requestTypeLabel({ type: 3 })).toBe("unknown");
    expect(requestTypeLabel(null)).toBe("unknown");
    expect(requestTypeLabel("ATTESTATION")).toBe("unknown");
  });
});
