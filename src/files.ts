/**
 * Reading local files the tool is handed (docker config, containers auth files, CA files, the ECR token
 * cache, OCI layout blobs, provenance subjects) without trusting what the path turns out to be: only a
 * regular file is read, checked before it is opened (opening a FIFO blocks until something writes to it), and
 * the size cap holds while reading, not just by `stat` (which reports 0 for `/dev/zero` and for a file still
 * growing).
 *
 * @module
 */

import { ConfigError, TooLargeError } from "./errors.ts";
import { concatBytes } from "./bytes.ts";

/** What a path is, in words, when it is not a regular file. */
export function fileKind(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isSymlink) return "a symbolic link";
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice || info.isBlockDevice) return "a device";
  if (info.isSocket) return "a socket";
  return "not a regular file";
}

/** How {@link readLocalFile} and {@link statRegularFile} judge a path. */
export interface LocalFileOptions {
  /** What the file is, for messages ("docker config", "CA file"). */
  what: string;
  /** Refuse a symbolic link instead of following it (files the tool itself wrote: the token cache). */
  noFollow?: boolean;
  /** The error for a path that is not a regular file (default: a {@link ConfigError}). */
  notRegular?: (kind: string) => Error;
}

/** Options of {@link readLocalFile}. */
export interface ReadLocalOptions extends LocalFileOptions {
  /** Most bytes read. */
  max: number;
  /** The error for a file over `max` (default: a {@link TooLargeError}); `size` when known before reading. */
  tooLarge?: (size?: number) => Error;
}

/** A file's bytes and what `fstat` said about it while it was open. */
export interface LocalFile {
  bytes: Uint8Array;
  info: Deno.FileInfo;
}

/**
 * The file's information, when `path` is a regular file (following symbolic links unless `noFollow`); throws
 * otherwise. Errors of `stat` itself (`Deno.errors.NotFound`, permissions) are passed on as they are.
 *
 * @example
 * ```ts
 * await statRegularFile("/dev/zero", { what: "subject" }); // throws: subject /dev/zero is a device, ...
 * ```
 */
export async function statRegularFile(path: string, opts: LocalFileOptions): Promise<Deno.FileInfo> {
  const info = opts.noFollow ? await Deno.lstat(path) : await Deno.stat(path);
  if (!info.isFile) throw notRegular(path, info, opts);
  return info;
}

function notRegular(path: string, info: Deno.FileInfo, opts: LocalFileOptions): Error {
  const kind = fileKind(info);
  return opts.notRegular?.(kind) ??
    new ConfigError(`${opts.what} ${path} is ${kind}, not a regular file`, { hint: "pass a regular file" });
}

/**
 * Read all of a regular file, refusing more than `max` bytes (by `fstat` first, then while reading). Errors
 * of `stat`/`open` (`Deno.errors.NotFound`, permissions) are passed on as they are.
 *
 * @example
 * ```ts
 * const path = "/home/me/.docker/config.json";
 * const { bytes } = await readLocalFile(path, { max: 4 << 20, what: "docker config" });
 * ```
 */
export async function readLocalFile(path: string, opts: ReadLocalOptions): Promise<LocalFile> {
  const before = await statRegularFile(path, opts);
  const tooLarge = (size?: number) =>
    opts.tooLarge?.(size) ??
      new TooLargeError(
        `${opts.what} ${path} is larger than ${opts.max} bytes${size !== undefined ? ` (${size})` : ""}`,
        { hint: "pass the right file" },
      );
  if (before.size > opts.max) throw tooLarge(before.size);
  const file = await Deno.open(path, { read: true });
  try {
    const info = await file.stat();
    if (!info.isFile) throw notRegular(path, info, opts);
    // Swapped for something else between the check and the open (a race, or a hostile directory).
    if (info.ino !== null && before.ino !== null && (info.ino !== before.ino || info.dev !== before.dev)) {
      throw new ConfigError(`${opts.what} ${path} was replaced while it was being opened`, {
        hint: "try again; if it persists, check who else writes to that directory",
      });
    }
    if (info.size > opts.max) throw tooLarge(info.size);
    // Read to the end, not to the size fstat gave: the file may still grow, and the cap must hold anyway.
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(Math.min(64 * 1024, opts.max + 1));
    let total = 0;
    for (;;) {
      const got = await file.read(buf);
      if (got === null) break;
      total += got;
      if (total > opts.max) throw tooLarge();
      chunks.push(buf.slice(0, got));
    }
    return { bytes: concatBytes(chunks), info };
  } finally {
    file.close();
  }
}
