/**
 * `--pretty`: JSON re-indented without changing a single value.
 *
 * @module
 */

import { decodeUtf8 } from "../bytes.ts";
import { ManifestError } from "../errors.ts";

/**
 * Re-indent JSON bytes with two spaces and a final newline, copying every string, number and literal exactly as
 * written: `12345678901234567891` stays that number, duplicate keys stay, key order stays (a round trip through
 * `JSON.parse` would change all three). Throws {@link ManifestError} for text that is not JSON.
 *
 * @example
 * ```ts
 * new TextDecoder().decode(prettyJson(new TextEncoder().encode('{"a":[1,2],"b":{}}')));
 * // '{\n  "a": [\n    1,\n    2\n  ],\n  "b": {}\n}\n'
 * ```
 */
export function prettyJson(bytes: Uint8Array): Uint8Array {
  let text: string;
  try {
    text = decodeUtf8(bytes);
    JSON.parse(text); // validates; the values are copied from the text, not from this
  } catch {
    throw new ManifestError("cannot pretty-print: the content is not JSON");
  }
  const out: string[] = [];
  let depth = 0;
  const newline = () => out.push("\n", "  ".repeat(depth));
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out.push(text.slice(i, j + 1));
      i = j;
    } else if (c === "{" || c === "[") {
      // An empty container stays on one line, as JSON.stringify writes it.
      let j = i + 1;
      while (/\s/.test(text[j])) j++;
      if (text[j] === (c === "{" ? "}" : "]")) {
        out.push(c, text[j]);
        i = j;
      } else {
        out.push(c);
        depth++;
        newline();
      }
    } else if (c === "}" || c === "]") {
      depth--;
      newline();
      out.push(c);
    } else if (c === ",") {
      out.push(",");
      newline();
    } else if (c === ":") {
      out.push(": ");
    } else if (!/\s/.test(c)) {
      let j = i;
      while (j < text.length && !/[\s,:{}[\]"]/.test(text[j])) j++;
      out.push(text.slice(i, j));
      i = j - 1;
    }
  }
  out.push("\n");
  return new TextEncoder().encode(out.join(""));
}
