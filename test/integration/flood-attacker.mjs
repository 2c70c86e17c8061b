// A flooding peer, run as its own OS process: an operator of the cluster with its valid identity
// (its data dir's identity.key) running modified code. It floods one victim over real libp2p
// (TCP, Noise, Yamux) with what a bounded node must survive: oversized parsig frames, frames of
// tens of thousands of empty entries, every stream it may open on several connections at once,
// requests whose answers it never reads, and signed agreement batches that open every pending
// instance it may open with thousands of distinct messages each. It never answers a partial.
//
// Usage: node flood-attacker.mjs '<json>' with
//   { dist: "<repo>/dist", dataDir: "<node dir of the attacker>", victim: "<peer id>",
//     modes: ["oversized", "entries", "noread", "consensus"], hosts: 3, durationMs: 20000 }
// It prints one JSON line of counters when done, and exits 0.
import { randomBytes } from "node:crypto";
import path from "node:path";

const cfg = JSON.parse(process.argv[2]);
const dist = cfg.dist;
const { createHost } = await import(path.join(dist, "src/p2p/host.js"));
const { loadIdentity } = await import(path.join(dist, "src/p2p/identity.js"));
const { readLockFile } = await import(path.join(dist, "src/cluster/lock.js"));
const { PARSIG_PROTOCOL, CONSENSUS_PROTOCOL } = await import(path.join(dist, "src/p2p/protocols.js"));
const { ParSigRequest } = await import(path.join(dist, "src/pb/parsig.js"));
const { sealBatch } = await import(path.join(dist, "src/consensus/wire.js"));
const { createAgreementKey } = await import(path.join(dist, "src/consensus/keys.js"));

const identity = await loadIdentity(cfg.dataDir);
const lock = await readLockFile(path.join(cfg.dataDir, "cluster-lock.json"));
const operators = lock.definition.operators.map((o) => ({ peerId: o.peerId, addresses: o.addresses }));
const self = operators.findIndex((o) => o.peerId === identity.peerId) + 1;
if (self < 1) throw new Error("the attacker's identity is not an operator of the lock");
const MiB = 1024 * 1024;
const stats = { streams: 0, streamFailures: 0, frames: 0, bytes: 0, batches: 0, errors: {} };
const count = (err) => {
  const k = err?.type?.code ?? err?.name ?? "error";
  stats.errors[k] = (stats.errors[k] ?? 0) + 1;
};

// several hosts with one identity: several connections from one peer, each with its own streams
const hosts = [];
for (let k = 0; k < (cfg.hosts ?? 1); k++) {
  const host = await createHost({ identity, peers: operators, listenAddresses: ["/ip4/127.0.0.1/tcp/0"] });
  await host.start();
  hosts.push(host);
}
for (const h of hosts) await h.dial(cfg.victim);

const end = Date.now() + cfg.durationMs;
const running = () => Date.now() < end;
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

/** Entries of the channel framing: 8-byte id, 4-byte length, payload. */
function frameOf(payloads) {
  let size = 0;
  for (const p of payloads) size += 12 + p.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let o = 0;
  let id = 1n;
  for (const p of payloads) {
    view.setBigUint64(o, id++, false);
    view.setUint32(o + 8, p.length, false);
    out.set(p, o + 12);
    o += 12 + p.length;
  }
  return out;
}

// 1 MiB of empty entries: 87,381 requests in one frame (what used to decode into as many objects)
const emptyEntries = frameOf(Array.from({ length: Math.floor(MiB / 12) }, () => new Uint8Array(0)));
// requests of the cluster's session for duties nobody decided: each one waits for a decision
const pending = () =>
  frameOf(
    Array.from({ length: 4096 }, (_, i) =>
      ParSigRequest.encode({
        session: lock.lockHash,
        publicKey: lock.distributedValidators[i % lock.distributedValidators.length].publicKey,
        requestJson: new Uint8Array(0),
        duty: `attester/${1_000_000_000 + Math.floor(Math.random() * 1e9)}`,
        signingRoot: randomBytes(32),
      }),
    ),
  );

/** Opens parsig streams on every host and writes `frame()` on each until the time is up; never reads. */
async function floodStreams(frame, perHost, maxBytes) {
  const loops = [];
  for (const h of hosts) {
    for (let s = 0; s < perHost; s++) {
      loops.push(
        (async () => {
          while (running()) {
            let stream;
            try {
              stream = await h.openStream(cfg.victim, PARSIG_PROTOCOL, {
                maxMessageBytes: maxBytes,
                timeoutMs: 60_000,
              });
              stats.streams += 1;
              while (running()) {
                const bytes = frame();
                await stream.write(bytes, { signal: AbortSignal.timeout(Math.max(1, end - Date.now())) });
                stats.frames += 1;
                stats.bytes += bytes.length;
              }
              stream.abort(new Error("done"));
            } catch (err) {
              stats.streamFailures += 1;
              count(err);
              stream?.abort(new Error("failed"));
              await pause(20);
            }
          }
        })(),
      );
    }
  }
  await Promise.all(loops);
}

/** Signed agreement batches of 4,096 prepares, each for a distinct value, over every instance it may open. */
async function floodConsensus() {
  const validators = lock.distributedValidators.map((dv) => dv.publicKey);
  // a valid agreement key: the attacker's batches verify, so the victim pays for every entry
  const batchKey = createAgreementKey(lock.lockHash, self, (b) => identity.signSync(b));
  let counter = 0;
  const batch = () => {
    const entries = [];
    for (let i = 0; i < 4096; i++) {
      const n = counter++;
      entries.push({
        msg: {
          type: 2,
          validator: validators[n % validators.length],
          duty: `attester/${2_000_000 + (Math.floor(n / validators.length) % 4096)}`,
          round: 1 + (n % 60),
          sender: self,
          value: randomBytes(32),
          preparedRound: 0,
          preparedValue: new Uint8Array(0),
        },
        valueJson: new Uint8Array(0),
        justification: [],
      });
    }
    return sealBatch(lock.lockHash, self, entries, batchKey, () => {});
  };
  const loops = hosts.map(async (h) => {
    while (running()) {
      let stream;
      try {
        stream = await h.openStream(cfg.victim, CONSENSUS_PROTOCOL, { timeoutMs: 60_000 });
        while (running()) {
          const bytes = batch();
          await stream.write(bytes, { signal: AbortSignal.timeout(Math.max(1, end - Date.now())) });
          stats.batches += 1;
          stats.bytes += bytes.length;
        }
        stream.abort(new Error("done"));
      } catch (err) {
        count(err);
        stream?.abort(new Error("failed"));
        await pause(20);
      }
    }
  });
  await Promise.all(loops);
}

const oversized = new Uint8Array(16 * MiB);
const attacks = [];
for (const mode of cfg.modes) {
  if (mode === "oversized") attacks.push(floodStreams(() => oversized, 2, 32 * MiB));
  else if (mode === "entries") attacks.push(floodStreams(() => emptyEntries, 3, 2 * MiB));
  else if (mode === "noread") attacks.push(floodStreams(pending, 3, 2 * MiB));
  else if (mode === "consensus") attacks.push(floodConsensus());
  else throw new Error(`unknown mode ${mode}`);
}
await Promise.all(attacks);
for (const h of hosts) await h.stop();
process.stdout.write(`${JSON.stringify(stats)}\n`);
process.exit(0);
