/**
 * Manifests and blobs over the distribution API, as an {@link ImageSource}: the Accept header, digest and
 * size verification of every body, size caps, and HTTP statuses turned into typed errors.
 *
 * @module
 */

import { digestOf, parseDigest, verifiedUse, verifyDigest, verifySize } from "../digest.ts";
import {
  AuthError,
  DigestMismatchError,
  ForbiddenError,
  ManifestError,
  NetworkError,
  NotFoundError,
  TooLargeError,
  ToolError,
} from "../errors.ts";
import { type Blob, type Descriptor, type ImageOrigin, MediaTypes } from "../image.ts";
import { decodeManifest, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES } from "../manifest.ts";
import { manifestReference, type Reference } from "../reference.ts";
import type { ImageSource, Referrers } from "../source.ts";
import { readCapped } from "./transport/body.ts";
import { type Fetcher, networkError } from "./transport/fetcher.ts";

/** How to reach the registry. */
export interface RegistryEndpoint {
  /** Base URL, `https://host[:port]` (or the mapped endpoint). */
  baseUrl: string;
}

/** Largest error body read for its message. */
const MAX_ERROR_BODY = 64 * 1024;
/** Pages of a referrers list followed (`Link: <...>; rel="next"`); a registry paging for ever is cut off. */
export const MAX_REFERRERS_PAGES = 16;
/**
 * Statuses that mean "no referrers API here". The spec says 404 (a registry with the API never answers 404
 * to it); registries that route unknown endpoints elsewhere answer 405 or 501, and some take `referrers` for
 * part of a repository name and answer 400, which the API itself answers only for a malformed digest (and
 * the digest is checked before the request).
 */
const NO_REFERRERS_API = new Set([400, 404, 405, 501]);

/**
 * The `rel="next"` target of a `Link` header (RFC 8288), resolved against `base`: how a registry pages a
 * referrers list.
 *
 * @example
 * ```ts
 * nextLink('</v2/app/referrers/sha256:0a?n=2>; rel="next"', "https://r.example/v2/app/referrers/sha256:0a");
 * // "https://r.example/v2/app/referrers/sha256:0a?n=2"
 * ```
 */
export function nextLink(header: string | null, base: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel="?(?:[^";]*\s)?next(?:\s[^";]*)?"?\s*(?:;|$)/i.test(m[2])) {
      try {
        return new URL(m[1], base).href;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * Reads one repository of one registry.
 *
 * @example
 * ```ts
 * await using source = new RegistrySource(parseReference("alpine"), { baseUrl: "https://registry-1.docker.io" }, fetcher, "alpine");
 * const top = await source.manifest();
 * ```
 */
/** The decoding of a blob read as it is. */
const noDecoding = (): undefined => undefined;

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

  private url(kind: "manifests" | "blobs" | "referrers", reference: string): string {
    return `${this.endpoint.baseUrl}/v2/${this.ref.repository}/${kind}/${reference}`;
  }

  async manifest(descriptor?: Descriptor): Promise<Blob> {
    const reference = descriptor?.digest ?? manifestReference(this.ref);
    const what = `manifest ${this.ref.repository}:${reference}`;
    const res = await this.get(this.url("manifests", reference), MANIFEST_ACCEPT.join(", "), what);
    return await this.verifiedManifest(res, what, descriptor, this.ref.digest);
  }

  async taggedManifest(tag: string): Promise<Blob | undefined> {
    const what = `manifest ${this.ref.repository}:${tag}`;
    const res = await this.send(this.url("manifests", tag), MANIFEST_ACCEPT.join(", "));
    if (res.status === 404) {
      await res.body?.cancel().catch(() => {});
      return undefined;
    }
    if (!res.ok) throw await this.failure(res, what);
    return await this.verifiedManifest(res, what, undefined, undefined, true);
  }

  /**
   * Read a manifest response and verify it: against the descriptor (or the pinned digest) when there is one,
   * and against `Docker-Content-Digest` when the registry sends it.
   */
  private async verifiedManifest(
    res: Response,
    what: string,
    descriptor: Descriptor | undefined,
    pinned: string | undefined,
    quietTag = false,
  ): Promise<Blob> {
    const bytes = await this.read(res, MAX_MANIFEST_BYTES, "manifest");
    const digest = await digestOf(bytes);
    if (descriptor) {
      verifySize(bytes, descriptor.size, what);
      await verifyDigest(bytes, descriptor.digest, what);
    } else if (pinned) {
      await verifyDigest(bytes, pinned, what);
    }
    const served = res.headers.get("docker-content-digest")?.trim();
    if (served) await verifyDigest(bytes, served, what, "the registry's Docker-Content-Digest");
    else if (!descriptor && !pinned) {
      // Nothing to check a tag's manifest against; say so, and pin the digest for the next run. A referrers
      // or cosign tag cannot be pinned, and what it points to is verified by digest: a debug line is enough.
      this.log?.(
        quietTag
          ? `${what} came without Docker-Content-Digest; what it names is verified by digest`
          : `warning: ${what} came without Docker-Content-Digest; pin it as @${digest} to verify it`,
      );
    }
    const mediaType = (res.headers.get("content-type") ?? descriptor?.mediaType ?? "").split(";")[0].trim();
    return { bytes, digest, mediaType };
  }

  async referrers(digest: string, artifactType?: string): Promise<Referrers | undefined> {
    parseDigest(digest);
    const what = `referrers of ${this.ref.repository}@${digest}`;
    let url = this.url("referrers", digest);
    if (artifactType !== undefined) url += `?artifactType=${encodeURIComponent(artifactType)}`;
    const manifests: Descriptor[] = [];
    let filtered = artifactType !== undefined;
    for (let page = 1;; page++) {
      const res = await this.send(url, MediaTypes.ociIndex);
      if (page === 1 && NO_REFERRERS_API.has(res.status)) {
        await res.body?.cancel().catch(() => {});
        this.log?.(
          `${this.ref.registry} has no referrers API (${res.status}); falling back to the referrers tag`,
        );
        return undefined;
      }
      if (!res.ok) throw await this.failure(res, what);
      const bytes = await this.read(res, MAX_MANIFEST_BYTES, "referrers list");
      const decoded = decodeManifest(bytes, res.headers.get("content-type") ?? MediaTypes.ociIndex);
      if (decoded.kind !== "index") {
        throw new ManifestError(`${what}: the registry answered a manifest, not an index`);
      }
      manifests.push(...decoded.index.manifests);
      // Every page must say it filtered; one that does not leaves the filtering to the caller.
      const applied = (res.headers.get("oci-filters-applied") ?? "").split(",").map((f) => f.trim());
      filtered &&= applied.includes("artifactType");
      const next = nextLink(res.headers.get("link"), res.url || url);
      if (!next) break;
      if (new URL(next).origin !== new URL(url).origin) {
        // Credentials belong to this origin; a list continued elsewhere is not followed.
        this.log?.(`${what}: not following the next page on another origin (${new URL(next).origin})`);
        break;
      }
      if (page >= MAX_REFERRERS_PAGES) {
        this.log?.(`${what}: stopped after ${page} pages`);
        break;
      }
      url = next;
    }
    return { manifests, filtered };
  }

  async blob(descriptor: Descriptor, maxBytes: number, kind = "config"): Promise<Blob> {
    return (await this.decodedBlob(descriptor, maxBytes, kind, noDecoding)).blob;
  }

  async decodedBlob<T>(
    descriptor: Descriptor,
    maxBytes: number,
    kind: string,
    decode: (bytes: Uint8Array) => T,
  ): Promise<{ blob: Blob; decoded: T }> {
    const what = `blob ${descriptor.digest} of ${this.ref.repository}`;
    if (descriptor.size > maxBytes) {
      throw new TooLargeError(
        `${what} is ${descriptor.size} bytes, over the ${maxBytes}-byte limit for ${kind}s`,
      );
    }
    const res = await this.get(this.url("blobs", descriptor.digest), "*/*", what);
    // The descriptor's size is within the cap: read exactly that many bytes into one buffer.
    const bytes = await this.read(res, descriptor.size, `${kind} blob`, descriptor.size);
    verifySize(bytes, descriptor.size, what);
    const decoded = await verifiedUse(bytes, descriptor.digest, what, decode);
    return { blob: { bytes, digest: descriptor.digest, mediaType: descriptor.mediaType }, decoded };
  }

  private async read(res: Response, max: number, what: string, expected?: number): Promise<Uint8Array> {
    try {
      return await readCapped(res, max, what, { exact: expected !== undefined && expected === max });
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

  private send(url: string, accept: string): Promise<Response> {
    return this.fetcher(new Request(url, { headers: { accept } }));
  }

  private async get(url: string, accept: string, what: string): Promise<Response> {
    const res = await this.send(url, accept);
    if (res.ok) return res;
    throw await this.failure(res, what);
  }

  /** The typed error for a failed response (its body read, capped, for the registry's own words). */
  private async failure(res: Response, what: string): Promise<ToolError> {
    const body = await readCapped(res, MAX_ERROR_BODY, "error body").catch(() => new Uint8Array());
    const detail = registryErrorText(body);
    const registry = this.ref.registry;
    switch (res.status) {
      case 404:
        return new NotFoundError(`${what} not found on ${registry}${detail ? ` (${detail})` : ""}`, {
          hint: "check the repository name and tag, and that the image was pushed to this registry",
        });
      case 401:
        return new AuthError(`unauthorized to read ${what} from ${registry}${detail ? ` (${detail})` : ""}`, {
          hint: "check your credentials (docker login)",
        });
      case 403:
        return new ForbiddenError(
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
        return new NetworkError(
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
