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

/**
 * Resolve after one timer turn of the event loop. The loop then waits for I/O, so a just-issued fetch connects
 * and writes its request (measured: a microtask, `setImmediate` or a quick async op are not enough; the request
 * then stays unsent until the library has loaded).
 */
function timerTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Run sbom.
 *
 * The formatter and the CycloneDX library (~30 ms of compile and evaluation, which blocks the event loop) are
 * loaded while the registry answers: the first request is issued, a timer turn lets it reach the wire (a fetch
 * only connects and writes when the event loop waits for I/O), and then the load starts. Loading first would hold
 * the request back until the load is done; loading after the requests would add its full time to the run.
 */
export async function sbom(ctx: RunContext, opts: SbomCommandOptions): Promise<void> {
  const clock = systemClock(ctx.env);
  const source = await ctx.openSource();
  let sent: Promise<void> | undefined;
  try {
    const top = source.manifest();
    sent = timerTurn();
    const formatter = sent.then(() => import("../formats/cyclonedx.ts")).then(async (m) => {
      await m.loadCycloneDxLibrary();
      return m;
    });
    formatter.catch(() => {}); // awaited below; a failure is reported there, not as an unhandled rejection
    const image = await resolveImage(source, ctx, await top);
    const { cyclonedxSbom } = await formatter;
    const bytes = await cyclonedxSbom(image, {
      format: opts.format === "cyclonedx-xml" ? "xml" : "json",
      specVersion: opts.specVersion ?? "1.6",
      includeEnv: opts.includeEnv === true,
      clock,
    });
    await emit(bytes, ctx.options.output);
  } finally {
    source.close?.();
    await sent; // no timers left behind when a request failed first
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
    .addOption(
      new Option("--spec-version <version>", "CycloneDX version").choices(["1.6", "1.5"]).default("1.6"),
    )
    .option("--include-env", "also record the config's Env values (off by default: they may hold secrets)");
}

/** Register the command. */
export function registerSbom(program: Command, start: (opts: CommonOptions) => RunContext): void {
  addSbomOptions(addCommonOptions(program.command("sbom").description("CycloneDX SBOM describing the image")))
    .action(async (opts: SbomCommandOptions, cmd: Command) => {
      await sbom(start(cmd.optsWithGlobals()), opts);
    });
}
