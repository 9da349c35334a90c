/**
 * The docker credential helper protocol: `docker-credential-<name> get`, the server URL on stdin, a JSON
 * answer `{ "ServerURL", "Username", "Secret" }` on stdout. `Username` `<token>` means `Secret` is an
 * identity token.
 *
 * @module
 */

import { AuthError, ConfigError, TimeoutError } from "../../errors.ts";
import { concatBytes } from "../../bytes.ts";
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
  // Both pipes are read at once (a helper blocked on a full stderr pipe never finishes its stdout), each
  // capped while reading: a helper that prints without end is stopped at the cap, not buffered until memory
  // runs out.
  let flooded: string | undefined;
  const kill = (stream: string) => {
    flooded ??= stream;
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  };
  try {
    const [stdout, stderr, status] = await Promise.race([
      Promise.all([
        readPipe(child.stdout, () => kill("stdout")),
        readPipe(child.stderr, () => kill("stderr")),
        child.status,
      ]),
      aborted,
    ]);
    if (signal?.aborted) throw timeout();
    if (flooded) {
      throw new AuthError(
        `credential helper ${program} answered with more than ${MAX_HELPER_OUTPUT / 1024 / 1024} MiB on ` +
          `${flooded}; it was stopped`,
        { hint: `run \`${program} get\` by hand to see what it prints` },
      );
    }
    return { code: status.code, stdout, stderr };
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
};

/** All of a pipe, up to {@link MAX_HELPER_OUTPUT} bytes; past that, `overflow()` is called, reading stops. */
async function readPipe(pipe: ReadableStream<Uint8Array>, overflow: () => void): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = pipe.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > MAX_HELPER_OUTPUT) {
        overflow();
        await reader.cancel().catch(() => {});
        return new Uint8Array(0);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return concatBytes(chunks);
}

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
