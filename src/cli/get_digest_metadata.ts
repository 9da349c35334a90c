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

/** Run get_digest_metadata. */
export async function getDigestMetadata(ctx: RunContext): Promise<void> {
  refuseUnresolved(ctx);
  await using source = await ctx.openSource();
  // Resolving decodes the config: only a config that is JSON (and an image config) is printed.
  const { config } = await resolveImage(source, ctx);
  await ctx.emit(ctx.options.pretty ? prettyJson(config.bytes) : config.bytes);
}
