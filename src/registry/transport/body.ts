/**
 * Reading response bodies with a cap, so a hostile server can never make the tool buffer more than that: a
 * declared length over the cap is refused before reading; a body whose size the caller knows (a descriptor's)
 * is read straight into a buffer of that size, and abandoned at the first byte past it; a body of a declared
 * length within the cap that HTTP's framing ends there (no `Transfer-Encoding`, not compressed) is read whole;
 * any other body is read chunk by chunk and abandoned the moment it passes the limit.
 *
 * @module
 */

import { TooLargeError } from "../../errors.ts";
import { concatBytes } from "../../bytes.ts";
import { bodyReader, isByteStream, readInto, wholeBody } from "./resume.ts";

/**
 * Read all of `res`'s body, refusing more than `max` bytes (checked against `Content-Length` first, then
 * while reading). With `exact`, `max` is the size the caller expects (a descriptor's): the buffer is
 * allocated once at that size and the runtime reads into it (a byte stream, as its bodies are; else it is
 * filled chunk by chunk), so a large blob costs its size in memory, not twice that.
 *
 * @example
 * ```ts
 * const bytes = await readCapped(res, 4 * 1024 * 1024, "manifest");
 * const blob = await readCapped(res, descriptor.size, "attached document", { exact: true });
 * ```
 */
export async function readCapped(
  res: Response,
  max: number,
  what: string,
  opts: { exact?: boolean } = {},
): Promise<Uint8Array> {
  const declared = res.headers.get("content-length");
  const length = declared && /^\d+$/.test(declared) ? Number(declared) : undefined;
  if (length !== undefined && length > max) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge(what, max, length);
  }
  if (!res.body) return new Uint8Array(0);
  if (opts.exact && isByteStream(res.body)) {
    // The size is known: the runtime reads the body straight into one buffer of that size (for a 2 MiB
    // document, a quarter less time and a third less memory than reading it whole), whatever its framing.
    const bytes = await readInto(res, max);
    if (!bytes) throw tooLarge(what, max);
    return bytes;
  }
  if (length !== undefined && framedByLength(res)) {
    // A declared length within the cap, framing the body: the runtime may read it whole, in one step (for a
    // 2 MiB document, half the time of reading it chunk by chunk).
    const bytes = await wholeBody(res, framedByLength);
    if (bytes.byteLength > max) throw tooLarge(what, max);
    return bytes;
  }
  const chunks: Uint8Array[] = [];
  const buffer = opts.exact ? new Uint8Array(max) : undefined;
  let total = 0;
  // Resumed after a break when the transport made the body resumable (resume.ts).
  const reader = bodyReader(res);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (total + value.byteLength > max) {
        await reader.cancel().catch(() => {});
        throw tooLarge(what, max);
      }
      if (buffer) buffer.set(value, total);
      else chunks.push(value);
      total += value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  if (buffer) return total === max ? buffer : buffer.subarray(0, total);
  return concatBytes(chunks);
}

/**
 * Whether HTTP's framing ends `res`'s body at its declared length, so that reading it whole reads no more:
 * a `Content-Length` and no `Transfer-Encoding` (which frames the body by chunks, or until the connection
 * closes, whatever the length says) and no `Content-Encoding` (the runtime hands over the decoded body, of a
 * size the length says nothing of).
 */
function framedByLength(res: Response): boolean {
  return res.headers.get("content-length") !== null && res.headers.get("transfer-encoding") === null &&
    res.headers.get("content-encoding") === null;
}

function tooLarge(what: string, max: number, declared?: number): TooLargeError {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) ? 1 : 0)} MiB`;
  return new TooLargeError(
    `${what} is larger than the ${mib(max)} limit${
      declared !== undefined ? ` (declared ${declared} bytes)` : ""
    }`,
    { hint: "the registry served something that is not a normal manifest or config; nothing was written" },
  );
}
