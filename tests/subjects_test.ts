import { codebuildFrom } from "../src/cli/environment.ts";
import assert from "node:assert/strict";
import { hashFile, hashSubjects } from "../src/subjects.ts";
import { provenance } from "../src/formats/slsa.ts";
import { ConfigError, UsageError } from "../src/errors.ts";
import { CODEBUILD_ENV, originalImage } from "./support/resolved_fixture.ts";

const MiB = 1024 * 1024;

/** `sha256sum` of each path, in order. */
async function sha256sum(paths: string[]): Promise<string[]> {
  const out = await new Deno.Command("sha256sum", {
    args: ["--", ...paths],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim().split("\n").map((line) => line.slice(0, 64));
}

/** Write `size` bytes: a 1 MiB random block repeated (fast), with the block index mixed in. */
async function writeBigFile(path: string, size: number): Promise<void> {
  const block = new Uint8Array(MiB);
  for (let i = 0; i < MiB; i += 65536) crypto.getRandomValues(block.subarray(i, i + 65536));
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for (let written = 0, n = 0; written < size; n++) {
    const chunk = block.subarray(0, Math.min(MiB, size - written));
    chunk[0] = n & 0xff;
    let off = 0;
    while (off < chunk.length) off += await file.write(chunk.subarray(off));
    written += chunk.length;
  }
}

/** Temp files shared by the tests: two small ones and one over 100 MB. */
async function withFiles(
  fn: (files: { small: string; empty: string; big: string; dir: string }) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "subjects_test_" });
  try {
    const small = `${dir}/os.img.sig`;
    const empty = `${dir}/empty.bin`;
    const big = `${dir}/os.img`;
    await Deno.writeTextFile(small, "signature bytes\n");
    await Deno.writeFile(empty, new Uint8Array());
    await writeBigFile(big, 110 * MiB + 12345);
    await fn({ small, empty, big, dir });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("hashSubjects matches sha256sum (files of 0 B, 16 B and 110 MiB) and names subjects by basename", async () => {
  await withFiles(async ({ small, empty, big }) => {
    assert.ok((await Deno.stat(big)).size > 100 * 1000 * 1000);
    const paths = [big, small, empty];
    const subjects = await hashSubjects(paths);
    const expected = await sha256sum(paths);
    assert.deepEqual(subjects, [
      { name: "os.img", digest: { sha256: expected[0] } },
      { name: "os.img.sig", digest: { sha256: expected[1] } },
      { name: "empty.bin", digest: { sha256: expected[2] } },
    ]);
    assert.equal(expected[2], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const { size } = await hashFile(big);
    assert.equal(size, 110 * MiB + 12345);

    // The provenance statement carries exactly those digests.
    const doc = JSON.parse(
      new TextDecoder().decode(
        await provenance(originalImage(), {
          format: "slsa-v1",
          subjects,
          codebuild: codebuildFrom(CODEBUILD_ENV),
        }),
      ),
    );
    assert.deepEqual(
      doc.subject.map((s: { name: string; digest: { sha256: string } }) => [s.name, s.digest.sha256]),
      [["os.img", expected[0]], ["os.img.sig", expected[1]], ["empty.bin", expected[2]]],
    );
  });
});

/** Run `code` in a fresh `deno eval` and return what it printed plus its peak RSS (VmHWM) in MiB. */
async function evalPeakRss(code: string): Promise<{ stdout: string; peakMiB: number }> {
  const config = new URL("../deno.json", import.meta.url).pathname;
  const script = `${code}
    const status = Deno.readTextFileSync("/proc/self/status");
    console.log("VmHWM=" + /VmHWM:\\s+(\\d+) kB/.exec(status)[1]);`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", "--config", config, script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const kb = Number(/VmHWM=(\d+)/.exec(stdout)?.[1]);
  assert.ok(kb > 0, `no VmHWM in ${stdout}`);
  return { stdout, peakMiB: kb / 1024 };
}

Deno.test("hashSubjects streams: peak RSS hashing a 110 MiB file stays under 150 MiB", async () => {
  await withFiles(async ({ big }) => {
    const [expected] = await sha256sum([big]);
    const mod = new URL("../src/subjects.ts", import.meta.url).href;
    const streamed = await evalPeakRss(`
      import { hashSubjects } from ${JSON.stringify(mod)};
      const [s] = await hashSubjects([${JSON.stringify(big)}]);
      console.log("digest=" + s.digest.sha256);`);
    assert.ok(streamed.stdout.includes(`digest=${expected}`), streamed.stdout);
    assert.ok(streamed.peakMiB < 150, `peak RSS ${streamed.peakMiB.toFixed(1)} MiB >= 150 MiB`);

    // Control: the same measurement does see a whole-file read, so the bound above means something.
    const whole = await evalPeakRss(`
      const bytes = await Deno.readFile(${JSON.stringify(big)});
      console.log("len=" + bytes.length);`);
    assert.ok(
      whole.peakMiB > 110,
      `whole-file read peak ${whole.peakMiB.toFixed(1)} MiB should exceed 110 MiB`,
    );
    assert.ok(whole.peakMiB > streamed.peakMiB + 60, "streaming uses far less memory than reading the file");
  });
});

Deno.test("missing file or directory: one-line ConfigError naming the path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "subjects_test_" });
  try {
    const missing = `${dir}/does-not-exist.img`;
    await assert.rejects(hashSubjects([missing]), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.message.includes(missing), err.message);
      assert.ok(!err.oneLine().includes("\n"));
      assert.match(err.message, /no such file/);
      return true;
    });
    await assert.rejects(hashSubjects([dir]), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.message.includes(dir), err.message);
      assert.match(err.message, /directory/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two subjects with the same basename are a usage error; no paths, no subjects", async () => {
  const dir = await Deno.makeTempDir({ prefix: "subjects_test_" });
  try {
    await Deno.mkdir(`${dir}/a`);
    await Deno.mkdir(`${dir}/b`);
    await Deno.writeTextFile(`${dir}/a/os.img`, "a");
    await Deno.writeTextFile(`${dir}/b/os.img`, "b");
    await assert.rejects(hashSubjects([`${dir}/a/os.img`, `${dir}/b/os.img`]), UsageError);
    assert.deepEqual(await hashSubjects([]), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
