/**
 * Package URLs of the purl-spec `oci` type (https://github.com/package-url/purl-spec), written by this
 * project instead of `packageurl-js`, a CommonJS package whose loading alone cost the `sbom` and `provenance`
 * commands tens of milliseconds. The text is the one packageurl-js 2.0.1 wrote for the same input, byte for
 * byte (tests/purl_test.ts compares the two over random input), so documents written before and after the
 * switch agree. Where that text is not the spec's own canonical form, it is kept all the same: the purls are
 * the bom-refs of earlier SBOMs and the ResourceDescriptor URIs of earlier provenance.
 *
 * How a purl is formed, component by component:
 *
 * - `pkg:oci/`: the scheme and the type; an `oci` purl has no namespace.
 * - name: surrounding white space removed (ECMAScript `trim`), lower case (the `oci` type's rule), then
 *   percent-encoded as `encodeURIComponent` does: everything but ASCII letters, digits and `-_.!~*'()`, as
 *   UTF-8; a lone surrogate is an error (URIError), as is a name that is empty once trimmed.
 * - `@version`: trimmed; left out when empty; encoded like the name, except that `:` and `+` stay as they are
 *   (`@sha256:<hex>`).
 * - `?qualifiers`: each value trimmed, a qualifier whose value is then empty left out, keys in lower case and
 *   sorted (code unit order), `key=value` pairs joined by `&`. A key must not start with a digit and may hold
 *   only ASCII letters, digits and `._-` (else an error). Values are encoded as an HTML form encodes them
 *   (`application/x-www-form-urlencoded`: everything but ASCII letters, digits and `*-._`, as UTF-8, a lone
 *   surrogate read as U+FFFD), except that a space is `%20`, not `+`. So `/` is `%2F` and `:` is `%3A`.
 *
 * @module
 */

/** The parts of an `oci` package URL. */
export interface OciPurlParts {
  /** The image's name: the last segment of its repository. */
  name: string;
  /** Its version: the platform manifest digest (`sha256:<hex>`). */
  version?: string;
  /** Qualifiers by key (`arch`, `repository_url`, `tag`, ...); empty values are left out. */
  qualifiers?: Record<string, string>;
}

/** Bytes a qualifier value keeps as they are (the form encoding's unreserved set). */
const FORM_SAFE = /^[A-Za-z0-9*\-._]$/;

/** A qualifier key as packageurl-js accepts it: no leading digit, ASCII letters, digits and `._-` only. */
const QUALIFIER_KEY = /^(?:[A-Za-z.\-_][A-Za-z0-9.\-_]*)?$/;

const encoder = new TextEncoder();

/** `application/x-www-form-urlencoded` encoding of `text`, a space written `%20`. */
function formEncode(text: string): string {
  let out = "";
  for (const char of text.toWellFormed()) {
    if (FORM_SAFE.test(char)) {
      out += char;
      continue;
    }
    for (const byte of encoder.encode(char)) {
      out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return out;
}

/**
 * The `oci` package URL of `parts` (see the module notes for every rule).
 *
 * @example
 * ```ts
 * ociPurl({
 *   name: "app",
 *   version: "sha256:1388c238cb288dcd5d85c7c725f2d82028261cbdf292b47261e19b7326b96721",
 *   qualifiers: { tag: "1.0", arch: "amd64", repository_url: "localhost:5000/team/app" },
 * });
 * // "pkg:oci/app@sha256:1388c2...6721?arch=amd64&repository_url=localhost%3A5000%2Fteam%2Fapp&tag=1.0"
 * ```
 */
export function ociPurl(parts: OciPurlParts): string {
  const name = parts.name.trim();
  if (name === "") throw new TypeError('Invalid purl: "name" is a required component');
  let text = `pkg:oci/${encodeURIComponent(name.toLowerCase())}`;
  const version = parts.version?.trim();
  if (version) text += `@${encodeURIComponent(version).replace(/%3A/g, ":").replace(/%2B/g, "+")}`;
  const qualifiers = new Map<string, string>();
  for (const [key, value] of Object.entries(parts.qualifiers ?? {})) {
    const trimmed = value.trim();
    if (trimmed !== "") qualifiers.set(key.toLowerCase(), trimmed);
  }
  for (const key of qualifiers.keys()) {
    if (!QUALIFIER_KEY.test(key)) throw new TypeError(`Invalid purl: qualifier "${key}" is not a valid key`);
  }
  if (qualifiers.size > 0) {
    const keys = [...qualifiers.keys()].sort();
    text += `?${keys.map((k) => `${k}=${formEncode(qualifiers.get(k)!)}`).join("&")}`;
  }
  return text;
}
