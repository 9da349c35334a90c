/**
 * The measurement issue 9 chose `@stricli/core` by: import it and run a two-command app with `--help`. The
 * benchmark times it beside bench/empty.ts, in the same run, to show what the parser alone costs on the day's
 * machine (the `--help` and usage-error targets are ratios to empty.ts).
 *
 * ```sh
 * deno run bench/stricli_reference.ts --help
 * ```
 *
 * @module
 */

import { buildApplication, buildCommand, buildRouteMap, run } from "@stricli/core";

const command = (brief: string) =>
  buildCommand({
    func: () => {},
    parameters: { flags: { verbose: { kind: "boolean", brief: "Say more", optional: true } } },
    docs: { brief },
  });
const app = buildApplication(
  buildRouteMap({
    routes: { first: command("The first"), second: command("The second") },
    docs: { brief: "Two" },
  }),
  { name: "reference" },
);
const encoder = new TextEncoder();
await run(app, Deno.args, {
  process: {
    stdout: { write: (s: string) => void Deno.stdout.writeSync(encoder.encode(s)) },
    stderr: { write: (s: string) => void Deno.stderr.writeSync(encoder.encode(s)) },
  },
});
