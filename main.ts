/**
 * Entry point: run the CLI, exit with its code. Nothing else.
 *
 * @module
 */

import { run } from "./src/cli/run.ts";

if (import.meta.main) {
  const code = await run(Deno.args, {
    env: Deno.env.toObject(),
    stderr: (line) => console.error(line),
  });
  Deno.exit(code);
}
