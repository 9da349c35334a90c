/**
 * The CLI's words for what the user can do about a failure: the core names an {@link Advice} kind, and this is
 * where it becomes a hint with the option to use. Also the one place an error becomes the line printed.
 *
 * @module
 */

import { type Advice, ToolError } from "../errors.ts";

/** The hint for each kind of advice, naming the options. */
export const ADVICE: Record<Advice, string> = {
  "plain-http": "for a plain HTTP registry use --plain-http",
  "speaks-tls": "the registry speaks TLS: leave out --plain-http (and pass its CA with --ca-file if private)",
  "ca-file":
    "if the registry uses a private CA, pass it with --ca-file FILE.pem; for plain HTTP use --plain-http",
  "ca-as-server":
    "give the registry a leaf certificate signed by that CA, and pass the CA with --ca-file FILE.pem",
  "timeout": "raise --timeout SECONDS or check the network",
  "platform": "choose one with --platform OS/ARCH[/VARIANT]",
  "subject": "pass --subject FILE for each artifact, or use --format descriptor for the image alone",
  "subject-names": "subjects are named by basename; give each --subject file a distinct name",
  "pin-digest": "pin the image by digest: -u REPOSITORY@sha256:...",
  "builder-id":
    "pass --builder-id URI (your CI system or build host); inside CodeBuild it is the project ARN",
  "managed-image":
    "run the build in your own image from ECR (or another registry), or pass -u with that image",
  "registry-endpoint":
    "use HOST=URL, for example 123456789012.dkr.ecr.us-east-1.amazonaws.com=https://vpce.example:443",
};

/**
 * The text that describes a failure (without the tool name): a tool error's message and its hint in the CLI's
 * words; anything else by its name and message. Raw: the caller redacts secrets, then escapes it for the
 * terminal (in that order, so a secret holding a control character is still found).
 *
 * @example
 * ```ts
 * describeFailure(new ManifestError("no image for platform linux/s390x", { advice: "platform" }));
 * // "no image for platform linux/s390x; choose one with --platform OS/ARCH[/VARIANT]"
 * ```
 */
export function describeFailure(err: unknown): string {
  if (err instanceof ToolError) {
    const hint = err.advice ? ADVICE[err.advice] : err.hint;
    return hint ? `${err.message}; ${hint}` : err.message;
  }
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
