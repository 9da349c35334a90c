/**
 * `get_manifest`: the manifest bytes exactly as the registry served them. An index stays an index unless
 * `--platform` is given; then the chosen platform's manifest.
 *
 * @module
 */

import { decodeManifest } from "../manifest.ts";
import { resolveImage } from "../source.ts";
import type { RunContext } from "./context.ts";
import { refuseUnresolved } from "./describe.ts";
import { prettyJson } from "./emit.ts";

/**
 * Run get_manifest. With `--platform`, the config is read too: it is the truth about the platform, so the
 * manifest printed is one whose config is that platform, not merely one an index says is.
 */
export async function getManifest(ctx: RunContext): Promise<void> {
  refuseUnresolved(ctx);
  await using source = await ctx.openSource();
  const top = await source.manifest();
  // Decoding checks what is printed is a manifest the tool understands (schema1 and non-JSON are errors).
  const bytes = ctx.platformGiven
    ? (await resolveImage(source, ctx, top)).manifest.bytes
    : (decodeManifest(top.bytes, top.mediaType), top.bytes);
  await ctx.emit(ctx.options.pretty ? prettyJson(bytes) : bytes);
}
