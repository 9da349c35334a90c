/**
 * What every image source (registry, OCI layout) provides, and the one resolution walk they share:
 * reference -> manifest (maybe an index) -> platform manifest -> config, every body verified.
 *
 * @module
 */

import type { Blob, Descriptor, ImageManifest, ImageOrigin, ResolvedImage } from "./image.ts";
import { chooseFromIndex, decodeConfig, decodeManifest, MAX_CONFIG_BYTES, platformOf } from "./manifest.ts";
import { ManifestError } from "./errors.ts";
import type { Platform } from "./platform.ts";

/**
 * A place images are read from. Implementations verify every body against its digest before returning it:
 * for `manifest(ref)` with a digest ref, against that digest; by tag, against what the source says the digest
 * is (`Docker-Content-Digest`, the layout's index.json descriptor) when it says anything. A source may hold
 * resources (a connection pool): dispose of it when done (`await using source = ...`).
 */
export interface ImageSource extends AsyncDisposable {
  /** Where the image came from, for the formatters. */
  readonly origin: ImageOrigin;
  /**
   * The manifest the reference names (tag or digest), or, with `descriptor`, the manifest that descriptor
   * names (an index entry), verified against the descriptor's digest and size.
   */
  manifest(descriptor?: Descriptor): Promise<Blob>;
  /** A blob (the config), verified against the descriptor's digest and size, refused above `maxBytes`. */
  blob(descriptor: Descriptor, maxBytes: number): Promise<Blob>;
}

/** What to resolve. */
export interface ResolveOptions {
  /** Which platform to choose from an index. */
  platform: Platform;
}

/** A platform manifest, and the index it was chosen from when the reference named an index. */
export interface ResolvedManifest {
  index?: Blob;
  /** The index entry that was chosen. */
  entry?: Descriptor;
  manifest: Blob;
  manifestJson: ImageManifest;
}

/**
 * Resolve to a single platform's manifest: the top manifest, then the chosen entry if it is an index.
 * `top` may be passed when the caller already fetched it (no second request).
 *
 * @example
 * ```ts
 * const { manifest } = await resolveManifest(source, { platform: parsePlatform("linux/arm64") });
 * ```
 */
export async function resolveManifest(
  source: ImageSource,
  opts: ResolveOptions,
  top?: Blob,
): Promise<ResolvedManifest> {
  // Blobs carry the media type the body decoded as, not a generic Content-Type some registries send.
  const fetched = top ?? await source.manifest();
  const decoded = decodeManifest(fetched.bytes, fetched.mediaType);
  const first = { ...fetched, mediaType: decoded.mediaType };
  if (decoded.kind === "manifest") return { manifest: first, manifestJson: decoded.manifest };
  const entry = chooseFromIndex(decoded.index, opts.platform);
  const served = await source.manifest(entry);
  const inner = decodeManifest(served.bytes, served.mediaType);
  if (inner.kind !== "manifest") {
    throw new ManifestError(
      `index entry ${entry.digest} is itself an index; nested indexes are not supported`,
    );
  }
  return {
    index: first,
    entry,
    manifest: { ...served, mediaType: inner.mediaType },
    manifestJson: inner.manifest,
  };
}

/**
 * Resolve to a single platform: manifest (via the index if there is one), then the config.
 *
 * @example
 * ```ts
 * const image = await resolveImage(source, { platform: parsePlatform("linux/amd64") });
 * console.log(image.config.digest);
 * ```
 */
export async function resolveImage(
  source: ImageSource,
  opts: ResolveOptions,
  top?: Blob,
): Promise<ResolvedImage> {
  const { index, entry, manifest, manifestJson } = await resolveManifest(source, opts, top);
  const config = await source.blob(manifestJson.config, MAX_CONFIG_BYTES);
  const configJson = decodeConfig(config.bytes);
  const image: ResolvedImage = {
    origin: source.origin,
    manifest,
    manifestJson,
    config,
    configJson,
    platform: platformOf(configJson, entry),
  };
  if (index) image.index = index;
  return image;
}
