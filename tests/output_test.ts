/**
 * Output files: written atomically (a new inode renamed over the old one), never touched by a failed run
 * (whether it fails fetching, verifying or writing), no temporary files left behind, and a clear error for
 * an output path in a directory that does not exist.
 */

import assert from "node:assert/strict";
import { posix } from "node:path";
import fc from "fast-check";
import { dirname, writeFileAtomic, writeFilesAtomic } from "../src/output.ts";
import { cli } from "./support/cli.ts";
import { faults, startFaultProxy } from "./support/fault_proxy.ts";
import { seedImages } from "./support/images.ts";
import { sha256Digest } from "./support/push.ts";
import { startRegistry } from "./support/registry.ts";

interface Snapshot {
  [name: string]: { digest: string; ino: number | null; mtime: number | undefined; isFile: boolean };
}

/** Every entry of `dir` (not recursive): content digest, inode, mtime. */
async function snapshot(dir: string): Promise<Snapshot> {
  const out: Snapshot = {};
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    const info = await Deno.stat(path);
    out[e.name] = {
      digest: info.isFile ? sha256Digest(await Deno.readFile(path)) : "",
      ino: info.ino,
      mtime: info.mtime?.getTime(),
      isFile: info.isFile,
    };
  }
  return out;
}

function assertFailedQuietly(r: { code: number; stdout: Uint8Array; stderr: string }, message: RegExp): void {
  assert.equal(r.code, 1, `expected exit 1: ${r.stderr}`);
  assert.equal(r.stdout.byteLength, 0, "stdout must stay empty on failure");
  assert.equal(r.stderr.trimEnd().split("\n").length, 1, `expected one line: ${r.stderr}`);
  assert.match(r.stderr, message);
}

Deno.test("output: atomic files, untouched on failure, clear errors", async (t) => {
  await using reg = await startRegistry({ auth: "none" });
  const catalog = await seedImages(reg);
  await using proxy = await startFaultProxy(reg);
  // The config blob comes back with one byte changed: the manifest is fine, the run fails after fetching.
  proxy.scenario("badconfig", faults.editBody("blobs", (b) => b.map((x, i) => i === 0 ? x ^ 1 : x)));
  const oci = catalog.oci;
  const good = `${reg.host}/${oci.reference}`;
  const missing = `${reg.host}/test/oci:no-such-tag`;
  const tampered = proxy.ref("badconfig", oci.reference);
  const work = await Deno.realPath(await Deno.makeTempDir({ prefix: "output-test-" }));
  const tool = (args: string[]) => cli([...args, "--plain-http"], { cwd: work });
  let n = 0;
  const freshDir = async () => {
    const d = `${work}/case-${++n}`;
    await Deno.mkdir(d);
    return d;
  };

  try {
    await t.step("-o into a missing directory: exit 1, names the directory, creates nothing", async () => {
      const dir = await freshDir();
      const target = `${dir}/missing/sub/manifest.json`;
      const r = await tool(["get_manifest", "-u", good, "-o", target]);
      assertFailedQuietly(r, new RegExp(`directory ${dir}/missing/sub does not exist`));
      assert.deepEqual(await snapshot(dir), {});
    });

    await t.step("-o relative to the working directory, into a missing directory", async () => {
      const r = await tool(["get_digest_metadata", "-u", good, "-o", "nowhere/config.json"]);
      // Relative to the directory the run was started in, and named as it resolved.
      assertFailedQuietly(r, new RegExp(`directory ${work}/nowhere does not exist`));
      await assert.rejects(Deno.stat(`${work}/nowhere`), Deno.errors.NotFound);
    });

    await t.step("capture --output-dir that does not exist: exit 1, names it, creates nothing", async () => {
      const dir = await freshDir();
      const r = await tool(["capture", "-u", good, "--output-dir", `${dir}/absent`]);
      assertFailedQuietly(r, new RegExp(`${dir}/absent does not exist`));
      assert.deepEqual(await snapshot(dir), {});
    });

    await t.step("a failing run (not found) leaves an existing -o file byte-identical", async () => {
      const dir = await freshDir();
      await Deno.writeTextFile(`${dir}/out.json`, "precious\n");
      const before = await snapshot(dir);
      for (const command of ["get_manifest", "get_digest_metadata", "sbom"]) {
        const r = await tool([command, "-u", missing, "-o", `${dir}/out.json`]);
        assertFailedQuietly(r, /not found/);
      }
      assert.deepEqual(await snapshot(dir), before);
      assert.equal(await Deno.readTextFile(`${dir}/out.json`), "precious\n");
    });

    await t.step(
      "a run failing after the manifest was fetched (bad config) leaves the -o file alone",
      async () => {
        const dir = await freshDir();
        await Deno.writeTextFile(`${dir}/out.json`, "precious\n");
        const before = await snapshot(dir);
        for (const command of ["get_digest_metadata", "sbom", "provenance"]) {
          const extra = command === "provenance" ? ["--format", "descriptor"] : [];
          const r = await tool([command, "-u", tampered, "-o", `${dir}/out.json`, ...extra]);
          assertFailedQuietly(r, /does not match/);
        }
        assert.deepEqual(await snapshot(dir), before);
      },
    );

    await t.step("-o naming an existing directory: exit 1, nothing changed, no temp file left", async () => {
      const dir = await freshDir();
      await Deno.mkdir(`${dir}/out.json`);
      const before = await snapshot(dir);
      const r = await tool(["get_manifest", "-u", good, "-o", `${dir}/out.json`]);
      assertFailedQuietly(r, /is a directory/);
      assert.deepEqual(await snapshot(dir), before);
    });

    await t.step("capture with a failing fetch leaves existing files unchanged and adds none", async () => {
      const dir = await freshDir();
      await Deno.writeTextFile(`${dir}/manifest.json`, "old manifest\n");
      await Deno.writeTextFile(`${dir}/config.json`, "old config\n");
      await Deno.writeTextFile(`${dir}/sbom.cdx.json`, "old sbom\n");
      await Deno.writeTextFile(`${dir}/notes.txt`, "unrelated\n");
      const before = await snapshot(dir);
      assertFailedQuietly(await tool(["capture", "-u", missing, "--output-dir", dir]), /not found/);
      assert.deepEqual(await snapshot(dir), before);
      assertFailedQuietly(await tool(["capture", "-u", tampered, "--output-dir", dir]), /does not match/);
      assert.deepEqual(await snapshot(dir), before);
    });

    await t.step(
      "capture with a directory where a file goes: stops before writing, nothing changed",
      async () => {
        const dir = await freshDir();
        await Deno.writeTextFile(`${dir}/manifest.json`, "old manifest\n");
        await Deno.mkdir(`${dir}/build-env.config.json`);
        const before = await snapshot(dir);
        const r = await tool(["capture", "-u", good, "--output-dir", dir]);
        assertFailedQuietly(r, /build-env\.config\.json is in the way/);
        // No file replaced, none added, no temporary file left over.
        assert.deepEqual(await snapshot(dir), before);
      },
    );

    await t.step(
      "a successful -o replaces the file atomically: new inode, right bytes, no leftovers",
      async () => {
        const dir = await freshDir();
        const target = `${dir}/manifest.json`;
        await Deno.writeTextFile(target, "old content that is longer than nothing\n");
        // A hard link keeps the old inode reachable: an in-place rewrite would show up through it.
        await Deno.link(target, `${dir}/old-link`);
        const before = await Deno.stat(target);
        const r = await tool(["get_manifest", "-u", good, "-o", target]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.byteLength, 0, "nothing on stdout with -o");
        const after = await Deno.stat(target);
        assert.notEqual(after.ino, before.ino, "the file should have been replaced, not rewritten in place");
        assert.equal(sha256Digest(await Deno.readFile(target)), oci.manifestDigest);
        assert.equal(await Deno.readTextFile(`${dir}/old-link`), "old content that is longer than nothing\n");
        assert.deepEqual(Object.keys(await snapshot(dir)).sort(), ["manifest.json", "old-link"]);
      },
    );

    await t.step("replacing a file keeps its permissions (a private file stays private)", async () => {
      const dir = await freshDir();
      await Deno.writeTextFile(`${dir}/sbom.json`, "old\n", { mode: 0o600 });
      await Deno.chmod(`${dir}/sbom.json`, 0o600);
      const r = await tool(["sbom", "-u", good, "-o", `${dir}/sbom.json`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await Deno.stat(`${dir}/sbom.json`)).mode! & 0o777, 0o600);
      // A file capture owns, made private by the user, stays private when capture replaces it.
      assert.equal((await tool(["capture", "-u", good, "--output-dir", dir])).code, 0);
      await Deno.chmod(`${dir}/build-env.config.json`, 0o640);
      const c = await tool(["capture", "-u", good, "--output-dir", dir]);
      assert.equal(c.code, 0, c.stderr);
      assert.equal((await Deno.stat(`${dir}/build-env.config.json`)).mode! & 0o777, 0o640);
      assert.equal(
        sha256Digest(await Deno.readFile(`${dir}/build-env.config.json`)),
        sha256Digest(oci.configBytes),
      );
    });

    await t.step("a successful capture replaces its files and leaves nothing else behind", async () => {
      const dir = await freshDir();
      await Deno.writeTextFile(`${dir}/config.json`, "the user's config\n");
      assert.equal((await tool(["capture", "-u", good, "--output-dir", dir])).code, 0);
      const before = await Deno.stat(`${dir}/build-env.config.json`);
      const r = await tool(["capture", "-u", good, "--output-dir", dir]);
      assert.equal(r.code, 0, r.stderr);
      const after = await snapshot(dir);
      assert.deepEqual(Object.keys(after).sort(), [
        "build-env.capture.json",
        "build-env.cdx.json",
        "build-env.config.json",
        "build-env.descriptor.json",
        "build-env.manifest.json",
        "config.json",
      ]);
      assert.notEqual(after["build-env.config.json"].ino, before.ino, "replaced, not rewritten in place");
      assert.equal(after["build-env.config.json"].digest, sha256Digest(oci.configBytes));
      assert.equal(after["build-env.manifest.json"].digest, oci.manifestDigest);
      assert.equal(await Deno.readTextFile(`${dir}/config.json`), "the user's config\n");
    });

    await t.step("-o - writes to stdout, and no file named '-' appears", async () => {
      const r = await cli(["get_digest_metadata", "-u", good, "--plain-http", "-o", "-"], { cwd: work });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(sha256Digest(r.stdout), sha256Digest(oci.configBytes));
      await assert.rejects(Deno.stat(`${work}/-`), Deno.errors.NotFound);
    });

    await t.step("no temporary files anywhere in the work directory", async () => {
      const stray: string[] = [];
      const walk = async (d: string) => {
        for await (const e of Deno.readDir(d)) {
          if (e.isDirectory) await walk(`${d}/${e.name}`);
          else if (/\.tmp$|^\.[^/]*\.[0-9a-f]{8}\.tmp$/.test(e.name)) stray.push(`${d}/${e.name}`);
        }
      };
      await walk(work);
      assert.deepEqual(stray, []);
    });
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("output: content written in chunks from one buffer lands whole; a writer that fails leaves the file as it was", async () => {
  const dir = await Deno.makeTempDir({ prefix: "output-chunks-" });
  try {
    const path = `${dir}/sbom.json`;
    const buffer = new Uint8Array(4);
    const text = "one chunk after another, in one buffer\n";
    const chunked = (failAfter = Infinity) => async (write: (chunk: Uint8Array) => Promise<void>) => {
      const bytes = new TextEncoder().encode(text);
      for (let at = 0, n = 0; at < bytes.length; at += buffer.length, n++) {
        if (n === failAfter) throw new Error("the disk is full");
        const part = bytes.subarray(at, at + buffer.length);
        buffer.set(part);
        await write(buffer.subarray(0, part.length));
      }
    };
    await writeFileAtomic(path, chunked());
    assert.equal(await Deno.readTextFile(path), text);
    // A failure half-way: the earlier file stays, byte for byte, and no temporary file is left.
    const before = await snapshot(dir);
    await assert.rejects(writeFileAtomic(path, chunked(3)), /the disk is full/);
    assert.deepEqual(await snapshot(dir), before);
    // The writer's own error is reported as it is, not as a failure to write the file.
    const own = new RangeError("not a write failure");
    await assert.rejects(
      writeFileAtomic(path, async (write) => {
        await write(new Uint8Array([1]));
        throw own;
      }),
      (err) => err === own,
    );
    assert.deepEqual(await snapshot(dir), before);
    // A failure to write is one, with the file named.
    const full = async (write: (chunk: Uint8Array) => Promise<void>) => await write(new Uint8Array([1]));
    await assert.rejects(writeFileAtomic("/dev/full", full), /cannot write \/dev\/full/);
    // Beside plain bytes, in one all-or-nothing set.
    await writeFilesAtomic([{ path, bytes: chunked() }, { path: `${dir}/b`, bytes: new Uint8Array([1]) }]);
    assert.equal(await Deno.readTextFile(path), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dirname names the directory node:path's posix.dirname names (fast-check)", () => {
  assert.equal(dirname("out/os.img"), "out");
  assert.equal(dirname("os.img"), ".");
  assert.equal(dirname("/os.img"), "/");
  assert.equal(dirname("out/sub/"), "out");
  assert.equal(dirname("a//b"), "a"); // POSIX dirname(1); node keeps "a/", the same directory
  const pathLike = fc.array(fc.constantFrom("a", "b.img", ".", "..", "/", "//", " x"), { maxLength: 8 })
    .map((parts) => parts.join(""));
  // The same directory: equal once normalised, a trailing slash aside.
  const canonical = (d: string) => posix.normalize(d).replace(/(?<=.)\/+$/, "");
  fc.assert(
    fc.property(pathLike, (p) => {
      assert.equal(canonical(dirname(p)), canonical(posix.dirname(p)), JSON.stringify(p));
    }),
    { numRuns: 2000 },
  );
});
