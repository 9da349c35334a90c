/**
 * `WWW-Authenticate` parsing (RFC 9110 §11.6.1): one or more challenges, each a scheme and auth-params.
 *
 * @module
 */

/** One challenge: scheme in lower case, parameter names in lower case. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;
const MAX_HEADER = 16 * 1024;

/**
 * Parse a `WWW-Authenticate` header value into challenges. Malformed parts end the parse; what was read so
 * far is returned, so a hostile header can never throw or loop.
 *
 * @example
 * ```ts
 * parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io"');
 * // [{ scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io" } }]
 * ```
 */
export function parseChallenges(header: string | null | undefined): Challenge[] {
  if (!header) return [];
  const s = header.slice(0, MAX_HEADER);
  const out: Challenge[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
  };
  const skipSeparators = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\t" || s[i] === ",")) i++;
  };
  let current: Challenge | undefined;
  while (i < s.length) {
    skipSeparators();
    if (i >= s.length) break;
    const tok = TOKEN.exec(s.slice(i))?.[0];
    if (!tok) break;
    const afterTok = i + tok.length;
    let j = afterTok;
    while (j < s.length && (s[j] === " " || s[j] === "\t")) j++;
    if (s[j] === "=" && current && s[j + 1] !== "=") {
      // auth-param: name = token | quoted-string
      i = j + 1;
      skipSpace();
      let value = "";
      if (s[i] === '"') {
        i++;
        let closed = false;
        while (i < s.length) {
          const c = s[i];
          if (c === "\\" && i + 1 < s.length) {
            value += s[i + 1];
            i += 2;
          } else if (c === '"') {
            i++;
            closed = true;
            break;
          } else {
            value += c;
            i++;
          }
        }
        if (!closed) break;
      } else {
        const v = TOKEN.exec(s.slice(i))?.[0] ?? "";
        value = v;
        i += v.length;
      }
      current.params[tok.toLowerCase()] = value;
      skipSpace();
      if (i < s.length && s[i] !== ",") break;
    } else {
      // A new challenge: scheme [token68 | params].
      current = { scheme: tok.toLowerCase(), params: {} };
      out.push(current);
      i = afterTok;
      skipSpace();
      const t68 = /^[A-Za-z0-9._~+/-]+=*/.exec(s.slice(i))?.[0];
      // `name=value` starts the parameters; `abc=` followed by nothing, a comma or more `=` is token68.
      if (t68 && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+\s*=\s*[^=,\s]/.test(s.slice(i))) {
        current.params[""] = t68;
        i += t68.length;
      }
    }
  }
  return out;
}
