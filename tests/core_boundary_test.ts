/**
 * The core (everything under src/ but src/cli/) never speaks CLI: no option names in its messages, no
 * environment reads, and no imports from src/formats/ for needs that are not formatting. And the JSON SBOM
 * path never loads the XML writer.
 */

import assert from "node:assert/strict";
import { COMMAND_TABLE, type CommandName, optionsOf } from "../src/cli/options.ts";
import { REPO_ROOT } from "./support/cli.ts";

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* sourceFiles(path);
    else if (e.name.endsWith(".ts")) yield path;
  }
}

/**
 * The code of a TypeScript file without its comments: lines that are comments (`//`, `/*`, ` *`) and trailing
 * `// ...` after code. Line-based, which is enough for this code base's style (a full lexer would have to know
 * regular expression literals).
 */
function codeOf(text: string): string {
  return text.split("\n").filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line)).map((line) =>
    line.replace(/\s\/\/\s.*$/, "")
  ).join("\n");
}

const CORE = `${REPO_ROOT}/src`;
const flagNames = [
  ...new Set(
    (Object.keys(COMMAND_TABLE) as CommandName[]).flatMap((c) => optionsOf(c).map((o) => o.name)),
  ),
];

async function coreFiles(): Promise<{ path: string; code: string }[]> {
  const out: { path: string; code: string }[] = [];
  for await (const path of sourceFiles(CORE)) {
    if (path.startsWith(`${CORE}/cli/`)) continue;
    out.push({ path: path.slice(REPO_ROOT.length + 1), code: codeOf(await Deno.readTextFile(path)) });
  }
  return out;
}

Deno.test("core: no command-line option names in messages", async () => {
  const offenders: string[] = [];
  for (const { path, code } of await coreFiles()) {
    for (const name of flagNames) {
      if (new RegExp(`--(no-)?${name}\\b`).test(code)) offenders.push(`${path}: --${name}`);
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("core: no environment reads", async () => {
  const offenders: string[] = [];
  for (const { path, code } of await coreFiles()) {
    for (const pattern of [/Deno\.env/, /\bprocess\.env\b/, /\benv\s*(\.|\[|:\s*Record)/]) {
      if (pattern.test(code)) offenders.push(`${path}: ${pattern}`);
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("no code of the tool writes to the console: stdout and stderr go through the run's io", async () => {
  // Data on stdout and one escaped line per message on stderr hold only if nothing writes around them (a
  // debugging line left in, say).
  const offenders: string[] = [];
  for (const file of [`${REPO_ROOT}/main.ts`, `${REPO_ROOT}/mod.ts`]) {
    if (/\bconsole\./.test(codeOf(await Deno.readTextFile(file)))) offenders.push(file);
  }
  for await (const path of sourceFiles(CORE)) {
    if (/\bconsole\./.test(codeOf(await Deno.readTextFile(path)))) offenders.push(path);
  }
  assert.deepEqual(offenders, []);
});

Deno.test("core: only formatters (and the CLI that calls them) import src/formats/", async () => {
  const offenders: string[] = [];
  for (const { path, code } of await coreFiles()) {
    if (path.startsWith("src/formats/")) continue;
    if (/from\s+["'][./]*formats\//.test(code)) offenders.push(path);
  }
  assert.deepEqual(offenders, []);
});

Deno.test("the boundary checks can fail: a flag name, an env read and a formats import are caught", () => {
  const code = codeOf(`
    // --platform in a comment is fine
    const a = "choose one with --platform";
    const b = env.HOME;
    import { rfc3339 } from "../formats/clock.ts";
  `);
  assert.match(code, /--platform\b/);
  assert.doesNotMatch(code, /comment/);
  assert.match(code, /\benv\s*(\.|\[|:\s*Record)/);
  assert.match(code, /from\s+["'][./]*formats\//);
});

/** Modules a module loads when it is evaluated: its static imports, transitively (`deno info --json`). */
async function staticClosure(entry: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", `${REPO_ROOT}/deno.json`, entry],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: {
      specifier: string;
      dependencies?: { code?: { specifier: string }; isDynamic?: boolean; npmPackage?: string }[];
    }[];
    npmPackages: Record<string, unknown>;
  };
  const byId = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [new URL(entry, `file://${REPO_ROOT}/`).href];
  while (stack.length) {
    const spec = stack.pop()!;
    if (seen.has(spec)) continue;
    seen.add(spec);
    for (const d of byId.get(spec)?.dependencies ?? []) {
      if (!d.isDynamic && d.code?.specifier) stack.push(d.code.specifier);
    }
  }
  return seen;
}

Deno.test("JSON SBOMs never load the XML writer; XML SBOMs load it on their own path", async () => {
  const formatter = await staticClosure("src/formats/cyclonedx.ts");
  assert.ok([...formatter].some((m) => m.endsWith("/src/formats/cyclonedx.ts")));
  assert.ok(
    ![...formatter].some((m) => m.endsWith("/src/formats/xml.ts")),
    "xml.ts is loaded by the formatter",
  );
  // The XML writer is imported dynamically, on the XML branch only.
  const source = await Deno.readTextFile(`${REPO_ROOT}/src/formats/cyclonedx.ts`);
  const imports = [...source.matchAll(/import\(\s*"\.\/xml\.ts"\s*\)/g)];
  assert.equal(imports.length, 1);
  const before = source.slice(0, imports[0].index);
  assert.match(before.slice(before.lastIndexOf("if (")), /^if \(opts\.format === "xml"\)/);
  // And no XML library in the dependencies, not even as the CycloneDX library's optional peer, which its
  // `Serialize` entry would otherwise load (about 160 modules) for JSON output too.
  const denoJson = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`));
  assert.ok(!Object.keys(denoJson.imports).some((k) => /xml/.test(k) && k !== "saxes"));
  assert.ok(
    !(await Deno.readTextFile(`${REPO_ROOT}/deno.lock`)).includes("xmlbuilder2"),
    "xmlbuilder2 locked",
  );
});
