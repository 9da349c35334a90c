/**
 * Where a command's bytes go: stdout, or `-o FILE` written atomically. Nothing is written before the whole
 * result exists, so a failed run leaves stdout empty and files unchanged.
 *
 * @module
 */

import { ManifestError } from "../errors.ts";
import { writeFileAtomic, writeStdout } from "../output.ts";

/** Re-indent JSON bytes with two spaces and a final newline (`--pretty`). */
export function prettyJson(bytes: Uint8Array): Uint8Array {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ManifestError("cannot --pretty print: the content is not JSON");
  }
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}

/** Write `bytes` to `output` (atomically) or to stdout. */
export async function emit(bytes: Uint8Array, output: string | undefined): Promise<void> {
  if (output && output !== "-") await writeFileAtomic(output, bytes);
  else await writeStdout(bytes);
}
