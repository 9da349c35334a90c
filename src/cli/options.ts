/**
 * Every command and option of the CLI, as data. The parser (`app.ts`, stricli), the help text, the
 * normalisation that accepts options before the command name (`normalize.ts`) and the shell completion scripts
 * (`completion.ts`) are all built from this one table.
 *
 * @module
 */

import { ARTIFACT_TYPES } from "../formats/artifact_types.ts";

/** One option. */
export interface OptionSpec {
  /** Long name, kebab-case, without dashes: `image-uri`. */
  readonly name: string;
  /** One-letter alias: `u` for `-u`. */
  readonly short?: string;
  /** Placeholder of its value (`REF`); an option without one is a boolean flag. */
  readonly value?: string;
  readonly description: string;
  /** Repeatable: the values collect into an array. */
  readonly repeatable?: boolean;
  /** The only values allowed. */
  readonly choices?: readonly string[];
  /** Value when the option is not given (for a boolean flag, `true` makes it negatable: `--no-NAME`). */
  readonly default?: string | boolean;
  /** What completion offers for the value. */
  readonly complete?: "file" | "directory";
  /** What the value must be, checked when the command line is parsed (`app.ts`): an absolute URI. */
  readonly check?: "absolute-uri";
}

/** One command (its name is its key in {@link COMMANDS}). */
export interface CommandSpec {
  readonly aliases: readonly string[];
  /** One line, for the command list. */
  readonly description: string;
  /** More text for the command's own help, when one line is not enough. */
  readonly details?: string;
  /** Whether the command reads an image, i.e. takes {@link COMMON_OPTIONS}. */
  readonly image: boolean;
  /** Its own options, besides {@link COMMON_OPTIONS}. */
  readonly options: readonly OptionSpec[];
  /** Positional arguments: the only command that takes one is `completion`. */
  readonly argument?: { readonly name: string; readonly choices: readonly string[] };
}

/** Defaults, documented in `--help` and the README. */
export const DEFAULT_RETRIES = 3;
/** Overall deadline of a run, in seconds. */
export const DEFAULT_TIMEOUT_SECONDS = 120;

/** Options of every command that reads an image. Accepted before the command name too (the original order). */
export const COMMON_OPTIONS: readonly OptionSpec[] = [
  {
    name: "image-uri",
    short: "u",
    value: "REF",
    description: "image reference, or oci:PATH[:TAG]; default: $CODEBUILD_BUILD_IMAGE",
  },
  {
    name: "region",
    short: "r",
    value: "REGION",
    description: "ECR API region; default: the region in the ECR host name",
  },
  { name: "verbose", short: "v", description: "debug log on stderr (secrets redacted)" },
  {
    name: "platform",
    value: "OS/ARCH[/VARIANT]",
    description: "which platform of a multi-platform image; default: this machine's",
  },
  {
    name: "output",
    short: "o",
    value: "FILE",
    description: "write to FILE (atomically) instead of stdout",
    complete: "file",
  },
  { name: "pretty", description: "indent the JSON (values and key order unchanged)" },
  { name: "plain-http", description: "talk HTTP, not HTTPS (local registries)" },
  {
    name: "ca-file",
    value: "FILE",
    description: "extra trusted CA certificates (PEM) for registry TLS; repeatable",
    repeatable: true,
    complete: "file",
  },
  {
    name: "registry-endpoint",
    value: "HOST=URL",
    description: "send requests for registry HOST to URL (ECR VPC endpoints, mirrors); repeatable",
    repeatable: true,
  },
  { name: "retries", value: "N", description: `retries of failed requests; default: ${DEFAULT_RETRIES}` },
  {
    name: "timeout",
    value: "SECONDS",
    description: `deadline for the whole run; default: ${DEFAULT_TIMEOUT_SECONDS}`,
  },
  {
    name: "require-digest",
    description: "fail unless the image is pinned by digest (REPOSITORY@sha256:...), not named by a tag",
  },
  {
    name: "ecr-cache",
    description: "cache ECR authorization tokens on disk",
    default: true,
  },
];

/** The artifact types `--subject-type` accepts (CycloneDX component types). */
export const SUBJECT_TYPES = ARTIFACT_TYPES;

/** `--subject-type`: `sbom` and `capture`. */
const SUBJECT_TYPE: OptionSpec = {
  name: "subject-type",
  value: "TYPE",
  description: "CycloneDX component type of the --subject artifacts in their BOM",
  choices: SUBJECT_TYPES,
  default: "file",
};

/** `--sign`: `provenance` and `capture`. */
const SIGN: OptionSpec = {
  name: "sign",
  value: "KEYREF",
  description: "write a signed DSSE envelope instead of the bare statement: a PEM file with an ECDSA P-256 " +
    "private key, or awskms:///KEY-ID-ARN-OR-ALIAS (cosign's syntax)",
  complete: "file",
};

/** `--include-attached`: `sbom`, `provenance` and `capture`. */
export const INCLUDE_ATTACHED: OptionSpec = {
  name: "include-attached",
  description:
    "also read the image's own attached SBOMs and provenance (OCI referrers, BuildKit attestations, " +
    "cosign tags)",
};

/** `--format`, `--spec-version`, `--include-env`, `--include-attached`: `sbom` and `capture`. */
export const SBOM_OPTIONS: readonly OptionSpec[] = [
  {
    name: "format",
    value: "FORMAT",
    description: "SBOM format (cyclonedx-component: the image's component alone, JSON; sbom only)",
    choices: ["cyclonedx-json", "cyclonedx-xml", "cyclonedx-component"],
    default: "cyclonedx-json",
  },
  {
    name: "spec-version",
    value: "VERSION",
    description: "CycloneDX version",
    choices: ["1.6", "1.5"],
    default: "1.6",
  },
  {
    name: "include-env",
    description: "also record the config's Env values (off by default: they may hold secrets)",
  },
  INCLUDE_ATTACHED,
];

/** `--subject`, `--builder-id`: `provenance` and `capture`. */
export const SUBJECT_OPTIONS: readonly OptionSpec[] = [
  {
    name: "subject",
    value: "FILE",
    description: "artifact the provenance describes (sha256 streamed); repeatable",
    repeatable: true,
    complete: "file",
  },
  {
    name: "builder-id",
    value: "URI",
    description: "builder id (who ran the build): required outside CodeBuild, where it is the project ARN",
    check: "absolute-uri",
  },
];

/** The shells `completion` writes scripts for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;

/** The commands, by name. */
export const COMMANDS = {
  get_manifest: {
    aliases: ["manifest"],
    description: "print the manifest (or index) exactly as the registry served it",
    details: "An index stays an index unless --platform is given; then that platform's manifest.",
    image: true,
    options: [],
  },
  get_digest_metadata: {
    aliases: ["config"],
    description: "print the image config blob exactly as served (one platform)",
    image: true,
    options: [],
  },
  sbom: {
    aliases: [],
    description:
      "CycloneDX SBOM describing the image (with --subject: the artifacts' BOM, built in the image)",
    image: true,
    options: [
      ...SBOM_OPTIONS,
      {
        name: "subject",
        value: "FILE",
        description:
          "an artifact built in the image: the BOM describes the artifacts, with the image in its " +
          "formulation; repeatable",
        repeatable: true,
        complete: "file",
      },
      SUBJECT_TYPE,
    ],
  },
  provenance: {
    aliases: [],
    description: "in-toto Statement with SLSA provenance naming the image as a build dependency",
    image: true,
    options: [
      ...SUBJECT_OPTIONS,
      {
        name: "format",
        value: "FORMAT",
        description: "statement format",
        choices: ["slsa-v1", "slsa-v0.2", "descriptor"],
        default: "slsa-v1",
      },
      SIGN,
      INCLUDE_ATTACHED,
    ],
  },
  capture: {
    aliases: [],
    description: "one fetch, all files: manifest, config, SBOM, descriptor and provenance into --output-dir",
    image: true,
    options: [
      {
        name: "output-dir",
        value: "DIR",
        description: "directory to write the files into (must exist)",
        complete: "directory",
      },
      {
        name: "prefix",
        value: "NAME",
        description:
          "file name prefix: NAME.manifest.json, NAME.config.json, NAME.cdx.json, NAME.intoto.json, " +
          "... and the record NAME.capture.json of what was written",
        default: "build-env",
      },
      {
        name: "provenance-format",
        value: "FORMAT",
        description: "provenance statement format",
        choices: ["slsa-v1", "slsa-v0.2"],
        default: "slsa-v1",
      },
      ...SBOM_OPTIONS.map((o) =>
        o.name === "format" ? { ...o, description: "SBOM format", choices: o.choices!.slice(0, 2) } : o
      ),
      ...SUBJECT_OPTIONS,
      SUBJECT_TYPE,
      SIGN,
    ],
  },
  attachments: {
    aliases: ["referrers"],
    description: "list the SBOMs, provenance and signatures attached to the image, as JSON (one platform)",
    details: "Looks in the image index (BuildKit attestation manifests), the OCI referrers API (else the " +
      "sha256-<hex> referrers tag) and cosign's .sbom/.att/.sig tags: small requests only, never a layer.",
    image: true,
    options: [
      { name: "artifact-type", value: "TYPE", description: "only attachments of this artifact type" },
    ],
  },
  completion: {
    aliases: [],
    description: "print a shell completion script (bash, zsh or fish)",
    details: "Install: see the README (for bash: source <(ecrimagemetadataextractor completion bash)).",
    image: false,
    options: [],
    argument: { name: "SHELL", choices: SHELLS },
  },
} as const satisfies Record<string, CommandSpec>;

/** A command's name. */
export type CommandName = keyof typeof COMMANDS;

/** The command table with its literal types widened, for code that walks it. */
export const COMMAND_TABLE: Readonly<Record<CommandName, CommandSpec>> = COMMANDS;

/** Every option a command accepts, in help order: its own, then the common ones. */
export function optionsOf(command: CommandName): readonly OptionSpec[] {
  const spec = COMMAND_TABLE[command];
  return spec.image ? [...spec.options, ...COMMON_OPTIONS] : spec.options;
}

/** The command a word names (a name or an alias), if any. */
export function commandNamed(word: string): CommandName | undefined {
  for (const [name, spec] of Object.entries(COMMAND_TABLE) as [CommandName, CommandSpec][]) {
    if (name === word || spec.aliases.includes(word)) return name;
  }
  return undefined;
}

/** The attribute a parsed option lands in: `image-uri` -> `imageUri`. */
export function attributeOf(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The commands (by name) that accept option `name`. */
export function commandsWithOption(name: string): CommandName[] {
  return (Object.keys(COMMAND_TABLE) as CommandName[]).filter((c) =>
    optionsOf(c).some((o) => o.name === name)
  );
}

/**
 * The attribute a long flag's name reads as, the way the parser (stricli, `allow-kebab-for-camel`) reads it:
 * `image-uri`, `imageUri` (and mixes such as `image-Uri`) all name `imageUri`.
 */
export function attributeOfFlag(name: string): string {
  return name.replace(/-./g, (m) => m[1].toUpperCase());
}

/**
 * What any command knows an option as, by `--long` (kebab-case or camelCase, as the parser accepts both),
 * `--no-long` for a negatable flag, or `-s`: the same name means the same kind of option (flag or value) in
 * every command that has it, which `tests/cli_parse_test.ts` holds the table to. Used to read options
 * written before the command name.
 */
export function findOption(flag: string): OptionSpec | undefined {
  const long = flag.startsWith("--") ? attributeOfFlag(flag.slice(2)) : undefined;
  for (const command of Object.keys(COMMAND_TABLE) as CommandName[]) {
    for (const o of optionsOf(command)) {
      if (long === undefined) {
        if (o.short !== undefined && flag === `-${o.short}`) return o;
        continue;
      }
      const attribute = attributeOf(o.name);
      if (long === attribute) return o;
      const negated = `no${attribute[0].toUpperCase()}${attribute.slice(1)}`;
      if (o.value === undefined && o.default === true && long === negated) return o;
    }
  }
  return undefined;
}
