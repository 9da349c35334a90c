/**
 * Reading response bodies with a cap: the stream is read chunk by chunk and abandoned the moment it passes
 * the limit, so a hostile server can never make the tool buffer more than that.
 *
 * @module
 */

import { TooLargeError } from "../../errors.ts";

/**
 * Read all of `res`'s body, refusing more than `max` bytes (checked against `Content-Length` first, then
 * while reading).
 *
 * @example
 * ```ts
 * const bytes = await readCapped(res, 4 * 1024 * 1024, "manifest");
 * ```
 */
export async function readCapped(res: Response, max: number, what: string): Promise<Uint8Array> {
  const declared = res.headers.get("content-length");
  if (declared && /^\d+$/.test(declared) && Number(declared) > max) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge(what, max, Number(declared));
  }
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) {
        await reader.cancel().catch(() => {});
        throw tooLarge(what, max);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
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
