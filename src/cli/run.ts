/**
 * The command line: builds the commander program from the option table (`options.ts`) and maps every failure
 * to one line on stderr and an exit code, in this one place (0 success, 1 failure, 2 usage or invalid
 * reference). The only module that loads commander.
 *
 * @module
 */

import { Command, CommanderError, Option } from "commander";
import { describeError, ToolError } from "../errors.ts";
import { redactText } from "../registry/transport/redact.ts";
import { TOOL_NAME, VERSION } from "../version.ts";
import { capture, type CaptureOptions } from "./capture.ts";
import { type CommonOptions, makeContext, type RunContext } from "./context.ts";
import type { EarlyStart } from "./early.ts";
import { getDigestMetadata } from "./get_digest_metadata.ts";
import { getManifest } from "./get_manifest.ts";
import { type CommandName, COMMANDS, COMMON_OPTIONS, type OptionSpec } from "./options.ts";
import { provenanceCommand, type ProvenanceCommandOptions } from "./provenance.ts";
import { sbom, type SbomCommandOptions } from "./sbom.ts";

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

/** What each command does with its context and its own options (as commander hands them over). */
const ACTIONS: Record<CommandName, (ctx: RunContext, opts: Record<string, unknown>) => Promise<void>> = {
  get_manifest: (ctx) => getManifest(ctx),
  get_digest_metadata: (ctx) => getDigestMetadata(ctx),
  sbom: (ctx, opts) => sbom(ctx, opts as SbomCommandOptions),
  provenance: (ctx, opts) => provenanceCommand(ctx, opts as ProvenanceCommandOptions),
  capture: async (ctx, opts) => {
    for (const path of await capture(ctx, opts as CaptureOptions)) ctx.stderr(`wrote ${path}`);
  },
};

/** commander's accumulator for repeatable options. */
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Add options from the table to a command. */
function addOptions(cmd: Command, specs: readonly OptionSpec[]): Command {
  for (const spec of specs) {
    const option = new Option(spec.flags, spec.description);
    if (spec.repeatable) option.argParser(collect);
    if (spec.choices) option.choices(spec.choices);
    if (spec.default !== undefined) option.default(spec.default);
    cmd.addOption(option);
  }
  return cmd;
}

/**
 * The commander program, every command registered; `start` turns a command's parsed options into its run
 * context.
 */
export function buildProgram(
  io: RunIO,
  start: (command: CommandName, options: CommonOptions) => RunContext,
): Command {
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
  addOptions(program, COMMON_OPTIONS);
  for (const [name, spec] of Object.entries(COMMANDS) as [CommandName, (typeof COMMANDS)[CommandName]][]) {
    const cmd = program.command(name).description(spec.description);
    for (const alias of spec.aliases) cmd.alias(alias);
    addOptions(cmd, [...COMMON_OPTIONS, ...spec.options])
      .exitOverride()
      .configureOutput(program.configureOutput())
      .action(async (opts: Record<string, unknown>, c: Command) => {
        await ACTIONS[name](start(name, c.optsWithGlobals()), opts);
      });
  }
  program.action(() => {
    program.outputHelp({ error: true });
    throw new CommanderError(2, "commander.missingCommand", "");
  });
  return program;
}

/**
 * Run the CLI with `args` (without the program name); resolves to the exit code. Never throws. `early` is the
 * run `startEarly` (early.ts) began before commander was loaded, adopted if commander's parse agrees with it.
 *
 * @example
 * ```ts
 * Deno.exit(await run(Deno.args, { env: Deno.env.toObject(), stderr: (l) => console.error(l) }));
 * ```
 */
export async function run(args: string[], io: RunIO, early?: EarlyStart): Promise<number> {
  let ctx: RunContext | undefined;
  let verbose = args.includes("-v") || args.includes("--verbose");
  const program = buildProgram(io, (command, opts) => {
    verbose = opts.verbose === true;
    ctx = early?.adopt(command, opts) ?? makeContext(opts, io.env, io.stderr);
    return ctx;
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
  } finally {
    early?.abandon();
  }
}
