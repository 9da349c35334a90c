/**
 * Files a tool run owns in a directory it shares with others (a build's output directory): a record, kept in
 * that directory, of the files the run wrote and the digest of each. A later run may replace or remove only
 * files in the record whose content is still what was written; any other file in its way (one it did not
 * write, or one that changed since) stops it before it does anything.
 *
 * The record is a small JSON document:
 *
 * ```json
 * { "recordType": "https://github.com/Vasu77df/ecrimagemetadataextractor/capture-record/v1",
 *   "files": { "build-env.manifest.json": "sha256:...", "build-env.cdx.json": "sha256:..." } }
 * ```
 *
 * A run that replaces files writes the record twice: first with `pending`, the digests the files have before
 * it (name -> digest, where they differ from `files`), then, once every file is in place, without. A run killed
 * between the two leaves each file in its old state or its new one, and a record that accepts both: the next
 * run is not stopped by files this tool wrote.
 *
 * @module
 */

import { digestOf } from "./digest.ts";
import { OwnershipError } from "./errors.ts";
import { isObject } from "./manifest.ts";
import { PROJECT_URL } from "./version.ts";

/** The record's type, so a file that merely has the record's name is not taken for one. */
export const RECORD_TYPE = `${PROJECT_URL}/capture-record/v1`;

/** Largest record read (a record lists a handful of files). */
const MAX_RECORD_BYTES = 1024 * 1024;
/** Largest owned file hashed to check it is unchanged (the largest capture writes is an attached SBOM). */
const MAX_OWNED_BYTES = 128 * 1024 * 1024;

/** File name -> `sha256:<hex>` of the content written. */
export type OwnedFiles = Record<string, string>;

/** What a directory holds of a run's: the record, and the files it lists that are still as written. */
export interface Ownership {
  /** The record's own file name. */
  recordName: string;
  /** The files the record lists (whether or not they still exist), with the digests it accepts for each. */
  recorded: Record<string, string[]>;
  /** The digest of each listed file that exists now (checked to be one the record accepts). */
  present: OwnedFiles;
}

/** A record's content: the files as written, and (after an interrupted run) the digests they had before. */
export interface RecordContent {
  files: OwnedFiles;
  pending: OwnedFiles;
}

function join(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, "")}/${name}`;
}

async function lstat(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new OwnershipError(`cannot inspect ${path}: ${(err as Error).message.split("\n")[0]}`);
  }
}

/** The digest of a regular file's content, read with a cap; undefined when it is not a regular file. */
async function fileDigest(path: string, info: Deno.FileInfo): Promise<string | undefined> {
  if (!info.isFile || info.size > MAX_OWNED_BYTES) return undefined;
  const bytes = await Deno.readFile(path);
  return await digestOf(bytes);
}

/** Which names a run may own: exactly its own file names, nothing a forged record could add. */
export type NamePolicy = (name: string) => boolean;

/**
 * Read and validate the record; undefined when there is none. A file in its place that is not one, or a record
 * listing a name the run would never write (`allowed`), stops: a record is trusted only as far as it could be
 * the tool's.
 */
export async function readRecord(
  dir: string,
  recordName: string,
  allowed: NamePolicy,
): Promise<RecordContent | undefined> {
  const path = join(dir, recordName);
  const info = await lstat(path);
  if (!info) return undefined;
  const notRecord = () =>
    new OwnershipError(`${path} is in the way: it is not a record this tool wrote`, {
      hint: "move it, or choose another name prefix",
    });
  if (!info.isFile || info.size > MAX_RECORD_BYTES) throw notRecord();
  let body: unknown;
  try {
    body = JSON.parse(await Deno.readTextFile(path));
  } catch {
    throw notRecord();
  }
  if (!isObject(body) || body.recordType !== RECORD_TYPE || !isObject(body.files)) throw notRecord();
  if (body.pending !== undefined && !isObject(body.pending)) throw notRecord();
  const list = (from: Record<string, unknown>): OwnedFiles => {
    const out: OwnedFiles = {};
    for (const [name, digest] of Object.entries(from)) {
      if (
        name === recordName || !allowed(name) || typeof digest !== "string" ||
        !/^sha256:[0-9a-f]{64}$/.test(digest)
      ) {
        throw notRecord();
      }
      out[name] = digest;
    }
    return out;
  };
  return { files: list(body.files), pending: list(body.pending ?? {}) };
}

/**
 * Claim `names` (the files this run may write) in `dir`, before anything is fetched: every one that exists must
 * be in the record with its content unchanged, and so must every file the record lists that still exists (a
 * later run may remove it). Throws {@link OwnershipError} naming the first file in the way. `names` may include
 * directory prefixes (`build-env.attached/`): every file under such a directory must be recorded too. The record
 * may list only `names` and what `alsoAllowed` accepts (the files under such a directory).
 *
 * @example
 * ```ts
 * const owned = await claim("out", "build-env.capture.json", ["build-env.manifest.json", "build-env.cdx.json"]);
 * ```
 */
export async function claim(
  dir: string,
  recordName: string,
  names: readonly string[],
  alsoAllowed: NamePolicy = () => false,
): Promise<Ownership> {
  const allowed: NamePolicy = (n) => (!n.endsWith("/") && names.includes(n)) || alsoAllowed(n);
  const record = (await readRecord(dir, recordName, allowed)) ?? { files: {}, pending: {} };
  const recorded: Record<string, string[]> = {};
  for (const part of [record.files, record.pending]) {
    for (const [name, digest] of Object.entries(part)) (recorded[name] ??= []).push(digest);
  }
  const present: OwnedFiles = {};
  const inWay = (name: string, why: string) =>
    new OwnershipError(`${join(dir, name)} is in the way: ${why}; nothing was changed`, {
      hint: "move or remove it, or choose another name prefix",
    });
  const check = async (name: string) => {
    const path = join(dir, name);
    const info = await lstat(path);
    if (!info) return;
    const accepted = Object.hasOwn(recorded, name) ? recorded[name] : undefined;
    if (accepted === undefined) throw inWay(name, "this tool did not write it");
    const digest = await fileDigest(path, info);
    if (digest === undefined || !accepted.includes(digest)) {
      throw inWay(name, "it changed since this tool wrote it");
    }
    present[name] = digest;
  };
  // The record itself was checked by readRecord: it is the tool's or nothing.
  const seen = new Set<string>([recordName]);
  for (const name of [...names, ...Object.keys(recorded)]) {
    if (seen.has(name)) continue;
    seen.add(name);
    if (name.endsWith("/")) {
      const info = await lstat(join(dir, name));
      if (!info) continue;
      if (!info.isDirectory) throw inWay(name.slice(0, -1), "it is not a directory this tool made");
      for await (const e of Deno.readDir(join(dir, name))) {
        const inner = `${name}${e.name}`;
        if (!seen.has(inner)) {
          seen.add(inner);
          await check(inner);
        }
      }
    } else {
      await check(name);
    }
  }
  return { recordName, recorded, present };
}

/**
 * The record of a run that writes `written` (name -> bytes): `bytes`, to write with the files; `pending`, to
 * write alone before them (it also accepts every file as it is now, so a run killed half-way through the
 * renames blocks no later run); and the files of the previous record this run does not write (`stale`, to
 * remove: {@link claim} checked they are the tool's).
 */
export async function nextRecord(
  ownership: Ownership,
  written: { name: string; bytes: Uint8Array }[],
): Promise<{ bytes: Uint8Array; pending: Uint8Array; stale: string[] }> {
  const files: OwnedFiles = {};
  for (const f of [...written].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) {
    files[f.name] = await digestOf(f.bytes);
  }
  const stale = Object.keys(ownership.recorded).filter((n) => !Object.hasOwn(files, n));
  const pending: OwnedFiles = {};
  for (const name of Object.keys(ownership.present).sort()) {
    if (files[name] !== ownership.present[name]) pending[name] = ownership.present[name];
  }
  const encode = (doc: unknown) => new TextEncoder().encode(`${JSON.stringify(doc, null, 2)}\n`);
  return {
    bytes: encode({ recordType: RECORD_TYPE, files }),
    pending: encode({ recordType: RECORD_TYPE, files, pending }),
    stale,
  };
}
