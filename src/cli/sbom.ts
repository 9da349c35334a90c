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

/** How long the first request gets to reach the wire before the (blocking) library load starts. */
const WIRE_MS = 5;

/**
 * Resolve when `request` settles or after `ms`, whichever is first, leaving no timer behind. A fetch only
 * connects and writes its request while the event loop waits for I/O (measured: one timer turn is not enough
 * for a fresh connection through a slow link; 5 ms is), so the load must not start before that.
 */
function onTheWire(request: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
  return Promise.race([request.then(() => {}, () => {}), waited]).finally(() => clearTimeout(timer));
}

/**
 * Run sbom.
 *
 * The formatter and the CycloneDX library (~30 ms of compile and evaluation, which blocks the event loop) are
 * loaded while the registry answers: the first request is issued and given a few milliseconds to reach the wire
 * (see {@link onTheWire}), and then the load starts. Loading first would hold the request back until the load is
 * done; loading after the requests would add its full time to the run.
 */
export async function sbom(ctx: RunContext, opts: SbomCommandOptions): Promise<void> {
  const clock = systemClock(ctx.env);
  const source = await ctx.openSource();
  let sent: Promise<void> | undefined;
  try {
    const top = source.manifest();
    sent = onTheWire(top, WIRE_MS);
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
    await sent; // settles within WIRE_MS: no timer is left behind when a request failed first
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
