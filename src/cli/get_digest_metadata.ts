/**
 * `get_digest_metadata`: the image config blob exactly as served, always for one platform (the original
 * tool's name for "the config the manifest's config digest names").
 *
 * @module
 */

import { MAX_CONFIG_BYTES } from "../manifest.ts";
import { resolveManifest } from "../source.ts";
import type { RunContext } from "./context.ts";
import { emit, prettyJson } from "./emit.ts";

/** Run get_digest_metadata. */
export async function getDigestMetadata(ctx: RunContext): Promise<void> {
  const source = await ctx.openSource();
  try {
    const { manifestJson } = await resolveManifest(source, ctx);
    const config = await source.blob(manifestJson.config, MAX_CONFIG_BYTES);
    await emit(ctx.options.pretty ? prettyJson(config.bytes) : config.bytes, ctx.options.output);
  } finally {
    source.close?.();
  }
}
