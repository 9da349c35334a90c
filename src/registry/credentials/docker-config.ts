/**
 * Credentials from docker's config file and from the containers auth files (podman, skopeo, buildah;
 * containers-auth.json(5)), which share the `auths` format. Which files those are is the caller's decision
 * (the CLI derives them from the environment); this module only reads them.
 *
 * Resolution order for a registry: docker config `credHelpers[host]`, then its `credsStore`, then its `auths`
 * entry; then each containers auth file's `auths` in the order given (most specific `host/namespace` key
 * first).
 *
 * @module
 */

import { ConfigError } from "../../errors.ts";
import { readLocalFile } from "../../files.ts";
import { helperCredential, type HelperRunner, spawnHelper } from "./helpers.ts";
import type { Credential, CredentialLookup } from "./types.ts";

/** The parts of a docker config file the tool reads. */
export interface DockerConfigFile {
  auths?: Record<
    string,
    { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }
  >;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Which files to read, and I/O as parameters so tests can substitute it. */
export interface ConfigFiles {
  /** The docker config file (`config.json`), if any. */
  dockerConfig?: string;
  /** The containers auth files, in the order they are consulted. */
  authFiles?: readonly string[];
  readTextFile?: (path: string) => Promise<string>;
  runHelper?: HelperRunner;
  /** The run's deadline, for credential helpers. */
  signal?: AbortSignal;
}

const MAX_CONFIG = 4 * 1024 * 1024;

/** A credentials file's text: a regular file only (not `/dev/zero`, not a FIFO), 4 MiB at most. */
async function defaultRead(path: string): Promise<string> {
  const { bytes } = await readLocalFile(path, {
    max: MAX_CONFIG,
    what: "credentials file",
    tooLarge: () => new ConfigError(`${path} is larger than 4 MiB`, { hint: "fix or remove the file" }),
  });
  return new TextDecoder().decode(bytes);
}

/** Read and parse a config file; undefined when it does not exist. Bad content is a {@link ConfigError}. */
export async function readConfigFile(
  path: string,
  read: (p: string) => Promise<string> = defaultRead,
): Promise<DockerConfigFile | undefined> {
  let text: string;
  try {
    text = await read(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message.split("\n")[0]}`, {
      hint: "fix its permissions, or point the tool at another file",
    });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ConfigError(`${path} is not valid JSON`, { hint: "fix or remove the file" });
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ConfigError(`${path} is not a JSON object`, { hint: "fix or remove the file" });
  }
  const b = body as Record<string, unknown>;
  const isMap = (v: unknown) => v === undefined || (typeof v === "object" && v !== null && !Array.isArray(v));
  if (
    !isMap(b.auths) || !isMap(b.credHelpers) ||
    (b.credsStore !== undefined && typeof b.credsStore !== "string")
  ) {
    throw new ConfigError(`${path} has auths, credHelpers or credsStore of the wrong type`, {
      hint: "fix or remove the file",
    });
  }
  return b as DockerConfigFile;
}

/** Normalise an `auths` key (`https://index.docker.io/v1/`, `http://host:5000/v2/`, `host`) to `host[/path]`. */
export function normalizeAuthKey(key: string): string {
  let k = key.trim().replace(/^[a-z]+:\/\//i, "").replace(/\/+$/, "");
  k = k.replace(/\/v[12]$/, "");
  const host = k.split("/")[0].toLowerCase();
  const rest = k.slice(host.length);
  const canonical = host === "index.docker.io" || host === "registry-1.docker.io" ? "docker.io" : host;
  return canonical + rest;
}

/**
 * The `credHelpers` entry for `host`: an own property holding a string only, so a host named `toString` or
 * `constructor` finds nothing rather than Object.prototype's functions.
 */
function helperFor(file: DockerConfigFile, host: string): string | undefined {
  const helpers = file.credHelpers;
  if (!helpers || !Object.hasOwn(helpers, host)) return undefined;
  const name = helpers[host];
  return typeof name === "string" && name !== "" ? name : undefined;
}

/** The server URL a credential helper is asked about: docker's own name for Docker Hub, else the host. */
function helperServerUrl(registry: string): string {
  return registry === "docker.io" ? "https://index.docker.io/v1/" : registry;
}

function decodeAuthEntry(
  entry: NonNullable<DockerConfigFile["auths"]>[string],
  source: string,
): Credential | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  if (typeof entry.identitytoken === "string" && entry.identitytoken) {
    return { kind: "identity-token", token: entry.identitytoken, source };
  }
  if (typeof entry.registrytoken === "string" && entry.registrytoken) {
    return { kind: "registry-token", token: entry.registrytoken, source };
  }
  if (typeof entry.auth === "string" && entry.auth) {
    let text: string;
    try {
      const bytes = Uint8Array.from(atob(entry.auth), (c) => c.charCodeAt(0));
      text = new TextDecoder().decode(bytes);
    } catch {
      throw new ConfigError(`${source}: the "auth" value is not valid base64`, { hint: "log in again" });
    }
    const colon = text.indexOf(":");
    if (colon < 0) {
      throw new ConfigError(`${source}: the "auth" value is not user:password`, { hint: "log in again" });
    }
    return { kind: "basic", username: text.slice(0, colon), password: text.slice(colon + 1), source };
  }
  if (typeof entry.username === "string" && typeof entry.password === "string" && entry.password) {
    return { kind: "basic", username: entry.username, password: entry.password, source };
  }
  return undefined;
}

/** Find the `auths` entry for `registry`/`repository`: the most specific `host/namespace` key first. */
function findAuth(
  file: DockerConfigFile,
  registry: string,
  repository: string | undefined,
  source: string,
): Credential | undefined {
  if (!file.auths || typeof file.auths !== "object") return undefined;
  const entries = new Map<string, NonNullable<DockerConfigFile["auths"]>[string]>();
  for (const [k, v] of Object.entries(file.auths)) entries.set(normalizeAuthKey(k), v);
  const candidates: string[] = [];
  if (repository) {
    const parts = repository.split("/");
    for (let n = parts.length; n >= 1; n--) candidates.push(`${registry}/${parts.slice(0, n).join("/")}`);
  }
  candidates.push(registry);
  for (const c of candidates) {
    const e = entries.get(c);
    if (e) {
      const cred = decodeAuthEntry(e, source);
      if (cred) return cred;
    }
  }
  return undefined;
}

/**
 * Look a registry up in the docker config and the containers auth file, in the documented order.
 *
 * @example
 * ```ts
 * const { credential, searched } = await lookupConfigCredentials("ghcr.io", "org/app", {
 *   dockerConfig: "/home/me/.docker/config.json",
 *   authFiles: ["/run/user/1000/containers/auth.json"],
 * });
 * ```
 */
export async function lookupConfigCredentials(
  registry: string,
  repository: string | undefined,
  cfg: ConfigFiles,
): Promise<CredentialLookup> {
  const searched: string[] = [];
  const read = cfg.readTextFile ?? defaultRead;
  const run = cfg.runHelper ?? spawnHelper;
  const dockerPath = cfg.dockerConfig;
  if (dockerPath) {
    const file = await readConfigFile(dockerPath, read);
    if (file) {
      const helper = helperFor(file, registry) ??
        (registry === "docker.io" ? helperFor(file, "index.docker.io") : undefined);
      if (helper) {
        searched.push(`${dockerPath} credHelpers (docker-credential-${helper})`);
        const c = await helperCredential(helper, helperServerUrl(registry), run, cfg.signal);
        if (c) return { credential: c, searched };
      } else if (file.credsStore) {
        searched.push(`${dockerPath} credsStore (docker-credential-${file.credsStore})`);
        const c = await helperCredential(file.credsStore, helperServerUrl(registry), run, cfg.signal);
        if (c) return { credential: c, searched };
      }
      searched.push(`${dockerPath} auths`);
      const c = findAuth(file, registry, repository, `${dockerPath} auths`);
      if (c) return { credential: c, searched };
    } else {
      searched.push(`${dockerPath} (absent)`);
    }
  }
  for (const containersPath of cfg.authFiles ?? []) {
    const file = await readConfigFile(containersPath, read);
    searched.push(file ? `${containersPath} auths` : `${containersPath} (absent)`);
    if (file) {
      const c = findAuth(file, registry, repository, `${containersPath} auths`);
      if (c) return { credential: c, searched };
    }
  }
  return { searched };
}
