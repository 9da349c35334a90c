/**
 * `sbom`: a CycloneDX SBOM whose `metadata.component` is the image.
 *
 * @module
 */

import { resolveImage } from "../source.ts";
import { preloadAttached, readAttached, SBOM_DOCUMENTS } from "./attachments.ts";
import type { CommonOptions, RunContext } from "./context.ts";

/** Options of `sbom`. */
export interface SbomCommandOptions extends CommonOptions {
  format?: "cyclonedx-json" | "cyclonedx-xml";
  specVersion?: "1.6" | "1.5";
  includeEnv?: boolean;
  includeAttached?: boolean;
}

/**
 * Run sbom. The formatter (and the CycloneDX library, tens of milliseconds to load) is loaded while the
 * registry answers: the requests go out first, and the load's promise is awaited only once the image is in.
 */
export async function sbom(ctx: RunContext, opts: SbomCommandOptions): Promise<void> {
  const clock = ctx.clock();
  await using source = await ctx.openSource();
  const resolving = resolveImage(source, ctx);
  const formatter = import("../formats/cyclonedx.ts");
  if (opts.includeAttached) {
    // The attachments take more round trips: the library loads while they are on the wire.
    preloadAttached();
    formatter.then((m) => m.loadCycloneDxLibrary()).catch(() => {});
  }
  const [image, { cyclonedxSbom }] = await Promise.all([resolving, formatter]);
  // With --include-attached, the image's own SBOMs and provenance are merged in; without, nothing more is
  // read.
  const attached = opts.includeAttached
    ? (await readAttached(ctx, source, image, SBOM_DOCUMENTS)).inventory
    : undefined;
  const bytes = await cyclonedxSbom(image, {
    format: opts.format === "cyclonedx-xml" ? "xml" : "json",
    specVersion: opts.specVersion ?? "1.6",
    includeEnv: opts.includeEnv === true,
    clock,
    ...(attached ? { attached } : {}),
  });
  await ctx.emit(bytes);
}
