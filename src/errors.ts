/**
 * The one error hierarchy of the tool. Every failure the tool can explain is one of these; the CLI layer turns
 * them into a single line on stderr and an exit code, in exactly one place (`src/cli/run.ts`).
 *
 * Messages name the cause and what to try. They never contain a secret: callers pass already-redacted text.
 *
 * @module
 */

/**
 * What the user can do about a failure, as a kind: the core names it, the CLI (`src/cli/advice.ts`) turns it
 * into a hint with the option to use. The core's own `hint` is the same advice in words without option names,
 * for library users.
 */
export type Advice =
  | "plain-http" // the registry speaks plain HTTP
  | "speaks-tls" // plain HTTP was asked for, but the registry speaks TLS
  | "ca-file" // the registry's certificate is not trusted
  | "ca-as-server" // a CA certificate (basicConstraints CA:TRUE) used as the server certificate
  | "timeout" // the deadline passed
  | "platform" // choose another platform
  | "subject" // the statement needs subjects
  | "subject-names" // two subjects share a name
  | "pin-digest" // the reference names a tag where a digest is required
  | "managed-image" // an AWS-managed CodeBuild image: not in a registry the tool can read
  | "builder-id" // a statement outside CodeBuild needs the builder's id
  | "registry-endpoint"; // a registry endpoint mapping is malformed

/** Base class: a failure the tool understands and can explain in one line. */
export class ToolError extends Error {
  /** Process exit code for this failure: 1 for runtime failures, 2 for usage errors. */
  readonly exitCode: number = 1;
  /** Optional hint appended to the message ("try ..."), in words that name no command-line option. */
  readonly hint?: string;
  /** What to try, as a kind the CLI words with its options (see {@link Advice}). */
  readonly advice?: Advice;

  constructor(message: string, options?: { hint?: string; advice?: Advice; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options?.hint;
    this.advice = options?.advice;
  }

  /** One line: the message, then the hint if any. */
  oneLine(): string {
    return printable(this.hint ? `${this.message}; ${this.hint}` : this.message);
  }
}

/**
 * Wrong command-line use: unknown option, missing value, option combination that makes no sense.
 *
 * @example
 * ```ts
 * throw new UsageError("provenance needs at least one --subject FILE");
 * ```
 */
export class UsageError extends ToolError {
  override readonly exitCode: number = 2;
}

/** An image reference that does not follow the distribution reference grammar. Exit code 2. */
export class ReferenceError extends UsageError {}

/** A platform string that cannot be parsed. Exit code 2. */
export class PlatformError extends UsageError {}

/** Credentials missing, rejected, or unobtainable (401, failed token exchange, credential helper failure). */
export class AuthError extends ToolError {}

/** The registry refused access with 403. */
export class ForbiddenError extends ToolError {}

/** The manifest, blob, repository or KMS key does not exist. */
export class NotFoundError extends ToolError {}

/** What the registry or layout served contradicts itself or what it was asked for: the record would be false. */
export class IntegrityError extends ToolError {}

/** Bytes did not match the digest (or size) they were supposed to have. */
export class DigestMismatchError extends IntegrityError {}

/** A manifest, index, config or layout that is not what the specs say it must be. */
export class ManifestError extends ToolError {}

/** A manifest media type the tool does not read (Docker schema1, unknown types). */
export class UnsupportedError extends ToolError {}

/** The run was asked to refuse something it would otherwise do (an image named by tag, under a digest policy). */
export class PolicyError extends ToolError {}

/** No entry of an index matches the requested platform. */
export class PlatformNotFoundError extends ToolError {}

/** A body larger than the tool accepts for its kind. */
export class TooLargeError extends ToolError {}

/** What went wrong on the network, as retries and hints need to know it. */
export type NetworkFailure =
  | "tls" // handshake or certificate failure: will not fix itself
  | "protocol" // TLS spoken to a plain-HTTP server or the other way round: will not fix itself
  | "dns" // the host name does not resolve: will not fix itself within a run
  | "refused" // connection refused: the server may be restarting
  | "interrupted" // reset, broken pipe, body cut short: worth another try
  | "status" // an HTTP status the caller did not expect
  | "other";

/** Kinds of {@link NetworkFailure} worth another attempt. */
const TRANSIENT = new Set<NetworkFailure>(["refused", "interrupted", "other"]);

/** Connection refused, DNS failure, reset, TLS failure, or an unexpected HTTP status. */
export class NetworkError extends ToolError {
  /** What kind of failure it was. */
  readonly failure: NetworkFailure;

  constructor(
    message: string,
    options?: { hint?: string; advice?: Advice; cause?: unknown; failure?: NetworkFailure },
  ) {
    super(message, options);
    this.failure = options?.failure ?? "other";
  }

  /** Whether another attempt may succeed. */
  get transient(): boolean {
    return TRANSIENT.has(this.failure);
  }
}

/** The request (or the whole run) took longer than the deadline. */
export class TimeoutError extends ToolError {}

/** Local configuration or input files that cannot be read or parsed (docker config, OCI layout, subjects). */
export class ConfigError extends ToolError {}

/** An output file could not be written. */
export class OutputError extends ToolError {}

/** A file the run would replace or remove is not one it owns (it did not write it, or it changed since). */
export class OwnershipError extends OutputError {}

/**
 * A key that cannot sign as the tool signs (a KMS key of the wrong spec or usage, disabled, or unavailable),
 * or a signer that produced no valid signature.
 */
export class SigningError extends ToolError {}

/** A DSSE envelope that is malformed, or whose signature does not verify with the given public key. */
export class VerificationError extends ToolError {}

/** Short, user-facing description of any thrown value, without a stack trace. */
export function describeError(err: unknown): string {
  if (err instanceof ToolError) return err.oneLine();
  if (err instanceof Error) return printable(`${err.name}: ${err.message}`);
  return printable(String(err));
}

/**
 * What may not reach a terminal as it is: C0 controls and DEL, C1 controls (U+009B is an 8-bit CSI), the bidi
 * controls that reorder what is shown (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069) and the Unicode line
 * and paragraph separators.
 */
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

/** Longest message printed; registry-controlled text could otherwise flood the terminal. */
const MAX_MESSAGE = 2000;

/**
 * One printable line: line breaks folded to spaces, other control characters (terminal escapes from a hostile
 * registry's error body, say) and bidi controls shown as `\u001b`, and capped in length. Printing a printable
 * line again changes nothing.
 *
 * @example
 * ```ts
 * printable("gone\x1b[2J\u202e"); // "gone\\u001b[2J\\u202e"
 * ```
 */
export function printable(text: string): string {
  const folded = text.replace(/\s*[\r\n]+\s*/g, " ").replace(/\t/g, " ");
  const line = folded.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE - 3)}...` : line;
}
