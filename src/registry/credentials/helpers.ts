/**
 * The docker credential helper protocol: `docker-credential-<name> get`, the server URL on stdin, a JSON
 * answer `{ "ServerURL", "Username", "Secret" }` on stdout. `Username` `<token>` means `Secret` is an
 * identity token.
 *
 * @module
 */

import { AuthError, ConfigError, TimeoutError } from "../../errors.ts";
import type { Credential } from "./types.ts";

/** Largest answer read from a helper. */
const MAX_HELPER_OUTPUT = 1024 * 1024;

/** Runs a helper; a parameter so tests and callers can substitute it. */
export type HelperRunner = (
  program: string,
  input: string,
  signal?: AbortSignal,
) => Promise<{ code: number; stdout: Uint8Array; stderr: Uint8Array }>;

/** The real runner: spawn the program found on PATH. */
export const spawnHelper: HelperRunner = async (program, input, signal) => {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args: ["get"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      // The run's deadline kills a helper that hangs (a locked keychain waiting for a prompt).
      signal,
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new ConfigError(`credential helper ${program} is not installed (not found on PATH)`, {
        hint: "install it, or remove it from credHelpers/credsStore in your docker config",
      });
    }
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      throw new ConfigError(`not allowed to run credential helper ${program}`, {
        hint:
          "this build may only run known docker-credential-* helpers; use a docker config auths entry instead",
      });
    }
    throw new ConfigError(`cannot run credential helper ${program}: ${(err as Error).message}`);
  }
  const writer = child.stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
  } catch {
    // A helper that exits without reading its input fails below with its own exit code and message.
  }
  const timeout = () =>
    new TimeoutError(`credential helper ${program} did not answer before the deadline`, {
      hint: "check the helper (it may be waiting for an unlocked keychain), or allow more time",
      advice: "timeout",
    });
  // Killing the helper does not close its pipes when a grandchild holds them, so the deadline is raced too.
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(timeout());
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    const out = await Promise.race([child.output(), aborted]);
    if (signal?.aborted) throw timeout();
    return { code: out.code, stdout: out.stdout, stderr: out.stderr };
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
};

/**
 * Ask helper `docker-credential-<name>` for `serverUrl`'s credential. Returns undefined when the helper says
 * it has none ("credentials not found").
 *
 * @example
 * ```ts
 * const c = await helperCredential("desktop", "ghcr.io");
 * ```
 */
export async function helperCredential(
  name: string,
  serverUrl: string,
  run: HelperRunner = spawnHelper,
  signal?: AbortSignal,
): Promise<Credential | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new ConfigError(`invalid credential helper name "${name.slice(0, 60)}" in docker config`);
  }
  const program = `docker-credential-${name}`;
  const source = `credential helper ${program}`;
  const { code, stdout, stderr } = await run(program, serverUrl, signal);
  const errText = new TextDecoder().decode(stderr.slice(0, 4096)) +
    new TextDecoder().decode(stdout.slice(0, 4096));
  if (code !== 0) {
    if (/credentials not found|not found in native keychain|no credentials/i.test(errText)) return undefined;
    throw new AuthError(`${source} failed for ${serverUrl} (exit ${code})`, {
      hint: `run \`echo ${serverUrl} | ${program} get\` to see why`,
    });
  }
  if (stdout.byteLength > MAX_HELPER_OUTPUT) throw new AuthError(`${source} answered with too much output`);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(stdout));
  } catch {
    throw new AuthError(`${source} answered with something that is not JSON`);
  }
  const b = body as Record<string, unknown>;
  if (typeof b?.Secret !== "string" || b.Secret === "") return undefined;
  const username = typeof b.Username === "string" ? b.Username : "";
  if (username === "<token>") return { kind: "identity-token", token: b.Secret, source };
  return { kind: "basic", username, password: b.Secret, source };
}
