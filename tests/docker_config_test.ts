/**
 * Credentials from the docker config file and the containers auth file: auths entries (auth, username/password,
 * identitytoken), credHelpers and credsStore through the credential helper protocol, the lookup order, and the
 * errors for broken configs and helpers. Most tests inject `readTextFile` and `runHelper` (no disk, no
 * processes); the last ones use real files in a temp dir and a real helper script on PATH.
 */

import assert from "node:assert/strict";
import { AuthError, ConfigError } from "../src/errors.ts";
import {
  lookupConfigCredentials,
  normalizeAuthKey,
  readConfigFile,
} from "../src/registry/credentials/docker-config.ts";
import { helperCredential, type HelperRunner, spawnHelper } from "../src/registry/credentials/helpers.ts";
import { containersAuthPaths, dockerConfigPath, type Env } from "../src/cli/environment.ts";
import { secretsOf } from "../src/registry/credentials/types.ts";

const enc = new TextEncoder();
const b64 = (s: string) => btoa(String.fromCharCode(...enc.encode(s)));

/** An in-memory file system: missing paths throw Deno.errors.NotFound like Deno.readTextFile. */
function files(map: Record<string, unknown>) {
  const reads: string[] = [];
  const read = (path: string): Promise<string> => {
    reads.push(path);
    if (!(path in map)) return Promise.reject(new Deno.errors.NotFound(`no such file: ${path}`));
    const v = map[path];
    return Promise.resolve(typeof v === "string" ? v : JSON.stringify(v));
  };
  return { read, reads };
}

interface HelperCall {
  program: string;
  input: string;
}

/** A fake helper runner: answers per program and server URL. */
function helpers(
  answers: Record<string, (input: string) => { code?: number; stdout?: string; stderr?: string }>,
) {
  const calls: HelperCall[] = [];
  const run: HelperRunner = (program, input) => {
    calls.push({ program, input });
    const a = answers[program];
    if (!a) {
      return Promise.reject(
        new ConfigError(`credential helper ${program} is not installed (not found on PATH)`),
      );
    }
    const r = a(input);
    return Promise.resolve({
      code: r.code ?? 0,
      stdout: enc.encode(r.stdout ?? ""),
      stderr: enc.encode(r.stderr ?? ""),
    });
  };
  return { run, calls };
}

const noHelpers = helpers({}).run;

/** The files the CLI would read for `env` (no uid: no /run/containers/UID). */
function paths(env: Env) {
  return { dockerConfig: dockerConfigPath(env), authFiles: containersAuthPaths(env, null) };
}
const HOME = "/home/u";
const DOCKER = `${HOME}/.docker/config.json`;

Deno.test("config paths: DOCKER_CONFIG, HOME, REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, XDG_CONFIG_HOME", () => {
  assert.equal(dockerConfigPath({ DOCKER_CONFIG: "/etc/dc/" }), "/etc/dc/config.json");
  assert.equal(dockerConfigPath({ HOME: "/home/u", DOCKER_CONFIG: "/d" }), "/d/config.json");
  assert.equal(dockerConfigPath({ HOME: "/home/u/" }), "/home/u/.docker/config.json");
  assert.equal(dockerConfigPath({ USERPROFILE: "/c/u" }), "/c/u/.docker/config.json");
  assert.equal(dockerConfigPath({}), undefined);
  // containers-auth.json(5): REGISTRY_AUTH_FILE alone; else the runtime file, then the persistent one.
  assert.deepEqual(
    containersAuthPaths({ REGISTRY_AUTH_FILE: "/x/auth.json", XDG_RUNTIME_DIR: "/run/u", HOME: "/h" }, 0),
    ["/x/auth.json"],
  );
  assert.deepEqual(containersAuthPaths({ XDG_RUNTIME_DIR: "/run/user/1000/" }, 1000), [
    "/run/user/1000/containers/auth.json",
  ]);
  assert.deepEqual(containersAuthPaths({ HOME: "/home/u" }, 1000), [
    "/run/containers/1000/auth.json",
    "/home/u/.config/containers/auth.json",
  ]);
  assert.deepEqual(containersAuthPaths({ XDG_CONFIG_HOME: "/cfg/", XDG_RUNTIME_DIR: "/run/user/5" }, 5), [
    "/run/user/5/containers/auth.json",
    "/cfg/containers/auth.json",
  ]);
  assert.deepEqual(containersAuthPaths({}, null), []);
});

Deno.test("normalizeAuthKey", () => {
  assert.equal(normalizeAuthKey("https://index.docker.io/v1/"), "docker.io");
  assert.equal(normalizeAuthKey("index.docker.io"), "docker.io");
  assert.equal(normalizeAuthKey("registry-1.docker.io"), "docker.io");
  assert.equal(normalizeAuthKey("docker.io"), "docker.io");
  assert.equal(normalizeAuthKey("http://localhost:5000/v2/"), "localhost:5000");
  assert.equal(normalizeAuthKey("GHCR.IO"), "ghcr.io");
  assert.equal(normalizeAuthKey("quay.io/org/team"), "quay.io/org/team");
  assert.equal(normalizeAuthKey(" https://quay.io/org/ "), "quay.io/org");
});

Deno.test("auths: base64 auth", async () => {
  const fs = files({ [DOCKER]: { auths: { "ghcr.io": { auth: b64("octo:s3cret:with:colons") } } } });
  const r = await lookupConfigCredentials("ghcr.io", "org/app", {
    ...paths({ HOME }),
    readTextFile: fs.read,
    runHelper: noHelpers,
  });
  assert.deepStrictEqual(r.credential, {
    kind: "basic",
    username: "octo",
    password: "s3cret:with:colons",
    source: `${DOCKER} auths`,
  });
  assert.deepStrictEqual(r.searched, [`${DOCKER} auths`]);
  assert.deepStrictEqual(fs.reads, [DOCKER]);
});

Deno.test("auths: base64 auth with a UTF-8 password", async () => {
  const fs = files({ [DOCKER]: { auths: { "ghcr.io": { auth: b64("usér:päss✓") } } } });
  const r = await lookupConfigCredentials("ghcr.io", undefined, {
    ...paths({ HOME }),
    readTextFile: fs.read,
    runHelper: noHelpers,
  });
  assert.deepStrictEqual(r.credential, {
    kind: "basic",
    username: "usér",
    password: "päss✓",
    source: `${DOCKER} auths`,
  });
});

Deno.test("auths: username and password fields", async () => {
  const fs = files({ [DOCKER]: { auths: { "quay.io": { username: "u", password: "p" } } } });
  const r = await lookupConfigCredentials("quay.io", "a/b", {
    ...paths({ HOME }),
    readTextFile: fs.read,
    runHelper: noHelpers,
  });
  assert.deepStrictEqual(r.credential, {
    kind: "basic",
    username: "u",
    password: "p",
    source: `${DOCKER} auths`,
  });
});

Deno.test("auths: identitytoken wins over auth", async () => {
  const fs = files({
    [DOCKER]: {
      auths: {
        "myacr.azurecr.io": {
          auth: b64("00000000-0000-0000-0000-000000000000:"),
          identitytoken: "refresh-xyz",
        },
      },
    },
  });
  const r = await lookupConfigCredentials("myacr.azurecr.io", "app", {
    ...paths({ HOME }),
    readTextFile: fs.read,
    runHelper: noHelpers,
  });
  assert.deepStrictEqual(r.credential, {
    kind: "identity-token",
    token: "refresh-xyz",
    source: `${DOCKER} auths`,
  });
  assert.deepStrictEqual(secretsOf(r.credential), ["refresh-xyz"]);
});

Deno.test("auths: registrytoken", async () => {
  const fs = files({ [DOCKER]: { auths: { "r.example": { registrytoken: "rt" } } } });
  const r = await lookupConfigCredentials("r.example", "app", {
    ...paths({ HOME }),
    readTextFile: fs.read,
    runHelper: noHelpers,
  });
  assert.deepStrictEqual(r.credential, { kind: "registry-token", token: "rt", source: `${DOCKER} auths` });
});

Deno.test("auths: the https://index.docker.io/v1/ key is docker.io", async () => {
  const fs = files({
    [DOCKER]: { auths: { "https://index.docker.io/v1/": { auth: b64("hubuser:hubpass") } } },
  });
  const r = await lookupConfigCredentials("docker.io", "library/alpine", {
    ...paths({ HOME }),
    readTextFile: fs.read,
    runHelper: noHelpers,
  });
  assert.deepStrictEqual(r.credential, {
    kind: "basic",
    username: "hubuser",
    password: "hubpass",
    source: `${DOCKER} auths`,
  });
});

Deno.test("auths: the registry key must match the registry (with port)", async () => {
  const fs = files({
    [DOCKER]: { auths: { "localhost:5000": { auth: b64("a:b") }, "ghcr.io": { auth: b64("c:d") } } },
  });
  const env = { ...paths({ HOME }), readTextFile: fs.read, runHelper: noHelpers };
  assert.equal(
    (await lookupConfigCredentials("localhost:5000", "x", env)).credential?.source,
    `${DOCKER} auths`,
  );
  assert.equal((await lookupConfigCredentials("localhost", "x", env)).credential, undefined);
  assert.equal((await lookupConfigCredentials("localhost:5001", "x", env)).credential, undefined);
  assert.equal((await lookupConfigCredentials("quay.io", "x", env)).credential, undefined);
});

Deno.test("auths: entries without a usable secret are skipped", async () => {
  const fs = files({
    [DOCKER]: { auths: { "ghcr.io": { username: "u", password: "" }, "quay.io": {}, "a.io": { auth: "" } } },
  });
  const env = { ...paths({ HOME }), readTextFile: fs.read, runHelper: noHelpers };
  for (const reg of ["ghcr.io", "quay.io", "a.io"]) {
    const r = await lookupConfigCredentials(reg, "x", env);
    assert.equal(r.credential, undefined, reg);
    assert.deepStrictEqual(r.searched, [`${DOCKER} auths`, `${HOME}/.config/containers/auth.json (absent)`]);
  }
});

Deno.test("auths: an auth value that is not base64 or not user:password is a ConfigError", async () => {
  for (const auth of ["!!!not base64!!!", b64("no-colon-here")]) {
    const fs = files({ [DOCKER]: { auths: { "ghcr.io": { auth } } } });
    await assert.rejects(
      lookupConfigCredentials("ghcr.io", "x", {
        ...paths({ HOME }),
        readTextFile: fs.read,
        runHelper: noHelpers,
      }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.match(err.message, /"auth" value/);
        assert.ok(!err.message.includes("no-colon-here"), "the secret is not in the message");
        return true;
      },
    );
  }
});

Deno.test("credHelpers: the helper is asked with the registry host, and wins over credsStore and auths", async () => {
  const fs = files({
    [DOCKER]: {
      auths: { "ghcr.io": { auth: b64("fromauths:x") } },
      credHelpers: { "ghcr.io": "gh" },
      credsStore: "desktop",
    },
  });
  const h = helpers({
    "docker-credential-gh": (url) => ({
      stdout: JSON.stringify({ ServerURL: url, Username: "helperuser", Secret: "helpersecret" }),
    }),
    "docker-credential-desktop": () => ({
      stdout: JSON.stringify({ Username: "store", Secret: "storesecret" }),
    }),
  });
  const r = await lookupConfigCredentials("ghcr.io", "org/app", {
    ...paths({ HOME }),
    readTextFile: fs.read,
    runHelper: h.run,
  });
  assert.deepStrictEqual(r.credential, {
    kind: "basic",
    username: "helperuser",
    password: "helpersecret",
    source: "credential helper docker-credential-gh",
  });
  assert.deepStrictEqual(h.calls, [{ program: "docker-credential-gh", input: "ghcr.io" }]);
  assert.deepStrictEqual(r.searched, [`${DOCKER} credHelpers (docker-credential-gh)`]);
});

Deno.test("credHelpers: only the registry's own helper is used; others fall to credsStore", async () => {
  const fs = files({ [DOCKER]: { credHelpers: { "quay.io": "quay" }, credsStore: "desktop" } });
  const h = helpers({
    "docker-credential-desktop": (url) => ({
      stdout: JSON.stringify({ ServerURL: url, Username: "s", Secret: "t" }),
    }),
  });
  const r = await lookupConfigCredentials("ghcr.io", "a", {
    ...paths({ HOME }),
    readTextFile: fs.read,
    runHelper: h.run,
  });
  assert.equal(r.credential?.kind, "basic");
  assert.deepStrictEqual(h.calls.map((c) => c.program), ["docker-credential-desktop"]);
});

Deno.test("credHelpers: <token> user name means an identity token", async () => {
  const fs = files({ [DOCKER]: { credHelpers: { "x.azurecr.io": "acr" } } });
  const h = helpers({
    "docker-credential-acr": () => ({ stdout: '{"Username":"<token>","Secret":"refresh"}' }),
  });
  const r = await lookupConfigCredentials("x.azurecr.io", "a", {
    ...paths({ HOME }),
    readTextFile: fs.read,
    runHelper: h.run,
  });
  assert.deepStrictEqual(r.credential, {
    kind: "identity-token",
    token: "refresh",
    source: "credential helper docker-credential-acr",
  });
});

Deno.test("credHelpers: index.docker.io key serves docker.io, asked with the legacy server URL", async () => {
  const fs = files({ [DOCKER]: { credHelpers: { "index.docker.io": "hub" } } });
  const h = helpers({ "docker-credential-hub": () => ({ stdout: '{"Username":"h","Secret":"s"}' }) });
  const r = await lookupConfigCredentials("docker.io", "library/alpine", {
    ...paths({ HOME }),
    readTextFile: fs.read,
    runHelper: h.run,
  });
  assert.equal(r.credential?.kind, "basic");
  assert.deepStrictEqual(h.calls, [{
    program: "docker-credential-hub",
    input: "https://index.docker.io/v1/",
  }]);
});

Deno.test("credsStore: asked for docker.io with https://index.docker.io/v1/", async () => {
  const fs = files({ [DOCKER]: { credsStore: "desktop" } });
  const h = helpers({ "docker-credential-desktop": () => ({ stdout: '{"Username":"d","Secret":"e"}' }) });
  const r = await lookupConfigCredentials("docker.io", "library/alpine", {
    ...paths({ HOME }),
    readTextFile: fs.read,
    runHelper: h.run,
  });
  assert.deepStrictEqual(r.credential, {
    kind: "basic",
    username: "d",
    password: "e",
    source: "credential helper docker-credential-desktop",
  });
  assert.deepStrictEqual(h.calls, [{
    program: "docker-credential-desktop",
    input: "https://index.docker.io/v1/",
  }]);
  assert.deepStrictEqual(r.searched, [`${DOCKER} credsStore (docker-credential-desktop)`]);
});

Deno.test("helper 'credentials not found' falls back to auths", async () => {
  const fs = files({
    [DOCKER]: { credsStore: "desktop", auths: { "ghcr.io": { auth: b64("fallback:pw") } } },
  });
  const h = helpers({
    "docker-credential-desktop": () => ({ code: 1, stdout: "credentials not found in native keychain\n" }),
  });
  const r = await lookupConfigCredentials("ghcr.io", "a", {
    ...paths({ HOME }),
    readTextFile: fs.read,
    runHelper: h.run,
  });
  assert.deepStrictEqual(r.credential, {
    kind: "basic",
    username: "fallback",
    password: "pw",
    source: `${DOCKER} auths`,
  });
  assert.deepStrictEqual(r.searched, [`${DOCKER} credsStore (docker-credential-desktop)`, `${DOCKER} auths`]);
});

Deno.test("helper with no credential and no auths entry: nothing found, every place listed", async () => {
  const fs = files({ [DOCKER]: { credHelpers: { "ghcr.io": "gh" } } });
  const h = helpers({ "docker-credential-gh": () => ({ code: 1, stderr: "credentials not found" }) });
  const r = await lookupConfigCredentials("ghcr.io", "a", {
    ...paths({ HOME, REGISTRY_AUTH_FILE: "/run/auth.json" }),
    readTextFile: fs.read,
    runHelper: h.run,
  });
  assert.equal(r.credential, undefined);
  assert.deepStrictEqual(r.searched, [
    `${DOCKER} credHelpers (docker-credential-gh)`,
    `${DOCKER} auths`,
    "/run/auth.json (absent)",
  ]);
});

Deno.test("helper answering exit 0 with an empty Secret means no credential", async () => {
  const fs = files({ [DOCKER]: { credsStore: "s" } });
  const h = helpers({ "docker-credential-s": () => ({ stdout: '{"Username":"","Secret":""}' }) });
  const r = await lookupConfigCredentials("ghcr.io", "a", {
    ...paths({ HOME }),
    readTextFile: fs.read,
    runHelper: h.run,
  });
  assert.equal(r.credential, undefined);
});

Deno.test("helper failure is an AuthError that names the helper and not the secret", async () => {
  const fs = files({ [DOCKER]: { credHelpers: { "ghcr.io": "gh" } } });
  const h = helpers({ "docker-credential-gh": () => ({ code: 2, stderr: "keychain locked" }) });
  await assert.rejects(
    lookupConfigCredentials("ghcr.io", "a", { ...paths({ HOME }), readTextFile: fs.read, runHelper: h.run }),
    (err: unknown) => {
      assert.ok(err instanceof AuthError, String(err));
      assert.match(err.message, /docker-credential-gh failed for ghcr\.io \(exit 2\)/);
      assert.match(err.hint ?? "", /echo ghcr\.io \| docker-credential-gh get/);
      return true;
    },
  );
});

Deno.test("helper answering something that is not JSON is an AuthError", async () => {
  const fs = files({ [DOCKER]: { credsStore: "s" } });
  const h = helpers({ "docker-credential-s": () => ({ stdout: "Username: x" }) });
  await assert.rejects(
    lookupConfigCredentials("ghcr.io", "a", { ...paths({ HOME }), readTextFile: fs.read, runHelper: h.run }),
    (err: unknown) => err instanceof AuthError && /not JSON/.test(err.message),
  );
});

Deno.test("missing helper is a ConfigError", async () => {
  const fs = files({ [DOCKER]: { credsStore: "nonexistent" } });
  await assert.rejects(
    lookupConfigCredentials("ghcr.io", "a", {
      ...paths({ HOME }),
      readTextFile: fs.read,
      runHelper: noHelpers,
    }),
    (err: unknown) => err instanceof ConfigError && /docker-credential-nonexistent/.test(err.message),
  );
});

Deno.test("a helper name with a path or shell characters is refused before running anything", async () => {
  for (const name of ["../../bin/sh", "a b", "x;rm -rf /", ""]) {
    const h = helpers({});
    await assert.rejects(helperCredential(name, "ghcr.io", h.run), ConfigError, name);
    assert.equal(h.calls.length, 0);
  }
});

Deno.test("config that is not JSON, not an object, or of the wrong shape is a ConfigError", async () => {
  const bad = ["{not json", "[]", "null", "42", '{"auths": []}', '{"credHelpers": "x"}', '{"credsStore": 5}'];
  for (const text of bad) {
    const fs = files({ [DOCKER]: text });
    await assert.rejects(
      lookupConfigCredentials("ghcr.io", "a", {
        ...paths({ HOME }),
        readTextFile: fs.read,
        runHelper: noHelpers,
      }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `${text}: ${err}`);
        assert.ok(err.message.includes(DOCKER), err.message);
        return true;
      },
      text,
    );
  }
});

Deno.test("a config read failure other than not-found is a ConfigError naming the file", async () => {
  const read = (_: string) =>
    Promise.reject(new Deno.errors.PermissionDenied("permission denied (os error 13)"));
  await assert.rejects(
    lookupConfigCredentials("ghcr.io", "a", { ...paths({ HOME }), readTextFile: read, runHelper: noHelpers }),
    (err: unknown) => err instanceof ConfigError && err.message.includes(`cannot read ${DOCKER}`),
  );
});

Deno.test("missing files: no credential, and searched lists them", async () => {
  const fs = files({});
  const r = await lookupConfigCredentials("ghcr.io", "a", {
    ...paths({ HOME, XDG_RUNTIME_DIR: "/run/user/1" }),
    readTextFile: fs.read,
    runHelper: noHelpers,
  });
  assert.equal(r.credential, undefined);
  assert.deepStrictEqual(r.searched, [
    `${DOCKER} (absent)`,
    "/run/user/1/containers/auth.json (absent)",
    `${HOME}/.config/containers/auth.json (absent)`,
  ]);
  assert.deepStrictEqual(fs.reads, [
    DOCKER,
    "/run/user/1/containers/auth.json",
    `${HOME}/.config/containers/auth.json`,
  ]);
});

Deno.test("no HOME and no auth file: nothing searched", async () => {
  const fs = files({});
  const r = await lookupConfigCredentials("ghcr.io", "a", {
    ...paths({}),
    readTextFile: fs.read,
    runHelper: noHelpers,
  });
  assert.deepStrictEqual(r, { searched: [] });
  assert.deepStrictEqual(fs.reads, []);
});

Deno.test("REGISTRY_AUTH_FILE: host/namespace keys, most specific first", async () => {
  const AUTH = "/etc/containers/auth.json";
  const fs = files({
    [AUTH]: {
      auths: {
        "quay.io": { auth: b64("host:h") },
        "quay.io/org": { auth: b64("org:o") },
        "quay.io/org/team": { auth: b64("team:t") },
        "quay.io/org/team/app/extra": { auth: b64("deeper:d") },
      },
    },
  });
  const env = { ...paths({ REGISTRY_AUTH_FILE: AUTH }), readTextFile: fs.read, runHelper: noHelpers };
  const user = async (repo: string | undefined) => {
    const c = (await lookupConfigCredentials("quay.io", repo, env)).credential;
    return c?.kind === "basic" ? c.username : undefined;
  };
  assert.equal(await user("org/team/app"), "team");
  assert.equal(await user("org/team"), "team");
  assert.equal(await user("org/other"), "org");
  assert.equal(await user("orgx/app"), "host", "a key prefix must end at a path component");
  assert.equal(await user("other"), "host");
  assert.equal(await user(undefined), "host");
  const r = await lookupConfigCredentials("quay.io", "org/app", env);
  assert.deepStrictEqual(r.searched, [`${AUTH} auths`]);
  assert.equal(r.credential?.source, `${AUTH} auths`);
});

Deno.test("the docker config wins over the containers auth file", async () => {
  const AUTH = "/run/user/1/containers/auth.json";
  const fs = files({
    [DOCKER]: { auths: { "ghcr.io": { auth: b64("docker:d") } } },
    [AUTH]: { auths: { "ghcr.io": { auth: b64("containers:c") } } },
  });
  const env = { HOME, XDG_RUNTIME_DIR: "/run/user/1" };
  const r = await lookupConfigCredentials("ghcr.io", "a", {
    ...paths(env),
    readTextFile: fs.read,
    runHelper: noHelpers,
  });
  assert.equal(r.credential?.kind === "basic" && r.credential.username, "docker");
  const r2 = await lookupConfigCredentials("quay.io", "a", {
    ...paths(env),
    readTextFile:
      files({ [DOCKER]: {}, [AUTH]: { auths: { "quay.io": { auth: b64("containers:c") } } } }).read,
    runHelper: noHelpers,
  });
  assert.equal(r2.credential?.kind === "basic" && r2.credential.username, "containers");
  assert.deepStrictEqual(r2.searched, [`${DOCKER} auths`, `${AUTH} auths`]);
});

Deno.test("readConfigFile: missing is undefined", async () => {
  assert.equal(await readConfigFile("/nope", files({}).read), undefined);
  assert.deepStrictEqual(await readConfigFile("/c", files({ "/c": { credsStore: "x" } }).read), {
    credsStore: "x",
  });
});

// ---- real files and a real helper process ----

async function withTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "docker-config-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function withPath(dir: string, fn: () => Promise<void>) {
  const old = Deno.env.get("PATH");
  Deno.env.set("PATH", `${dir}:${old ?? "/usr/bin:/bin"}`);
  try {
    await fn();
  } finally {
    if (old === undefined) Deno.env.delete("PATH");
    else Deno.env.set("PATH", old);
  }
}

const HELPER_SCRIPT = `#!/bin/sh
# docker-credential-testhelper: the credential helper protocol, for tests.
[ "$1" = "get" ] || { echo "unsupported action $1" >&2; exit 3; }
read -r url
echo "$url" >> "$(dirname "$0")/calls.log"
case "$url" in
  ghcr.io) printf '{"ServerURL":"%s","Username":"scriptuser","Secret":"scriptsecret"}' "$url" ;;
  token.example) printf '{"ServerURL":"%s","Username":"<token>","Secret":"idtok"}' "$url" ;;
  broken.example) echo "something bad happened" >&2; exit 7 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`;

Deno.test("real files and a real docker-credential-testhelper on PATH", async () => {
  await withTempDir(async (dir) => {
    const bin = `${dir}/bin`;
    await Deno.mkdir(bin);
    await Deno.writeTextFile(`${bin}/docker-credential-testhelper`, HELPER_SCRIPT);
    await Deno.chmod(`${bin}/docker-credential-testhelper`, 0o755);
    const dockerDir = `${dir}/docker`;
    await Deno.mkdir(dockerDir);
    await Deno.writeTextFile(
      `${dockerDir}/config.json`,
      JSON.stringify({
        auths: { "quay.io": { auth: b64("quayuser:quaypass") } },
        credHelpers: {
          "ghcr.io": "testhelper",
          "token.example": "testhelper",
          "broken.example": "testhelper",
        },
        credsStore: "testhelper",
      }),
    );
    const authFile = `${dir}/auth.json`;
    await Deno.writeTextFile(
      authFile,
      JSON.stringify({ auths: { "r.example/team": { auth: b64("team:tp") } } }),
    );
    const env = { DOCKER_CONFIG: dockerDir, REGISTRY_AUTH_FILE: authFile };

    await withPath(bin, async () => {
      const gh = await lookupConfigCredentials("ghcr.io", "org/app", { ...paths(env) });
      assert.deepStrictEqual(gh.credential, {
        kind: "basic",
        username: "scriptuser",
        password: "scriptsecret",
        source: "credential helper docker-credential-testhelper",
      });

      const tok = await lookupConfigCredentials("token.example", "a", { ...paths(env) });
      assert.deepStrictEqual(tok.credential, {
        kind: "identity-token",
        token: "idtok",
        source: "credential helper docker-credential-testhelper",
      });

      // credsStore says "not found" for quay.io: the auths entry is used.
      const quay = await lookupConfigCredentials("quay.io", "a", { ...paths(env) });
      assert.deepStrictEqual(quay.credential, {
        kind: "basic",
        username: "quayuser",
        password: "quaypass",
        source: `${dockerDir}/config.json auths`,
      });

      // Not in the docker config at all: the containers auth file's namespace key.
      const team = await lookupConfigCredentials("r.example", "team/app", { ...paths(env) });
      assert.equal(team.credential?.kind === "basic" && team.credential.username, "team");
      assert.deepStrictEqual(team.searched, [
        `${dockerDir}/config.json credsStore (docker-credential-testhelper)`,
        `${dockerDir}/config.json auths`,
        `${authFile} auths`,
      ]);

      await assert.rejects(
        lookupConfigCredentials("broken.example", "a", { ...paths(env) }),
        (err: unknown) => {
          assert.ok(err instanceof AuthError, String(err));
          assert.match(err.message, /exit 7/);
          return true;
        },
      );

      const log = (await Deno.readTextFile(`${bin}/calls.log`)).trim().split("\n");
      assert.deepStrictEqual(log, ["ghcr.io", "token.example", "quay.io", "r.example", "broken.example"]);
    });

    // Missing helper on PATH: ConfigError.
    await Deno.writeTextFile(
      `${dockerDir}/config.json`,
      JSON.stringify({ credsStore: "definitely-not-installed-xyz" }),
    );
    await assert.rejects(lookupConfigCredentials("ghcr.io", "a", { ...paths(env) }), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, /docker-credential-definitely-not-installed-xyz is not installed/);
      return true;
    });

    // A config file that is not JSON, on disk.
    await Deno.writeTextFile(`${dockerDir}/config.json`, "{ oops");
    await assert.rejects(lookupConfigCredentials("ghcr.io", "a", { ...paths(env) }), ConfigError);

    // Missing files on disk: nothing found, both listed.
    const empty = await lookupConfigCredentials("ghcr.io", "a", {
      ...paths({ DOCKER_CONFIG: `${dir}/none`, REGISTRY_AUTH_FILE: `${dir}/none/auth.json` }),
    });
    assert.equal(empty.credential, undefined);
    assert.deepStrictEqual(empty.searched, [
      `${dir}/none/config.json (absent)`,
      `${dir}/none/auth.json (absent)`,
    ]);
  });
});

Deno.test("spawnHelper: passes the server URL on stdin and the 'get' argument", async () => {
  await withTempDir(async (dir) => {
    const script = `${dir}/docker-credential-echo`;
    await Deno.writeTextFile(
      script,
      '#!/bin/sh\nread -r url\nprintf \'{"arg":"%s","url":"%s"}\' "$1" "$url"\n',
    );
    await Deno.chmod(script, 0o755);
    const out = await spawnHelper(script, "https://index.docker.io/v1/");
    assert.equal(out.code, 0);
    assert.deepStrictEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
      arg: "get",
      url: "https://index.docker.io/v1/",
    });
  });
});
