/**
 * The ownership record across an interrupted run: capture writes a pending record (accepting every file as it
 * was and as it will be) before renaming its files into place, so a run killed half-way through the renames
 * leaves nothing that stops the next run, while a file someone else changed still does.
 */
import assert from "node:assert/strict";
import { OwnershipError } from "../src/errors.ts";
import { writeFilesAtomic } from "../src/output.ts";
import { claim, nextRecord } from "../src/ownership.ts";

const RECORD = "build-env.capture.json";
const NAMES = ["build-env.manifest.json", "build-env.cdx.json"];
const text = (s: string) => new TextEncoder().encode(s);

/** A completed run writing `content` into every name. */
async function completeRun(dir: string, content: string): Promise<void> {
  const owned = await claim(dir, RECORD, NAMES);
  const files = NAMES.map((name) => ({ name, bytes: text(content) }));
  const record = await nextRecord(owned, files);
  await writeFilesAtomic([{ path: `${dir}/${RECORD}`, bytes: record.pending }]);
  await writeFilesAtomic(
    [...files.map((f) => ({ path: `${dir}/${f.name}`, bytes: f.bytes })), {
      path: `${dir}/${RECORD}`,
      bytes: record.bytes,
    }],
    record.stale.map((n) => `${dir}/${n}`),
  );
}

/**
 * A run killed after the first of its renames: the record as `writePending` leaves it, the first file new,
 * the second old.
 */
async function killedRun(dir: string, content: string, writePending: boolean): Promise<void> {
  const owned = await claim(dir, RECORD, NAMES);
  const files = NAMES.map((name) => ({ name, bytes: text(content) }));
  const record = await nextRecord(owned, files);
  if (writePending) await writeFilesAtomic([{ path: `${dir}/${RECORD}`, bytes: record.pending }]);
  await Deno.writeFile(`${dir}/${NAMES[0]}`, files[0].bytes);
}

Deno.test("ownership: a run killed while renaming blocks no later run; someone else's change still does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ownership-" });
  try {
    await completeRun(dir, "first\n");
    const done = JSON.parse(await Deno.readTextFile(`${dir}/${RECORD}`));
    assert.equal("pending" in done, false, "a completed run leaves a plain record");

    // Killed half-way: the pending record accepts the old state and the new one.
    await killedRun(dir, "second\n", true);
    const pending = JSON.parse(await Deno.readTextFile(`${dir}/${RECORD}`));
    assert.deepEqual(Object.keys(pending.pending).sort(), [...NAMES].sort());
    const owned = await claim(dir, RECORD, NAMES);
    assert.deepEqual(Object.keys(owned.present).sort(), [...NAMES].sort());
    await completeRun(dir, "third\n");
    assert.equal(await Deno.readTextFile(`${dir}/${NAMES[1]}`), "third\n");

    // A file changed by someone else is still in the way, pending record or not.
    await killedRun(dir, "fourth\n", true);
    await Deno.writeTextFile(`${dir}/${NAMES[1]}`, "edited by hand\n");
    await assert.rejects(claim(dir, RECORD, NAMES), OwnershipError);
    await Deno.writeTextFile(`${dir}/${NAMES[1]}`, "third\n");
    await completeRun(dir, "fifth\n");

    // Without the pending record (the sequence before it existed), the same interruption stops every later run.
    await killedRun(dir, "sixth\n", false);
    await assert.rejects(claim(dir, RECORD, NAMES), /changed since this tool wrote it/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
