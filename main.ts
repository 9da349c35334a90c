/**
 * Entry point: run the CLI, exit with its code. Nothing else.
 *
 * The first registry request is started before commander is loaded (`src/cli/early.ts`), so that commander's
 * load, which blocks for about 30 ms, overlaps the registry's answer instead of preceding the request.
 *
 * @module
 */

import { startEarly } from "./src/cli/early.ts";

if (import.meta.main) {
  const io = { env: Deno.env.toObject(), stderr: (line: string) => console.error(line) };
  const early = await startEarly(Deno.args, io);
  const { run } = await import("./src/cli/run.ts");
  Deno.exit(await run(Deno.args, io, early));
}
