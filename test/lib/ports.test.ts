/** Local-cluster ports: below the ephemeral range, never handed out twice, never one already bound. */
import { createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { ephemeralRange, freePort, portRange } from "../../src/lib/ports.js";

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(port, "127.0.0.1", () => resolve(srv));
  });
}

describe("freePort", () => {
  it("hands out distinct ports outside the ephemeral range, each one bindable", async () => {
    const eph = ephemeralRange();
    const { low, high } = portRange();
    expect(high).toBeGreaterThan(low);
    const ports = await Promise.all(Array.from({ length: 200 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(low);
      expect(p).toBeLessThan(high);
      expect(p >= eph.low && p <= eph.high).toBe(false);
    }
    const servers = await Promise.all(ports.slice(0, 20).map(listen));
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it("skips a candidate another socket is listening on, and one it handed out before", async () => {
    const { low, high } = portRange();
    const fraction = (port: number) => (port - low + 0.5) / (high - low);
    // a port in the range that some other socket holds (bound here without freePort)
    let held: Server | undefined;
    for (let p = low + 7_919; held === undefined; p++) held = await listen(p).catch(() => undefined);
    const heldPort = (held.address() as { port: number }).port;
    try {
      const first = await freePort();
      const candidates = [fraction(heldPort), fraction(first), fraction(heldPort + 1), fraction(heldPort + 2)];
      const got = await freePort({ random: () => candidates.shift() ?? Math.random() });
      expect(got).not.toBe(heldPort);
      expect(got).not.toBe(first);
      expect([heldPort + 1, heldPort + 2]).toContain(got);
    } finally {
      await new Promise((r) => held.close(r));
    }
  });
});
