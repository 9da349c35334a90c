/**
 * The early start: the first registry request goes out before commander is loaded.
 *
 * Loading commander (and the Node compatibility modules it imports) blocks the event loop for about 30 ms. A
 * command line this module fully recognises, from the same option table commander is built from
 * ({@link COMMANDS}), gets its run context and its first manifest request now; commander then loads while the
 * registry answers. commander still parses every command line: only when it arrives at the same command and the
 * same shared options is the early context adopted, with the request in flight; anything else (help, usage
 * errors, forms this scan does not read) abandons it, and the run proceeds exactly as without it. The scan is
 * deliberately narrow: it gives up on anything unusual rather than guess, so a request is never sent for a
 * command line commander would reject.
 *
 * @module
 */

import { systemClock } from "../formats/clock.ts";
import type { Blob, Descriptor } from "../image.ts";
import type { ImageSource } from "../source.ts";
import { type CommonOptions, makeContext, type RunContext } from "./context.ts";
import {
  type CommandName,
  COMMANDS,
  COMMON_OPTIONS,
  type OptionSpec,
  type ParsedFlags,
  parseFlags,
} from "./options.ts";
import { onTheWire } from "./wire.ts";

/** A command line recognised without commander. */
export interface Prescan {
  command: CommandName;
  /** The shared options, as commander's `optsWithGlobals()` will have them. */
  options: CommonOptions;
}

interface KnownOption {
  spec: OptionSpec;
  flags: ParsedFlags;
}

function optionTable(specs: readonly OptionSpec[]): Map<string, KnownOption> {
  const table = new Map<string, KnownOption>();
  for (const spec of specs) {
    const flags = parseFlags(spec.flags);
    table.set(`--${flags.long}`, { spec, flags });
    if (flags.short) table.set(`-${flags.short}`, { spec, flags });
  }
  return table;
}

const COMMON_TABLE = optionTable(COMMON_OPTIONS);
const COMMON_FLAGS = COMMON_OPTIONS.map((spec) => parseFlags(spec.flags));
const COMMAND_TABLES = new Map<string, { command: CommandName; options: Map<string, KnownOption> }>();
for (const [name, spec] of Object.entries(COMMANDS)) {
  const entry = {
    command: name as CommandName,
    options: optionTable([...COMMON_OPTIONS, ...spec.options]),
  };
  for (const word of [name, ...spec.aliases]) COMMAND_TABLES.set(word, entry);
}

/**
 * Read a command line the way commander will, or give up (undefined). Recognised: one command name or alias;
 * options of the program before it and of the command after it, as `--long VALUE`, `--long=VALUE`,
 * `-s VALUE`, `--flag`, `-s`, `--no-flag`; repeatable options collected. Given up on: help and version, unknown
 * options, bundled short flags, `--`, stray arguments, values that start with `-`, values outside an option's
 * choices.
 *
 * @example
 * ```ts
 * prescan(["get_manifest", "-u", "alpine"]); // { command: "get_manifest", options: { imageUri: "alpine" } }
 * ```
 */
export function prescan(args: readonly string[]): Prescan | undefined {
  let command: CommandName | undefined;
  let table = COMMON_TABLE;
  // Shared options land in the program's values wherever they stand (commander reads them at every level);
  // the command's own options cannot clash with their names, so one record serves both.
  const values: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("-")) {
      const found = command === undefined ? COMMAND_TABLES.get(arg) : undefined;
      if (!found) return undefined;
      command = found.command;
      table = found.options;
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const known = table.get(eq > 0 ? arg.slice(0, eq) : arg);
    if (!known) return undefined;
    let value: string | boolean;
    if (known.flags.takesValue) {
      const next = eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (next === undefined || (eq < 0 && next.startsWith("-"))) return undefined;
      if (known.spec.choices && !known.spec.choices.includes(next)) return undefined;
      value = next;
    } else {
      if (eq > 0) return undefined;
      value = !known.flags.negated;
    }
    const key = known.flags.attribute;
    values[key] = known.spec.repeatable ? [...((values[key] as string[] | undefined) ?? []), value] : value;
  }
  if (command === undefined) return undefined;
  const options: Record<string, unknown> = {};
  for (const { attribute } of COMMON_FLAGS) {
    if (values[attribute] !== undefined) options[attribute] = values[attribute];
  }
  return { command, options: options as CommonOptions };
}

/** The shared options in a comparable form: a negatable option's absence is `true`, as commander has it. */
export function sharedOptionsKey(options: CommonOptions): string {
  const o = options as Record<string, unknown>;
  const entries = COMMON_FLAGS.map(({ attribute, negated }) => [
    attribute,
    negated ? o[attribute] !== false : o[attribute] ?? null,
  ]);
  return JSON.stringify(entries);
}

/**
 * What each early-started command checks before its first request, so that the early start sends nothing a
 * command would have refused to send. Commands not listed here are never started early: `provenance` and
 * `capture` hash subjects and check output directories first.
 */
const BEFORE_FIRST_REQUEST: Partial<Record<CommandName, (ctx: RunContext) => void>> = {
  get_manifest: () => {},
  get_digest_metadata: () => {},
  sbom: (ctx) => void systemClock(ctx.env),
};

/** A started run, waiting for commander to confirm it. */
export interface EarlyStart {
  /**
   * The early context, if `command` and `options` (commander's parse) are what the early start assumed;
   * otherwise undefined, and the early request is abandoned.
   */
  adopt(command: CommandName, options: CommonOptions): RunContext | undefined;
  /** Abort the early request and close its source, unless a command has opened it. Idempotent. */
  abandon(): void;
}

/**
 * A source whose first `manifest()` without a descriptor is `first` (the request already in flight).
 */
function withFirstManifest(source: ImageSource & { close?(): void }, first: Promise<Blob>) {
  let pending: Promise<Blob> | undefined = first;
  return {
    origin: source.origin,
    manifest(descriptor?: Descriptor): Promise<Blob> {
      if (!descriptor && pending) {
        const top = pending;
        pending = undefined;
        return top;
      }
      return source.manifest(descriptor);
    },
    blob: (descriptor: Descriptor, maxBytes: number) => source.blob(descriptor, maxBytes),
    close: () => source.close?.(),
  };
}

/**
 * Start the run's first request if the command line is recognised (see {@link prescan}) and valid; resolves
 * once the request has had {@link onTheWire}'s time to reach the wire, so the caller can then load commander.
 * Resolves to undefined, having sent nothing, otherwise.
 *
 * @example
 * ```ts
 * const early = await startEarly(Deno.args, io);
 * const { run } = await import("./run.ts");
 * Deno.exit(await run(Deno.args, io, early));
 * ```
 */
export async function startEarly(
  args: readonly string[],
  io: { env: Record<string, string | undefined>; stderr: (line: string) => void },
): Promise<EarlyStart | undefined> {
  const scan = prescan(args);
  const check = scan && BEFORE_FIRST_REQUEST[scan.command];
  if (!scan || !check) return undefined;
  const abandoned = new AbortController();
  let ctx: RunContext;
  try {
    ctx = makeContext(scan.options, io.env, io.stderr, abandoned.signal);
    check(ctx);
  } catch {
    return undefined; // commander's run reports it
  }
  const opened = ctx.openSource();
  const top = opened.then((source) => source.manifest());
  const adopted = opened.then((source) => withFirstManifest(source, top));
  // Awaited by the command once adopted; an abandoned start's failure is nobody's business.
  adopted.catch(() => {});
  top.catch(() => {});
  // The wait for the wire starts once the source is open, when the request is issued.
  await opened.then(() => onTheWire(top), () => {});

  // "open": nobody has it yet; "adopted": a command context has it, but has not opened the source; "owned":
  // the command opened the source and closes it; "abandoned": aborted and closed here.
  let state: "open" | "adopted" | "owned" | "abandoned" = "open";
  const key = sharedOptionsKey(scan.options);
  const abandon = () => {
    if (state === "owned" || state === "abandoned") return;
    state = "abandoned";
    abandoned.abort();
    adopted.then((source) => source.close(), () => {});
  };
  return {
    adopt(command, options) {
      if (state !== "open") return undefined;
      if (command !== scan.command || sharedOptionsKey(options) !== key) {
        abandon();
        return undefined;
      }
      state = "adopted";
      ctx.log?.("early start adopted: the first request was sent before the command line was parsed");
      return {
        ...ctx,
        openSource: () => {
          if (state === "adopted") state = "owned";
          return adopted;
        },
      };
    },
    abandon,
  };
}
