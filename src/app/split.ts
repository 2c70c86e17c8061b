/**
 * `cohort create cluster --split-existing-keys` and `cohort split import|sign-lock|assemble`
 * (DESIGN.md § Cluster lifecycle, "Split an existing key"): a trusted dealer splits solo validator
 * keys into one bundle per operator; each operator imports its bundle (shares checked, slashing
 * history imported first), approves the definition and signs the lock with its identity and its
 * shares; with every operator's lock signature the lock is assembled and verified.
 */
import { promises as fsp, rmSync } from "node:fs";
import path from "node:path";
import {
  type ClusterDefinition,
  createDefinition,
  readDefinitionFile,
  readJsonFile,
  serializeDefinition,
  signDefinition,
  verifyDefinition,
  verifyDefinitionHashes,
} from "../cluster/definition.js";
import {
  aggregateLockSignatures,
  buildLock,
  computeLockHash,
  depositDataFiles,
  serializeLock,
  verifyLock,
} from "../cluster/lock.js";
import {
  checkLockSignature,
  checkShares,
  draftValidator,
  type LockSignature,
  parseDraft,
  parseLockSignature,
  type SplitDraft,
  serializeDraft,
  serializeLockSignature,
  shareSignatureAggregate,
  splitSecret,
} from "../cluster/split.js";
import type { SecretKey } from "../crypto/bls.js";
import {
  decryptKeystores,
  encryptKeystores,
  type KdfName,
  type KeystoreFile,
  randomPassword,
} from "../crypto/keystore.js";
import type { Network } from "../eth2/networks.js";
import { bytesEqual, toHex } from "../lib/bytes.js";
import { keystoreFile, keystorePasswordFile, lockSignatureFile } from "../lib/datadir.js";
import { errorMessage, InputError } from "../lib/errors.js";
import { DIR_MODE, ensureDir, exists, FILE_MODE, fsyncDir, writeFileAtomic } from "../lib/fs.js";
import { acquireDataDirLock } from "../lib/lockfile.js";
import type { Gwei, ShareIndex } from "../lib/types.js";
import { type Identity, loadIdentity, verifyIdentitySignature } from "../p2p/identity.js";
import type { Interchange } from "../slashing/interchange.js";
import { FILES, readShareKeystores } from "./files.js";

/** In a dealer's bundle (not a data dir): the solo validators' EIP-3076 history, imported before the first signature. */
export const BUNDLE_HISTORY_FILE = "slashing-protection-interchange.json";

/** A bundle's name inside the dealer's `--out`: `operator-<share index>`. */
export function bundleDirName(shareIndex: number): string {
  return `operator-${shareIndex}`;
}

/** Options of {@link createSplitCluster}. */
export interface CreateSplitOpts {
  /** Directory of EIP-2335 `keystore-*.json` files, each with its password in the same-named `.txt`. */
  keystores: string;
  /** n operators, `peerId` or `peerId@multiaddr`, share-index order. */
  operators: string[];
  threshold?: number | undefined;
  network: Network;
  withdrawalAddresses: string[];
  feeRecipients?: string[] | undefined;
  depositAmountsGwei?: Gwei[] | undefined;
  compounding?: boolean | undefined;
  name: string;
  /** EIP-3076 interchange v5 file with the solo validators' history (and nothing else). */
  slashingHistory?: string | undefined;
  /** Directory to create; must not exist. */
  out: string;
  /** KDF of the share keystores; default pbkdf2, as `cohort dkg`. */
  kdf?: KdfName | undefined;
}

/** What {@link createSplitCluster} wrote. */
export interface CreateSplitResult {
  out: string;
  /** One bundle directory per operator, share-index order. */
  bundles: string[];
  definition: ClusterDefinition;
  /** The validator public keys, 0x-hex, validator order (the keystores' file-name order). */
  validators: { publicKey: string; source: string }[];
  /** Warnings to show (a small cluster, no slashing history). */
  warnings: string[];
  /** Counts of the history written into every bundle, when one was given. */
  history?: { validators: number; blocks: number; attestations: number } | undefined;
}

/**
 * The dealer's side: decrypts each solo keystore, splits its key into n Shamir shares with
 * threshold t, checks the public shares interpolate back to the key, signs each deposit message
 * with the whole key, and writes one bundle per operator (`out/operator-<i>/`, dir 0700, files
 * 0600): the unsigned definition, the draft lock, that operator's share keystores (a fresh random
 * password each) and the slashing history. Staged beside `out` and renamed: `out` is complete or absent.
 * @throws InputError naming the flag: an existing `--out`, a missing password file, a keystore
 *   that does not decrypt, the same key twice, a history of another network or of other validators
 */
export async function createSplitCluster(
  opts: CreateSplitOpts,
  onProgress: (line: string) => void = () => {},
): Promise<CreateSplitResult> {
  const out = await checkNewOut(opts.out);
  const sources = await readSourceKeystores(opts.keystores);
  const { definition: def, warnings } = createDefinition({
    name: opts.name,
    operators: opts.operators,
    threshold: opts.threshold,
    numValidators: sources.length,
    network: opts.network,
    withdrawalAddresses: opts.withdrawalAddresses,
    feeRecipients: opts.feeRecipients,
    depositAmountsGwei: opts.depositAmountsGwei,
    compounding: opts.compounding,
  });
  const historyText =
    opts.slashingHistory === undefined ? undefined : await readText(opts.slashingHistory, "slashing-history");

  // no progress line before every input is checked: a refusal is one line on its own
  let secrets: SecretKey[];
  try {
    secrets = await decryptKeystores(sources);
  } catch (err) {
    throw new InputError("keystores", `--keystores: ${errorMessage(err)}`, { cause: err });
  }
  const seen = new Map<string, string>();
  for (const [v, s] of secrets.entries()) {
    const pk = toHex(s.publicKey());
    const twin = seen.get(pk);
    if (twin !== undefined) {
      throw new InputError("keystores", `--keystores: ${sources[v]!.field} holds the same key as ${twin}`);
    }
    seen.set(pk, sources[v]!.field);
  }
  const pubkeys = secrets.map((s) => s.publicKey());
  let history: CreateSplitResult["history"];
  if (historyText === undefined) {
    warnings.push(
      "no --slashing-history: every operator's slashing protection database starts empty. Give the solo " +
        "validator's EIP-3076 export unless these keys have never signed",
    );
  } else {
    const interchange = await checkHistory(historyText, def, pubkeys, "slashing-history");
    history = {
      validators: interchange.data.length,
      blocks: interchange.data.reduce((k, d) => k + d.signedBlocks.length, 0),
      attestations: interchange.data.reduce((k, d) => k + d.signedAttestations.length, 0),
    };
    const covered = new Set(interchange.data.map((d) => toHex(d.pubkey)));
    for (const pk of pubkeys) {
      if (!covered.has(toHex(pk))) warnings.push(`--slashing-history has no records for ${toHex(pk)}`);
    }
  }

  const n = def.operators.length;
  onProgress(`splitting ${secrets.length} key(s) into ${n} shares, threshold ${def.threshold}`);
  const split = secrets.map((s) => splitSecret(s, n, def.threshold));
  const validators = secrets.map((s, v) => draftValidator(def, v, s, split[v]!.publicShares));

  const staging = await fsp.mkdtemp(path.join(path.dirname(out), `.${path.basename(out)}.split-`));
  // shares of whole keys are in it: an interrupted split removes it before the process ends
  const onSignal = (signal: NodeJS.Signals) => {
    rmSync(staging, { recursive: true, force: true });
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await fsp.chmod(staging, DIR_MODE);
    const bundles: string[] = [];
    for (const [i, op] of def.operators.entries()) {
      const shareIndex = (i + 1) as ShareIndex;
      onProgress(`writing the bundle of operator ${i} (share ${shareIndex}, ${op.peerId})`);
      const dir = path.join(staging, bundleDirName(shareIndex));
      await fsp.mkdir(path.join(dir, FILES.keys), { recursive: true, mode: DIR_MODE });
      const draft: SplitDraft = {
        configHash: def.configHash,
        operator: { shareIndex, peerId: op.peerId },
        distributedValidators: validators,
      };
      await writeNew(path.join(dir, FILES.definition), serializeDefinition(def));
      await writeNew(path.join(dir, FILES.splitDraft), serializeDraft(def, draft));
      for (const [v, k] of split.entries()) {
        const password = randomPassword();
        const [ks] = await encryptKeystores(
          [
            {
              secret: k.shares[i]!,
              path: "",
              description: `cohort share ${shareIndex} of validator ${v} (${def.name})`,
            },
          ],
          password,
          { kdf: opts.kdf ?? "pbkdf2" },
        );
        await writeNew(path.join(dir, keystoreFile(v)), `${JSON.stringify(ks, null, 2)}\n`);
        await writeNew(path.join(dir, keystorePasswordFile(v)), password);
      }
      if (historyText !== undefined) await writeNew(path.join(dir, BUNDLE_HISTORY_FILE), historyText);
      await fsyncDir(path.join(dir, FILES.keys));
      await fsyncDir(dir);
      bundles.push(path.join(out, bundleDirName(shareIndex)));
    }
    await fsyncDir(staging);
    await fsp.rename(staging, out);
    await fsyncDir(path.dirname(out));
    return {
      out,
      bundles,
      definition: def,
      validators: pubkeys.map((pk, v) => ({ publicKey: toHex(pk), source: sources[v]!.field })),
      warnings,
      history,
    };
  } catch (err) {
    await fsp.rm(staging, { recursive: true, force: true });
    throw err;
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    // drop every reference to the whole keys and their shares (JS cannot overwrite a bigint in place)
    secrets.length = 0;
    split.length = 0;
  }
}

/** Writes a new file (mode 0600, fsynced); fails if it exists. */
async function writeNew(file: string, data: string): Promise<void> {
  const fh = await fsp.open(file, "wx", FILE_MODE);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** `--out` must not exist, and its parent must. @returns its absolute path */
async function checkNewOut(given: string): Promise<string> {
  const out = path.resolve(given);
  if (await exists(out)) throw new InputError("out", `--out ${given} already exists; give a new directory`);
  const parent = path.dirname(out);
  if (!(await exists(parent))) throw new InputError("out", `--out ${given}: directory ${parent} does not exist`);
  const leftovers = (await fsp.readdir(parent)).filter((e) => e.startsWith(`.${path.basename(out)}.split-`));
  if (leftovers.length > 0) {
    throw new InputError(
      "out",
      `${path.join(parent, leftovers[0]!)} is left from an interrupted split and may hold key shares: delete it first`,
    );
  }
  return out;
}

/**
 * The solo keystores of `dir`: every `keystore-*.json`, in file-name order, each with the password
 * in the same-named `.txt` (one trailing newline dropped).
 * @throws InputError "keystores" naming the directory or the missing password file
 */
async function readSourceKeystores(dir: string): Promise<KeystoreFile[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    throw new InputError("keystores", `--keystores ${dir} cannot be read (${(err as NodeJS.ErrnoException).code})`, {
      cause: err,
    });
  }
  // numeric order: staking-deposit-cli's keystore-m_12381_3600_10_0_0-….json comes after …_9_0_0-…
  const keystores = names
    .filter((f) => /^keystore-.*\.json$/.test(f))
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  if (keystores.length === 0) throw new InputError("keystores", `--keystores ${dir} holds no keystore-*.json file`);
  const files: KeystoreFile[] = [];
  for (const name of keystores) {
    const file = path.join(dir, name);
    const pwFile = file.replace(/\.json$/, ".txt");
    if (!(await exists(pwFile))) {
      throw new InputError("keystores", `--keystores: password file ${pwFile} for ${name} is missing`);
    }
    files.push({
      json: await readText(file, "keystores"),
      password: (await readText(pwFile, "keystores")).replace(/\r?\n$/, ""),
      field: file,
    });
  }
  return files;
}

async function readText(file: string, flag: string): Promise<string> {
  try {
    return await fsp.readFile(file, "utf8");
  } catch (err) {
    throw new InputError(flag, `--${flag}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`, {
      cause: err,
    });
  }
}

/**
 * Parses an EIP-3076 history and checks it is for the definition's network and covers only `pubkeys`.
 * @throws InputError naming `field`
 */
async function checkHistory(
  text: string,
  def: ClusterDefinition,
  pubkeys: readonly Uint8Array[],
  field: string,
): Promise<Interchange> {
  const { parseInterchangeText } = await import("../slashing/interchange.js");
  let interchange: Interchange;
  try {
    interchange = parseInterchangeText(text);
  } catch (err) {
    throw new InputError(field, `${field}: ${errorMessage(err)}`, { cause: err });
  }
  const gvr = def.network.genesisValidatorsRoot;
  if (!bytesEqual(interchange.genesisValidatorsRoot, gvr)) {
    throw new InputError(
      field,
      `${field}: genesis_validators_root ${toHex(interchange.genesisValidatorsRoot)} is not network ${def.network.name}'s ${toHex(gvr)}`,
    );
  }
  const ours = new Set(pubkeys.map(toHex));
  for (const [k, d] of interchange.data.entries()) {
    if (!ours.has(toHex(d.pubkey))) {
      throw new InputError(
        field,
        `${field}: "data[${k}].pubkey" ${toHex(d.pubkey)} is not one of the split validators`,
      );
    }
  }
  return interchange;
}

/** Options of {@link importBundle}. */
export interface ImportBundleOpts {
  /** This operator's bundle directory from the dealer. */
  bundle: string;
  dataDir: string;
  /**
   * A copy of the definition other operators already signed, to add this approval to (passed on in
   * turn); default the bundle's unsigned one.
   */
  definition?: string | undefined;
}

/** What {@link importBundle} did. */
export interface ImportBundleResult {
  shareIndex: ShareIndex;
  peerId: string;
  validators: number;
  /** Records imported into the slashing database, when the bundle held a history. */
  history?: { validators: number; blocks: number; attestations: number } | undefined;
  /** The definition written, with this operator's approval. */
  definitionFile: string;
  signed: number;
  operators: number;
}

/**
 * An operator's import: checks the bundle is for this data dir's identity, decrypts its shares and
 * checks each against the draft's public share at its share index, imports the slashing history
 * into the data dir's database first, then writes the share keystores (`validator_keys/`), the draft
 * and the definition signed with this identity. Every check runs before anything is written.
 * @throws InputError naming the flag or field: another operator's bundle, a share that is not the
 *   draft's, a history of another network or validator, a data dir that already holds keys or a lock
 */
export async function importBundle(opts: ImportBundleOpts): Promise<ImportBundleResult> {
  const identity = await loadIdentity(opts.dataDir);
  const bundleDef = await readDefinitionFile(path.join(opts.bundle, FILES.definition), "bundle");
  verifyDefinitionHashes(bundleDef);
  const draft = parseDraft(await readJsonFile(path.join(opts.bundle, FILES.splitDraft), "bundle"), bundleDef);
  if (draft.operator.peerId !== identity.peerId) {
    throw new InputError(
      "bundle",
      `--bundle ${opts.bundle} is operator ${draft.operator.shareIndex - 1}'s (share ${draft.operator.shareIndex}, ` +
        `${draft.operator.peerId}), not this data dir's identity ${identity.peerId}`,
    );
  }
  let base = bundleDef;
  if (opts.definition !== undefined) {
    base = await readDefinitionFile(opts.definition);
    if (!bytesEqual(base.configHash, bundleDef.configHash)) {
      throw new InputError(
        "definition",
        `--definition ${opts.definition} has config_hash ${toHex(base.configHash)}, the bundle's ${toHex(bundleDef.configHash)}`,
      );
    }
    // an approval that does not verify would only fail later, at sign-lock, far from whoever made it
    for (const [i, o] of base.operators.entries()) {
      if (o.configSignature.length === 0 || o.peerId === identity.peerId) continue;
      if (!(await verifyIdentitySignature(o.peerId, base.configHash, o.configSignature))) {
        throw new InputError(
          "definition",
          `--definition ${opts.definition}: operator ${i} (${o.peerId}): "operators[${i}].config_signature" does not verify over config_hash`,
        );
      }
    }
  }
  await refuseUsedDataDir(opts.dataDir, "import");

  const V = draft.distributedValidators.length;
  let files: KeystoreFile[];
  try {
    files = await readShareKeystores(opts.bundle, V);
  } catch (err) {
    throw new InputError("bundle", `--bundle ${opts.bundle}: ${errorMessage(err)}`, { cause: err });
  }
  let shares: SecretKey[];
  try {
    shares = await decryptKeystores(files);
  } catch (err) {
    throw new InputError("bundle", `--bundle ${opts.bundle}: ${errorMessage(err)}`, { cause: err });
  }
  checkShares(draft, draft.operator.shareIndex, shares, "bundle");
  shares.length = 0;

  const historyFile = path.join(opts.bundle, BUNDLE_HISTORY_FILE);
  const interchange = (await exists(historyFile))
    ? await checkHistory(
        await readText(historyFile, "bundle"),
        bundleDef,
        draft.distributedValidators.map((dv) => dv.publicKey),
        "bundle",
      )
    : undefined;
  const signedDef = await signDefinition(base, identity);

  const dirLock = await acquireDataDirLock(opts.dataDir, "cohort split import");
  try {
    await refuseUsedDataDir(opts.dataDir, "import");
    // the history is in the database before any key that could sign is in the data dir
    const { SlashingProtectionDb } = await import("../slashing/store.js");
    const { importInterchange } = await import("../slashing/interchange.js");
    const { SlashingError } = await import("../slashing/rules.js");
    let history: ImportBundleResult["history"];
    try {
      const store = new SlashingProtectionDb({
        dataDir: opts.dataDir,
        genesisValidatorsRoot: bundleDef.network.genesisValidatorsRoot,
      });
      try {
        if (interchange !== undefined) {
          const s = importInterchange(store, interchange);
          history = { validators: s.validators, blocks: s.blocks, attestations: s.attestations };
        }
      } finally {
        store.close();
      }
    } catch (err) {
      if (err instanceof SlashingError) {
        throw new InputError("data-dir", `--data-dir ${opts.dataDir}: ${FILES.slashingDb}: ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    }

    const staging = path.join(opts.dataDir, `.split-staging-${process.pid}`);
    await fsp.rm(staging, { recursive: true, force: true });
    await ensureDir(path.join(staging, FILES.keys));
    try {
      for (let v = 0; v < V; v++) {
        for (const rel of [keystoreFile(v), keystorePasswordFile(v)]) {
          await writeFileAtomic(path.join(staging, rel), await fsp.readFile(path.join(opts.bundle, rel)));
        }
      }
      await fsp.rename(path.join(staging, FILES.keys), path.join(opts.dataDir, FILES.keys));
    } finally {
      await fsp.rm(staging, { recursive: true, force: true });
    }
    await writeFileAtomic(path.join(opts.dataDir, FILES.splitDraft), serializeDraft(bundleDef, draft));
    const definitionFile = path.join(opts.dataDir, FILES.definition);
    await writeFileAtomic(definitionFile, serializeDefinition(signedDef));
    await fsyncDir(opts.dataDir);
    return {
      shareIndex: draft.operator.shareIndex,
      peerId: identity.peerId,
      validators: V,
      history,
      definitionFile,
      signed: signedDef.operators.filter((o) => o.configSignature.length > 0).length,
      operators: signedDef.operators.length,
    };
  } finally {
    await dirLock.release();
  }
}

/**
 * @throws InputError "data-dir" when it already holds a lock, share keystores or a split draft
 *   (never put keys over keys)
 */
async function refuseUsedDataDir(dataDir: string, what: string): Promise<void> {
  for (const f of [FILES.lock, FILES.keys, FILES.splitDraft]) {
    const file = path.join(dataDir, f);
    if (await exists(file)) {
      throw new InputError("data-dir", `--data-dir ${dataDir} already holds ${file}; refusing to ${what} over it`);
    }
  }
}

/** This node's split state: identity, draft and decrypted shares, checked against each other. */
async function loadSplitNode(
  dataDir: string,
  def: ClusterDefinition,
): Promise<{ identity: Identity; draft: SplitDraft }> {
  const identity = await loadIdentity(dataDir);
  const draftFile = path.join(dataDir, FILES.splitDraft);
  if (!(await exists(draftFile))) {
    throw new InputError(
      "data-dir",
      `--data-dir ${dataDir} has no ${FILES.splitDraft}: run "cohort split import" first`,
    );
  }
  const draft = parseDraft(await readJsonFile(draftFile, "data-dir"), def);
  if (draft.operator.peerId !== identity.peerId) {
    throw new InputError(
      "data-dir",
      `${draftFile} is for ${draft.operator.peerId}, not this data dir's identity ${identity.peerId}`,
    );
  }
  return { identity, draft };
}

/** What {@link signSplitLock} wrote. */
export interface SignSplitLockResult {
  lockHash: string;
  shareIndex: ShareIndex;
  /** The lock signature file, for the other operators. */
  file: string;
}

/**
 * Signs the split cluster's lock: from the fully signed definition and the draft it computes
 * `lock_hash`, signs it with the identity key (node signature) and with this node's shares
 * (Σ_v sign(x_v, lock_hash)), keeps the definition as `cluster-definition.json` and writes
 * `lock-signature-<share index>.json` into the data dir.
 * @throws InputError naming the flag: a definition some operator has not signed, or another
 *   cluster's; no draft; a share keystore that is not the draft's
 */
export async function signSplitLock(opts: { dataDir: string; definition: string }): Promise<SignSplitLockResult> {
  const def = await readDefinitionFile(opts.definition);
  await verifyDefinition(def);
  const { identity, draft } = await loadSplitNode(opts.dataDir, def);
  if (await exists(path.join(opts.dataDir, FILES.lock))) {
    throw new InputError("data-dir", `--data-dir ${opts.dataDir} already holds ${FILES.lock}`);
  }
  const dirLock = await acquireDataDirLock(opts.dataDir, "cohort split sign-lock");
  try {
    let shares: SecretKey[];
    try {
      shares = await decryptKeystores(await readShareKeystores(opts.dataDir, def.numValidators));
    } catch (err) {
      throw new InputError("data-dir", `--data-dir ${opts.dataDir}: ${errorMessage(err)}`, { cause: err });
    }
    checkShares(draft, draft.operator.shareIndex, shares, "data-dir");
    const lockHash = computeLockHash(def, draft.distributedValidators);
    const sig: LockSignature = {
      lockHash,
      shareIndex: draft.operator.shareIndex,
      peerId: identity.peerId,
      nodeSignature: await identity.sign(lockHash),
      shareSignatureAggregate: shareSignatureAggregate(shares, lockHash),
    };
    shares.length = 0;
    await writeFileAtomic(path.join(opts.dataDir, FILES.definition), serializeDefinition(def));
    const file = path.join(opts.dataDir, lockSignatureFile(sig.shareIndex));
    await writeFileAtomic(file, serializeLockSignature(sig));
    return { lockHash: toHex(lockHash), shareIndex: sig.shareIndex, file };
  } finally {
    await dirLock.release();
  }
}

/** What {@link assembleSplitLock} wrote. */
export interface AssembleSplitLockResult {
  lockHash: string;
  /** Paths written, relative to the data dir. */
  written: string[];
  validators: string[];
}

/**
 * Assembles the lock from every operator's lock signature: each must be over this lock's hash and
 * verify (node signature under the operator's peer ID, share signature under its public shares);
 * `signature_aggregate` is the aggregate of the n share signatures and `node_signatures` are in
 * share order. The lock must pass verifyLock; then the deposit-data files and `cluster-lock.json`
 * are written, the lock last.
 * @throws InputError "signatures" naming the file and operator: fewer than n operators, one twice,
 *   another lock hash, a signature that does not verify; "data-dir" when a lock is there already
 * @throws Error when the assembled lock does not verify (with the reasons)
 */
export async function assembleSplitLock(opts: {
  dataDir: string;
  signatures: readonly string[];
}): Promise<AssembleSplitLockResult> {
  const def = await readDefinitionFile(path.join(opts.dataDir, FILES.definition), "data-dir");
  try {
    await verifyDefinition(def);
  } catch (err) {
    throw new InputError("data-dir", `${FILES.definition}: ${errorMessage(err)} (run "cohort split sign-lock" first)`, {
      cause: err,
    });
  }
  const { draft } = await loadSplitNode(opts.dataDir, def);
  const dvs = draft.distributedValidators;
  const lockHash = computeLockHash(def, dvs);
  const n = def.operators.length;
  const bySigner = new Map<number, { sig: LockSignature; file: string }>();
  for (const file of opts.signatures) {
    const json = await readJsonFile(file, "signatures");
    let s: LockSignature;
    try {
      s = parseLockSignature(json);
    } catch (err) {
      throw new InputError("signatures", `--signatures ${file}: ${errorMessage(err)}`, { cause: err });
    }
    const twin = bySigner.get(s.shareIndex);
    if (twin !== undefined) {
      throw new InputError("signatures", `--signatures ${file} and ${twin.file} are both share ${s.shareIndex}'s`);
    }
    const reason = await checkLockSignature(def, dvs, lockHash, s);
    if (reason !== undefined) throw new InputError("signatures", `--signatures ${file}: ${reason}`);
    bySigner.set(s.shareIndex, { sig: s, file });
  }
  const missing = def.operators
    .map((o, i) => ({ o, i }))
    .filter(({ i }) => !bySigner.has(i + 1))
    .map(({ o, i }) => `operator ${i} (share ${i + 1}, ${o.peerId})`);
  if (missing.length > 0) {
    throw new InputError(
      "signatures",
      `--signatures: ${bySigner.size} of ${n} lock signatures given; missing ${missing.join(", ")}`,
    );
  }
  const ordered = Array.from({ length: n }, (_, i) => bySigner.get(i + 1)!.sig);
  const lock = buildLock({
    definition: def,
    distributedValidators: dvs,
    signatureAggregate: aggregateLockSignatures(ordered.map((s) => s.shareSignatureAggregate)),
    nodeSignatures: ordered.map((s) => s.nodeSignature),
  });
  const verdict = await verifyLock(lock);
  if (!verdict.ok) throw new Error(`the assembled lock does not verify: ${verdict.errors.join("; ")}`);

  const dirLock = await acquireDataDirLock(opts.dataDir, "cohort split assemble");
  try {
    if (await exists(path.join(opts.dataDir, FILES.lock))) {
      throw new InputError("data-dir", `--data-dir ${opts.dataDir} already holds ${FILES.lock}`);
    }
    const staging = path.join(opts.dataDir, `.split-staging-${process.pid}`);
    await fsp.rm(staging, { recursive: true, force: true });
    await ensureDir(staging);
    const entries: string[] = [];
    try {
      for (const f of depositDataFiles(lock)) {
        await writeFileAtomic(path.join(staging, f.fileName), f.contents);
        entries.push(f.fileName);
      }
      await writeFileAtomic(path.join(staging, FILES.lock), serializeLock(lock));
      entries.push(FILES.lock);
      for (const e of entries) await fsp.rename(path.join(staging, e), path.join(opts.dataDir, e));
    } finally {
      await fsp.rm(staging, { recursive: true, force: true });
    }
    await fsyncDir(opts.dataDir);
    return { lockHash: toHex(lockHash), written: entries, validators: dvs.map((dv) => toHex(dv.publicKey)) };
  } finally {
    await dirLock.release();
  }
}
