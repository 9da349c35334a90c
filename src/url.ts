/**
 * Credentials in URLs: which query parameters carry secrets, and URLs with the credentials taken out, for
 * documents that record a URL (provenance's source repository) and for logs.
 *
 * @module
 */

// Presigned-URL material of S3, GCS, Azure SAS, CloudFront, Cloudflare (Docker Hub's `verify`) and Akamai,
// and the tokens git hosts accept in a query (GitHub `access_token`, GitLab `private_token`, OAuth2).
const SECRET_PARAM_NAMES = [
  "x-amz-signature",
  "x-amz-credential",
  "x-amz-security-token",
  "x-goog-signature",
  "x-goog-credential",
  "signature",
  "sig",
  "token",
  "__token__",
  "access_token",
  "refresh_token",
  "private_token",
  "oauth_token",
  "client_secret",
  "api_key",
  "apikey",
  "password",
  "googleaccessid",
  "se",
  "sv",
  "skoid",
  "sktid",
  "key-pair-id",
  "policy",
  "expires",
  "verify",
  "hdnts",
  "hmac",
  "auth",
  "key",
];

/** The secret-bearing parameter names, as a regular expression alternation (for matching in free text). */
export const SECRET_PARAMS: string = SECRET_PARAM_NAMES.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
  .join("|");

const SECRET_PARAM = new RegExp(`^(?:${SECRET_PARAMS})$`, "i");

/**
 * Whether a query parameter of this name carries a secret (case-insensitive).
 *
 * @example
 * ```ts
 * isSecretParam("X-Amz-Signature"); // true
 * ```
 */
export function isSecretParam(name: string): boolean {
  return SECRET_PARAM.test(name);
}

/**
 * `url` without its credentials: the userinfo (user name too, unless `keepUsername`: a token can be the user
 * name, as GitHub's `https://TOKEN@github.com` is; an ssh user name is not a secret) and every secret-bearing
 * query parameter. A URL with nothing to take out is returned exactly as given; text that is not a URL loses
 * anything before an `@` that precedes its first `/`.
 *
 * @example
 * ```ts
 * stripUrlCredentials("https://user:p@ss@host/repo?access_token=t&ref=main"); // "https://host/repo?ref=main"
 * ```
 */
export function stripUrlCredentials(url: string, opts: { keepUsername?: boolean } = {}): string {
  let u: URL | undefined;
  try {
    // Only `scheme://` text is a URL here: `user:pass@host/path` would parse as scheme `user:`.
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) u = new URL(url);
  } catch {
    u = undefined;
  }
  if (!u) {
    const slash = url.indexOf("/");
    const head = slash < 0 ? url : url.slice(0, slash);
    const at = head.lastIndexOf("@");
    return at < 0 ? url : url.slice(at + 1);
  }
  const pairs = u.search.slice(1).split("&").filter((p) => p !== "");
  const kept = pairs.filter((p) => {
    const name = p.split("=")[0];
    let decoded = name;
    try {
      decoded = decodeURIComponent(name.replace(/\+/g, " "));
    } catch {
      // a malformed escape: judge the name as written
    }
    return !isSecretParam(decoded);
  });
  const user = opts.keepUsername ? u.username : "";
  if (u.password === "" && u.username === user && kept.length === pairs.length) return url;
  u.username = user;
  u.password = "";
  u.search = kept.length ? `?${kept.join("&")}` : "";
  return u.href;
}

/**
 * The URI of a CodeBuild source for provenance, without credentials: http(s), ssh and git URLs get the SLSA
 * `git+` prefix, scp-like `user@host:path` becomes `git+ssh://user@host/path`; anything else
 * (`s3://bucket/key`) is kept and is not a git source. Every form loses its password, its user name (except
 * ssh's, which is not a secret) and secret-bearing query parameters (`access_token`, `private_token`,
 * signatures).
 *
 * @example
 * ```ts
 * sourceUri("https://user:p@ss@github.com/o/r.git?access_token=t").uri; // "git+https://github.com/o/r.git"
 * ```
 */
export function sourceUri(url: string): { uri: string; git: boolean } {
  const text = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1].toLowerCase();
  if (scheme) {
    // An ssh user name (`git@`) is not a secret; over http(s) a token can be the user name.
    const clean = stripUrlCredentials(text, { keepUsername: scheme === "ssh" || scheme === "git+ssh" });
    if (scheme.startsWith("git+")) return { uri: clean, git: true };
    if (["http", "https", "ssh", "git"].includes(scheme)) return { uri: `git+${clean}`, git: true };
    return { uri: clean, git: false };
  }
  // scp-like `user[:password]@host:path`, the password (which may hold `@`) dropped.
  const scp = /^([\w.-]+)(?::.*)?@([\w.-]+):\/*(.+)$/.exec(text);
  if (scp) {
    return {
      uri: stripUrlCredentials(`git+ssh://${scp[1]}@${scp[2]}/${scp[3]}`, { keepUsername: true }),
      git: true,
    };
  }
  return { uri: stripUrlCredentials(text), git: false };
}

/**
 * The source repository as the documents name it: {@link sourceUri}, and for a git repository without query or
 * fragment (they name no part of a repository, and `@REF` must follow the path).
 */
export function repositoryUri(url: string): { uri: string; git: boolean } {
  const { uri, git } = sourceUri(url);
  return { uri: git ? uri.replace(/[?#].*$/, "") : uri, git };
}
