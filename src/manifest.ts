/**
 * Decoding manifests, indexes and configs from verified bytes, with type checks on every field the tool reads.
 * Shared by every source (registry, OCI layout), so both resolve an image the same way.
 *
 * @module
 */

import { decodeUtf8 } from "./bytes.ts";
import { parseDigest } from "./digest.ts";
import { ManifestError, PlatformNotFoundError, UnsupportedError } from "./errors.ts";
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from "./image.ts";
import { MediaTypes } from "./image.ts";
import { formatPlatform, isUnknownPlatform, type Platform, selectPlatform } from "./platform.ts";

/** Every manifest media type the tool asks for, most preferred first (the `Accept` header of a manifest GET). */
export const MANIFEST_ACCEPT = [
  MediaTypes.ociIndex,
  MediaTypes.ociManifest,
  MediaTypes.dockerManifestList,
  MediaTypes.dockerManifest,
];

/** Manifests larger than this are refused (the distribution spec's recommended limit). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Configs larger than this are refused. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** What a manifest turned out to be. */
export type Decoded =
  | { kind: "index"; mediaType: string; index: ImageIndex }
  | { kind: "manifest"; mediaType: string; manifest: ImageManifest };

const INDEX_TYPES = new Set<string>([MediaTypes.ociIndex, MediaTypes.dockerManifestList]);
const MANIFEST_TYPES = new Set<string>([MediaTypes.ociManifest, MediaTypes.dockerManifest]);
const SCHEMA1_TYPES = new Set<string>([MediaTypes.dockerSchema1, MediaTypes.dockerSchema1Signed]);

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(decodeUtf8(bytes));
  } catch (err) {
    throw new ManifestError(`${what} is not valid JSON (${(err as Error).message.slice(0, 120)})`);
  }
}

/** Whether `v` is a JSON object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown, what: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== "string")) {
    throw new ManifestError(`${what} must be an object of strings`);
  }
  return v as Record<string, string>;
}

/** Validate one descriptor object; `what` names it in errors. */
export function decodeDescriptor(v: unknown, what: string): Descriptor {
  if (!isObject(v)) throw new ManifestError(`${what} is not an object`);
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== "string" || mediaType === "") {
    throw new ManifestError(`${what} has no mediaType`);
  }
  if (typeof digest !== "string") throw new ManifestError(`${what} has no digest`);
  try {
    parseDigest(digest);
  } catch (err) {
    throw new ManifestError(`${what}: ${(err as Error).message}`);
  }
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new ManifestError(`${what} has no valid size`);
  }
  const d: Descriptor = { mediaType, digest, size };
  if (v.platform !== undefined) {
    const p = v.platform;
    if (!isObject(p) || typeof p.os !== "string" || typeof p.architecture !== "string") {
      throw new ManifestError(`${what} has an invalid platform (os and architecture must be strings)`);
    }
    if (p.variant !== undefined && typeof p.variant !== "string") {
      throw new ManifestError(`${what} has an invalid platform variant`);
    }
    d.platform = p as unknown as Platform;
  }
  const annotations = stringMap(v.annotations, `${what} annotations`);
  if (annotations) d.annotations = annotations;
  if (typeof v.artifactType === "string") d.artifactType = v.artifactType;
  if (Array.isArray(v.urls) && v.urls.every((u) => typeof u === "string")) d.urls = v.urls as string[];
  return d;
}

/**
 * Decide what `bytes` are from the served media type (`Content-Type`), falling back to the body's own
 * `mediaType` field when the server sent a generic type, and validate the fields the tool reads.
 *
 * @example
 * ```ts
 * const d = decodeManifest(bytes, "application/vnd.oci.image.index.v1+json");
 * if (d.kind === "index") console.log(d.index.manifests.length);
 * ```
 */
export function decodeManifest(bytes: Uint8Array, servedType: string | null | undefined): Decoded {
  const contentType = (servedType ?? "").split(";")[0].trim().toLowerCase();
  if (SCHEMA1_TYPES.has(contentType)) throw schema1Error();
  const body = parseJson(bytes, "manifest");
  if (!isObject(body)) throw new ManifestError("manifest is not a JSON object");
  if (body.schemaVersion === 1) throw schema1Error();
  if (body.schemaVersion !== 2) {
    throw new ManifestError(`manifest has unsupported schemaVersion ${JSON.stringify(body.schemaVersion)}`);
  }
  const own = typeof body.mediaType === "string" ? body.mediaType : undefined;
  let mediaType = INDEX_TYPES.has(contentType) || MANIFEST_TYPES.has(contentType) ? contentType : own;
  if (!mediaType) {
    // An OCI manifest may omit mediaType; tell index from manifest by shape.
    mediaType = Array.isArray(body.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest;
  }
  if (own && own !== mediaType) {
    throw new ManifestError(`manifest served as ${mediaType} but its mediaType field says ${own}`);
  }
  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(body.manifests)) throw new ManifestError("index has no manifests array");
    const manifests = body.manifests.map((m, i) => decodeDescriptor(m, `index entry ${i}`));
    const index: ImageIndex = { schemaVersion: 2, mediaType, manifests };
    const annotations = stringMap(body.annotations, "index annotations");
    if (annotations) index.annotations = annotations;
    return { kind: "index", mediaType, index };
  }
  if (MANIFEST_TYPES.has(mediaType)) {
    const config = decodeDescriptor(body.config, "manifest config");
    if (!Array.isArray(body.layers)) throw new ManifestError("manifest has no layers array");
    const layers = body.layers.map((l, i) => decodeDescriptor(l, `manifest layer ${i}`));
    const manifest: ImageManifest = { schemaVersion: 2, mediaType, config, layers };
    if (typeof body.artifactType === "string") manifest.artifactType = body.artifactType;
    const annotations = stringMap(body.annotations, "manifest annotations");
    if (annotations) manifest.annotations = annotations;
    if (body.subject !== undefined) manifest.subject = decodeDescriptor(body.subject, "manifest subject");
    return { kind: "manifest", mediaType, manifest };
  }
  throw new UnsupportedError(`unsupported manifest media type "${mediaType.slice(0, 120)}"`, {
    hint: "the tool reads OCI image manifests and indexes and Docker schema2 manifests and manifest lists",
  });
}

function schema1Error(): UnsupportedError {
  return new UnsupportedError("the registry served a Docker schema1 manifest, which is unsupported", {
    hint: "schema1 is deprecated and carries no image config; re-push the image with a current client",
  });
}

/**
 * Decode an image config. Only the fields the tool reads are type-checked; unknown fields are kept. `mediaType`
 * and `digest` (from the manifest) name the blob when it is refused: a manifest may point its config at any
 * blob, and what is not a JSON image config is never printed as one.
 */
export function decodeConfig(bytes: Uint8Array, mediaType?: string, digest?: string): ImageConfig {
  const named = digest ? `config ${digest}${mediaType ? ` (${mediaType})` : ""}` : "image config";
  let body: unknown;
  try {
    body = parseJson(bytes, "image config");
  } catch (err) {
    if (!digest) throw err;
    throw new ManifestError(`${named} is not JSON, so it is not an image config`, {
      hint: "the manifest names a blob that is not an image config; nothing was written",
    });
  }
  if (!isObject(body)) throw new ManifestError("image config is not a JSON object");
  for (const key of ["architecture", "os", "variant", "created", "author"] as const) {
    if (body[key] !== undefined && typeof body[key] !== "string") {
      throw new ManifestError(`image config field ${key} must be a string`);
    }
  }
  if (body.config !== undefined && body.config !== null && !isObject(body.config)) {
    throw new ManifestError("image config field config must be an object");
  }
  const inner = body.config as Record<string, unknown> | undefined | null;
  if (inner) {
    stringMap(inner.Labels, "image config Labels");
    if (inner.Env !== undefined && inner.Env !== null) {
      if (!Array.isArray(inner.Env) || inner.Env.some((e) => typeof e !== "string")) {
        throw new ManifestError("image config Env must be an array of strings");
      }
    }
  }
  if (body.history !== undefined && body.history !== null && !Array.isArray(body.history)) {
    throw new ManifestError("image config history must be an array");
  }
  if (Array.isArray(body.history) && body.history.some((h) => !isObject(h))) {
    throw new ManifestError("image config history entries must be objects");
  }
  const rootfs = body.rootfs;
  if (rootfs !== undefined && rootfs !== null) {
    if (!isObject(rootfs)) throw new ManifestError("image config rootfs must be an object");
    const ids = rootfs.diff_ids;
    if (
      ids !== undefined && ids !== null && (!Array.isArray(ids) || ids.some((d) => typeof d !== "string"))
    ) {
      throw new ManifestError("image config rootfs.diff_ids must be an array of strings");
    }
  }
  return body as ImageConfig;
}

/**
 * Choose the index entry for `wanted`. Throws {@link PlatformNotFoundError} listing the platforms the index has.
 */
export function chooseFromIndex(index: ImageIndex, wanted: Platform): Descriptor {
  const i = selectPlatform(wanted, index.manifests);
  if (i >= 0) return index.manifests[i];
  const available = index.manifests
    .filter((m) => m.platform && !isUnknownPlatform(m.platform))
    .map((m) => formatPlatform(m.platform!));
  throw new PlatformNotFoundError(
    `no image for platform ${formatPlatform(wanted)} in the index; it has: ${
      available.length ? [...new Set(available)].join(", ") : "no platform entries"
    }`,
    { hint: "choose one of those platforms", advice: "platform" },
  );
}
