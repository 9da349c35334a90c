/**
 * Manifests and blobs over the distribution API, as an {@link ImageSource}: the Accept header, digest and
 * size verification of every body, size caps, and HTTP statuses turned into typed errors.
 *
 * @module
 */

import { digestOf, verifyDigest, verifySize } from "../digest.ts";
import {
  AuthError,
  DigestMismatchError,
  ForbiddenError,
  NetworkError,
  NotFoundError,
  TooLargeError,
  ToolError,
} from "../errors.ts";
import type { Blob, Descriptor, ImageOrigin } from "../image.ts";
import { MANIFEST_ACCEPT, MAX_MANIFEST_BYTES } from "../manifest.ts";
import { manifestReference, type Reference } from "../reference.ts";
import type { ImageSource } from "../source.ts";
import { readCapped } from "./transport/body.ts";
import { type Fetcher, networkError } from "./transport/fetcher.ts";

/** How to reach the registry. */
export interface RegistryEndpoint {
  /** Base URL, `https://host[:port]` (or the mapped endpoint). */
  baseUrl: string;
}

/** Largest error body read for its message. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * Reads one repository of one registry.
 *
 * @example
 * ```ts
 * await using source = new RegistrySource(parseReference("alpine"), { baseUrl: "https://registry-1.docker.io" }, fetcher, "alpine");
 * const top = await source.manifest();
 * ```
 */
export class RegistrySource implements ImageSource {
  readonly origin: ImageOrigin;

  private readonly signal?: AbortSignal;
  private readonly log?: (line: string) => void;
  private readonly dispose?: () => void;

  constructor(
    private readonly ref: Reference,
    private readonly endpoint: RegistryEndpoint,
    private readonly fetcher: Fetcher,
    input: string,
    opts: { signal?: AbortSignal; log?: (line: string) => void; dispose?: () => void } = {},
  ) {
    this.signal = opts.signal;
    this.log = opts.log;
    this.dispose = opts.dispose;
    this.origin = { kind: "registry", input, registry: ref.registry, repository: ref.repository };
    if (ref.tag) this.origin.tag = ref.tag;
    if (ref.digest) this.origin.digest = ref.digest;
  }

  /** Release the connection pool. */
  [Symbol.asyncDispose](): Promise<void> {
    this.dispose?.();
    return Promise.resolve();
  }

  private url(kind: "manifests" | "blobs", reference: string): string {
    return `${this.endpoint.baseUrl}/v2/${this.ref.repository}/${kind}/${reference}`;
  }

  async manifest(descriptor?: Descriptor): Promise<Blob> {
    const reference = descriptor?.digest ?? manifestReference(this.ref);
    const what = `manifest ${this.ref.repository}:${reference}`;
    const res = await this.get(this.url("manifests", reference), MANIFEST_ACCEPT.join(", "), what);
    const bytes = await this.read(res, MAX_MANIFEST_BYTES, "manifest");
    const digest = await digestOf(bytes);
    if (descriptor) {
      verifySize(bytes, descriptor.size, what);
      await verifyDigest(bytes, descriptor.digest, what);
    } else if (this.ref.digest) {
      await verifyDigest(bytes, this.ref.digest, what);
    }
    const served = res.headers.get("docker-content-digest")?.trim();
    if (served) await verifyDigest(bytes, served, what, "the registry's Docker-Content-Digest");
    else if (!descriptor && !this.ref.digest) {
      // Nothing to check a tag's manifest against; say so, and pin the digest for the next run.
      this.log?.(`warning: ${what} came without Docker-Content-Digest; pin it as @${digest} to verify it`);
    }
    const mediaType = (res.headers.get("content-type") ?? descriptor?.mediaType ?? "").split(";")[0].trim();
    return { bytes, digest, mediaType };
  }

  async blob(descriptor: Descriptor, maxBytes: number): Promise<Blob> {
    const what = `blob ${descriptor.digest} of ${this.ref.repository}`;
    if (descriptor.size > maxBytes) {
      throw new TooLargeError(
        `${what} is ${descriptor.size} bytes, over the ${maxBytes}-byte limit for configs`,
      );
    }
    const res = await this.get(this.url("blobs", descriptor.digest), "*/*", what);
    const bytes = await this.read(res, Math.min(maxBytes, descriptor.size), "config blob", descriptor.size);
    verifySize(bytes, descriptor.size, what);
    await verifyDigest(bytes, descriptor.digest, what);
    return { bytes, digest: descriptor.digest, mediaType: descriptor.mediaType };
  }

  private async read(res: Response, max: number, what: string, expected?: number): Promise<Uint8Array> {
    try {
      return await readCapped(res, max, what);
    } catch (err) {
      if (err instanceof ToolError) {
        if (expected !== undefined && err.name === "TooLargeError") {
          throw new DigestMismatchError(`${what} is longer than the descriptor's size ${expected}`, {
            hint: "the registry served different bytes; nothing was written",
          });
        }
        throw err;
      }
      throw networkError(err, res.url || this.endpoint.baseUrl, this.signal);
    }
  }

  private async get(url: string, accept: string, what: string): Promise<Response> {
    const res = await this.fetcher(new Request(url, { headers: { accept } }));
    if (res.ok) return res;
    const body = await readCapped(res, MAX_ERROR_BODY, "error body").catch(() => new Uint8Array());
    const detail = registryErrorText(body);
    const registry = this.ref.registry;
    switch (res.status) {
      case 404:
        throw new NotFoundError(`${what} not found on ${registry}${detail ? ` (${detail})` : ""}`, {
          hint: "check the repository name and tag, and that the image was pushed to this registry",
        });
      case 401:
        throw new AuthError(`unauthorized to read ${what} from ${registry}${detail ? ` (${detail})` : ""}`, {
          hint: "check your credentials (docker login)",
        });
      case 403:
        throw new ForbiddenError(
          `access to ${what} on ${registry} is forbidden${detail ? ` (${detail})` : ""}`,
          {
            hint: "the credentials are valid but lack permission to pull this repository",
          },
        );
      case 400:
        // Go's TLS servers (Distribution among them) answer plain HTTP on a TLS port with this 400.
        if (/HTTP request to an HTTPS server/i.test(new TextDecoder().decode(body))) {
          throw new NetworkError(`${registry} speaks TLS (HTTPS), but the request was plain HTTP`, {
            hint: "talk HTTPS to it",
            advice: "speaks-tls",
            failure: "protocol",
          });
        }
      // falls through
      default:
        throw new NetworkError(
          `${registry} answered ${res.status} for ${what}${detail ? ` (${detail})` : ""}`,
          {
            hint: res.status >= 500
              ? "the registry is failing; try again later"
              : "check the request and registry",
          },
        );
    }
  }
}

/**
 * The first `errors[]` entry of a distribution error body as `CODE: message`, if there is one. The text is as
 * the registry sent it (the body is capped at {@link MAX_ERROR_BODY}): neither folded nor cut here, so that a
 * secret the registry echoes is still whole when the CLI redacts it, before it escapes and caps the line.
 */
export function registryErrorText(body: Uint8Array): string | undefined {
  try {
    const j = JSON.parse(new TextDecoder().decode(body));
    const e = Array.isArray(j?.errors) ? j.errors[0] : undefined;
    if (e && typeof e.code === "string") {
      const msg = typeof e.message === "string" ? e.message : "";
      return `${e.code}${msg ? `: ${msg}` : ""}`;
    }
  } catch {
    // Not a distribution error body; the status says enough.
  }
  return undefined;
}
