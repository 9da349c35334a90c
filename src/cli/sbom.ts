/**
 * `sbom`: a CycloneDX SBOM whose `metadata.component` is the image.
 *
 * @module
 */

import { type Command, Option } from "commander";
import { systemClock } from "../formats/clock.ts";
import { resolveImage } from "../source.ts";
import { addCommonOptions, type CommonOptions, type RunContext } from "./common.ts";
import { emit } from "./emit.ts";

/** Options of `sbom`. */
export interface SbomCommandOptions extends CommonOptions {
  format?: "cyclonedx-json" | "cyclonedx-xml";
  specVersion?: "1.6" | "1.5";
  includeEnv?: boolean;
}

/** Run sbom. */
export async function sbom(ctx: RunContext, opts: SbomCommandOptions): Promise<void> {
  const clock = systemClock(ctx.env);
  const source = await ctx.openSource();
  try {
    const image = await resolveImage(source, ctx);
    const { cyclonedxSbom } = await import("../formats/cyclonedx.ts");
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

/** The `--format`/`--spec-version`/`--include-env` options, shared with `capture`. */
export function addSbomOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--format <format>", "SBOM format").choices(["cyclonedx-json", "cyclonedx-xml"]).default(
        "cyclonedx-json",
      ),
    )
    .addOption(new Option("--spec-version <version>", "CycloneDX version").choices(["1.6", "1.5"]).default("1.6"))
    .option("--include-env", "also record the config's Env values (off by default: they may hold secrets)");
}

/** Register the command. */
export function registerSbom(program: Command, start: (opts: CommonOptions) => RunContext): void {
  addSbomOptions(addCommonOptions(program.command("sbom").description("CycloneDX SBOM describing the image")))
    .action(async (opts: SbomCommandOptions, cmd: Command) => {
      await sbom(start(cmd.optsWithGlobals()), opts);
    });
}
