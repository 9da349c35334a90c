/**
 * The small rewrite of the command line before the parser sees it, so that the forms the original tool and
 * other CLIs accept keep working with a parser that reads options after the command name only:
 *
 * - short options bundled or with their value attached split as getopt splits them: `-vu REF` is `-v -u REF`,
 *   `-uREF` is `-u REF`, `-rus-east-1` is `-r us-east-1` (a letter that takes a value takes the rest of the
 *   word, or else the next word); an option's value and everything after `--` stay as they are;
 * - options before the command name move behind it (`-u REF -r REGION get_manifest`, the original order);
 * - `help` and `help COMMAND` become `--help` and `COMMAND --help`.
 *
 * Whether an option takes a value is read from the option table. Nothing here validates: the parser reports
 * every error, with the options where it would find them (a bundle with a letter no option has is left whole,
 * for the parser to name the letter).
 *
 * @module
 */

import { findOption } from "./options.ts";

/** The parser's own one-letter flags: `-h` (help, everywhere) and `-V` (version, before a command). */
const BUILT_IN_FLAGS = new Set(["h", "V"]);

/** What the option `-c` is: a flag, an option taking a value, or none the parser knows. */
function letterKind(c: string): "flag" | "value" | undefined {
  if (BUILT_IN_FLAGS.has(c)) return "flag";
  const spec = findOption(`-${c}`);
  if (spec === undefined) return undefined;
  return spec.value === undefined ? "flag" : "value";
}

/**
 * Whether the option word `arg` (one option, as {@link splitBundle} leaves it) takes the next word as its
 * value. A bundle left whole (a letter no option has) is read by its last letter, as the parser would.
 */
function takesNext(arg: string): boolean {
  if (arg.includes("=")) return false;
  const flag = arg.startsWith("--") ? arg : `-${arg.at(-1)}`;
  return findOption(flag)?.value !== undefined;
}

/**
 * Split one short-option word (`-vuREF`) into one word per option (`-v`, `-u`, `REF`); `next` says whether
 * the last option still takes the next word as its value. A word with a character no option has stays whole.
 */
function splitBundle(arg: string): { words: string[]; next: boolean } {
  const words: string[] = [];
  for (let i = 1; i < arg.length; i++) {
    const c = arg[i];
    const kind = letterKind(c);
    if (kind === undefined) return { words: [arg], next: takesNext(arg) };
    const rest = arg.slice(i + 1);
    // `-u=REF` (and `-v=false`) is the parser's own form of an attached value: kept as it is.
    if (rest.startsWith("=")) return { words: [...words, `-${c}${rest}`], next: false };
    words.push(`-${c}`);
    if (kind === "value") {
      if (rest === "") return { words, next: true };
      return { words: [...words, rest], next: false };
    }
  }
  return { words, next: false };
}

/** Every short-option bundle of `args` split (see {@link splitBundle}); values and what follows `--` kept. */
function splitBundles(args: readonly string[]): string[] {
  const out: string[] = [];
  let isValue = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (isValue) {
      out.push(arg);
      isValue = false;
    } else if (arg === "--") {
      out.push(...args.slice(i));
      break;
    } else if (/^-[A-Za-z]/.test(arg)) {
      const { words, next } = splitBundle(arg);
      out.push(...words);
      isValue = next;
    } else {
      out.push(arg);
      isValue = arg.startsWith("--") && takesNext(arg);
    }
  }
  return out;
}

/**
 * Rewrite `args` as described in the module notes.
 *
 * @example
 * ```ts
 * normalizeArgs(["-u", "alpine", "-r", "us-east-1", "get_manifest"]);
 * // ["get_manifest", "-u", "alpine", "-r", "us-east-1"]
 * normalizeArgs(["get_manifest", "-vualpine"]); // ["get_manifest", "-v", "-u", "alpine"]
 * normalizeArgs(["help", "sbom"]); // ["sbom", "--help"]
 * ```
 */
export function normalizeArgs(given: readonly string[]): string[] {
  const args = splitBundles(given);
  const leading: string[] = [];
  let i = 0;
  while (i < args.length && args[i] !== "--" && args[i].startsWith("-") && args[i] !== "-") {
    // One option, with its value if the table says it takes one.
    const width = takesNext(args[i]) && i + 1 < args.length ? 2 : 1;
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
