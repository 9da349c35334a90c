/**
 * Output paths against input paths, before any request: a run must never write over an artifact it is asked to
 * describe (it would hash one file and then replace it with its own output).
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/** The canonical absolute form of a path that may not exist yet: its directory's real path and its name. */
export async function canonicalPath(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    const i = path.lastIndexOf("/");
    const dir = i <= 0 ? (i === 0 ? "/" : ".") : path.slice(0, i);
    try {
      return `${(await Deno.realPath(dir)).replace(/\/$/, "")}/${path.slice(i + 1)}`;
    } catch {
      return path;
    }
  }
}

/**
 * Throw a usage error when a subject (`given` as the user wrote it, `resolved` against the working directory)
 * is one of `outputs`, compared by canonical path (symbolic links and `..` followed).
 */
export async function refuseSubjectsAmongOutputs(
  given: readonly string[],
  resolved: readonly string[],
  outputs: readonly { path: string; shown: string }[],
  what: string,
  hint: string,
): Promise<void> {
  if (!resolved.length || !outputs.length) return;
  const byPath = new Map(
    await Promise.all(outputs.map(async (o) => [await canonicalPath(o.path), o.shown] as const)),
  );
  for (const [i, subject] of resolved.entries()) {
    const hit = byPath.get(await canonicalPath(subject));
    if (hit) throw new UsageError(`--subject ${given[i]} is also ${what} (${hit})`, { hint });
  }
}
