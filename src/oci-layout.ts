/**
 * OCI image layouts on disk (image-spec `image-layout.md`) as an {@link ImageSource}: a directory with an
 * `oci-layout` file, `index.json` and `blobs/<alg>/<hex>`. References use skopeo's `oci:` transport syntax:
 *
 * ```
 * oci:PATH                 the only image in index.json (an error listing the names when there are several)
 * oci:PATH:TAG             the index.json entry annotated org.opencontainers.image.ref.name=TAG
 * oci:PATH@sha256:HEX      the index.json entry with that digest, else any manifest blob with that digest
 * ```
 *
 * Every blob is size-checked before it is read, read with a cap, and verified against its digest and size.
 * Digests are validated with {@link parseDigest} before they become file names (no path traversal).
 *
 * @module
 */

import { decodeUtf8 } from "./bytes.ts";
import { readLocalFile } from "./files.ts";
import { parseDigest, verifiedUse, verifyDigest, verifySize } from "./digest.ts";
import {
  ConfigError,
  DigestMismatchError,
  ManifestError,
  NotFoundError,
  ReferenceError,
  TooLargeError,
  ToolError,
  UnsupportedError,
} from "./errors.ts";
import type { Blob, Descriptor, ImageIndex, ImageOrigin } from "./image.ts";
import { MediaTypes } from "./image.ts";
import { decodeManifest, isObject, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES } from "./manifest.ts";
import type { ImageSource, Referrers } from "./source.ts";

/** A parsed `oci:` reference. */
export interface OciReference {
  /** The layout directory, exactly as given. */
  path: string;
  /** The `org.opencontainers.image.ref.name` to look up in index.json. */
  tag?: string;
  /** A manifest digest (`sha256:<hex>`); takes precedence over `tag` when both are given. */
  digest?: string;
}

/** Options of {@link openOciLayout}. */
export interface OpenOciLayoutOptions {
  /** The reference as the user typed it (for {@link ImageOrigin.input}); rebuilt from `ref` when absent. */
  input?: string;
  /** The directory a relative layout path is relative to (default: the process's working directory). */
  cwd?: string;
}

/** The annotation that names an image in index.json. */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";
/** index.json files larger than this are refused. */
export const MAX_INDEX_JSON_BYTES = 16 * 1024 * 1024;
const MAX_LAYOUT_FILE_BYTES = 64 * 1024;
/** index.json entries read when looking for referrers: a layout is local, but not every layout is small. */
export const MAX_REFERRER_SCAN = 1024;

/**
 * A tag as the `org.opencontainers.image.ref.name` grammar allows it, minus `/` and `:` (which the `oci:` syntax
 * uses as separators): `alphanum (separator alphanum)*`, separator one of `- . _ @ +` or `--`.
 */
const TAG = /^[A-Za-z0-9]+(?:(?:[-._@+]|--)[A-Za-z0-9]+)*$/;
/** Something after the last `@` that is meant as a digest (an algorithm name then `:`). */
const DIGEST_LIKE = /^[A-Za-z0-9]+(?:[+._-][A-Za-z0-9]+)*:/;
const SUPPORTED = new Set<string>(MANIFEST_ACCEPT);
const MANIFEST_TYPES = new Set<string>([MediaTypes.ociManifest, MediaTypes.dockerManifest]);

function shown(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function refFail(input: string, why: string): never {
  throw new ReferenceError(`invalid OCI layout reference "${shown(input)}": ${why}`, {
    hint: "expected oci:PATH, oci:PATH:TAG or oci:PATH@sha256:DIGEST, e.g. oci:./build/image:latest",
  });
}

/** Whether `text` uses the `oci:` transport (an OCI image layout directory). */
export function isOciReference(text: string): boolean {
  return text.startsWith("oci:");
}

/**
 * Parse skopeo's `oci:` syntax. The tag is what follows the last `:` when that contains no `/` (or `\`), so
 * `oci:/tmp/x:latest` has a tag and `oci:./dir` does not; a digest follows the last `@`. Throws
 * {@link ReferenceError} (exit 2) on an empty path, an invalid tag or digest, or a missing `oci:` prefix.
 *
 * @example
 * ```ts
 * parseOciReference("oci:/tmp/layout:latest"); // { path: "/tmp/layout", tag: "latest" }
 * parseOciReference("oci:./dir"); // { path: "./dir" }
 * ```
 */
export function parseOciReference(text: string): OciReference {
  if (!isOciReference(text)) refFail(text, 'it does not start with "oci:"');
  let rest = text.slice("oci:".length);
  let digest: string | undefined;
  let tag: string | undefined;

  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    const after = rest.slice(at + 1);
    if (!/[/\\]/.test(after) && DIGEST_LIKE.test(after)) {
      try {
        parseDigest(after);
      } catch (err) {
        refFail(text, (err as Error).message);
      }
      digest = after;
      rest = rest.slice(0, at);
    }
  }

  const colon = rest.lastIndexOf(":");
  if (colon >= 0) {
    const after = rest.slice(colon + 1);
    // A Windows drive letter (`C:\dir`, `C:/dir`) is part of the path.
    if (!/[/\\]/.test(after)) {
      if (!TAG.test(after) || after.length > 128) {
        refFail(
          text,
          after === ""
            ? "the tag after the last colon is empty"
            : `"${
              shown(after)
            }" is not a valid tag (letters, digits, and . _ - + @ between them, at most 128)`,
        );
      }
      tag = after;
      rest = rest.slice(0, colon);
    }
  }

  if (rest === "") refFail(text, "the layout path is empty");
  if (/[\0\n\r]/.test(rest)) refFail(text, "the layout path contains a control character");
  const ref: OciReference = { path: rest };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** `oci:PATH[:TAG][@DIGEST]` text of a reference. */
export function formatOciReference(ref: OciReference): string {
  return `oci:${ref.path}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

function join(dir: string, ...parts: string[]): string {
  const base = /[/\\]$/.test(dir) ? dir : `${dir}/`;
  return base + parts.join("/");
}

function basename(path: string): string {
  const trimmed = path.replace(/[/\\]+$/, "");
  const last = trimmed.split(/[/\\]/).pop() ?? "";
  return last === "" ? path : last;
}

function errText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, " ").slice(0, 160);
}

/** An OCI image layout opened for reading. Create with {@link openOciLayout}. */
export class OciLayoutSource implements ImageSource {
  readonly origin: ImageOrigin;
  /** The layout directory, as given. */
  readonly path: string;
  /** index.json, decoded. */
  readonly index: ImageIndex;
  readonly #ref: OciReference;
  /** The layout directory files are read from (`path`, resolved against the caller's directory). */
  readonly #dir: string;

  constructor(ref: OciReference, index: ImageIndex, origin: ImageOrigin, dir: string = ref.path) {
    this.#ref = ref;
    this.path = ref.path;
    this.#dir = dir;
    this.index = index;
    this.origin = origin;
  }

  /** Nothing to release: files are opened and closed per read. */
  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }

  /** The ref names (tags) index.json lists, in its order, without duplicates. */
  refNames(): string[] {
    const names = this.index.manifests
      .map((d) => d.annotations?.[REF_NAME_ANNOTATION])
      .filter((n): n is string => typeof n === "string" && n !== "");
    return [...new Set(names)];
  }

  manifest(descriptor?: Descriptor): Promise<Blob> {
    if (descriptor) return this.#readManifest(descriptor);
    return this.#top();
  }

  async blob(descriptor: Descriptor, maxBytes: number, kind = "blob"): Promise<Blob> {
    const bytes = await this.#read(descriptor.digest, descriptor.size, maxBytes, kind);
    return { bytes, digest: descriptor.digest, mediaType: descriptor.mediaType };
  }

  async decodedBlob<T>(
    descriptor: Descriptor,
    maxBytes: number,
    kind: string,
    decode: (bytes: Uint8Array) => T,
  ): Promise<{ blob: Blob; decoded: T }> {
    let decoded: T;
    const bytes = await this.#read(
      descriptor.digest,
      descriptor.size,
      maxBytes,
      kind,
      (b) => decoded = decode(b),
    );
    return { blob: { bytes, digest: descriptor.digest, mediaType: descriptor.mediaType }, decoded: decoded! };
  }

  /** index.json: attestation manifests stored beside the image are looked for there too. */
  get catalog(): ImageIndex {
    return this.index;
  }

  taggedManifest(tag: string): Promise<Blob | undefined> {
    const hit = this.index.manifests.find((d) =>
      d.annotations?.[REF_NAME_ANNOTATION] === tag && SUPPORTED.has(d.mediaType)
    );
    return hit ? this.#readManifest(hit) : Promise.resolve(undefined);
  }

  /**
   * A layout has no referrers API; tools that copy referrers into a layout (oras, regclient) list them in
   * index.json, each with a `subject`. The answer is built the way a registry builds it (artifactType, else
   * the config's media type; the manifest's annotations) from the image manifests index.json lists, each read
   * and verified. When none names `digest`, the answer is "no API", so that the caller looks for the
   * referrers tag (`sha256-<hex>`) as on a registry without one.
   */
  async referrers(digest: string, artifactType?: string): Promise<Referrers | undefined> {
    parseDigest(digest);
    const found: Descriptor[] = [];
    for (const d of this.index.manifests.slice(0, MAX_REFERRER_SCAN)) {
      if (d.digest === digest || !MANIFEST_TYPES.has(d.mediaType)) continue;
      let decoded;
      try {
        decoded = decodeManifest((await this.#readManifest(d)).bytes, d.mediaType);
      } catch (err) {
        // An entry that is missing or not a manifest is no referrer; one that fails its digest is tampering.
        if (err instanceof DigestMismatchError || err instanceof TooLargeError) throw err;
        continue;
      }
      if (decoded.kind !== "manifest" || decoded.manifest.subject?.digest !== digest) continue;
      const m = decoded.manifest;
      const referrer: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
      referrer.artifactType = m.artifactType ?? m.config.mediaType;
      if (m.annotations) referrer.annotations = m.annotations;
      found.push(referrer);
    }
    if (found.length === 0) return undefined;
    return {
      manifests: artifactType === undefined ? found : found.filter((d) => d.artifactType === artifactType),
      filtered: artifactType !== undefined,
    };
  }

  async #readManifest(descriptor: Descriptor): Promise<Blob> {
    const bytes = await this.#read(descriptor.digest, descriptor.size, MAX_MANIFEST_BYTES, "manifest");
    return { bytes, digest: descriptor.digest, mediaType: descriptor.mediaType };
  }

  async #top(): Promise<Blob> {
    const { tag, digest } = this.#ref;
    const entries = this.index.manifests;
    if (digest) {
      const hit = entries.find((d) => d.digest === digest);
      if (hit) return this.#readManifest(hit);
      // Not named by index.json: any manifest blob with that digest (an index entry, for instance). No type was
      // declared for it, so decodeManifest tells by its own mediaType field or its shape.
      const bytes = await this.#read(digest, undefined, MAX_MANIFEST_BYTES, "manifest");
      return { bytes, digest, mediaType: "" };
    }
    if (tag !== undefined) {
      const named = entries.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === tag);
      const hit = named.find((d) => SUPPORTED.has(d.mediaType));
      if (hit) return this.#readManifest(hit);
      if (named.length > 0) {
        throw new UnsupportedError(
          `tag "${tag}" in ${join(this.path, "index.json")} names a ${
            shown(named[0].mediaType)
          }, not an image manifest or index`,
          { hint: "the tool reads OCI image manifests and indexes and Docker schema2 manifests and lists" },
        );
      }
      throw new NotFoundError(
        `no image tagged "${tag}" in ${join(this.path, "index.json")}; ${this.#listing()}`,
        {
          hint: `use oci:${this.path}:TAG with one of them`,
        },
      );
    }
    if (entries.length === 1) return this.#readManifest(entries[0]);
    if (entries.length === 0) {
      throw new NotFoundError(`${join(this.path, "index.json")} lists no images`, {
        hint: "the layout is empty; copy an image into it first (skopeo copy ... oci:PATH:TAG)",
      });
    }
    const names = this.refNames();
    const choices = names.length
      ? names.map((n) => `oci:${this.path}:${n}`)
      : entries.map((d) => `oci:${this.path}@${d.digest}`);
    throw new ReferenceError(
      `${this.path} holds ${entries.length} images; choose one: ${abbreviate(choices)}`,
      { hint: "name the image with oci:PATH:TAG or oci:PATH@sha256:DIGEST" },
    );
  }

  #listing(): string {
    const names = this.refNames();
    return names.length ? `it has: ${abbreviate(names)}` : "it has no tagged images";
  }

  /** Read `blobs/<alg>/<hex>`, capped at `max`, verified against `digest` (and `size` when known). */
  async #read(
    digest: string,
    size: number | undefined,
    max: number,
    kind: string,
    decode?: (bytes: Uint8Array) => unknown,
  ): Promise<Uint8Array> {
    const { algorithm, hex } = parseDigest(digest);
    const what = `${kind} ${digest} in ${this.path}`;
    const tooLarge = (n = max + 1) =>
      new TooLargeError(`${what} is ${n} bytes, over the ${max}-byte limit for ${kind}s`, {
        hint: "the layout is damaged or not an image layout the tool reads",
      });
    if (size !== undefined && size > max) throw tooLarge(size);
    const file = join(this.#dir, "blobs", algorithm, hex);
    let bytes: Uint8Array;
    try {
      ({ bytes } = await readLocalFile(file, {
        max,
        what: "file",
        tooLarge,
        notRegular: () => new ManifestError(`${file} is not a regular file`),
      }));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new NotFoundError(`${kind} ${digest} not found in the OCI layout ${this.path} (no ${file})`, {
          hint: "the layout is incomplete; copy the image into it again",
        });
      }
      if (err instanceof ToolError) throw err;
      throw new ConfigError(`cannot read ${file}: ${errText(err)}`, {
        hint: "check the permissions of the layout directory",
      });
    }
    if (size !== undefined) verifySize(bytes, size, what);
    if (decode) await verifiedUse(bytes, digest, what, decode);
    else await verifyDigest(bytes, digest, what);
    return bytes;
  }
}

function abbreviate(items: string[], max = 20): string {
  return items.length > max
    ? `${items.slice(0, max).join(", ")} and ${items.length - max} more`
    : items.join(", ");
}

async function readLayoutFile(path: string, file: string, hint: string): Promise<string> {
  const full = join(path, file);
  try {
    const max = file === "index.json" ? MAX_INDEX_JSON_BYTES : MAX_LAYOUT_FILE_BYTES;
    const { bytes } = await readLocalFile(full, {
      max,
      what: "file",
      tooLarge: (n = max + 1) =>
        new ConfigError(`${full} is too large (${n} bytes) to be an OCI layout's ${file}`, { hint }),
      notRegular: () =>
        new ConfigError(`${path} is not an OCI image layout: ${full} is not a regular file`, { hint }),
    });
    return decodeUtf8(bytes);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if (err instanceof Deno.errors.NotFound) {
      throw new ConfigError(`${path} is not an OCI image layout: ${full} is missing`, { hint });
    }
    throw new ConfigError(`cannot read ${full}: ${errText(err)}`, { hint });
  }
}

function parseJsonFile(text: string, full: string, hint: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${full} is not valid JSON (${errText(err)})`, { hint });
  }
}

/**
 * Open an OCI image layout: checks the directory, `oci-layout` (imageLayoutVersion 1.0.0) and `index.json`
 * (missing, unreadable, not JSON or not an index: {@link ConfigError}). The reference is resolved by
 * `manifest()`, so a wrong tag fails there ({@link NotFoundError} listing the tags).
 *
 * @example
 * ```ts
 * const source = await openOciLayout(parseOciReference("oci:fixtures/oci-layout:demo"));
 * const image = await resolveImage(source, { platform: parsePlatform("linux/arm64") });
 * ```
 */
export async function openOciLayout(
  ref: OciReference,
  opts: OpenOciLayoutOptions = {},
): Promise<ImageSource> {
  return await openOciLayoutSource(ref, opts);
}

/** {@link openOciLayout}, typed as the concrete source (for `refNames()` and `index`). */
export async function openOciLayoutSource(
  ref: OciReference,
  opts: OpenOciLayoutOptions = {},
): Promise<OciLayoutSource> {
  const { path } = ref;
  const dir = opts.cwd && !path.startsWith("/") ? join(opts.cwd, path) : path;
  const hint =
    `oci:${path} must name a directory holding an OCI image layout (oci-layout, index.json, blobs/), ` +
    "as written by skopeo copy, umoci or a BuildKit OCI exporter (type=oci,tar=false)";
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new ConfigError(`OCI layout directory ${path} does not exist`, { hint });
    }
    throw new ConfigError(`cannot read OCI layout directory ${path}: ${errText(err)}`, { hint });
  }
  if (!info.isDirectory) {
    throw new ConfigError(`${path} is not a directory`, {
      hint: "for an OCI archive (.tar), extract it into a directory first and use oci:DIR",
    });
  }

  const layoutFile = join(path, "oci-layout");
  const layout = parseJsonFile(await readLayoutFile(dir, "oci-layout", hint), layoutFile, hint);
  if (!isObject(layout) || typeof layout.imageLayoutVersion !== "string") {
    throw new ConfigError(`${layoutFile} has no imageLayoutVersion`, { hint });
  }
  if (layout.imageLayoutVersion !== "1.0.0") {
    throw new ConfigError(
      `${layoutFile} says imageLayoutVersion ${
        JSON.stringify(shown(layout.imageLayoutVersion))
      }; only 1.0.0 is supported`,
      { hint },
    );
  }

  const indexFile = join(path, "index.json");
  const indexText = await readLayoutFile(dir, "index.json", hint);
  parseJsonFile(indexText, indexFile, hint);
  let index: ImageIndex;
  try {
    const decoded = decodeManifest(new TextEncoder().encode(indexText), MediaTypes.ociIndex);
    if (decoded.kind !== "index") throw new ManifestError("it is not an image index");
    index = decoded.index;
  } catch (err) {
    throw new ConfigError(`${indexFile} is not a valid OCI image index: ${errText(err)}`, { hint });
  }

  const repository = ref.tag ?? await directoryName(dir);
  const origin: ImageOrigin = {
    kind: "oci-layout",
    input: opts.input ?? formatOciReference(ref),
    registry: path,
    repository,
  };
  if (ref.tag !== undefined) origin.tag = ref.tag;
  if (ref.digest !== undefined) origin.digest = ref.digest;
  return new OciLayoutSource(ref, index, origin, dir);
}

async function directoryName(path: string): Promise<string> {
  const name = basename(path);
  if (name !== "." && name !== "..") return name;
  try {
    return basename(await Deno.realPath(path));
  } catch {
    return name;
  }
}
