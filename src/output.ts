/**
 * Writing results: atomic file replacement (temporary file in the same directory, then rename), all-or-nothing
 * for sets of files, and complete writes to stdout.
 *
 * @module
 */

import { OutputError } from "./errors.ts";

/** One file to write. */
export interface OutputFile {
  path: string;
  bytes: Uint8Array;
}

/**
 * The directory part of a path, as POSIX `dirname` has it (`.` for a bare name, `/` for the root). node:path
 * would do, but its polyfill costs about 5 ms of start-up, before the first request.
 *
 * @example
 * ```ts
 * dirname("out/os.img"); // "out"
 * ```
 */
export function dirname(path: string): string {
  if (path === "") return ".";
  const trimmed = path.replace(/(?<=.)\/+$/, "");
  const i = trimmed.lastIndexOf("/");
  if (i < 0) return ".";
  if (i === 0) return "/";
  return trimmed.slice(0, i).replace(/(?<=.)\/+$/, "");
}

/**
 * Fail early, before any network work, when `path` cannot be an output file: its directory is missing or is
 * not a directory.
 */
export async function checkDirectory(path: string): Promise<void> {
  const dir = dirname(path);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new OutputError(`cannot write ${path}: directory ${dir} does not exist`, {
        hint: "create it first (mkdir -p) or choose another path",
      });
    }
    throw new OutputError(`cannot write ${path}: ${(err as Error).message.split("\n")[0]}`);
  }
  if (!info.isDirectory) throw new OutputError(`cannot write ${path}: ${dir} is not a directory`);
}

/**
 * Write several files so that either all of them are replaced or none is: every file goes to a temporary
 * file beside its target first; only when all are written and flushed are they renamed into place. The old
 * versions are kept aside until then, so a rename that fails half-way puts every file back as it was. Files
 * named in `remove` (stale outputs of an earlier run) are deleted in the same step.
 *
 * @example
 * ```ts
 * await writeFilesAtomic([{ path: "out/sbom.cdx.json", bytes }, { path: "out/config.json", bytes: config }]);
 * ```
 */
export async function writeFilesAtomic(files: OutputFile[], remove: string[] = []): Promise<void> {
  for (const f of files) await checkDirectory(f.path);
  const temps: { tmp: string; path: string }[] = [];
  const backups = new Map<string, string>();
  const done: string[] = [];
  const removed: string[] = [];
  const aside = (path: string, kind: string) =>
    `${dirname(path)}/.${path.split("/").pop()}.${crypto.randomUUID().slice(0, 8)}.${kind}`;
  try {
    for (const f of files) {
      const tmp = aside(f.path, "tmp");
      temps.push({ tmp, path: f.path });
      // Replacing a file keeps its permissions: a file the user made private (an SBOM with --include-env may
      // hold secrets) must not become world-readable because the new content arrived through a new inode.
      const existing = await Deno.stat(f.path).catch(() => undefined);
      const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
      try {
        if (existing?.isFile && existing.mode !== null) await Deno.chmod(tmp, existing.mode & 0o777);
        let off = 0;
        while (off < f.bytes.byteLength) off += await file.write(f.bytes.subarray(off));
        await file.sync();
      } finally {
        file.close();
      }
    }
    for (const path of [...temps.map((t) => t.path), ...remove]) {
      const info = await Deno.stat(path).catch(() => undefined);
      if (info?.isDirectory) throw new OutputError(`cannot write ${path}: it is a directory`);
      if (info?.isFile) {
        const backup = aside(path, "bak");
        await Deno.copyFile(path, backup);
        backups.set(path, backup);
      }
    }
    for (const t of temps) {
      await Deno.rename(t.tmp, t.path);
      done.push(t.path);
    }
    for (const path of remove) {
      if (!backups.has(path)) continue;
      await Deno.remove(path);
      removed.push(path);
    }
  } catch (err) {
    for (const path of [...done, ...removed]) {
      const backup = backups.get(path);
      if (backup) await Deno.rename(backup, path).catch(() => {});
      else await Deno.remove(path).catch(() => {});
    }
    for (const t of temps) await Deno.remove(t.tmp).catch(() => {});
    if (err instanceof OutputError) throw err;
    throw new OutputError(
      `cannot write ${temps.at(-1)?.path ?? "output"}: ${(err as Error).message.split("\n")[0]}`,
      {
        hint: "check the directory's permissions and free space; existing files were left unchanged",
      },
    );
  } finally {
    for (const backup of backups.values()) await Deno.remove(backup).catch(() => {});
  }
}

/** Write one file atomically. */
export function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  return writeFilesAtomic([{ path, bytes }]);
}

/** Write all of `bytes` to stdout. */
export async function writeStdout(bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.byteLength) off += await Deno.stdout.write(bytes.subarray(off));
}
