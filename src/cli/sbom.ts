/**
 * `sbom`: a CycloneDX SBOM whose `metadata.component` is the image.
 *
 * @module
 */

import type { CommonOptions, RunContext } from "./context.ts";
import { describeImage } from "./describe.ts";

/** Options of `sbom`. */
export interface SbomCommandOptions extends CommonOptions {
  format?: "cyclonedx-json" | "cyclonedx-xml";
  specVersion?: "1.6" | "1.5";
  includeEnv?: boolean;
}

/**
 * Run sbom. The formatter (and the CycloneDX library, tens of milliseconds to load) is loaded while the
 * registry answers: the requests go out first, and the load's promise is awaited only once the image is in.
 */
export async function sbom(ctx: RunContext, opts: SbomCommandOptions): Promise<void> {
  const clock = ctx.clock();
  const describing = describeImage(ctx);
  const formatter = import("../formats/cyclonedx.ts");
  const [image, { cyclonedxSbom }] = await Promise.all([describing, formatter]);
  const bytes = await cyclonedxSbom(image, {
    format: opts.format === "cyclonedx-xml" ? "xml" : "json",
    specVersion: opts.specVersion ?? "1.6",
    includeEnv: opts.includeEnv === true,
    clock,
  });
  await ctx.emit(bytes);
}
