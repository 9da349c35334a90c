/**
 * Names of an image shared by the SBOM and provenance formatters: its package URL (purl-spec `oci` type), its
 * reference text, and content-derived UUIDs.
 *
 * @module
 */

import type { ResolvedImage } from "../image.ts";
import { ociPurl } from "./purl.ts";

/** Hex part of a `sha256:<hex>` digest (the text unchanged when it has no `algorithm:` prefix). */
export function digestHex(digest: string): string {
  const i = digest.indexOf(":");
  return i < 0 ? digest : digest.slice(i + 1);
}

/**
 * The image's package URL per the purl-spec `oci` type:
 * `pkg:oci/<last repository segment>@sha256:<platform manifest hex>?arch=<arch>&repository_url=<registry>/<repository>&tag=<tag>`.
 * Qualifiers are encoded and sorted as `purl.ts` says (so `/` in repository_url is `%2F`); `tag` is omitted
 * without a tag, `repository_url` for an OCI layout (a local path is no repository URL).
 *
 * @example
 * ```ts
 * await imagePurl(image);
 * // "pkg:oci/os_build_env@sha256:...?arch=amd64&repository_url=7727...amazonaws.com%2Fos_build_env&tag=latest"
 * ```
 */
export function imagePurl(image: ResolvedImage): Promise<string> {
  // A promise, as when packageurl-js was loaded here; an image whose purl cannot be formed rejects it.
  return Promise.try(() => {
    const { origin } = image;
    const qualifiers: Record<string, string> = { arch: image.platform.architecture };
    if (origin.kind === "registry") qualifiers.repository_url = `${origin.registry}/${origin.repository}`;
    if (origin.tag) qualifiers.tag = origin.tag;
    return ociPurl({ name: purlName(image), version: image.manifest.digest, qualifiers });
  });
}

/** The purl name of the image's repository: its last segment (`image` when it has none). */
export function purlName(image: ResolvedImage): string {
  return image.origin.repository.split("/").filter((s) => s !== "").at(-1) ?? "image";
}

/** `registry/repository:tag`, or `registry/repository@digest` without a tag (the platform manifest digest). */
export function imageReferenceName(image: ResolvedImage): string {
  const { origin } = image;
  const base = `${origin.registry}/${origin.repository}`;
  if (origin.tag) return `${base}:${origin.tag}`;
  return `${base}@${origin.digest ?? image.manifest.digest}`;
}

/** The RFC 4122 URL namespace UUID. */
const NAMESPACE_URL = "6ba7b811-9dad-11d1-80b4-00c04fd430c8";

/**
 * A name-based (version 5, SHA-1) UUID of `name` in `namespace`, per RFC 9562 section 5.5.
 *
 * @example
 * ```ts
 * await uuidV5("6ba7b811-9dad-11d1-80b4-00c04fd430c8", "https://example.com"); // "4fd35a71-71ef-5a55-a9d9-aa75c889a6d0"
 * ```
 */
export async function uuidV5(namespace: string, name: string): Promise<string> {
  const ns = namespace.replaceAll("-", "");
  if (!/^[0-9a-f]{32}$/i.test(ns)) throw new TypeError(`invalid namespace UUID "${namespace}"`);
  const nameBytes = new TextEncoder().encode(name);
  const input = new Uint8Array(16 + nameBytes.byteLength);
  input.set(Uint8Array.fromHex(ns));
  input.set(nameBytes, 16);
  // Web Crypto, not node:crypto: the SBOM path need not load the Node crypto polyfill for one SHA-1.
  const b = new Uint8Array(await crypto.subtle.digest("SHA-1", input)).slice(0, 16);
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Namespace of this tool's content-derived UUIDs: uuidV5(URL namespace, `${PROJECT_URL}`). */
export function toolNamespace(projectUrl: string): Promise<string> {
  return uuidV5(NAMESPACE_URL, projectUrl);
}
