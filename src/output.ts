/**
 * Writing results: atomic file replacement (temporary file in the same directory, then rename), all-or-nothing
 * for sets of files, and complete writes to stdout.
 *
 * @module
 */

import { OutputError } from "./errors.ts";

/**
 * Content handed over in chunks: `write` is called with each in turn and must be done with it when it
 * resolves (the chunks may share one buffer). Only writing happens in it: what can fail otherwise has failed
 * before it is made.
 */
export type ChunkWriter = (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>;

/** What is written: bytes, or bytes made as they are written ({@link ChunkWriter}). */
export type Content = Uint8Array | ChunkWriter;

/** One file to write. */
export interface OutputFile {
  path: string;
  bytes: Content;
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
 * not a directory. A device or FIFO that exists is written to where it is, so its directory does not matter
 * (and `/dev` itself is out of the permissions' reach, `/dev/null` is not).
 */
export async function checkDirectory(path: string): Promise<void> {
  const existing = await Deno.stat(path).catch(() => undefined);
  if (existing && !existing.isFile && !existing.isDirectory) return;
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
 * Fail early, before any network work, when `path` cannot be written as one output file: it is a directory
 * (or ends in `/`, naming one), or its directory is missing or is not a directory ({@link checkDirectory}).
 */
export async function checkOutputFile(path: string): Promise<void> {
  const existing = await Deno.stat(path).catch(() => undefined);
  if (existing?.isDirectory) {
    throw new OutputError(`cannot write ${path}: it is a directory`, {
      hint: "name a file, in it or elsewhere",
    });
  }
  if (path.endsWith("/")) {
    throw new OutputError(`cannot write ${path}: it names a directory (it ends in /)`, {
      hint: "name a file",
    });
  }
  await checkDirectory(path);
}

/**
 * Where the bytes for `path` go. A regular file (or none yet) is replaced atomically; through a symbolic
 * link, the file the link names is (the link stays, as `cp` and editors keep it). A device or FIFO
 * (`/dev/null`, `/dev/stdout`, a pipe) is written to directly: renaming a file over it would replace the
 * device node with a regular file (as root, `/dev/null` itself) and print nothing.
 */
type Target =
  | { kind: "file"; path: string; shown: string; mode?: number }
  | { kind: "stream"; path: string; shown: string };

async function targetOf(path: string): Promise<Target> {
  let info: Deno.FileInfo | undefined;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (info?.isDirectory) throw new OutputError(`cannot write ${path}: it is a directory`);
  if (info && !info.isFile) return { kind: "stream", path, shown: path };
  const link = await Deno.lstat(path).catch(() => undefined);
  if (!link?.isSymlink) return { kind: "file", path, shown: path, mode: info?.mode ?? undefined };
  // A dangling link names the file to create, relative to the link's own directory.
  const real = info
    ? await Deno.realPath(path)
    : await Deno.readLink(path).then((to) => to.startsWith("/") ? to : `${dirname(path)}/${to}`);
  return { kind: "file", path: real, shown: path, mode: info?.mode ?? undefined };
}

/** An error of a {@link ChunkWriter}'s own, not of writing: reported as it is, not as a write failure. */
class ContentFailure {
  constructor(readonly cause: unknown) {}
}

/** Write all of `content` to `file`. */
async function writeAll(file: Deno.FsFile, content: Content): Promise<void> {
  let failed: unknown;
  const write = async (bytes: Uint8Array) => {
    try {
      let off = 0;
      while (off < bytes.byteLength) off += await file.write(bytes.subarray(off));
    } catch (err) {
      failed = err;
      throw err;
    }
  };
  if (content instanceof Uint8Array) return await write(content);
  try {
    await content(write);
  } catch (err) {
    throw err === failed ? err : new ContentFailure(err);
  }
}

/**
 * Write several files so that either all of them are replaced or none is: every file goes to a temporary
 * file beside its target first; only when all are written and flushed are they renamed into place. The old
 * versions are kept aside until then, so a rename that fails half-way puts every file back as it was. Files
 * named in `remove` (stale outputs of an earlier run) are deleted in the same step. A symbolic link is kept
 * and the file it names replaced; devices and FIFOs are written to directly, last (they cannot be put back).
 *
 * @example
 * ```ts
 * await writeFilesAtomic([{ path: "out/sbom.cdx.json", bytes }, { path: "out/config.json", bytes: config }]);
 * ```
 */
export async function writeFilesAtomic(files: OutputFile[], remove: string[] = []): Promise<void> {
  for (const f of files) await checkDirectory(f.path);
  const temps: { tmp: string; path: string; shown: string }[] = [];
  const streams: { path: string; bytes: Content }[] = [];
  const backups = new Map<string, string>();
  const done: string[] = [];
  const removed: string[] = [];
  const aside = (path: string, kind: string) =>
    `${dirname(path)}/.${path.split("/").pop()}.${crypto.randomUUID().slice(0, 8)}.${kind}`;
  let current = files.at(-1)?.path ?? "output";
  try {
    for (const f of files) {
      current = f.path;
      const target = await targetOf(f.path);
      if (target.kind === "stream") {
        streams.push({ path: target.path, bytes: f.bytes });
        continue;
      }
      if (target.path !== f.path) await checkDirectory(target.path);
      const tmp = aside(target.path, "tmp");
      temps.push({ tmp, path: target.path, shown: f.path });
      // Replacing a file keeps its permissions: a file the user made private (an SBOM with --include-env may
      // hold secrets) must not become world-readable because the new content arrived through a new inode. The
      // temporary file is created with those permissions, never wider for even a moment (umask can only
      // narrow them; chmod then sets them exactly).
      const mode = target.mode !== undefined ? target.mode & 0o777 : 0o644;
      const file = await Deno.open(tmp, { write: true, createNew: true, mode });
      try {
        if (target.mode !== undefined) await Deno.chmod(tmp, mode);
        await writeAll(file, f.bytes);
        await file.sync();
      } finally {
        file.close();
      }
    }
    for (const path of [...temps.map((t) => t.path), ...remove]) {
      current = path;
      const info = await Deno.stat(path).catch(() => undefined);
      if (info?.isDirectory) throw new OutputError(`cannot write ${path}: it is a directory`);
      if (info?.isFile) {
        const backup = aside(path, "bak");
        await Deno.copyFile(path, backup);
        backups.set(path, backup);
      }
    }
    for (const t of temps) {
      current = t.shown;
      await Deno.rename(t.tmp, t.path);
      done.push(t.path);
    }
    for (const path of remove) {
      if (!backups.has(path)) continue;
      current = path;
      await Deno.remove(path);
      removed.push(path);
    }
    for (const s of streams) {
      current = s.path;
      const file = await Deno.open(s.path, { write: true });
      try {
        await writeAll(file, s.bytes);
      } finally {
        file.close();
      }
    }
  } catch (err) {
    for (const path of [...done, ...removed]) {
      const backup = backups.get(path);
      if (backup) await Deno.rename(backup, path).catch(() => {});
      else await Deno.remove(path).catch(() => {});
    }
    for (const t of temps) await Deno.remove(t.tmp).catch(() => {});
    if (err instanceof ContentFailure) throw err.cause;
    if (err instanceof OutputError) throw err;
    throw new OutputError(`cannot write ${current}: ${(err as Error).message.split("\n")[0]}`, {
      hint: "check the directory's permissions and free space; existing files were left unchanged",
    });
  } finally {
    for (const backup of backups.values()) await Deno.remove(backup).catch(() => {});
  }
}

/** Write one file atomically. */
export function writeFileAtomic(path: string, bytes: Content): Promise<void> {
  return writeFilesAtomic([{ path, bytes }]);
}

/** Write all of `bytes` to stdout. */
export async function writeStdout(bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.byteLength) off += await Deno.stdout.write(bytes.subarray(off));
}
