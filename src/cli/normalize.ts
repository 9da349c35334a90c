/**
 * The small rewrite of the command line before the parser sees it, so that the forms the original tool and
 * other CLIs accept keep working with a parser that reads options after the command name only:
 *
 * - options before the command name move behind it (`-u REF -r REGION get_manifest`, the original order);
 *   whether an option takes a value is read from the option table, so its value moves with it;
 * - `help` and `help COMMAND` become `--help` and `COMMAND --help`.
 *
 * Nothing here validates: the parser reports every error, with the options where it would find them.
 *
 * @module
 */

import { findOption } from "./options.ts";

/** How many of `args` from `i` one option (with its value, if the table says it takes one) occupies. */
function optionWidth(args: readonly string[], i: number): number {
  const arg = args[i];
  if (arg.startsWith("--")) {
    if (arg.includes("=")) return 1;
    const spec = findOption(arg);
    return spec?.value !== undefined && !arg.startsWith("--no-") && i + 1 < args.length ? 2 : 1;
  }
  // `-u REF`, or a bundle such as `-vu REF` whose last letter takes the value.
  const letters = arg.slice(1);
  const last = findOption(`-${letters.at(-1)}`);
  return last?.value !== undefined && i + 1 < args.length ? 2 : 1;
}

/**
 * Rewrite `args` as described in the module notes.
 *
 * @example
 * ```ts
 * normalizeArgs(["-u", "alpine", "-r", "us-east-1", "get_manifest"]);
 * // ["get_manifest", "-u", "alpine", "-r", "us-east-1"]
 * normalizeArgs(["help", "sbom"]); // ["sbom", "--help"]
 * ```
 */
export function normalizeArgs(args: readonly string[]): string[] {
  const leading: string[] = [];
  let i = 0;
  while (i < args.length && args[i] !== "--" && args[i].startsWith("-") && args[i] !== "-") {
    const width = optionWidth(args, i);
    leading.push(...args.slice(i, i + width));
    i += width;
  }
  const rest = args.slice(i);
  if (rest.length === 0) return leading;
  if (rest[0] === "help") {
    const topic = rest[1] !== undefined && rest[1] !== "help" ? [rest[1]] : [];
    return [...topic, "--help"];
  }
  return [rest[0], ...leading, ...rest.slice(1)];
}
