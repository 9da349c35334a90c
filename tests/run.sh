#!/usr/bin/env bash
# `deno task test`: installs the Debian test dependencies when missing, then runs `deno test` over tests/.
# Extra arguments are passed to `deno test` (e.g. a file filter: `deno task test tests/support_test.ts`).
# Ends with a summary line `N passed, M failed[, K skipped]`; the exit code is deno test's.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

log() { echo "tests/run.sh: $*" >&2; }

# binary -> Debian package
declare -A need=(
  [docker-registry]=docker-registry
  [skopeo]=skopeo
  [umoci]=umoci
  [hyperfine]=hyperfine
  [htpasswd]=apache2-utils
  [openssl]=openssl
  [zsh]=zsh
  [fish]=fish
  [xmllint]=libxml2-utils
  [jq]=jq
  [script]=bsdutils
)
missing=()
for bin in "${!need[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("${need[$bin]}")
done
[[ -f /etc/ssl/certs/ca-certificates.crt ]] || missing+=(ca-certificates)

if ((${#missing[@]} > 0)); then
  log "installing missing Debian packages: ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo -n); else
      log "not root and no sudo: cannot install ${missing[*]}"
      exit 1
    fi
  fi
  aptlog="$(mktemp -t apt-install.XXXXXX.log)"
  # Keep package maintainer scripts from starting daemons (docker-registry ships an init script on :5000).
  policy_created=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    if printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null 2>&1 &&
      "${sudo[@]}" chmod +x /usr/sbin/policy-rc.d; then
      policy_created=1
    fi
  fi
  ok=1
  "${sudo[@]}" apt-get update -qq >>"$aptlog" 2>&1 || ok=0
  if ((ok)); then
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" </dev/null >>"$aptlog" 2>&1 || ok=0
  fi
  ((policy_created)) && "${sudo[@]}" rm -f /usr/sbin/policy-rc.d
  if ((!ok)); then
    log "apt-get failed; log follows"
    cat "$aptlog" >&2
    exit 1
  fi
  rm -f "$aptlog"
  log "installed ${missing[*]}"
  for bin in "${!need[@]}"; do
    command -v "$bin" >/dev/null 2>&1 || log "warning: $bin still not on PATH after installing ${need[$bin]}"
  done
fi

# Ensures the pinned Deno is installed (npm) and prints its version to the log.
"$root/scripts/deno" --version >/dev/null || {
  log "could not install/run Deno via scripts/deno"
  exit 1
}
deno="$root/.tools/node_modules/.bin/deno"

export NO_COLOR=1
out="$(mktemp -t deno-test.XXXXXX.log)"
trap 'rm -f "$out"' EXIT

# Test files/dirs given? Otherwise run tests/ (flags such as `--filter x` alone still get tests/).
paths=()
for arg in "$@"; do
  [[ "$arg" != -* && -e "$arg" ]] && paths+=("$arg")
done
((${#paths[@]} > 0)) || set -- "$@" tests/

"$deno" test --allow-all --parallel "$@" 2>&1 | tee "$out"
code=${PIPESTATUS[0]}

# Final line, e.g. `ok | 12 passed (3 steps) | 0 failed (4s)` or `FAILED | 1 passed | 2 failed | 1 ignored (3s)`.
summary="$(grep -E '^(ok|FAILED) \| ' "$out" | tail -n 1)"
count() { # $1 = word (passed/failed/ignored): number of tests (not steps) before it in the summary line
  sed -nE "s/.*\| ([0-9]+) $1( \(|\b).*/\1/p" <<<"$summary" | head -n 1
}
passed="$(count passed)"
failed="$(count failed)"
ignored="$(count ignored)"
line="${passed:-0} passed, ${failed:-0} failed"
if [[ -n "$ignored" && "$ignored" != 0 ]]; then line+=", $ignored skipped"; fi
if [[ -z "$summary" ]]; then
  log "no deno test summary line found (deno test exit code $code)"
  [[ $code -eq 0 ]] || failed=1
  line="0 passed, ${failed:-0} failed"
fi
echo "$line"
exit "$code"
