/**
 * Reading response bodies with a cap, so a hostile server can never make the tool buffer more than that: a
 * declared length over the cap is refused before reading; a body of a declared length within the cap, not
 * compressed, is read whole (HTTP's framing ends it there); any other body is read chunk by chunk and
 * abandoned the moment it passes the limit.
 *
 * @module
 */

import { TooLargeError } from "../../errors.ts";
import { concatBytes } from "../../bytes.ts";
import { bodyReader, wholeBody } from "./resume.ts";

/**
 * Read all of `res`'s body, refusing more than `max` bytes (checked against `Content-Length` first, then
 * while reading). With `exact`, `max` is the size the caller expects (a descriptor's): the buffer is
 * allocated once at that size and filled in place, so a large blob costs its size in memory, not twice that.
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
  if (length !== undefined && res.headers.get("content-encoding") === null) {
    // A declared length within the cap, and no content coding: HTTP's framing ends the body there, so the
    // runtime may read it whole, in one step (for a 2 MiB document, half the time of reading it chunk by
    // chunk). A compressed body's declared length says nothing of what it decodes to: it is read below.
    const bytes = await wholeBody(res);
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

function tooLarge(what: string, max: number, declared?: number): TooLargeError {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) ? 1 : 0)} MiB`;
  return new TooLargeError(
    `${what} is larger than the ${mib(max)} limit${
      declared !== undefined ? ` (declared ${declared} bytes)` : ""
    }`,
    { hint: "the registry served something that is not a normal manifest or config; nothing was written" },
  );
}
