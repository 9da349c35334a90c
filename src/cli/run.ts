/**
 * The command line, end to end: normalise argv (`normalize.ts`), parse it once (`app.ts`), run the command,
 * and map every failure to one line on stderr and an exit code, in this one place (0 success, 1 failure,
 * 2 usage error or invalid reference).
 *
 * @module
 */

import { describeError, printable, ToolError } from "../errors.ts";
import { TOOL_NAME } from "../version.ts";
import { parseCommandLine, usageLine } from "./app.ts";
import type { AttachmentsCommandOptions } from "./attachments.ts";
import type { CaptureOptions } from "./capture.ts";
import type { RunContext, RunIO } from "./context.ts";
import { normalizeArgs } from "./normalize.ts";
import { COMMAND_TABLE, type CommandName } from "./options.ts";
import type { ProvenanceCommandOptions } from "./provenance.ts";
import type { SbomCommandOptions } from "./sbom.ts";

export type { RunIO } from "./context.ts";

type ImageCommand = Exclude<CommandName, "completion">;

/**
 * What each image command does with its context and its own options. Each command's module is loaded when it
 * runs, so a run loads only the code of its own command (start-up is most of a short run's time).
 */
const ACTIONS: Record<ImageCommand, (ctx: RunContext, opts: Record<string, unknown>) => Promise<void>> = {
  get_manifest: async (ctx) => (await import("./get_manifest.ts")).getManifest(ctx),
  get_digest_metadata: async (ctx) => (await import("./get_digest_metadata.ts")).getDigestMetadata(ctx),
  sbom: async (ctx, opts) => (await import("./sbom.ts")).sbom(ctx, opts as SbomCommandOptions),
  provenance: async (ctx, opts) =>
    (await import("./provenance.ts")).provenanceCommand(ctx, opts as ProvenanceCommandOptions),
  capture: async (ctx, opts) => {
    const { capture } = await import("./capture.ts");
    for (const path of await capture(ctx, opts as CaptureOptions)) ctx.note(`wrote ${path}`);
  },
  attachments: async (ctx, opts) =>
    (await import("./attachments.ts")).attachmentsCommand(ctx, opts as AttachmentsCommandOptions),
};

const encoder = new TextEncoder();

/**
 * Write text the user asked for (help, the version, a completion script) to stdout; resolves to the exit code.
 * A reader that went away before reading it all (`--help | head -1`) is no failure: the run ends quietly.
 * Any other failure to write is one line on stderr, exit 1.
 */
async function writeText(io: RunIO, text: string): Promise<number> {
  try {
    await io.stdout(encoder.encode(text));
    return 0;
  } catch (err) {
    if (err instanceof Deno.errors.BrokenPipe) return 0;
    io.stderr(`${TOOL_NAME}: error: cannot write to stdout: ${describeError(err)}`);
    return 1;
  }
}

/**
 * Run the CLI with `args` (without the program name); resolves to the exit code. Never throws.
 *
 * @example
 * ```ts
 * const stdout = async (b: Uint8Array) => {
 *   for (let off = 0; off < b.byteLength;) off += await Deno.stdout.write(b.subarray(off));
 * };
 * const io = { env: Deno.env.toObject(), cwd: Deno.cwd(), stdout, stderr: (l: string) => console.error(l) };
 * Deno.exit(await run(Deno.args, io));
 * ```
 */
export async function run(args: readonly string[], given: RunIO): Promise<number> {
  // Every line reaches the terminal escaped, whichever path wrote it (lines with secrets are redacted before,
  // by safeLine; escaping twice changes nothing).
  const io: RunIO = { ...given, stderr: (line) => given.stderr(printable(line)) };
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
  const written = help ? await writeText(io, help) : 0;
  if (outcome.kind === "exit") return written || outcome.code;

  const { command, flags, argument } = outcome.parsed;
  if (command === "completion") {
    const { completionScript } = await import("./completion.ts");
    return await writeText(io, completionScript(argument as "bash" | "zsh" | "fish"));
  }
  // Loaded only now: help, the version and usage errors need none of it (their start-up is all their time).
  const [{ makeContext, safeLine, timeoutSeconds }, { describeFailure }, { redactText }] = await Promise.all([
    import("./context.ts"),
    import("./advice.ts"),
    import("../registry/transport/redact.ts"),
  ]);
  let ctx: RunContext | undefined;
  try {
    // AbortSignal.timeout, not setTimeout: the first setTimeout of a process costs about 10 ms of start-up.
    const deadline = AbortSignal.timeout(timeoutSeconds(flags) * 1000);
    ctx = makeContext(flags, io, deadline);
    await ACTIONS[command](ctx, flags);
    return 0;
  } catch (err) {
    const secrets = ctx?.secrets ?? [];
    if (err instanceof Deno.errors.BrokenPipe) {
      // `... | head`: the reader went away. Not quiet (the output is incomplete), but no error of the image's.
      io.stderr(
        `${TOOL_NAME}: error: output cut short: standard output was closed before all of it was written`,
      );
      return 1;
    }
    io.stderr(`${TOOL_NAME}: error: ${safeLine(describeFailure(err), secrets)}`);
    if (flags.verbose === true && err instanceof Error && err.stack) {
      for (const line of redactText(err.stack, secrets).split("\n")) io.stderr(safeLine(line, secrets));
    }
    return err instanceof ToolError ? err.exitCode : 1;
  }
}
