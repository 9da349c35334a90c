/**
 * What every image source (registry, OCI layout) provides, and the one resolution walk they share:
 * reference -> manifest (maybe an index) -> platform manifest -> config, every body verified.
 *
 * @module
 */

import type { Blob, Descriptor, ImageConfig, ImageManifest, ImageOrigin, ResolvedImage } from "./image.ts";
import { chooseFromIndex, decodeConfig, decodeManifest, MAX_CONFIG_BYTES } from "./manifest.ts";
import { IntegrityError, ManifestError, PlatformNotFoundError } from "./errors.ts";
import { formatPlatform, normalizePlatform, type Platform, platformMatches } from "./platform.ts";

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
  /**
   * The platform was asked for explicitly: a single-platform image must then be that platform (by its config),
   * not whatever the reference names.
   */
  platformGiven?: boolean;
  /** The time of resolution, for the record (default: now). */
  now?: () => Date;
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
 * The platform an image config declares (`os`, `architecture`, `variant`, `os.version`), undefined when it
 * declares none.
 */
export function configPlatform(config: ImageConfig): Platform | undefined {
  if (typeof config.os !== "string" || typeof config.architecture !== "string") return undefined;
  const p: Platform = { os: config.os, architecture: config.architecture };
  if (config.variant) p.variant = config.variant;
  if (config["os.version"]) p["os.version"] = config["os.version"];
  return p;
}

/**
 * Whether the platform an index entry claims is the one its (verified) config declares: os and architecture
 * equal after normalisation, and the variant too when the config names one.
 */
export function samePlatform(claimed: Platform, actual: Platform): boolean {
  const c = normalizePlatform(claimed);
  const a = normalizePlatform(actual);
  if (c.os !== a.os || c.architecture !== a.architecture) return false;
  return !actual.variant || c.variant === a.variant;
}

/**
 * The config is the truth about the platform: an index entry that claims another platform than its config
 * declares is an integrity failure, and an explicitly asked platform that a single-platform image is not is a
 * failure naming the image's platform.
 */
function checkPlatform(config: ImageConfig, entry: Descriptor | undefined, opts: ResolveOptions): Platform {
  const declared = configPlatform(config);
  if (entry?.platform) {
    if (!declared || !samePlatform(entry.platform, declared)) {
      throw new IntegrityError(
        `the index entry ${entry.digest} claims platform ${formatPlatform(entry.platform)}, but its config ` +
          (declared ? `says ${formatPlatform(declared)}` : "declares no platform"),
        { hint: "the index misdescribes the image; nothing was written" },
      );
    }
  } else if (opts.platformGiven) {
    if (!declared) {
      throw new PlatformNotFoundError(
        `the image's config declares no platform, so it cannot be confirmed as ${
          formatPlatform(opts.platform)
        }`,
      );
    }
    if (!platformMatches(opts.platform, declared)) {
      throw new PlatformNotFoundError(
        `the image is ${formatPlatform(declared)} (a single-platform image), not ${
          formatPlatform(opts.platform)
        }`,
        { hint: "ask for the platform it has, or name an image that has the one you want" },
      );
    }
  }
  return declared ?? { os: "unknown", architecture: "unknown" };
}

/**
 * Resolve to a single platform: manifest (via the index if there is one), then the config, whose declared
 * platform must agree with the index entry (or with an explicitly asked platform).
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
  const resolvedAt = (opts.now ?? (() => new Date()))();
  const config = await source.blob(manifestJson.config, MAX_CONFIG_BYTES);
  const configJson = decodeConfig(config.bytes, config.mediaType, config.digest);
  const image: ResolvedImage = {
    origin: source.origin,
    manifest,
    manifestJson,
    config,
    configJson,
    platform: checkPlatform(configJson, entry, opts),
    resolvedAt,
  };
  if (index) image.index = index;
  return image;
}
