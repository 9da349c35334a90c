/**
 * Every command and option of the CLI, as data. commander is built from this table (`src/cli/run.ts`), and
 * the early start (`src/cli/early.ts`) reads the same table to recognise a command line before commander is
 * loaded. This module must not import commander.
 *
 * @module
 */

/** One option, in commander's terms. */
export interface OptionSpec {
  /** commander flags: `-u, --image-uri <ref>`, `--pretty`, `--no-ecr-cache`. */
  readonly flags: string;
  readonly description: string;
  /** Repeatable: the values collect into an array. */
  readonly repeatable?: boolean;
  /** The only values allowed. */
  readonly choices?: readonly string[];
  /** Value when the option is not given. */
  readonly default?: string;
}

/** One command (its name is its key in {@link COMMANDS}). */
export interface CommandSpec {
  readonly aliases: readonly string[];
  readonly description: string;
  /** Its own options, besides {@link COMMON_OPTIONS}. */
  readonly options: readonly OptionSpec[];
}

/** Defaults, documented in `--help` and the README. */
export const DEFAULT_RETRIES = 3;
/** Overall deadline of a run, in seconds. */
export const DEFAULT_TIMEOUT_SECONDS = 120;

/**
 * Options of every command. They are defined on the program too, so the original tool's order
 * (`-u REF get_manifest`) keeps working; none has a default, so a value given before the command name is not
 * overwritten by a default after it.
 */
export const COMMON_OPTIONS: readonly OptionSpec[] = [
  {
    flags: "-u, --image-uri <ref>",
    description: "image reference, or oci:PATH[:TAG] (default: $CODEBUILD_BUILD_IMAGE)",
  },
  {
    flags: "-r, --region <region>",
    description: "ECR API region (default: the region in the ECR host name)",
  },
  { flags: "-v, --verbose", description: "debug log on stderr (secrets redacted)" },
  {
    flags: "--platform <os/arch[/variant]>",
    description: "which entry of a multi-platform index (default: this machine's)",
  },
  { flags: "-o, --output <file>", description: "write to FILE atomically instead of stdout" },
  { flags: "--pretty", description: "indent the JSON instead of printing the raw bytes" },
  { flags: "--plain-http", description: "talk HTTP, not HTTPS (local registries)" },
  {
    flags: "--ca-file <file>",
    description: "extra trusted CA certificates (PEM) for registry TLS; repeatable",
    repeatable: true,
  },
  {
    flags: "--registry-endpoint <host=url>",
    description: "send requests for registry HOST to URL (ECR VPC endpoints, mirrors, tests); repeatable",
    repeatable: true,
  },
  { flags: "--retries <n>", description: `retries of failed requests (default: ${DEFAULT_RETRIES})` },
  {
    flags: "--timeout <seconds>",
    description: `deadline for the whole run (default: ${DEFAULT_TIMEOUT_SECONDS})`,
  },
  { flags: "--no-ecr-cache", description: "do not cache ECR authorization tokens on disk" },
];

/** `--format`, `--spec-version`, `--include-env`: `sbom` and `capture`. */
export const SBOM_OPTIONS: readonly OptionSpec[] = [
  {
    flags: "--format <format>",
    description: "SBOM format",
    choices: ["cyclonedx-json", "cyclonedx-xml"],
    default: "cyclonedx-json",
  },
  {
    flags: "--spec-version <version>",
    description: "CycloneDX version",
    choices: ["1.6", "1.5"],
    default: "1.6",
  },
  {
    flags: "--include-env",
    description: "also record the config's Env values (off by default: they may hold secrets)",
  },
];

/** `--subject`, `--builder-id`: `provenance` and `capture`. */
export const SUBJECT_OPTIONS: readonly OptionSpec[] = [
  {
    flags: "--subject <file>",
    description: "artifact the provenance describes (sha256 streamed); repeatable",
    repeatable: true,
  },
  { flags: "--builder-id <uri>", description: "builder id (default: from the CodeBuild environment)" },
];

/** The commands, by name. */
export const COMMANDS = {
  get_manifest: {
    aliases: ["manifest"],
    description: "print the manifest (or index) exactly as the registry served it",
    options: [],
  },
  get_digest_metadata: {
    aliases: ["config"],
    description: "print the image config blob exactly as served (one platform)",
    options: [],
  },
  sbom: {
    aliases: [],
    description: "CycloneDX SBOM describing the image",
    options: SBOM_OPTIONS,
  },
  provenance: {
    aliases: [],
    description: "in-toto Statement v1 with SLSA provenance naming the image as a build dependency",
    options: [
      ...SUBJECT_OPTIONS,
      {
        flags: "--format <format>",
        description: "statement format",
        choices: ["slsa-v1", "slsa-v0.2", "descriptor"],
        default: "slsa-v1",
      },
    ],
  },
  capture: {
    aliases: [],
    description: "one fetch, all files: manifest, config, SBOM, descriptor and provenance into --output-dir",
    options: [
      { flags: "--output-dir <dir>", description: "directory to write the files into (must exist)" },
      {
        flags: "--provenance-format <format>",
        description: "provenance statement format",
        choices: ["slsa-v1", "slsa-v0.2"],
        default: "slsa-v1",
      },
      ...SBOM_OPTIONS,
      ...SUBJECT_OPTIONS,
    ],
  },
} as const satisfies Record<string, CommandSpec>;

/** A command's name. */
export type CommandName = keyof typeof COMMANDS;

/** What a flags string says: `-u, --image-uri <ref>` -> short `u`, long `image-uri`, takes a value. */
export interface ParsedFlags {
  short?: string;
  long: string;
  /** The commander attribute name: `image-uri` -> `imageUri`; `--no-x` -> `x`. */
  attribute: string;
  takesValue: boolean;
  /** `--no-x`: sets `x` to false. */
  negated: boolean;
}

/**
 * Parse a flags string the way commander reads the forms this table uses (`-s, --long <value>`, `--long`,
 * `--no-long`).
 *
 * @example
 * ```ts
 * parseFlags("-u, --image-uri <ref>"); // { short: "u", long: "image-uri", attribute: "imageUri", ... }
 * ```
 */
export function parseFlags(flags: string): ParsedFlags {
  const m = /^(?:-([a-zA-Z]), )?--([a-z][a-z0-9-]*)(?: <[^>]+>)?$/.exec(flags);
  if (!m) throw new TypeError(`unsupported option flags "${flags}"`);
  const long = m[2];
  const negated = long.startsWith("no-");
  const attribute = (negated ? long.slice(3) : long).replace(
    /-([a-z0-9])/g,
    (_, c: string) => c.toUpperCase(),
  );
  return { short: m[1], long, attribute, takesValue: flags.endsWith(">"), negated };
}
