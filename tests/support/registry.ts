/**
 * Runs the real Distribution registry (`docker-registry serve`, Debian's Distribution 2.8) on 127.0.0.1 for
 * integration tests: plain HTTP without auth, TLS + htpasswd Basic auth, or TLS + token auth backed by
 * {@linkcode startTokenIssuer}.
 *
 * @example
 * ```ts
 * await using reg = await startRegistry({ auth: "token" });
 * const catalog = await seedImages(reg);
 * ```
 *
 * @module
 */

import { makeSelfSigned, makeTestCA } from "./ca.ts";
import { requireBinary, run } from "./tools.ts";
import { startTokenIssuer, type TokenIssuer, type TokenRequest } from "./token.ts";

export type { TokenRequest } from "./token.ts";

/** Authentication mode of a test registry. */
export type RegistryAuth = "none" | "basic" | "token";

/** Options of {@linkcode startRegistry}. */
export interface RegistryOptions {
  /** `none`: anonymous; `basic`: htpasswd; `token`: Docker token auth against a local issuer. */
  auth: RegistryAuth;
  /** Serve HTTPS with a fresh test CA (default: false for `none`, true otherwise). */
  tls?: boolean;
  /** User name for basic/token modes (default `tester`; ECR tests use `AWS`). */
  username?: string;
}

/** One HTTP request served by the registry (from its access log). */
export interface AccessEntry {
  /** HTTP method. */
  method: string;
  /** Request URI as sent (path + query). */
  uri: string;
  /** Path part of `uri`. */
  path: string;
  /** HTTP status. */
  status: number;
  /** Response body size in bytes (0 when unknown). */
  size: number;
  /** User-Agent header. */
  userAgent: string;
}

/** A running test registry; stop it with `stop()` or `await using`. */
export interface TestRegistry extends AsyncDisposable {
  /** Authentication mode. */
  auth: RegistryAuth;
  /** `127.0.0.1:PORT`. */
  host: string;
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. */
  url: string;
  /** Whether it serves HTTPS. */
  tls: boolean;
  /** PEM test CA certificate file (TLS only); for Deno clients set `DENO_CERT` to it. */
  caCertFile?: string;
  /** Directory holding `ca.crt` (TLS only), for `skopeo --cert-dir`. */
  certDir?: string;
  /** PEM text of the test CA (TLS only). */
  caCertPem?: string;
  /** User name (basic/token modes). */
  username?: string;
  /** Password (basic/token modes). */
  password?: string;
  /** Token realm URL (token mode). */
  tokenRealm?: string;
  /** Token `service` (token mode). */
  service?: string;
  /** HTTP client trusting the test CA (TLS only); closed by `stop()`. */
  httpClient?: Deno.HttpClient;
  /** Registry stdout+stderr log file. */
  logFile: string;
  /** Requests served since start / the last `clearRequests()`, oldest first. */
  requests(): Promise<AccessEntry[]>;
  /** Forget the requests served so far. */
  clearRequests(): Promise<void>;
  /** Token requests received by the issuer (token mode; empty otherwise). */
  tokenRequests(): TokenRequest[];
  /** The registry's JSON log lines (all of them, parsed). */
  logEntries(): Promise<Record<string, unknown>[]>;
  /** Kill the registry (and issuer), close the client and delete the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Token `service` name used in token mode. */
export const TOKEN_SERVICE = "test-registry";
/** Token issuer name used in token mode. */
export const TOKEN_ISSUER = "test-token-issuer";
const SENTINEL_UA = "test-registry-sentinel";

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

// 127.0.0.1 - - [24/Nov/2026:15:47:26 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "curl/7.88.1"
const ACCESS_LINE =
  /^\S+ \S+ \S+ \[[^\]]+\] "(\S+) (\S+) [^"]*" (\d{3}) (\d+|-) "(?:[^"\\]|\\.)*" "((?:[^"\\]|\\.)*)"$/;

/** Parse Apache combined access-log lines (what Distribution writes per request when accesslog is on). */
export function parseAccessLog(text: string): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const line of text.split("\n")) {
    const m = ACCESS_LINE.exec(line);
    if (!m) continue;
    out.push({
      method: m[1],
      uri: m[2],
      path: m[2].split("?")[0],
      status: Number(m[3]),
      size: m[4] === "-" ? 0 : Number(m[4]),
      userAgent: m[5],
    });
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start a registry; see {@linkcode RegistryOptions}. Throws (with the registry log) if it does not come up. */
export async function startRegistry(opts: RegistryOptions): Promise<TestRegistry> {
  const registryBin = requireBinary("docker-registry");
  const tls = opts.tls ?? opts.auth !== "none";
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "test-registry-" }));
  let issuer: TokenIssuer | undefined;
  let httpClient: Deno.HttpClient | undefined;
  try {
    const config: Record<string, unknown> = {
      version: 0.1,
      log: { level: "info", formatter: "json", accesslog: { disabled: false } },
      storage: {
        inmemory: {},
        delete: { enabled: true },
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: { addr: "", secret: crypto.randomUUID(), headers: { "X-Content-Type-Options": ["nosniff"] } },
    };
    const http = config.http as Record<string, unknown>;
    const handle: Partial<TestRegistry> = { auth: opts.auth, tls };

    if (tls) {
      const caDir = `${dir}/ca`;
      await Deno.mkdir(caDir);
      const ca = await makeTestCA(caDir);
      const certDir = `${dir}/certs.d`;
      await Deno.mkdir(certDir);
      await Deno.copyFile(ca.caCert, `${certDir}/ca.crt`);
      http.tls = { certificate: ca.serverCert, key: ca.serverKey };
      handle.caCertFile = ca.caCert;
      handle.certDir = certDir;
      handle.caCertPem = await Deno.readTextFile(ca.caCert);
      httpClient = Deno.createHttpClient({ caCerts: [handle.caCertPem] });
      handle.httpClient = httpClient;
    }

    if (opts.auth !== "none") {
      handle.username = opts.username ?? "tester";
      handle.password = crypto.randomUUID().replaceAll("-", "").slice(0, 20);
    }
    if (opts.auth === "basic") {
      const { stdout } = await run("htpasswd", ["-Bbn", handle.username!, handle.password!], { check: true });
      await Deno.writeFile(`${dir}/htpasswd`, stdout);
      config.auth = { htpasswd: { realm: "test-registry", path: `${dir}/htpasswd` } };
    } else if (opts.auth === "token") {
      const signing = await makeSelfSigned(dir, "token-signing");
      const tlsPair = tls
        ? {
          cert: await Deno.readTextFile(`${dir}/ca/server.crt`),
          key: await Deno.readTextFile(`${dir}/ca/server.key`),
        }
        : undefined;
      issuer = startTokenIssuer({
        tls: tlsPair,
        signingCert: await Deno.readTextFile(signing.cert),
        signingKey: await Deno.readTextFile(signing.key),
        service: TOKEN_SERVICE,
        issuer: TOKEN_ISSUER,
        username: handle.username!,
        password: handle.password!,
      });
      config.auth = {
        token: {
          realm: issuer.realm,
          service: TOKEN_SERVICE,
          issuer: TOKEN_ISSUER,
          rootcertbundle: signing.cert,
        },
      };
      handle.tokenRealm = issuer.realm;
      handle.service = TOKEN_SERVICE;
    }

    const logFile = `${dir}/registry.log`;
    const configFile = `${dir}/config.yml`;
    let child: Deno.ChildProcess | undefined;
    let status: Promise<Deno.CommandStatus> | undefined;
    let port = 0;
    for (let attempt = 1; !child; attempt++) {
      port = freePort();
      http.addr = `127.0.0.1:${port}`;
      // JSON is valid YAML.
      await Deno.writeTextFile(configFile, JSON.stringify(config, null, 2));
      await Deno.writeTextFile(logFile, "");
      // `exec` so that the pid we kill is the registry itself; the shell only redirects output to the log file.
      const c = new Deno.Command("/bin/sh", {
        args: ["-c", 'exec "$0" serve "$1" >>"$2" 2>&1', registryBin, configFile, logFile],
        clearEnv: true,
        env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: dir },
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const st = c.status;
      let exited: Deno.CommandStatus | undefined;
      st.then((s) => exited = s);
      const url = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
      const deadline = Date.now() + 15_000;
      let ready = false;
      while (!ready && !exited && Date.now() < deadline) {
        try {
          const res = await fetch(`${url}/v2/`, {
            client: httpClient,
            headers: { "user-agent": SENTINEL_UA },
          });
          await res.body?.cancel();
          // The API version header tells our registry from some other server that grabbed the port meanwhile.
          ready = (res.status === 200 || res.status === 401) &&
            res.headers.get("docker-distribution-api-version") === "registry/2.0";
          if (!ready) await sleep(25);
        } catch {
          await sleep(25);
        }
      }
      if (ready && !exited) {
        child = c;
        status = st;
        break;
      }
      try {
        c.kill("SIGKILL");
      } catch {
        // already exited
      }
      await st;
      const log = await Deno.readTextFile(logFile).catch(() => "");
      if (/address already in use/.test(log) && attempt < 5) continue;
      throw new Error(`docker-registry did not come up on ${url} (attempt ${attempt}); log:\n${log}`);
    }

    let offset = 0;
    const readLog = () => Deno.readTextFile(logFile);
    // A request marked by a unique query; once its log line is there, earlier requests are logged too.
    const sync = async (): Promise<string> => {
      const id = crypto.randomUUID();
      const res = await fetch(`${handle.url}/v2/?sentinel=${id}`, {
        client: httpClient,
        headers: { "user-agent": SENTINEL_UA },
      });
      await res.body?.cancel();
      const deadline = Date.now() + 5000;
      for (;;) {
        const text = await readLog();
        if (text.includes(`sentinel=${id}`) || Date.now() > deadline) return text;
        await sleep(5);
      }
    };
    let stopped = false;
    handle.host = `127.0.0.1:${port}`;
    handle.url = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
    handle.logFile = logFile;
    handle.requests = async () => {
      const text = await sync();
      return parseAccessLog(text.slice(offset)).filter((e) => e.userAgent !== SENTINEL_UA);
    };
    handle.clearRequests = async () => {
      offset = (await sync()).length;
    };
    handle.tokenRequests = () => issuer?.requests() ?? [];
    handle.logEntries = async () =>
      (await readLog()).split("\n").filter((l) => l.startsWith("{")).flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
    handle.stop = async () => {
      if (stopped) return;
      stopped = true;
      try {
        child!.kill("SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          child!.kill("SIGKILL");
        } catch {
          // already gone
        }
      }, 3000);
      await status;
      clearTimeout(timer);
      await issuer?.stop();
      httpClient?.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    };
    handle[Symbol.asyncDispose] = handle.stop;
    return handle as TestRegistry;
  } catch (e) {
    await issuer?.stop();
    httpClient?.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
}
