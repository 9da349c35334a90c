/**
 * Redaction of secrets in anything that might be printed: URLs with presigned signatures, header values,
 * free text. Used by the verbose log and by error messages.
 *
 * @module
 */

import { isSecretParam, SECRET_PARAMS } from "../../url.ts";

const SECRET_QUERY_IN_TEXT = new RegExp(`([?&](?:${SECRET_PARAMS})=)[^&\\s"']+`, "gi");
const SECRET_HEADERS = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-amz-security-token",
  "x-registry-auth",
]);

/**
 * A URL with the values of secret-bearing query parameters replaced by `REDACTED`, and any user:password
 * removed.
 *
 * @example
 * ```ts
 * redactUrl("https://s3.example/b?X-Amz-Signature=abc&x=1"); // "https://s3.example/b?X-Amz-Signature=REDACTED&x=1"
 * ```
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "<invalid url>";
  }
  u.username = "";
  u.password = "";
  for (const key of [...u.searchParams.keys()]) {
    if (isSecretParam(key)) u.searchParams.set(key, "REDACTED");
  }
  return u.toString();
}

/** A header value safe to print: secrets replaced by their scheme only (`Bearer REDACTED`). */
export function redactHeader(name: string, value: string): string {
  const lower = name.toLowerCase();
  if (SECRET_HEADERS.has(lower)) {
    const scheme = /^(\w+)\s/.exec(value)?.[1];
    return scheme ? `${scheme} REDACTED` : "REDACTED";
  }
  if (lower === "location" || lower === "content-location") return redactUrl(value);
  if (lower === "www-authenticate") return value.replace(/(token|access_token)="[^"]*"/gi, '$1="REDACTED"');
  return value;
}

/** Known secrets shorter than this are not replaced wherever they occur: a short password (`demo`) would rewrite
 * repository names and paths. The structured forms below (Authorization values, tokens, presigned URLs) and the
 * longer encodings of a credential (its base64 `user:password`) are still redacted. */
const MIN_VERBATIM_SECRET = 8;

/**
 * Free text with known secrets removed: any of `secrets` (of at least {@link MIN_VERBATIM_SECRET} characters)
 * verbatim (a secret holding whitespace also with any whitespace in its place: a newline the registry or a
 * header turned into a space), bearer/basic credentials, JWT-looking strings and presigned query parameters.
 * Secret values, not prose: "Bearer challenge" stays as it is.
 *
 * @example
 * ```ts
 * redactText("bad password Tab here", ["Tab\there"]); // "bad password REDACTED"
 * ```
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) {
    if (!s || s.length < MIN_VERBATIM_SECRET) continue;
    if (/\s/.test(s)) {
      const pattern = s.split(/\s+/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("\\s+");
      out = out.replace(new RegExp(pattern, "g"), "REDACTED");
    } else {
      out = out.split(s).join("REDACTED");
    }
  }
  // Not the auth-params of a challenge (`WWW-Authenticate: Bearer realm="...",service=...`, as logged with
  // --verbose): those hold no secret, and "redacting" `realm=` mangled the challenge in the log. A credential
  // (token68, base64) never starts with one of these names followed by `=`.
  // A credential, not a word: at least 8 characters with a digit, a capital or token punctuation (a plain
  // lower-case word such as "challenge" is prose).
  out = out.replace(
    /\b(Bearer|Basic)\s+(?!(?:realm|service|scope|error|error_description|error_uri|charset)=)([A-Za-z0-9._~+/=-]+)/gi,
    (whole, scheme: string, token: string) =>
      token.length >= 8 && /[0-9A-Z._~+/=-]/.test(token) ? `${scheme} REDACTED` : whole,
  );
  out = out.replace(/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, "REDACTED");
  out = out.replace(SECRET_QUERY_IN_TEXT, "$1REDACTED");
  return out;
}
