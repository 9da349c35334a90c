/**
 * The benchmark's registry, for measuring by hand: starts the real Distribution registry (plain HTTP, no auth)
 * on 127.0.0.1, seeds the test images, prints one JSON line `{"host": "...", "logFile": "...", "images": {...}}`
 * on stdout and keeps running until SIGTERM/SIGINT (or, with `--stdin-lifeline`, until its stdin reaches EOF),
 * then stops the registry and removes its temp dir. bench/bench.ts starts the same registry in process.
 *
 * ```sh
 * ./scripts/deno run -A bench/setup.ts &        # {"host":"127.0.0.1:PORT",...}
 * ./scripts/deno run --allow-net bench/latency_proxy.ts --target 127.0.0.1:PORT --delay 20 &
 * hyperfine -N './scripts/deno task start get_manifest -u 127.0.0.1:PORT/test/original:latest --plain-http'
 * ```
 *
 * @module
 */

import { seedImages } from "../tests/support/images.ts";
import { startRegistry } from "../tests/support/registry.ts";

const reg = await startRegistry({ auth: "none" });
let stopping: Promise<void> | undefined;
const stop = () => {
  stopping ??= reg.stop().then(() => Deno.exit(0));
  return stopping;
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
try {
  const catalog = await seedImages(reg);
  const images: Record<string, string> = {};
  for (const [name, entry] of Object.entries(catalog)) images[name] = entry.reference;
  console.log(JSON.stringify({ host: reg.host, url: reg.url, logFile: reg.logFile, images }));
} catch (err) {
  console.error(`bench/setup.ts: ${err instanceof Error ? err.stack : err}`);
  await reg.stop();
  Deno.exit(1);
}

// With --stdin-lifeline, also stop when stdin reaches EOF (bench/run.sh holds the pipe: even if it is killed
// hard, the registry does not outlive it).
if (Deno.args.includes("--stdin-lifeline")) {
  const buf = new Uint8Array(64);
  try {
    while ((await Deno.stdin.read(buf)) !== null) { /* ignore */ }
  } catch {
    // stdin unusable: rely on signals
  }
  await stop();
}
