/**
 * The command line: builds the commander program and maps every failure to one line on stderr and an exit
 * code, in this one place (0 success, 1 failure, 2 usage or invalid reference).
 *
 * @module
 */

import { Command, CommanderError } from "commander";
import { describeError, ToolError } from "../errors.ts";
import { redactText } from "../registry/transport/redact.ts";
import { TOOL_NAME, VERSION } from "../version.ts";
import { registerCapture } from "./capture.ts";
import { addCommonOptions, type CommonOptions, makeContext, type RunContext } from "./common.ts";
import { registerGetDigestMetadata } from "./get_digest_metadata.ts";
import { registerGetManifest } from "./get_manifest.ts";
import { registerProvenance } from "./provenance.ts";
import { registerSbom } from "./sbom.ts";

/** Process-level inputs of a run, parameters so tests can run the CLI in-process. */
export interface RunIO {
  env: Record<string, string | undefined>;
  /** One line (without newline) to stderr. */
  stderr: (line: string) => void;
}

const EXAMPLES = `
Examples:
  ${TOOL_NAME} get_manifest -u 772738948692.dkr.ecr.us-east-1.amazonaws.com/os_build_env:latest
  ${TOOL_NAME} get_digest_metadata -u ghcr.io/org/app:1.0 --platform linux/arm64
  ${TOOL_NAME} sbom -o build-env.cdx.json            # inside CodeBuild: CODEBUILD_BUILD_IMAGE
  ${TOOL_NAME} provenance --subject out/os.img -o out/os.img.intoto.json
  ${TOOL_NAME} capture --output-dir out/ --subject out/os.img
  ${TOOL_NAME} sbom -u oci:fixtures/oci-layout:demo --platform linux/amd64

Exit codes: 0 success, 1 failure, 2 usage error or invalid reference.`;

/**
 * Run the CLI with `args` (without the program name); resolves to the exit code. Never throws.
 *
 * @example
 * ```ts
 * Deno.exit(await run(Deno.args, { env: Deno.env.toObject(), stderr: (l) => console.error(l) }));
 * ```
 */
export async function run(args: string[], io: RunIO): Promise<number> {
  let ctx: RunContext | undefined;
  let verbose = args.includes("-v") || args.includes("--verbose");
  const start = (opts: CommonOptions): RunContext => {
    verbose = opts.verbose === true;
    ctx = makeContext(opts, io.env, io.stderr);
    return ctx;
  };
  const program = new Command(TOOL_NAME)
    .description(
      "Read a container image's manifest and config straight from a registry's HTTP API (no layers, no Docker)\n" +
        "and write them raw, as a CycloneDX SBOM, or as SLSA provenance.",
    )
    .version(VERSION, "--version", "print the version")
    .helpOption("-h, --help", "show help")
    .addHelpText("after", EXAMPLES)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void Deno.stdout.writeSync(new TextEncoder().encode(s)),
      writeErr: (s) => io.stderr(s.replace(/\n$/, "")),
    });
  addCommonOptions(program);
  for (
    const register of [
      registerGetManifest,
      registerGetDigestMetadata,
      registerSbom,
      registerProvenance,
      registerCapture,
    ]
  ) {
    register(program, start);
  }
  program.commands.forEach((c) => c.exitOverride().configureOutput(program.configureOutput()));
  program.action(() => {
    program.outputHelp({ error: true });
    throw new CommanderError(2, "commander.missingCommand", "");
  });

  try {
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === "commander.helpDisplayed" || err.code === "commander.version" ||
        err.code === "commander.help"
      ) {
        return 0;
      }
      return 2;
    }
    const secrets = ctx?.secrets ?? [];
    const line = redactText(describeError(err), secrets);
    io.stderr(`${TOOL_NAME}: error: ${line}`);
    if (verbose && err instanceof Error && err.stack) io.stderr(redactText(err.stack, secrets));
    if (err instanceof ToolError) return err.exitCode;
    return 1;
  }
}
