/**
 * Provenance subjects: the sha256 of build outputs, hashed from disk with constant memory.
 *
 * A subject's name is the file's basename (the in-toto convention for artifacts that sit beside each other, and
 * independent of the directory the build ran in); two subjects with the same basename are a usage error.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { basename } from "node:path";
import { ConfigError, UsageError } from "./errors.ts";
import { fileKind, statRegularFile } from "./files.ts";
import type { Subject } from "./image.ts";

export type { Subject } from "./image.ts";

/** Read size: large reads into one reused buffer hash a 1 GiB file ~4x faster than the 64 KiB stream chunks. */
const CHUNK = 4 * 1024 * 1024;

/** sha256 (hex) and size of one file, read in {@link CHUNK}-byte pieces into a reused buffer. */
export async function hashFile(path: string, buffer: Uint8Array = new Uint8Array(CHUNK)): Promise<
  { hex: string; size: number }
> {
  // Checked before opening: opening a FIFO blocks, and a device (`/dev/zero`) never ends.
  const notRegular = (kind: string) =>
    new ConfigError(`subject "${path}" is ${kind}, not a regular file`, {
      hint: "name the artifact file itself",
    });
  let file: Deno.FsFile;
  try {
    await statRegularFile(path, { what: "subject", notRegular });
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot read subject file "${path}": ${reason(err)}`, { cause: err });
  }
  try {
    const info = await file.stat();
    if (!info.isFile) throw notRegular(fileKind(info));
    const hash = createHash("sha256");
    let size = 0;
    for (;;) {
      const n = await file.read(buffer);
      if (n === null) break;
      hash.update(n === buffer.byteLength ? buffer : buffer.subarray(0, n));
      size += n;
    }
    return { hex: hash.digest("hex"), size };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot read subject file "${path}": ${reason(err)}`, { cause: err });
  } finally {
    file.close();
  }
}

/**
 * Hash each file (one after the other, one 4 MiB buffer in all) into in-toto subjects named by basename, in
 * the order given. Throws {@link ConfigError} naming the path for a missing, unreadable or directory path and
 * {@link UsageError} when two paths share a basename.
 *
 * @example
 * ```ts
 * await hashSubjects(["dist/os.img"]); // [{ name: "os.img", digest: { sha256: "..." } }]
 * ```
 */
export async function hashSubjects(paths: string[]): Promise<Subject[]> {
  const seen = new Map<string, string>();
  for (const path of paths) {
    const name = basename(path);
    const other = seen.get(name);
    if (other !== undefined) {
      throw new UsageError(`subjects "${other}" and "${path}" have the same name "${name}"`, {
        hint: "subjects are named by basename; give each subject file a distinct name",
        advice: "subject-names",
      });
    }
    seen.set(name, path);
  }
  const buffer = new Uint8Array(CHUNK);
  const out: Subject[] = [];
  for (const path of paths) {
    const { hex } = await hashFile(path, buffer);
    out.push({ name: basename(path), digest: { sha256: hex } });
  }
  return out;
}

function reason(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "no such file";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.IsADirectory) return "is a directory";
  if (err instanceof Deno.errors.NotCapable) return "read access not granted to the tool";
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0].replace(/,? (open|read) '.*'$/, "").slice(0, 160);
}
