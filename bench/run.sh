#!/usr/bin/env bash
# `deno task bench`: the performance benchmark (bench/bench.ts) against a real registry on loopback, bare and
# through bench/latency_proxy.ts, side by side with skopeo. Prints a summary table and writes bench/results.md.
# Installs nothing: it needs what tests/run.sh installs (docker-registry, skopeo, hyperfine) and says so when
# one is missing. Environment knobs: see bench/bench.ts (BENCH_RUNS, BENCH_WARMUP, BENCH_DELAY_MS,
# BENCH_SUBJECT_MIB, BENCH_OUT, BENCH_STRICT=1 to exit 1 when a target fails).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

missing=()
for bin in docker-registry skopeo hyperfine sha256sum; do
  command -v "$bin" >/dev/null 2>&1 || [[ -x "/usr/sbin/$bin" || -x "/usr/bin/$bin" ]] || missing+=("$bin")
done
if [[ ! -x /usr/bin/time ]] && ! command -v python3 >/dev/null 2>&1; then
  missing+=("/usr/bin/time or python3 (peak RSS)")
fi
if ((${#missing[@]} > 0)); then
  echo "bench/run.sh: missing: ${missing[*]}" >&2
  echo "bench/run.sh: run \`./scripts/deno task test\` once (tests/run.sh installs docker-registry, skopeo and" >&2
  echo "bench/run.sh: hyperfine from Debian), or install them yourself; the benchmark installs nothing." >&2
  exit 2
fi

# The pinned Deno (installed from npm on first use by scripts/deno, as for the tests).
"$root/scripts/deno" --version >/dev/null
# The benchmark runs the tool with --cached-only: make sure its npm packages are in Deno's cache.
"$root/scripts/deno" cache --quiet "$root/main.ts" "$root/bench/minimal.ts" "$root/bench/empty.ts"
deno="$root/.tools/node_modules/.bin/deno"

export NO_COLOR=1
exec "$deno" run --allow-all --quiet --config "$root/deno.json" "$root/bench/bench.ts" "$@"
