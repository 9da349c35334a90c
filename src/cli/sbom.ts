/**
 * `sbom`: a CycloneDX SBOM whose `metadata.component` is the image.
 *
 * @module
 */

import { systemClock } from "../formats/clock.ts";
import { resolveImage } from "../source.ts";
import type { CommonOptions, RunContext } from "./context.ts";
import { emit } from "./emit.ts";
import { onTheWire } from "./wire.ts";

/** Options of `sbom`. */
export interface SbomCommandOptions extends CommonOptions {
  format?: "cyclonedx-json" | "cyclonedx-xml";
  specVersion?: "1.6" | "1.5";
  includeEnv?: boolean;
}

/**
 * Run sbom.
 *
 * The formatter and the CycloneDX library (~30 ms of compile and evaluation, which blocks the event loop) are
 * loaded while the registry answers the last request, the config's: once that request has had a few
 * milliseconds to reach the wire (see {@link onTheWire}), the load starts. Loading before a request holds the
 * request back until the load is done; loading during an earlier request (the manifest's, which an early start
 * may already have in flight) delays the config request behind the load; loading after the requests adds its
 * full time to the run.
 */
export async function sbom(ctx: RunContext, opts: SbomCommandOptions): Promise<void> {
  const clock = systemClock(ctx.env);
  const source = await ctx.openSource();
  try {
    let formatter: Promise<CycloneDxModule> | undefined;
    const image = await resolveImage({
      origin: source.origin,
      manifest: (descriptor) => source.manifest(descriptor),
      blob(descriptor, maxBytes) {
        const config = source.blob(descriptor, maxBytes);
        formatter = onTheWire(config).then(loadFormatter);
        formatter.catch(() => {}); // awaited below; a failure is reported there, not as an unhandled rejection
        return config;
      },
    }, ctx);
    const { cyclonedxSbom } = await (formatter ?? loadFormatter());
    const bytes = await cyclonedxSbom(image, {
      format: opts.format === "cyclonedx-xml" ? "xml" : "json",
      specVersion: opts.specVersion ?? "1.6",
      includeEnv: opts.includeEnv === true,
      clock,
    });
    await emit(bytes, ctx.options.output);
  } finally {
    source.close?.();
  }
}

type CycloneDxModule = typeof import("../formats/cyclonedx.ts");

async function loadFormatter(): Promise<CycloneDxModule> {
  const m = await import("../formats/cyclonedx.ts");
  await m.loadCycloneDxLibrary();
  return m;
}
