/**
 * Bodies that survive a connection breaking off mid-way: the request is sent again and reading goes on from
 * where it stopped, when the new answer is provably the same representation.
 *
 * @module
 */

import { networkError } from "./fetcher.ts";

/** Headers that identify a representation. */
const VALIDATORS = ["etag", "docker-content-digest"];

/** Same status, same declared length, and the same ETag or Docker-Content-Digest: the same bytes. */
export function sameRepresentation(a: Response, b: Response): boolean {
  if (a.status !== b.status || a.headers.get("content-length") !== b.headers.get("content-length")) {
    return false;
  }
  return VALIDATORS.some((h) => a.headers.get(h) !== null && a.headers.get(h) === b.headers.get(h));
}

/** How the body of a response the transport made resumable goes on after a break: see {@link markResumable}. */
interface Resumer {
  /** The request's URL, for the error when the new answer has no body. */
  url: string;
  /** Send the request again; resolves to the new answer, provably the same representation, or throws. */
  resend: (first: Response, cause: unknown) => Promise<Response>;
}

const RESUMERS = new WeakMap<Response, Resumer>();

/**
 * Make `res`'s body survive a connection breaking off mid-way, for whoever reads it with {@link bodyReader}:
 * on a read error the request is sent again (`resend`, which spends the same retry budget and respects the
 * deadline), the bytes already handed to the reader are skipped in the new body, and reading goes on. The
 * consumer's own size caps still apply chunk by chunk. Only for GET/HEAD answers with a Content-Length and a
 * validator (ETag or Docker-Content-Digest), so a resumed body is provably the same representation. `res`
 * itself is left as it is: its body stays the runtime's own stream (a second stream in front of it cost
 * 10 ms of a 2 MiB read), and only a break takes the slow path.
 */
export function markResumable(
  req: Request,
  res: Response,
  resend: (first: Response, cause: unknown) => Promise<Response>,
): void {
  if (!res.body || !res.ok || (req.method !== "GET" && req.method !== "HEAD")) return;
  if (!res.headers.get("content-length") || !VALIDATORS.some((h) => res.headers.get(h) !== null)) return;
  RESUMERS.set(res, { url: req.url, resend });
}

/** What {@link bodyReader} gives: the part of a stream reader that reading a body needs. */
export interface BodyReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
  releaseLock(): void;
}

/**
 * A reader of `res`'s body (which must have one). For a response {@link markResumable} marked, a read
 * that fails is resumed from a new answer, the bytes already read skipped; for any other, the body's own
 * reader.
 *
 * @example
 * ```ts
 * const reader = bodyReader(res);
 * for (let r = await reader.read(); !r.done; r = await reader.read()) total += r.value.byteLength;
 * ```
 */
export function bodyReader(res: Response): BodyReader {
  let reader = res.body!.getReader();
  const resumer = RESUMERS.get(res);
  if (!resumer) return reader;
  let delivered = 0;
  let skip = 0;
  return {
    async read() {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (err) {
          reader.releaseLock();
          const again = await resumer.resend(res, err);
          if (!again.body) throw networkError(err, resumer.url);
          reader = again.body.getReader();
          skip = delivered;
          continue;
        }
        // A resumed body that ends before the point where the first broke off is short: the reader's size and
        // digest checks report it.
        if (chunk.done) return chunk;
        let bytes = chunk.value;
        if (skip > 0) {
          const n = Math.min(skip, bytes.byteLength);
          skip -= n;
          bytes = bytes.subarray(n);
          if (bytes.byteLength === 0) continue;
        }
        delivered += bytes.byteLength;
        return { done: false, value: bytes };
      }
    },
    cancel: (reason) => reader.cancel(reason),
    releaseLock: () => reader.releaseLock(),
  };
}

/**
 * All of `res`'s body, read by the runtime in one step: only for a body whose length bounds it (`framed`
 * says, see `readCapped`). For a response {@link markResumable} marked, a body that breaks off is read again,
 * whole, from a new answer that is provably the same representation and framed the same way (else the break
 * is the error).
 *
 * @example
 * ```ts
 * const bytes = await wholeBody(res, (r) => r.headers.get("transfer-encoding") === null);
 * ```
 */
export async function wholeBody(res: Response, framed: (res: Response) => boolean): Promise<Uint8Array> {
  const resumer = RESUMERS.get(res);
  for (let current = res;;) {
    try {
      return await current.bytes();
    } catch (err) {
      if (!resumer) throw err;
      current = await resent(res, resumer, err, framed);
    }
  }
}

/**
 * The answer `resumer` sends again after `err` broke `res`'s body off, when `fit` says its body can be read
 * as the first's was; else the break is the error (the new body cancelled).
 */
async function resent(
  res: Response,
  resumer: Resumer,
  err: unknown,
  fit: (again: Response) => boolean,
): Promise<Response> {
  const again = await resumer.resend(res, err);
  if (again.body && fit(again)) return again;
  await again.body?.cancel().catch(() => {});
  throw networkError(err, resumer.url);
}

/** Whether `stream` is a byte stream, which {@link readInto} reads (the runtime's bodies are). */
export function isByteStream(stream: ReadableStream<Uint8Array>): boolean {
  try {
    stream.getReader({ mode: "byob" }).releaseLock();
    return true;
  } catch {
    return false;
  }
}

/**
 * `res`'s body (a byte stream: see {@link isByteStream}) read into one buffer of `size` bytes, by the
 * runtime itself, chunk after chunk, with no chunk copied: the bytes (fewer when the body is shorter), or
 * `undefined` when it is longer (reading stopped at the first byte past `size`, the body cancelled). For a
 * response {@link markResumable} marked, a body that breaks off is read again from its start, into a new
 * buffer, from a new answer that is provably the same representation; the new answer, whatever its framing,
 * is read no further than `size` and one byte either.
 *
 * @example
 * ```ts
 * const bytes = await readInto(res, descriptor.size); // undefined: longer than the descriptor says
 * ```
 */
export async function readInto(res: Response, size: number): Promise<Uint8Array | undefined> {
  const resumer = RESUMERS.get(res);
  // Each read hands the buffer to the runtime and gives it back as the value's.
  let buffer = new ArrayBuffer(size);
  for (let current = res;;) {
    const reader = current.body!.getReader({ mode: "byob" });
    try {
      let filled = 0;
      while (filled < size) {
        const { done, value } = await reader.read(new Uint8Array(buffer, filled, size - filled));
        if (!value) throw new TypeError("the body was cancelled while it was read");
        buffer = value.buffer as ArrayBuffer;
        if (done) return new Uint8Array(buffer, 0, filled);
        filled += value.byteLength;
      }
      if ((await reader.read(new Uint8Array(1))).done) return new Uint8Array(buffer);
      await reader.cancel().catch(() => {});
      return undefined;
    } catch (err) {
      reader.releaseLock();
      if (!resumer) throw err;
      // The buffer went to the read that failed, and is not given back: the next answer is read into another.
      buffer = new ArrayBuffer(size);
      current = await resent(res, resumer, err, (again) => isByteStream(again.body!));
    }
  }
}
