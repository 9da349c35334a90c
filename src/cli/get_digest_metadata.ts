/**
 * `get_digest_metadata`: the image config blob exactly as served, always for one platform (the original
 * tool's name for "the config the manifest's config digest names").
 *
 * @module
 */

import { resolveImage } from "../source.ts";
import type { RunContext } from "./context.ts";
import { refuseUnresolved } from "./describe.ts";
import { prettyJson } from "./emit.ts";

/**
 * Run get_digest_metadata. Resolving decodes the config: a manifest may name any blob as its config, and only
 * one that is a JSON image config is printed (the refusal names the media type the manifest gave it).
 */
export async function getDigestMetadata(ctx: RunContext): Promise<void> {
  refuseUnresolved(ctx);
  await using source = await ctx.openSource();
  const { config } = await resolveImage(source, ctx);
  await ctx.emit(ctx.options.pretty ? prettyJson(config.bytes) : config.bytes);
}
