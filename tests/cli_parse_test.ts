/**
 * The command line: one parser built from the option table reads it (after a small normalisation for options
 * before the command name), help and errors in the tool's words, shell completion from the same table, and no
 * request for a command line the parser refuses.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { parseCommandLine, type ParsedCommand } from "../src/cli/app.ts";
import { completionScript } from "../src/cli/completion.ts";
import { normalizeArgs } from "../src/cli/normalize.ts";
import {
  attributeOf,
  COMMAND_TABLE,
  type CommandName,
  COMMON_OPTIONS,
  optionsOf,
  type OptionSpec,
} from "../src/cli/options.ts";
import { VERSION } from "../src/version.ts";
import { run as runInProcess } from "../src/cli/run.ts";
import { cli, REPO_ROOT, runCli } from "./support/cli.ts";
import { seedImages } from "./support/images.ts";
import { startRegistry } from "./support/registry.ts";
import { requireBinary, run } from "./support/tools.ts";

const COMMANDS = Object.keys(COMMAND_TABLE) as CommandName[];

async function parse(args: string[]): Promise<{ parsed?: ParsedCommand; code?: number; err: string[] }> {
  const err: string[] = [];
  const out = await parseCommandLine(normalizeArgs(args), { stdout: () => {}, stderr: (l) => err.push(l) });
  return outcomeOf(out, err);
}

function outcomeOf(out: Awaited<ReturnType<typeof parseCommandLine>>, err: string[]) {
  return out.kind === "run" ? { parsed: out.parsed, err } : { code: out.code, err };
}

Deno.test("normalizeArgs: options before the command move behind it, values with them", () => {
  assert.deepEqual(normalizeArgs(["-u", "alpine", "-r", "us-east-1", "get_manifest"]), [
    "get_manifest",
    "-u",
    "alpine",
    "-r",
    "us-east-1",
  ]);
  // A value that happens to be a command name stays the option's value.
  assert.deepEqual(normalizeArgs(["-u", "sbom", "sbom", "-v"]), ["sbom", "-u", "sbom", "-v"]);
  assert.deepEqual(normalizeArgs(["--image-uri=a", "--plain-http", "config"]), [
    "config",
    "--image-uri=a",
    "--plain-http",
  ]);
  // A bundle whose last letter takes a value takes the next word with it.
  assert.deepEqual(normalizeArgs(["-vu", "a", "sbom"]), ["sbom", "-v", "-u", "a"]);
  assert.deepEqual(normalizeArgs(["--no-ecr-cache", "sbom"]), ["sbom", "--no-ecr-cache"]);
  // Command-specific options before the command too; the parser decides whether the command takes them.
  assert.deepEqual(normalizeArgs(["--subject", "os.img", "provenance", "-u", "a"]), [
    "provenance",
    "--subject",
    "os.img",
    "-u",
    "a",
  ]);
  assert.deepEqual(normalizeArgs(["help"]), ["--help"]);
  assert.deepEqual(normalizeArgs(["help", "sbom"]), ["sbom", "--help"]);
  assert.deepEqual(normalizeArgs(["-v", "help", "capture"]), ["capture", "--help"]);
  assert.deepEqual(normalizeArgs(["--", "-u"]), ["--", "-u"]);
  assert.deepEqual(normalizeArgs([]), []);
});

Deno.test("short options: bundles and attached values, as getopt reads them", async (t) => {
  await t.step("normalizeArgs splits them by the option table, before and after the command", () => {
    assert.deepEqual(normalizeArgs(["get_manifest", "-vu", "REF"]), ["get_manifest", "-v", "-u", "REF"]);
    assert.deepEqual(normalizeArgs(["-vu", "REF", "sbom"]), ["sbom", "-v", "-u", "REF"]);
    assert.deepEqual(normalizeArgs(["get_manifest", "-uREF"]), ["get_manifest", "-u", "REF"]);
    assert.deepEqual(normalizeArgs(["-rus-east-1", "get_manifest"]), ["get_manifest", "-r", "us-east-1"]);
    // A value-taking letter takes the rest of the bundle, whatever it holds.
    assert.deepEqual(normalizeArgs(["get_manifest", "-uv"]), ["get_manifest", "-u", "v"]);
    assert.deepEqual(normalizeArgs(["get_manifest", "-vu=a"]), ["get_manifest", "-v", "-u=a"]);
    // A value is never split, even when it looks like a bundle; nor is anything after `--`.
    assert.deepEqual(normalizeArgs(["get_manifest", "-u", "-vu"]), ["get_manifest", "-u", "-vu"]);
    assert.deepEqual(normalizeArgs(["get_manifest", "--image-uri", "-vu"]), [
      "get_manifest",
      "--image-uri",
      "-vu",
    ]);
    assert.deepEqual(normalizeArgs(["get_manifest", "--", "-vu", "x"]), ["get_manifest", "--", "-vu", "x"]);
    assert.deepEqual(normalizeArgs(["--", "-vu"]), ["--", "-vu"]);
    // Negative numbers are no bundle; a bundle with a letter no option has is left to the parser.
    assert.deepEqual(normalizeArgs(["get_manifest", "--timeout", "-1", "-1"]), [
      "get_manifest",
      "--timeout",
      "-1",
      "-1",
    ]);
    assert.deepEqual(normalizeArgs(["get_manifest", "-vx"]), ["get_manifest", "-vx"]);
  });

  const same: [string[], string[]][] = [
    [["get_manifest", "-vu", "REF"], ["get_manifest", "-v", "-u", "REF"]],
    [["-vu", "REF", "get_manifest"], ["get_manifest", "-v", "-u", "REF"]],
    [["get_manifest", "-uREF"], ["get_manifest", "-u", "REF"]],
    [["get_manifest", "-ufoo"], ["get_manifest", "-u", "foo"]],
    [["-ufoo", "get_manifest"], ["get_manifest", "-u", "foo"]],
    [["get_manifest", "-rus-east-1"], ["get_manifest", "-r", "us-east-1"]],
    [["-rus-east-1", "-vuREF", "sbom", "--pretty"], [
      "sbom",
      "-r",
      "us-east-1",
      "-v",
      "-u",
      "REF",
      "--pretty",
    ]],
    [["sbom", "-vo", "out.json", "-ua/b:c"], ["sbom", "-v", "-o", "out.json", "-u", "a/b:c"]],
    [["get_manifest", "-vu=a"], ["get_manifest", "-v", "-u", "a"]],
    [["get_manifest", "-u", "-1", "-r", "-1"], ["get_manifest", "--image-uri", "-1", "--region", "-1"]],
    [["get_manifest", "-u", "a", "--timeout", "-1"], ["get_manifest", "-u", "a", "--timeout=-1"]],
  ];
  for (const [bundled, plain] of same) {
    await t.step(`${bundled.join(" ")} == ${plain.join(" ")}`, async () => {
      const got = await parse(bundled);
      assert.ok(got.parsed, got.err.join(" "));
      assert.deepEqual(got, await parse(plain));
    });
  }

  await t.step("a letter no option has is still a usage error, exit 2", async () => {
    const cases: [string[], RegExp][] = [
      [["get_manifest", "-vx"], /unknown option -x of get_manifest/],
      [["get_manifest", "-xREF"], /unknown option -x of get_manifest/],
      [["-vxu", "a", "get_manifest"], /unknown option -x of get_manifest/],
      [["get_manifest", "-u", "a", "-vx1"], /unexpected argument "-vx1"/],
      [["completion", "-vu", "a", "bash"], /unknown option -v of completion/],
    ];
    for (const [args, pattern] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, pattern);
    }
  });
});

Deno.test("the option table: one kind per option name, unique short aliases, defaults among the choices", () => {
  const kinds = new Map<string, string>();
  for (const command of COMMANDS) {
    const shorts = new Set<string>();
    for (const o of optionsOf(command)) {
      const kind = `${o.value === undefined ? "flag" : "value"}/${o.short ?? ""}`;
      assert.equal(kinds.get(o.name) ?? kind, kind, `--${o.name} differs between commands`);
      kinds.set(o.name, kind);
      if (o.short) {
        assert.ok(!shorts.has(o.short), `-${o.short} twice in ${command}`);
        shorts.add(o.short);
      }
      if (o.choices && typeof o.default === "string") assert.ok(o.choices.includes(o.default), o.name);
    }
    assert.ok(!shorts.has("V") && !shorts.has("h"), "-V and -h are the version and help flags");
  }
});

/** A value for option `o` the parser accepts. */
const valueOf = (o: OptionSpec) =>
  o.choices?.[0] ?? (o.check === "absolute-uri" ? `https://ci.example/${o.name}` : `value-of-${o.name}`);

Deno.test("every option of the table parses, by its long name and its alias, into its attribute", async () => {
  for (const command of COMMANDS) {
    for (const o of optionsOf(command)) {
      const forms = [[`--${o.name}`], ...(o.short ? [[`-${o.short}`]] : [])];
      for (const form of forms) {
        const args = [command, ...form, ...(o.value !== undefined ? [valueOf(o)] : [])];
        if (COMMAND_TABLE[command].argument) args.push(COMMAND_TABLE[command].argument!.choices[0]);
        const { parsed, err } = await parse(args);
        assert.ok(parsed, `${args.join(" ")}: ${err.join(" ")}`);
        const got = parsed.flags[attributeOf(o.name)];
        const want = o.value === undefined ? true : o.repeatable ? [valueOf(o)] : valueOf(o);
        assert.deepEqual(got, want, args.join(" "));
      }
      if (o.value === undefined && o.default === true) {
        const { parsed } = await parse([command, `--no-${o.name}`]);
        assert.equal(parsed?.flags[attributeOf(o.name)], false);
      }
    }
  }
});

Deno.test("options before the command parse exactly as after it (property)", async () => {
  const common = COMMON_OPTIONS.filter((o) => o.name !== "verbose");
  const optionArg = fc.constantFrom(...common).chain((o) =>
    fc.constantFrom(`x${o.name}`, "a/b:c", "1").map((v) =>
      o.value === undefined ? [`--${o.name}`] : o.short && v === "1" ? [`-${o.short}`, v] : [`--${o.name}`, v]
    )
  );
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...COMMANDS.filter((c) => COMMAND_TABLE[c].image)),
      fc.uniqueArray(optionArg, { selector: (a) => a[0].replace(/^-([a-z])$/, "$1"), maxLength: 5 }),
      fc.nat(),
      async (command, options, cut) => {
        // The same option must not be given twice (by its long name and its alias).
        const names = options.map((a) => a[0]);
        const attrs = names.map((n) =>
          attributeOf(common.find((o) => `--${o.name}` === n || `-${o.short}` === n)!.name)
        );
        fc.pre(new Set(attrs).size === attrs.length);
        const split = options.length ? cut % (options.length + 1) : 0;
        const before = options.slice(0, split).flat();
        const after = options.slice(split).flat();
        const moved = await parse([...before, command, ...after]);
        const plain = await parse([command, ...before, ...after]);
        assert.deepEqual(moved, plain);
        assert.ok(moved.parsed, moved.err.join(" "));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("camelCase option names (which the parser accepts) move before the command like kebab-case", async () => {
  for (const command of COMMANDS.filter((c) => COMMAND_TABLE[c].image)) {
    for (const o of optionsOf(command)) {
      const camel = attributeOf(o.name);
      if (camel === o.name) continue;
      const value = o.value !== undefined ? [valueOf(o)] : [];
      const moved = await parse([`--${camel}`, ...value, command]);
      assert.ok(moved.parsed, `--${camel} before ${command}: ${moved.err.join(" ")}`);
      assert.deepEqual(
        moved,
        await parse([command, `--${o.name}`, ...value]),
        `--${camel} before ${command}`,
      );
      if (o.value === undefined && o.default === true) {
        const negated = `no${camel[0].toUpperCase()}${camel.slice(1)}`;
        assert.deepEqual(await parse([`--${negated}`, command]), await parse([command, `--no-${o.name}`]));
      }
    }
  }
  assert.deepEqual(normalizeArgs(["--imageUri", "x", "--caFile", "ca.pem", "get_manifest"]), [
    "get_manifest",
    "--imageUri",
    "x",
    "--caFile",
    "ca.pem",
  ]);
  // Another command's option, in camelCase before the command: the same error as in kebab-case.
  for (const flag of ["--outputDir", "--output-Dir"]) {
    const r = await cli([flag, "out", "sbom"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`${flag} is not an option of sbom; it belongs to capture`));
  }
});

Deno.test("cli: help, version, and usage errors in one line with exit 2", async (t) => {
  await t.step("help and help COMMAND print to stdout, exit 0", async () => {
    for (const args of [["help"], ["--help"], ["-h"]]) {
      const r = await cli(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdoutText, /COMMANDS[\s\S]*get_manifest[\s\S]*capture/);
      assert.equal(r.stderr, "");
    }
    for (const args of [["help", "sbom"], ["sbom", "--help"], ["sbom", "-h"], ["--help", "sbom"]]) {
      const r = await cli(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdoutText, /--spec-version/);
      assert.match(r.stdoutText, /-u \[--image-uri\]/);
    }
  });

  await t.step("--version and -V print the version; -v stays --verbose", async () => {
    for (const flag of ["--version", "-V"]) {
      const r = await cli([flag]);
      assert.equal(r.code, 0);
      assert.equal(r.stdoutText.trim(), VERSION);
    }
    const r = await cli(["-v"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no command given/);
  });

  const cases: [string, string[], RegExp][] = [
    [
      "unknown command, nearest suggested",
      ["get_manifests"],
      /unknown command get_manifests, did you mean get_manifest\?/,
    ],
    ["help for an unknown command", ["help", "sbomb"], /unknown command sbomb, did you mean sbom\?/],
    ["unknown command, no near one", ["tags"], /unknown command tags; commands: get_manifest, /],
    [
      "a reference where the command goes",
      ["alpine:3.20"],
      /unknown command alpine:3\.20; the image goes in -u\/--image-uri: \S+ get_manifest -u alpine:3\.20/,
    ],
    [
      "a reference as an argument",
      ["get_manifest", "docker.io/library/alpine"],
      /unexpected argument "docker\.io\/library\/alpine"; the image goes in -u\/--image-uri: \S+ get_manifest -u docker\.io\/library\/alpine/,
    ],
    [
      "unknown option, nearest suggested",
      ["sbom", "--spec-versoin", "1.5"],
      /unknown option --spec-versoin of sbom, did you mean --spec-version\?/,
    ],
    [
      "another command's option",
      ["sbom", "--builder-id", "x"],
      /--builder-id is not an option of sbom; it belongs to provenance, capture/,
    ],
    [
      "another command's option, before the command",
      ["--output-dir", "out", "sbom"],
      /--output-dir is not an option of sbom; it belongs to capture/,
    ],
    [
      "a value outside the choices",
      ["sbom", "--format", "spdx"],
      /invalid value "spdx" for --format: expected one of cyclonedx-json, cyclonedx-xml/,
    ],
    ["a missing value", ["get_manifest", "-u"], /option --image-uri needs a value/],
    ["an option twice", ["get_manifest", "-u", "a", "--image-uri", "b"], /option --image-uri given twice/],
    ["no command", ["-u", "alpine"], /no command given; commands: /],
    ["completion without a shell", ["completion"], /completion needs SHELL/],
    ["completion for another shell", ["completion", "tcsh"], /invalid value "tcsh"/],
  ];
  for (const [name, args, pattern] of cases) {
    await t.step(name, async () => {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout.length, 0, "nothing on stdout");
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^ecrimagemetadataextractor: error: /);
      assert.match(lines[0], pattern);
      assert.match(lines[0], /\(usage: ecrimagemetadataextractor help( \w+)?\)$/);
    });
  }
});

Deno.test("cli: --no-X=VALUE names the flag as typed and says it takes no value", async () => {
  const cases: [string[], string][] = [
    [["get_manifest", "--no-ecr-cache=1"], "--no-ecr-cache"],
    [["sbom", "--no-ecr-cache=false"], "--no-ecr-cache"],
    [["--no-ecr-cache=yes", "get_manifest"], "--no-ecr-cache"],
    [["get_manifest", "--noEcrCache=1"], "--noEcrCache"],
  ];
  for (const [args, flag] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0].includes(`option ${flag} takes no value`), lines[0]);
    assert.doesNotMatch(lines[0], /--no-no|--no-noEcrCache/);
  }
});

Deno.test("cli: --builder-id must be an absolute URI, checked when the command line is parsed", async () => {
  const base = ["-u", "oci:nowhere:x", "--subject", "os.img"];
  const bad = [
    "ci",
    "ci.example/runners/1",
    "/runners/1",
    "//ci.example/runners/1",
    "https://ci.example/a b",
    " https://ci.example/runners/1",
    "https://ci.example/runners/1\t",
    "http://[::1",
    "",
  ];
  for (const command of ["provenance", "capture"]) {
    for (const value of bad) {
      const args = [command, ...base, "--output-dir", "out", "--builder-id", value];
      const { code, err } = await parse(
        command === "capture" ? args : args.filter((a) => a !== "--output-dir" && a !== "out"),
      );
      assert.equal(code, 2, `${JSON.stringify(value)}: ${err.join(" ")}`);
      assert.equal(err.length, 1, err.join("\n"));
      assert.match(err[0], /^ecrimagemetadataextractor: error: invalid value ".*" for --builder-id: /);
      assert.match(err[0], /absolute URI/);
      assert.match(err[0], /such as https:\/\//, "says what to try");
    }
  }
  for (
    const value of [
      "https://ci.example/runners/linux-01",
      "arn:aws:codebuild:us-east-1:123456789012:project/os-build",
      "urn:example:builder",
      "HTTPS://CI.example/B",
    ]
  ) {
    const { parsed, err } = await parse(["provenance", ...base, "--builder-id", value]);
    assert.ok(parsed, `${value}: ${err.join(" ")}`);
    assert.equal(parsed.flags.builderId, value, "kept as given");
  }
});

Deno.test("cli: no request reaches the registry for a command line the parser or the command refuses", async () => {
  await using reg = await startRegistry({ auth: "none" });
  const catalog = await seedImages(reg);
  const uri = `${reg.host}/${catalog.oci.reference}`;
  const refused: string[][] = [
    ["get_manifest", "-u", uri, "--plain-http", "--frobnicate"],
    ["sbom", "-u", uri, "--plain-http", "--builder-id", "x"],
    ["provenance", "-u", uri, "--plain-http", "--subject", "x"], // outside CodeBuild: no --builder-id
    ["provenance", "-u", uri, "--plain-http", "--subject", "x", "--builder-id", "ci"], // not a URI
    ["get_manifest", "-u", uri, "--plain-http", "--retries", "many"],
    ["get_manifest", "-u", uri, "--plain-http", "--platform", "linux/"],
    ["get_manifest", "-u", uri, "--plain-http", "stray"],
    ["sbom", "-u", uri, "--plain-http", "--format", "yaml"],
    ["provenance", "-u", uri, "--plain-http"],
    ["-u", uri, "--plain-http"],
    ["get_manifest", "-u", uri, "--plain-http", "--help"],
  ];
  await reg.clearRequests();
  for (const args of refused) {
    const r = await cli(args, { env: { SOURCE_DATE_EPOCH: "1" } });
    assert.ok(
      args.includes("--help") ? r.code === 0 : r.code === 2,
      `${args.join(" ")}: ${r.code} ${r.stderr}`,
    );
  }
  const bad = await cli(["sbom", "-u", uri, "--plain-http"], { env: { SOURCE_DATE_EPOCH: "yesterday" } });
  assert.equal(bad.code, 2, bad.stderr);
  assert.deepEqual(await reg.requests(), [], "no request for a refused command line");
  // And the same command line, made right, does reach it.
  const ok = await cli(["-u", uri, "--plain-http", "get_manifest"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(ok.stdout, catalog.oci.manifestBytes);
});

/** A loopback port nothing listens on: a request to it would fail the run with a network error. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

Deno.test("cli: output paths that cannot be written fail before any request, naming the path", async (t) => {
  const work = await Deno.realPath(await Deno.makeTempDir({ prefix: "cli-output-" }));
  // Any request would fail with a network error (connection refused), at once (--retries 0).
  const image = ["-u", `127.0.0.1:${closedPort()}/test/app:1`, "--plain-http", "--retries", "0"];
  try {
    await Deno.mkdir(`${work}/dir`);
    await Deno.writeTextFile(`${work}/file`, "not a directory\n");
    const cases: [string, string[], RegExp][] = [
      [
        "-o an existing directory",
        ["get_manifest", "-o", `${work}/dir`],
        /cannot write \S+\/dir: it is a directory/,
      ],
      [
        "--output an existing directory",
        ["sbom", "--output", "dir"],
        /cannot write \S+\/dir: it is a directory/,
      ],
      [
        "-o a path ending in /",
        ["get_digest_metadata", "-o", `${work}/new/`],
        /cannot write \S+\/new\/: it names a directory/,
      ],
      [
        "-o in a missing directory",
        ["provenance", "--format", "descriptor", "-o", `${work}/missing/p.json`],
        /directory \S+\/missing does not exist/,
      ],
      ["-o under a file", ["attachments", "-o", `${work}/file/a.json`], /\S+\/file is not a directory/],
      [
        "--output-dir a file",
        ["capture", "--output-dir", `${work}/file`],
        /--output-dir \S+\/file is not a directory/,
      ],
      ["--output-dir missing", ["capture", "--output-dir", `${work}/missing`], /\S+\/missing does not exist/],
    ];
    for (const [name, args, pattern] of cases) {
      await t.step(name, async () => {
        const r = await cli([...args, ...image], { cwd: work });
        // Output errors exit 1, as every output-path check does (src/output.ts, OutputError).
        assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
        const lines = r.stderr.trimEnd().split("\n");
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0], pattern);
        assert.doesNotMatch(lines[0], /request|refused|127\.0\.0\.1/, "failed on the path, not the network");
      });
    }
    assert.deepEqual(
      [...Deno.readDirSync(work)].map((e) => e.name).sort(),
      ["dir", "file"],
      "nothing created",
    );
    assert.deepEqual([...Deno.readDirSync(`${work}/dir`)], []);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("cli: help, version and completion to a reader that went away end quietly", async (t) => {
  for (const args of [["--help"], ["help", "sbom"], ["--version"], ["completion", "bash"]]) {
    await t.step(`${args.join(" ")}, stdout closed (a process)`, async () => {
      const r = await runCli(args, { closeStdout: true, hangLimitMs: 60_000 });
      assert.equal(r.stderr, "", "no stack trace, no message");
      assert.equal(r.code, 0);
    });
  }
  await t.step("in process: a stdout that fails with BrokenPipe", async () => {
    for (const args of [["--help"], ["completion", "zsh"]]) {
      const err: string[] = [];
      const code = await runInProcess(args, {
        env: {},
        cwd: "/",
        stdout: () => Promise.reject(new Deno.errors.BrokenPipe("Broken pipe (os error 32)")),
        stderr: (line) => void err.push(line),
      });
      assert.deepEqual([code, err], [0, []], args.join(" "));
    }
  });
  await t.step("a command's data to a reader that went away: one plain line, exit 1", async () => {
    const err: string[] = [];
    const code = await runInProcess(["get_manifest", "-u", "oci:fixtures/oci-layout:demo"], {
      env: {},
      cwd: REPO_ROOT,
      stdout: () => Promise.reject(new Deno.errors.BrokenPipe("Broken pipe (os error 32)")),
      stderr: (line) => void err.push(line),
    });
    assert.equal(code, 1);
    assert.deepEqual(err, [
      "ecrimagemetadataextractor: error: output cut short: standard output was closed before all of it was written",
    ]);
  });
});

Deno.test("cli: capture refuses -o (its files go to --output-dir), before anything is read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await cli([
      "capture",
      "-u",
      "oci:fixtures/oci-layout:demo",
      "--output-dir",
      dir,
      "-o",
      `${dir}/x`,
    ], {
      cwd: REPO_ROOT,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /capture writes its files into --output-dir DIR; -o\/--output names one document's file/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("completion: the scripts offer every command and option of the table", async (t) => {
  for (const shell of ["bash", "zsh", "fish"] as const) {
    const script = completionScript(shell);
    for (const command of COMMANDS) {
      assert.ok(script.includes(command), `${shell}: ${command}`);
      for (const o of optionsOf(command)) {
        assert.ok(
          script.includes(shell === "fish" ? `-l ${o.name}` : `--${o.name}`),
          `${shell}: --${o.name}`,
        );
      }
    }
    const r = await cli(["completion", shell]);
    assert.equal(r.code, 0);
    assert.equal(r.stdoutText, script);
  }

  await t.step("bash: the real shell completes commands, options and choices", async () => {
    const complete = async (words: string[]) => {
      const script = completionScript("bash");
      const program = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); ` +
        `COMP_CWORD=${words.length - 1}; _ecrimagemetadataextractor; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const out = await run("bash", ["-c", program], { check: true });
      return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "").sort();
    };
    assert.deepEqual(await complete(["ecrimagemetadataextractor", "get_m"]), ["get_manifest"]);
    assert.deepEqual(await complete(["ecrimagemetadataextractor", "sbom", "--spec"]), ["--spec-version"]);
    assert.deepEqual(await complete(["ecrimagemetadataextractor", "sbom", "--format", ""]), [
      "cyclonedx-component",
      "cyclonedx-json",
      "cyclonedx-xml",
    ]);
    assert.deepEqual(await complete(["ecrimagemetadataextractor", "capture", "--format", ""]), [
      "cyclonedx-json",
      "cyclonedx-xml",
    ]);
    assert.deepEqual(await complete(["ecrimagemetadataextractor", "-u", "x", "capture", "--output-"]), [
      "--output-dir",
    ]);
    assert.deepEqual(await complete(["ecrimagemetadataextractor", "completion", "z"]), ["zsh"]);
  });

  await t.step("zsh and fish: the real shells accept the scripts; fish completes from them", async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/_c.zsh`, completionScript("zsh"));
      await run(requireBinary("zsh"), ["-n", `${dir}/_c.zsh`], { check: true });
      await Deno.writeTextFile(`${dir}/c.fish`, completionScript("fish"));
      await run(requireBinary("fish"), ["-n", `${dir}/c.fish`], { check: true });
      const out = await run(requireBinary("fish"), [
        "--no-config",
        "-c",
        `source ${dir}/c.fish; complete -C 'ecrimagemetadataextractor sbom --spec-v'`,
      ], { check: true, env: { HOME: dir } });
      assert.match(new TextDecoder().decode(out.stdout), /^--spec-version\tCycloneDX version$/m);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
