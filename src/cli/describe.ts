/**
 * The image a document command describes: resolved from its source (registry or OCI layout), every byte
 * verified, or, for an AWS-managed CodeBuild image, by name only and plainly unresolved; with
 * `--include-attached`, also what is attached to it.
 *
 * @module
 */

import type { DocumentKind } from "../attachments.ts";
import { UsageError } from "../errors.ts";
import type { DescribedImage, ResolvedImage } from "../image.ts";
import { type ImageSource, resolveImage, type ResolveOptions } from "../source.ts";
import type { AttachedResult, Finding } from "./attachments.ts";
import type { RunContext } from "./context.ts";

/**
 * Resolve the run's image on an open source. The time of resolution is the real time, and none under
 * SOURCE_DATE_EPOCH: a fixed time would be false, and the real one would make the output differ run to run.
 */
export function resolveFor(
  ctx: RunContext,
  source: ImageSource,
  onManifest?: ResolveOptions["onManifest"],
): Promise<ResolvedImage> {
  const now = ctx.clock().sourceDateEpoch === undefined ? undefined : false;
  return resolveImage(source, { ...ctx, now, ...(onManifest ? { onManifest } : {}) });
}

/** What {@link describeImage} found, and what it loaded. */
export interface Described<T> {
  image: DescribedImage;
  /** The attached documents of the kinds asked for (a resolved image only). */
  attached?: AttachedResult;
  /** What `load` gave. */
  loaded: T;
}

/**
 * The image `sbom`, `provenance` and `capture` describe (a warning line for one that cannot be resolved), and,
 * when `attached` names document kinds, the image's own attached documents of those kinds. `load` (the
 * command's formatters) starts once the first request is on the wire, or at once when there is none to make:
 * its load overlaps the round trips instead of following them.
 */
export async function describeImage<T>(
  ctx: RunContext,
  attached: ReadonlySet<DocumentKind> | undefined,
  load: () => Promise<T>,
): Promise<Described<T>> {
  let loading: Promise<T> | undefined;
  const startLoad = () => {
    loading = load();
    loading.catch(() => {}); // awaited below, unless the image cannot be read
  };
  if (ctx.unresolved) {
    startLoad();
    ctx.warn(`${ctx.input} is ${ctx.unresolved.reason}; the documents describe it by name and tag only`);
    if (attached) ctx.log?.("attachments: not looked for, the image was not resolved");
    return { image: ctx.unresolved, loaded: await loading! };
  }
  await using source = await ctx.openSource();
  const attachments = attached ? await import("./attachments.ts") : undefined;
  // The attachments are looked for as soon as the platform manifest is known, while its config is on the wire.
  // Their documents come only after more round trips: the code that reads them loads then, behind those
  // requests, not while the first answer waits to be read (loading holds the event loop).
  let finding: Finding | undefined;
  const onManifest = attachments && attached &&
    ((subject: Parameters<typeof attachments.findAttached>[2]) => {
      finding = attachments.findAttached(ctx, source, subject, { want: attached });
      finding.attachments.then(() => attachments.preloadAttached(attached), () => {});
    });
  // resolveImage sends the first request before its first await: the loads start behind it. Nothing is awaited
  // between here and the image, so a failed request is never a rejection without a handler.
  const resolving = resolveFor(ctx, source, onManifest);
  startLoad();
  // The lookups' code is needed as soon as the platform manifest is there.
  attachments?.preloadLookups();
  let image: ResolvedImage;
  try {
    image = await resolving;
  } catch (err) {
    // The image failed after its manifest (its config): the lookups end before the run does (within the
    // deadline), so the run leaves no request behind it.
    await finding?.settled;
    throw err;
  }
  const found = attachments && attached
    ? await attachments.readAttached(ctx, source, image, attached, finding)
    : undefined;
  return { image, ...(found ? { attached: found } : {}), loaded: await loading! };
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
