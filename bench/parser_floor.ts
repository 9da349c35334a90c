/**
 * A floor with the tool's parser in it: the tool's own command-line parser (`src/cli/normalize.ts` and
 * `src/cli/app.ts`, the `@stricli/core` app built from the option table) reads a `get_manifest` command line,
 * then the one manifest request of `minimal.ts --manifest-only` is made and its bytes written. Nothing else of
 * the tool runs. Timed beside minimal.ts, it shows how much of the `get_manifest` target the parser alone
 * takes.
 *
 * ```sh
 * deno run -A bench/parser_floor.ts http://127.0.0.1:5000 test/original latest
 * ```
 *
 * @module
 */

import { parseCommandLine } from "../src/cli/app.ts";
import { normalizeArgs } from "../src/cli/normalize.ts";
import { fetchManifest, writeStdout } from "./minimal.ts";

const [base, repository, reference] = Deno.args;
if (!base || !repository || !reference) {
  console.error("usage: parser_floor.ts BASE_URL REPOSITORY TAG|DIGEST");
  Deno.exit(2);
}
const argv = ["get_manifest", "-u", `${new URL(base).host}/${repository}:${reference}`, "--plain-http"];
const outcome = await parseCommandLine(normalizeArgs(argv), { stdout: () => {}, stderr: console.error });
if (outcome.kind !== "run") Deno.exit(2);
await writeStdout(await fetchManifest(base, repository, reference));
