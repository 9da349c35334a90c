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

/**
 * `res`, with a body that survives a connection breaking off mid-way: on a read error the request is sent
 * again (`resend`, which spends the same retry budget and respects the deadline), the bytes already handed
 * to the reader are skipped in the new body, and reading goes on. The consumer's own size caps still apply
 * chunk by chunk. Only for GET/HEAD answers with a Content-Length and a validator (ETag or
 * Docker-Content-Digest), so a resumed body is provably the same representation; anything else is returned
 * unchanged.
 */
export function resumableBody(
  req: Request,
  res: Response,
  resend: (first: Response, cause: unknown) => Promise<Response>,
): Response {
  if (!res.body || !res.ok || (req.method !== "GET" && req.method !== "HEAD")) return res;
  if (!res.headers.get("content-length") || !VALIDATORS.some((h) => res.headers.get(h) !== null)) return res;
  let reader = res.body.getReader();
  let delivered = 0;
  let skip = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (err) {
          reader.releaseLock();
          const again = await resend(res, err);
          if (!again.body) throw networkError(err, req.url);
          reader = again.body.getReader();
          skip = delivered;
          continue;
        }
        if (chunk.done) {
          // A resumed body that ends before the point where the first broke off is short: the reader's size
          // and digest checks report it.
          controller.close();
          return;
        }
        let bytes = chunk.value;
        if (skip > 0) {
          const n = Math.min(skip, bytes.byteLength);
          skip -= n;
          bytes = bytes.subarray(n);
          if (bytes.byteLength === 0) continue;
        }
        delivered += bytes.byteLength;
        controller.enqueue(bytes);
        return;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}
