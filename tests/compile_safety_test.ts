/**
 * `deno compile` safety: the shipped binary embeds only modules it can see statically, and has no node_modules
 * directory or source tree next to it at run time. This test scans every source file under src/ plus main.ts and
 * mod.ts and fails on:
 *
 * - `dynamic-import`: `import(x)` whose argument is not one plain string literal (template with `${`, variable,
 *   concatenation, call): the compiler cannot embed what it cannot resolve.
 * - `require`: `require(...)`, `require.resolve`, `createRequire` (run-time module resolution).
 * - `node-modules`: a string that is a node_modules path, or any string mentioning node_modules passed to a file
 *   API (Deno.readFile, readTextFile, open, stat, fs.readFileSync, ...).
 * - `module-relative-read`: a file API called with `import.meta.url/dirname/filename` in its arguments (files
 *   next to the source are not in the binary).
 *
 * The scanner is a small tokenizer (strings, templates with nested `${}`, comments, regex literals), so text in
 * comments and strings never counts as code. A self-test feeds it bad and good samples.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

/** One problem the scanner found. */
interface Finding {
  file: string;
  line: number;
  rule: "dynamic-import" | "require" | "node-modules" | "module-relative-read";
  detail: string;
}

interface Token {
  kind: "ident" | "string" | "template" | "punct" | "number" | "regex";
  /** Identifier/punctuator text; a string's or template's literal text (template: its static chunks). */
  text: string;
  line: number;
  /** Template literal with at least one `${...}`. */
  subst?: boolean;
}

const REGEX_AFTER_KEYWORD = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const resume: { token: Token; depth: number }[] = [];
  let depth = 0;
  let line = 1;
  let i = 0;

  const readTemplateChunk = (token: Token): void => {
    // i is just after "`" or after the "}" closing a substitution.
    while (i < src.length) {
      const c = src[i];
      if (c === "\\") {
        token.text += src.slice(i, i + 2);
        if (src[i + 1] === "\n") line++;
        i += 2;
      } else if (c === "`") {
        i++;
        return;
      } else if (c === "$" && src[i + 1] === "{") {
        token.subst = true;
        i += 2;
        resume.push({ token, depth });
        depth++;
        return;
      } else {
        if (c === "\n") line++;
        token.text += c;
        i++;
      }
    }
  };

  const regexAllowed = (): boolean => {
    const prev = tokens[tokens.length - 1];
    if (!prev) return true;
    if (prev.kind === "ident") return REGEX_AFTER_KEYWORD.has(prev.text);
    if (prev.kind === "punct") return ![")", "]", "}"].includes(prev.text);
    return false;
  };

  while (i < src.length) {
    const c = src[i];
    if (c === "\n") {
      line++;
      i++;
    } else if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v" || c === "\uFEFF") {
      i++;
    } else if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      for (let k = i; k < stop; k++) if (src[k] === "\n") line++;
      i = stop;
    } else if (c === "'" || c === '"') {
      const start = line;
      let text = "";
      i++;
      while (i < src.length && src[i] !== c && src[i] !== "\n") {
        if (src[i] === "\\") {
          text += src.slice(i, i + 2);
          if (src[i + 1] === "\n") line++;
          i += 2;
        } else {
          text += src[i++];
        }
      }
      i++;
      tokens.push({ kind: "string", text, line: start });
    } else if (c === "`") {
      const token: Token = { kind: "template", text: "", line };
      tokens.push(token);
      i++;
      readTemplateChunk(token);
    } else if (c === "}" && resume.length > 0 && resume[resume.length - 1].depth === depth - 1) {
      depth--;
      i++;
      readTemplateChunk(resume.pop()!.token);
    } else if (c === "/" && regexAllowed()) {
      const start = line;
      let inClass = false;
      let text = "/";
      i++;
      while (i < src.length && src[i] !== "\n") {
        const ch = src[i];
        text += ch;
        i++;
        if (ch === "\\") {
          text += src[i++] ?? "";
        } else if (ch === "[") {
          inClass = true;
        } else if (ch === "]") {
          inClass = false;
        } else if (ch === "/" && !inClass) {
          break;
        }
      }
      while (i < src.length && /[A-Za-z]/.test(src[i])) text += src[i++];
      tokens.push({ kind: "regex", text, line: start });
    } else if (/[A-Za-z_$\u0080-\uFFFF]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[\w$\u0080-\uFFFF]/.test(src[j])) j++;
      tokens.push({ kind: "ident", text: src.slice(i, j), line });
      i = j;
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      let j = i + 1;
      while (j < src.length && /[\w.]/.test(src[j])) j++;
      tokens.push({ kind: "number", text: src.slice(i, j), line });
      i = j;
    } else {
      if (c === "{") depth++;
      if (c === "}") depth--;
      tokens.push({ kind: "punct", text: c, line });
      i++;
    }
  }
  return tokens;
}

/** File APIs that read (or open, stat, list) a path given as their first arguments. */
const FILE_APIS = new Set([
  "readFile",
  "readFileSync",
  "readTextFile",
  "readTextFileSync",
  "open",
  "openSync",
  "readDir",
  "readDirSync",
  "readdir",
  "readdirSync",
  "stat",
  "statSync",
  "lstat",
  "lstatSync",
  "realPath",
  "realPathSync",
  "realpath",
  "realpathSync",
  "readLink",
  "readLinkSync",
  "readlink",
  "readlinkSync",
  "exists",
  "existsSync",
  "access",
  "accessSync",
  "createReadStream",
  "copyFile",
  "copyFileSync",
  "opendir",
  "opendirSync",
]);

/** A string that is a path into node_modules (not prose that mentions the word). */
const NODE_MODULES_PATH = /(?:^|[/\\.])node_modules(?:[/\\]|$)/;

function isStaticString(t: Token | undefined): boolean {
  return !!t && (t.kind === "string" || (t.kind === "template" && !t.subst));
}

/** Index of the `)` matching the `(` at `open`, or the last token. */
function closing(tokens: Token[], open: number): number {
  let level = 0;
  for (let k = open; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.kind !== "punct") continue;
    if (t.text === "(") level++;
    if (t.text === ")" && --level === 0) return k;
  }
  return tokens.length - 1;
}

/** Scan TypeScript/JavaScript `source` for constructs that break a `deno compile` binary. */
function scanSource(source: string, file = "<inline>"): Finding[] {
  const tokens = tokenize(source);
  const findings: Finding[] = [];
  const add = (t: Token, rule: Finding["rule"], detail: string) =>
    findings.push({ file, line: t.line, rule, detail });
  const is = (k: number, kind: Token["kind"], text?: string) =>
    tokens[k]?.kind === kind && (text === undefined || tokens[k].text === text);

  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    const afterDot = is(k - 1, "punct", ".");
    if (t.kind === "ident" && t.text === "import" && is(k + 1, "punct", "(") && !afterDot) {
      const arg = tokens[k + 2];
      const after = tokens[k + 3];
      const ok = isStaticString(arg) && after?.kind === "punct" && (after.text === ")" || after.text === ",");
      if (!ok) {
        const end = closing(tokens, k + 1);
        const text = tokens.slice(k + 2, end).map((x) =>
          x.kind === "string" ? JSON.stringify(x.text) : x.text
        );
        add(t, "dynamic-import", `import(${text.join(" ").slice(0, 80)}) has a non-literal specifier`);
      }
    }
    if (t.kind === "ident" && t.text === "createRequire") {
      add(t, "require", "createRequire resolves modules at run time");
    }
    if (t.kind === "ident" && t.text === "require" && !afterDot) {
      if (is(k + 1, "punct", ".") && is(k + 2, "ident", "resolve")) {
        add(t, "require", "require.resolve looks up files at run time");
      } else if (is(k + 1, "punct", "(")) {
        add(t, "require", "require() resolves modules at run time");
      }
    }
    if ((t.kind === "string" || t.kind === "template") && NODE_MODULES_PATH.test(t.text)) {
      add(t, "node-modules", `"${t.text.slice(0, 80)}" is a node_modules path`);
    }
    if (t.kind === "ident" && FILE_APIS.has(t.text) && is(k + 1, "punct", "(")) {
      const end = closing(tokens, k + 1);
      const args = tokens.slice(k + 2, end);
      if (
        args.some((a) => (a.kind === "string" || a.kind === "template") && a.text.includes("node_modules"))
      ) {
        add(t, "node-modules", `${t.text}() reads from node_modules`);
      }
      for (let a = 0; a + 2 < args.length; a++) {
        if (
          args[a].kind === "ident" && args[a].text === "import" && args[a + 1].text === "." &&
          args[a + 2].text === "meta"
        ) {
          add(t, "module-relative-read", `${t.text}() reads a file relative to the module (import.meta)`);
          break;
        }
      }
    }
  }
  return findings;
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SOURCE_EXT = /\.(?:ts|tsx|mts|cts|js|mjs|cjs|jsx)$/;

async function sourceFiles(): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory && e.name !== "node_modules") await walk(path);
      else if (e.isFile && SOURCE_EXT.test(e.name)) files.push(path);
    }
  };
  await walk(`${ROOT}src`);
  for (const top of ["main.ts", "mod.ts"]) {
    try {
      if ((await Deno.stat(`${ROOT}${top}`)).isFile) files.push(`${ROOT}${top}`);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return files.sort();
}

Deno.test("compile safety: no dynamic non-literal imports, require, or node_modules reads in shipped code", async () => {
  const files = await sourceFiles();
  assert.ok(files.some((f) => f.endsWith("/src/source.ts")), `scanner found no sources under ${ROOT}src`);
  const findings: Finding[] = [];
  for (const file of files) {
    findings.push(...scanSource(await Deno.readTextFile(file), file.slice(ROOT.length)));
  }
  assert.deepEqual(
    findings.map((f) => `${f.file}:${f.line}: [${f.rule}] ${f.detail}`),
    [],
    "deno compile cannot embed these; use string-literal imports and bundle data with static imports",
  );
});

Deno.test("compile safety: the scanner flags bad samples", () => {
  const bad: [string, Finding["rule"]][] = [
    ["const m = await import(`./formats/${name}.ts`);", "dynamic-import"],
    ["const m = await import(name);", "dynamic-import"],
    ['const m = await import("./formats/" + name + ".ts");', "dynamic-import"],
    ['const m = await import("npm:" + pkg);', "dynamic-import"],
    ["const m = await import(pick());", "dynamic-import"],
    ['const m = await import(flag ? "./a.ts" : "./b.ts");', "dynamic-import"],
    ["const m = await import(\n  `npm:${pkg}`\n);", "dynamic-import"],
    ['const x = 1 / 2; const m = await import(`${"a"}`);', "dynamic-import"],
    ["const f = () => import(spec, { with: { type: 'json' } });", "dynamic-import"],
    [
      'import { createRequire } from "node:module";\nconst require = createRequire(import.meta.url);',
      "require",
    ],
    ['const p = require.resolve("@cyclonedx/cyclonedx-library/package.json");', "require"],
    ['const lib = require("xmlbuilder2");', "require"],
    ['const pkg = JSON.parse(await Deno.readTextFile("node_modules/x/package.json"));', "node-modules"],
    ["const b = await Deno.readFile(`${root}/node_modules/x/schema.json`);", "node-modules"],
    ['const f = await Deno.open(join(Deno.cwd(), "node_modules", "x"));', "node-modules"],
    [
      'import fs from "node:fs"; fs.readFileSync(path.join(dir, "node_modules/ajv/package.json"));',
      "node-modules",
    ],
    ['const dir = new URL("../node_modules/schemas/", import.meta.url);', "node-modules"],
    ['const SCHEMAS = "./node_modules/@cyclonedx/cyclonedx-library/res/schema";', "node-modules"],
    ['const s = await Deno.readTextFile(new URL("./schema.json", import.meta.url));', "module-relative-read"],
    ['const s = readFileSync(join(import.meta.dirname!, "data.json"));', "module-relative-read"],
  ];
  for (const [src, rule] of bad) {
    const found = scanSource(src);
    assert.ok(found.some((f) => f.rule === rule), `not flagged as ${rule}: ${src}\n${JSON.stringify(found)}`);
  }
  // Line numbers point at the offending line, after multi-line comments, strings and templates.
  const multi = "/* a\n b */\nconst s = `x\ny`;\n\n  const m = await import(name);\n";
  assert.deepEqual(scanSource(multi, "f.ts").map((f) => [f.file, f.line]), [["f.ts", 6]]);
  // Code inside a template substitution is still code.
  assert.equal(scanSource("const s = `a ${await import(x)} b`;").length, 1);
  assert.equal(scanSource("const s = `a ${{ k: `${import(x)}` }.k} b`; import(y);").length, 2);
});

Deno.test("compile safety: the scanner accepts good samples", () => {
  const good = [
    'const { PackageURL } = await import("packageurl-js");',
    'const m = await import("npm:x");',
    'const m = await import("npm:x@1.2.3");',
    'const m = await import("@cyclonedx/cyclonedx-library");',
    "const m = await import('@cyclonedx/cyclonedx-library/Models');",
    "const m = await import(`./formats/slsa.ts`);",
    'const m = await import(\n  "../formats/cyclonedx.ts"\n);',
    'const data = await import("./data.json", { with: { type: "json" } });',
    'const [a, b] = await Promise.all([import("./a.ts"), import("./b.ts")]);',
    'import type { Blob } from "./image.ts";',
    'import { parseDigest } from "./digest.ts";',
    'export type Lazy = typeof import("./formats/slsa.ts");',
    'let x: import("./image.ts").Blob;',
    "const url = import.meta.url; const main = import.meta.main;",
    "// await import(name) in a comment\n/* require.resolve('x'); createRequire */",
    'const msg = "run deno install to populate node_modules first";',
    'const hint = `use import(${"x"}) only with literals`;',
    "const re = /import\\(name\\)|node_modules\\//g;",
    'const half = total / 2; const q = "import(x)";',
    "obj.import(name); obj.require(name); x.require.resolve;",
    "const f = await Deno.readTextFile(path); const g = await Deno.open(`${dir}/index.json`);",
    'const text = `a ${`b ${c}`} d`; import("./ok.ts");',
  ];
  for (const src of good) {
    assert.deepEqual(scanSource(src), [], src);
  }
});
