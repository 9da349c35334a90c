/**
 * The image a document command describes: resolved from its source (registry or OCI layout), every byte
 * verified, or, for an AWS-managed CodeBuild image, by name only and plainly unresolved.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { DescribedImage, ResolvedImage } from "../image.ts";
import { type ImageSource, resolveImage } from "../source.ts";
import type { RunContext } from "./context.ts";

/** Resolve the run's image on an open source, with the clock's time as the time of resolution. */
export function resolveFor(ctx: RunContext, source: ImageSource): Promise<ResolvedImage> {
  return resolveImage(source, { ...ctx, now: () => ctx.clock().now() });
}

/** The image `sbom`, `provenance` and `capture` describe (a warning line for one that cannot be resolved). */
export async function describeImage(ctx: RunContext): Promise<DescribedImage> {
  if (ctx.unresolved) {
    ctx.warn(`${ctx.input} is ${ctx.unresolved.reason}; the documents describe it by name and tag only`);
    return ctx.unresolved;
  }
  await using source = await ctx.openSource();
  return await resolveFor(ctx, source);
}

/** For `get_manifest` and `get_digest_metadata`: there are no registry bytes of an AWS-managed image to print. */
export function refuseUnresolved(ctx: RunContext): void {
  if (ctx.unresolved) {
    throw new UsageError(
      `"${ctx.input}" is a curated AWS CodeBuild image, which is not in a registry this tool can read`,
      { advice: "managed-image" },
    );
  }
}
