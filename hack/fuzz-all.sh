#!/usr/bin/env bash
# Runs every Go fuzz target in the repository, one at a time, for DURATION
# each (default 60s). Usage: hack/fuzz-all.sh [DURATION] [PACKAGE...]
# Targets are discovered with `go test -list`, only in packages whose test
# files declare a `func Fuzz`, so the whole tree is not compiled twice.
# New crashers land in <package>/testdata/fuzz/<Target>/ (commit them: they
# become seed corpus that `go test` runs in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
duration="${1:-60s}"
shift || true
# One fuzz worker per spare core; CI machines are shared.
parallel="${FUZZ_PARALLEL:-$(( $(nproc) > 1 ? $(nproc) - 1 : 1 ))}"

if [ $# -gt 0 ]; then
  pkgs=("$@")
else
  mapfile -t pkgs < <(git ls-files --cached --others --exclude-standard '*_test.go' | xargs grep -l '^func Fuzz' 2>/dev/null \
    | xargs -r -n1 dirname | sort -u | sed 's|^|./|')
fi
if [ ${#pkgs[@]} -eq 0 ]; then
  echo "fuzz-all: no fuzz targets found"
  exit 0
fi

failed=()
total=0
for pkg in "${pkgs[@]}"; do
  mapfile -t targets < <(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true)
  for target in "${targets[@]}"; do
    total=$((total + 1))
    echo "=== fuzz $pkg $target for $duration (parallel $parallel)"
    if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$duration" -parallel "$parallel" "$pkg"; then
      failed+=("$pkg $target")
    fi
  done
done

echo "fuzz-all: ran $total targets for $duration each"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz-all: FAILED %s\n' "${failed[@]}"
  exit 1
fi
