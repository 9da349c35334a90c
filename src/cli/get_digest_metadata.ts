/**
 * `get_digest_metadata`: the image config blob exactly as served, always for one platform (the original
 * tool's name for "the config the manifest's config digest names").
 *
 * @module
 */

import { ManifestError } from "../errors.ts";
import type { ImageSource } from "../source.ts";
import { resolveImage } from "../source.ts";
import type { RunContext } from "./context.ts";
import { refuseUnresolved } from "./describe.ts";
import { prettyJson } from "./emit.ts";

/** Run get_digest_metadata. */
export async function getDigestMetadata(ctx: RunContext): Promise<void> {
  refuseUnresolved(ctx);
  await using source = await ctx.openSource();
  // Resolving decodes the config: only a config that is JSON (and an image config) is printed.
  const { config } = await resolveImage(jsonConfigs(source), ctx);
  await ctx.emit(ctx.options.pretty ? prettyJson(config.bytes) : config.bytes);
}

/**
 * `source`, whose config blob must be JSON before anything else looks at it: these bytes are printed as they
 * are, and a manifest may name any blob as its config. The refusal names what the manifest said it was.
 */
function jsonConfigs(source: ImageSource): ImageSource {
  return {
    origin: source.origin,
    manifest: (descriptor) => source.manifest(descriptor),
    async blob(descriptor, maxBytes) {
      const blob = await source.blob(descriptor, maxBytes);
      try {
        JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(blob.bytes));
      } catch {
        throw new ManifestError(`config ${descriptor.digest} (${descriptor.mediaType}) is not JSON`, {
          hint: "the manifest names a blob that is not an image config; nothing was printed",
        });
      }
      return blob;
    },
    // A view: the caller disposes of the source itself.
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}
