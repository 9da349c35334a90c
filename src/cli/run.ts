/**
 * The command line, end to end: normalise argv (`normalize.ts`), parse it once (`app.ts`), run the command,
 * and map every failure to one line on stderr and an exit code, in this one place (0 success, 1 failure,
 * 2 usage error or invalid reference).
 *
 * @module
 */

import { ToolError } from "../errors.ts";
import { redactText } from "../registry/transport/redact.ts";
import { TOOL_NAME } from "../version.ts";
import { describeFailure } from "./advice.ts";
import { parseCommandLine, usageLine } from "./app.ts";
import { attachmentsCommand, type AttachmentsCommandOptions } from "./attachments.ts";
import { capture, type CaptureOptions } from "./capture.ts";
import { completionScript } from "./completion.ts";
import { makeContext, type RunContext, type RunIO, safeLine, timeoutSeconds } from "./context.ts";
import { getDigestMetadata } from "./get_digest_metadata.ts";
import { getManifest } from "./get_manifest.ts";
import { normalizeArgs } from "./normalize.ts";
import { COMMAND_TABLE, type CommandName } from "./options.ts";
import { provenanceCommand, type ProvenanceCommandOptions } from "./provenance.ts";
import { sbom, type SbomCommandOptions } from "./sbom.ts";

export type { RunIO } from "./context.ts";

type ImageCommand = Exclude<CommandName, "completion">;

/** What each image command does with its context and its own options. */
const ACTIONS: Record<ImageCommand, (ctx: RunContext, opts: Record<string, unknown>) => Promise<void>> = {
  get_manifest: (ctx) => getManifest(ctx),
  get_digest_metadata: (ctx) => getDigestMetadata(ctx),
  sbom: (ctx, opts) => sbom(ctx, opts as SbomCommandOptions),
  provenance: (ctx, opts) => provenanceCommand(ctx, opts as ProvenanceCommandOptions),
  capture: async (ctx, opts) => {
    for (const path of await capture(ctx, opts as CaptureOptions)) ctx.note(`wrote ${path}`);
  },
  attachments: (ctx, opts) => attachmentsCommand(ctx, opts as AttachmentsCommandOptions),
};

const encoder = new TextEncoder();

/**
 * Run the CLI with `args` (without the program name); resolves to the exit code. Never throws.
 *
 * @example
 * ```ts
 * const io = { env: Deno.env.toObject(), cwd: Deno.cwd(), stdout: (b) => Deno.stdout.write(b).then(() => {}),
 *   stderr: (l) => console.error(l) };
 * Deno.exit(await run(Deno.args, io));
 * ```
 */
export async function run(args: readonly string[], io: RunIO): Promise<number> {
  const normalized = normalizeArgs(args);
  const first = normalized[0];
  if (
    first === undefined || (first.startsWith("-") && !["--help", "-h", "--version", "-V"].includes(first))
  ) {
    io.stderr(usageLine(`no command given; commands: ${Object.keys(COMMAND_TABLE).join(", ")}`));
    return 2;
  }
  let help = "";
  const outcome = await parseCommandLine(normalized, {
    stdout: (text) => help += text,
    stderr: (line) => io.stderr(line),
  });
  if (help) await io.stdout(encoder.encode(help));
  if (outcome.kind === "exit") return outcome.code;

  const { command, flags, argument } = outcome.parsed;
  if (command === "completion") {
    await io.stdout(encoder.encode(completionScript(argument as "bash" | "zsh" | "fish")));
    return 0;
  }
  let ctx: RunContext | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const seconds = timeoutSeconds(flags);
    const deadline = new AbortController();
    timer = setTimeout(
      () => deadline.abort(new DOMException("the run's deadline passed", "TimeoutError")),
      seconds * 1000,
    );
    ctx = makeContext(flags, io, deadline.signal);
    await ACTIONS[command](ctx, flags);
    return 0;
  } catch (err) {
    const secrets = ctx?.secrets ?? [];
    io.stderr(`${TOOL_NAME}: error: ${safeLine(describeFailure(err), secrets)}`);
    if (flags.verbose === true && err instanceof Error && err.stack) {
      for (const line of redactText(err.stack, secrets).split("\n")) io.stderr(safeLine(line, secrets));
    }
    return err instanceof ToolError ? err.exitCode : 1;
  } finally {
    clearTimeout(timer);
  }
}
