/**
 * A small XML writer for the CycloneDX documents' element trees (`cyclonedx_nodes.ts`; the shape is the
 * `SimpleXml.Element` of `@cyclonedx/cyclonedx-library`, whose normalisers built them in earlier releases),
 * so XML SBOMs need no XML library: the tree is elements, attributes, text and comments, written as an XML
 * 1.0 document with two-space indentation.
 *
 * Every text and attribute value is made XML-safe: `& < > "` escaped, and characters XML 1.0 cannot carry (C0
 * controls other than tab, CR and LF; U+FFFE, U+FFFF; lone surrogates), which an image's labels and history
 * may hold, replaced by U+FFFD. Element and attribute names come from the CycloneDX schema, never from the
 * image.
 *
 * @module
 */

/** An element of the tree (the CycloneDX library's `SimpleXml.Element`). */
export interface XmlElement {
  type: "element";
  name: string;
  namespace?: string | URL;
  attributes?: Record<string, string | number | undefined>;
  children?: Iterable<XmlElement | XmlComment> | string | number;
}

/** A comment node. */
export interface XmlComment {
  type: "comment";
  text?: string | number;
}

/** Characters XML 1.0 cannot carry in any form. */
const FORBIDDEN =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text XML 1.0 can carry: forbidden characters become U+FFFD.
 *
 * @example
 * ```ts
 * xmlSafe("a\u0007b"); // "a\uFFFDb"
 * ```
 */
export function xmlSafe(value: string): string {
  return value.replace(FORBIDDEN, "\uFFFD");
}

function escapeText(value: string | number): string {
  return xmlSafe(String(value)).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /\r/g,
    "&#xD;",
  );
}

function escapeAttribute(value: string | number): string {
  return xmlSafe(String(value)).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;")
    .replace(/\t/g, "&#x9;").replace(/\n/g, "&#xA;").replace(/\r/g, "&#xD;");
}

function write(
  node: XmlElement | XmlComment,
  depth: number,
  parentNs: string | undefined,
  out: string[],
): void {
  const pad = "  ".repeat(depth);
  if (node.type === "comment") {
    // `--` may not appear inside a comment.
    out.push(`${pad}<!--${xmlSafe(String(node.text ?? "")).replace(/--/g, "- -")}-->`);
    return;
  }
  const ns = node.namespace?.toString() || node.attributes?.xmlns?.toString() || parentNs;
  // A namespace declaration goes first, where XML writers put it.
  const attributes = ns && ns !== parentNs ? { xmlns: ns, ...node.attributes } : { ...node.attributes };
  let open = `${pad}<${node.name}`;
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined) open += ` ${name}="${escapeAttribute(value)}"`;
  }
  const children = node.children;
  if (children === undefined) {
    out.push(`${open}/>`);
  } else if (typeof children === "string" || typeof children === "number") {
    out.push(String(children) === "" ? `${open}/>` : `${open}>${escapeText(children)}</${node.name}>`);
  } else {
    const nested = [...children];
    if (nested.length === 0) {
      out.push(`${open}/>`);
      return;
    }
    out.push(`${open}>`);
    for (const child of nested) write(child, depth + 1, ns, out);
    out.push(`${pad}</${node.name}>`);
  }
}

/**
 * The XML document of `root`, with an XML declaration, two-space indentation and a final newline.
 *
 * @example
 * ```ts
 * stringifyXml({ type: "element", name: "bom", attributes: { xmlns: "http://cyclonedx.org/schema/bom/1.6" },
 *   children: [{ type: "element", name: "a", children: "x & y" }] });
 * // '<?xml version="1.0" encoding="UTF-8"?>\n<bom xmlns="...">\n  <a>x &amp; y</a>\n</bom>\n'
 * ```
 */
export function stringifyXml(root: XmlElement): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  write(root, 0, undefined, out);
  return `${out.join("\n")}\n`;
}
