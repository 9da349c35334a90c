/**
 * Entry point: run the CLI, exit with its code. Nothing else.
 *
 * @module
 */

import { run } from "./src/cli/run.ts";

/** The user id, or null where the platform has none or the permission is not granted. */
function uid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null;
  }
}

if (import.meta.main) {
  const out = async (file: typeof Deno.stdout, bytes: Uint8Array) => {
    for (let off = 0; off < bytes.byteLength;) off += await file.write(bytes.subarray(off));
  };
  const encoder = new TextEncoder();
  Deno.exit(
    await run(Deno.args, {
      env: Deno.env.toObject(),
      // Under `deno task`, the directory the user ran the task from (Deno runs tasks in the project root).
      cwd: Deno.env.get("INIT_CWD") || Deno.cwd(),
      uid: uid(),
      stdout: (bytes) => out(Deno.stdout, bytes),
      stderr: (line) => Deno.stderr.writeSync(encoder.encode(`${line}\n`)),
    }),
  );
}
