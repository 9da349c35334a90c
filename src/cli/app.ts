/**
 * The command-line parser: a stricli application built from the option table (`options.ts`). It only parses:
 * a command line it accepts becomes a {@link ParsedCommand} for `run.ts` to execute; help and parse errors are
 * written here, errors as one line each, in the tool's own words.
 *
 * @module
 */

import {
  type Application,
  type ArgumentParseError,
  type ArgumentScannerError,
  buildApplication,
  buildChoiceParser,
  buildCommand,
  buildRouteMap,
  type CommandContext,
  type EnumValidationError,
  type FlagNotFoundError,
  formatMessageForArgumentScannerError,
  help,
  run as stricliRun,
  text_en,
  type UnexpectedPositionalError,
  version,
} from "@stricli/core";
import { printable } from "../errors.ts";
import { TOOL_NAME, VERSION } from "../version.ts";
import {
  attributeOf,
  attributeOfFlag,
  COMMAND_TABLE,
  type CommandName,
  commandNamed,
  type CommandSpec,
  commandsWithOption,
  findOption,
  optionsOf,
  type OptionSpec,
} from "./options.ts";

/** A command line the parser accepted. */
export interface ParsedCommand {
  command: CommandName;
  /** Option values by attribute name (`imageUri`), defaults filled in. */
  flags: Record<string, unknown>;
  /** The positional argument, for the one command that takes one. */
  argument?: string;
}

/** What parsing came to: a command to run, or an exit code (help printed, or a usage error reported). */
export type ParseOutcome = { kind: "run"; parsed: ParsedCommand } | { kind: "exit"; code: number };

/** Where the parser writes: help text to `stdout`, error lines to `stderr`. */
export interface ParserIO {
  stdout(text: string): void;
  stderr(line: string): void;
}

const EXAMPLES = `Examples:
  ${TOOL_NAME} get_manifest -u 772738948692.dkr.ecr.us-east-1.amazonaws.com/os_build_env:latest
  ${TOOL_NAME} get_digest_metadata -u ghcr.io/org/app:1.0 --platform linux/arm64
  ${TOOL_NAME} sbom -o build-env.cdx.json            # inside CodeBuild: CODEBUILD_BUILD_IMAGE
  ${TOOL_NAME} provenance --subject out/os.img -o out/os.img.intoto.json
  ${TOOL_NAME} capture --output-dir out/ --subject out/os.img
  ${TOOL_NAME} sbom -u oci:fixtures/oci-layout:demo --platform linux/amd64

Options may come before the command name (-u REF -r REGION get_manifest). Help on a command: help COMMAND.
Exit codes: 0 success, 1 failure, 2 usage error or invalid reference.`;

// deno-lint-ignore no-explicit-any
type AnyFlag = any;

/**
 * An absolute URI (`https://ci.example/runners/1`, an ARN, a URN), kept as given. What `new URL` cannot read
 * (a relative path, a host name without a scheme) or holds whitespace (which `URL` would trim or escape) is
 * refused; the message becomes the cause in `invalid value "..." for --NAME: ...`.
 */
function parseAbsoluteUri(value: string): string {
  const example = "https://ci.example/runners/linux-01";
  if (/\s/.test(value)) {
    throw new Error(`not an absolute URI (it holds whitespace); give one such as ${example}`);
  }
  try {
    new URL(value);
  } catch {
    throw new Error(`not an absolute URI; give one with a scheme, such as ${example} or an ARN`);
  }
  return value;
}

/** The parser of a table entry's value. */
function parserOf(o: OptionSpec): (value: string) => string {
  return o.check === "absolute-uri" ? parseAbsoluteUri : String;
}

/** The stricli flag of one table entry. */
function flagOf(o: OptionSpec): AnyFlag {
  // stricli's help shows the flag's name only; the placeholder leads its description instead.
  const brief = o.value !== undefined && !o.choices ? `${o.value}  ${o.description}` : o.description;
  if (o.value === undefined) {
    return o.default === true
      ? { kind: "boolean", brief, default: true }
      : { kind: "boolean", brief, optional: true, withNegated: false };
  }
  if (o.choices) {
    return o.default !== undefined
      ? { kind: "enum", brief, values: o.choices, default: o.default, placeholder: o.value }
      : { kind: "enum", brief, values: o.choices, optional: true, placeholder: o.value };
  }
  if (typeof o.default === "string") {
    return { kind: "parsed", brief, parse: parserOf(o), default: o.default, placeholder: o.value };
  }
  return {
    kind: "parsed",
    brief,
    parse: parserOf(o),
    optional: true,
    placeholder: o.value,
    ...(o.repeatable ? { variadic: true } : {}),
  };
}

/** The stricli command of a table entry; without its options when `withOptions` is false (see buildParser). */
function commandFor(
  name: CommandName,
  spec: CommandSpec,
  accept: (parsed: ParsedCommand) => void,
  withOptions: boolean,
) {
  const flags: Record<string, AnyFlag> = {};
  const aliases: Record<string, string> = {};
  for (const o of withOptions ? optionsOf(name) : []) {
    flags[attributeOf(o.name)] = flagOf(o);
    if (o.short) aliases[o.short] = attributeOf(o.name);
  }
  const parameters: AnyFlag = { flags, aliases };
  if (spec.argument) {
    parameters.positional = {
      kind: "tuple",
      parameters: [{
        brief: spec.argument.choices.join(", "),
        placeholder: spec.argument.name,
        parse: buildChoiceParser(spec.argument.choices),
      }],
    };
  }
  return buildCommand({
    func(this: CommandContext, parsedFlags: Record<string, unknown>, argument?: string) {
      accept({ command: name, flags: parsedFlags, ...(argument !== undefined ? { argument } : {}) });
    },
    parameters,
    docs: {
      brief: spec.description,
      ...(spec.details ? { fullDescription: `${spec.description}\n\n${spec.details}` } : {}),
    },
  });
}

/** `--imageUri` (stricli's internal name) -> `--image-uri`. */
function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Whether a stray word looks like an image reference rather than a command or a file. */
export function looksLikeReference(word: string): boolean {
  return /^[a-z0-9][a-z0-9._-]*(?:[:/@]|$)/i.test(word) && /[:/@.]/.test(word) || word.startsWith("oci:");
}

/** The one-line description of a parse error, for `command` (the command being parsed, if known). */
export function describeParseError(exc: unknown, command: CommandName | undefined): string {
  if (!(exc instanceof Error)) return String(exc);
  const where = command ? ` of ${command}` : "";
  return formatMessageForArgumentScannerError(exc as ArgumentScannerError, {
    FlagNotFoundError(e: FlagNotFoundError) {
      const flag = e.aliasName ? `-${e.aliasName}` : `--${e.input}`;
      const owners = commandsWithOption(kebab(attributeOfFlag(e.input)));
      if (owners.length > 0 && command && !owners.includes(command)) {
        return `${flag} is not an option${where}; it belongs to ${owners.join(", ")}`;
      }
      const guesses = e.corrections.map((c) => `--${kebab(c)}`);
      return `unknown option ${flag}${where}${
        guesses.length ? `, did you mean ${guesses.join(" or ")}?` : ""
      }`;
    },
    AliasNotFoundError(e) {
      return `unknown option -${e.input}${where}`;
    },
    UnexpectedPositionalError(e: UnexpectedPositionalError) {
      if (command && COMMAND_TABLE[command].image) {
        const hint = looksLikeReference(e.input)
          ? `; the image goes in -u/--image-uri: ${TOOL_NAME} ${command} -u ${e.input}`
          : `; ${command} takes no arguments, only options`;
        return `unexpected argument "${e.input}"${hint}`;
      }
      return `unexpected argument "${e.input}"`;
    },
    UnsatisfiedFlagError(e) {
      return `option --${e.externalFlagName} needs a value${
        e.nextFlagName ? ` (found --${e.nextFlagName} instead)` : ""
      }`;
    },
    UnsatisfiedPositionalError(e) {
      return `${command ?? "the command"} needs ${e.placeholder}`;
    },
    EnumValidationError(e: EnumValidationError) {
      return `invalid value "${e.input}" for --${e.externalFlagName}: expected one of ${e.values.join(", ")}`;
    },
    UnexpectedFlagError(e) {
      return `option --${e.externalFlagName} given twice ("${e.previousInput}", "${e.input}")`;
    },
    ArgumentParseError(e: ArgumentParseError) {
      const cause = e.exception instanceof Error ? e.exception.message : String(e.exception);
      // A flag's external name (`builder-id`) or a positional argument's placeholder (`SHELL`).
      const name = e.externalFlagNameOrPlaceholder;
      const shown = findOption(`--${name}`) ? `--${name}` : name;
      return `invalid value "${e.input}" for ${shown}: ${cause}`;
    },
    InvalidNegatedFlagSyntaxError(e) {
      // externalFlagName is the name as typed, negation included (`no-ecr-cache`, `noEcrCache`).
      return `option --${e.externalFlagName} takes no value; give it alone`;
    },
  });
}

/** The nearest command names to a mistyped one. */
function nearestCommands(corrections: readonly string[]): string {
  const plain = corrections.map((c) => c.replace(/`/g, ""));
  if (plain.length) return `, did you mean ${plain.join(" or ")}?`;
  return `; commands: ${Object.keys(COMMAND_TABLE).join(", ")}`;
}

/** One usage-error line, as every usage error is printed. */
export function usageLine(message: string, command?: CommandName): string {
  const helpCmd = command ? `${TOOL_NAME} help ${command}` : `${TOOL_NAME} help`;
  return `${TOOL_NAME}: error: ${printable(message)} (usage: ${helpCmd})`;
}

/**
 * Build the parser. `accept` receives the command line once it parses; `command` is the command being parsed
 * (for error messages).
 */
function buildParser(accept: (p: ParsedCommand) => void, command?: CommandName) {
  const routes: Record<string, ReturnType<typeof buildCommand>> = {};
  const aliases: Record<string, CommandName> = {};
  // A command line that names a command is parsed by a parser of that command alone (the others' flags cost
  // start-up time and change nothing). The root's help and an unknown command get every command, by name,
  // description and argument only: neither shows a command's options.
  for (const [name, spec] of Object.entries(COMMAND_TABLE) as [CommandName, CommandSpec][]) {
    if (command !== undefined && name !== command) continue;
    routes[name] = commandFor(name, spec, accept, command !== undefined);
    for (const alias of spec.aliases) aliases[alias] = name;
  }
  const root = buildRouteMap({
    routes,
    aliases,
    docs: {
      brief: "Read a container image's manifest and config from a registry (no layers, no Docker)",
      fullDescription: "Read a container image's manifest and config straight from a registry's HTTP API " +
        "(no layers, no Docker)\nand write them raw, as a CycloneDX SBOM, or as SLSA provenance.\n\n" +
        EXAMPLES,
    },
  });
  const text = {
    ...text_en,
    noCommandRegisteredForInput({ input, corrections }: { input: string; corrections: readonly string[] }) {
      const ref = looksLikeReference(input)
        ? `; the image goes in -u/--image-uri: ${TOOL_NAME} get_manifest -u ${input}`
        : nearestCommands(corrections);
      return usageLine(`unknown command ${input}${ref}`);
    },
    exceptionWhileParsingArguments(exc: unknown) {
      return usageLine(describeParseError(exc, command), command);
    },
  };
  return buildApplication(root, {
    name: TOOL_NAME,
    scanner: { caseStyle: "allow-kebab-for-camel" },
    documentation: { disableAnsiColor: true },
    localization: { text },
  }, {
    help: help({
      brief: "Print help and exit",
      formatting: {
        caseStyle: "convert-camel-to-kebab",
        useAliasInUsageLine: true,
        onlyRequiredInUsageLine: true,
      },
    }),
    version: version({ info: { currentVersion: VERSION }, alias: "V", brief: "Print the version and exit" }),
  }) as Application<CommandContext>;
}

/**
 * Parse `args` (already normalised, see `normalize.ts`).
 *
 * @example
 * ```ts
 * const outcome = await parseCommandLine(["get_manifest", "-u", "alpine"], io);
 * if (outcome.kind === "run") console.log(outcome.parsed.flags.imageUri); // "alpine"
 * ```
 */
export async function parseCommandLine(args: readonly string[], io: ParserIO): Promise<ParseOutcome> {
  let parsed: ParsedCommand | undefined;
  const command = args[0] !== undefined ? commandNamed(args[0]) : undefined;
  const app = buildParser((p) => parsed = p, command);
  let pending = "";
  const proc = {
    stdout: { write: (s: string) => void io.stdout(s) },
    stderr: {
      write: (s: string) => {
        pending += s;
        let nl: number;
        while ((nl = pending.indexOf("\n")) >= 0) {
          io.stderr(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
        }
      },
    },
    env: {},
    exitCode: undefined as number | string | null | undefined,
  };
  await stricliRun(app, args, { process: proc });
  if (pending) io.stderr(pending);
  if (parsed) return { kind: "run", parsed };
  const code = Number(proc.exitCode ?? 0);
  return { kind: "exit", code: code === 0 ? 0 : 2 };
}
