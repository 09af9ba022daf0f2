#!/usr/bin/env bash
# Measures meshgen on the synthetic fleets side by side with the tools a user
# runs today (docs/performance.md). Needs .bin from .ci/tools.sh and GNU time.
#   bash generator/fleet/perf.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
RUNS=${1:-5}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export SOPS_AGE_KEY_FILE=$ROOT/testdata/age/test-only-operator.agekey KUBECONFIG=/dev/null
go build -o "$W/meshgen" ./cmd/meshgen
MESHGEN_FLEET_DIR=$W go test ./generator/fleet -run TestWrite -count=1 >/dev/null

# best-of-N wall seconds of a command
best() {
  local b=999 t s e
  for _ in $(seq "$RUNS"); do
    s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc); (( $(echo "$t < $b" | bc) )) && b=$t
  done
  printf '%.3f' "$b"
}
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

for f in M L; do
  "$W/meshgen" generate --allow-test-keys -i "$W/fleet-$f.yaml" -o "$W/out-$f" 2>/dev/null
  printf 'fleet-%s: %s files, %s bytes\n' "$f" "$(find "$W/out-$f" -type f | wc -l)" "$(find "$W/out-$f" -type f -printf '%s\n' | paste -sd+ | bc)"
done

echo "--- fleet-L"
iops=("$W"/out-L/overlays/*/install/istio-operator.yaml); iop=${iops[0]}
echo "istioctl manifest generate (one cluster):  $(best "$ROOT/.bin/istioctl" manifest generate -f "$iop")"
export XDG_CACHE_HOME=$W/cache
echo "meshgen generate, no change, no cache:     $(MESHGEN_NO_CACHE=1 best "$W/meshgen" generate --allow-test-keys -i "$W/fleet-L.yaml" -o "$W/out-L")"
echo "meshgen generate --check, no cache:        $(MESHGEN_NO_CACHE=1 best "$W/meshgen" generate --allow-test-keys --check -i "$W/fleet-L.yaml" -o "$W/out-L")"
"$W/meshgen" generate --allow-test-keys --check -i "$W/fleet-L.yaml" -o "$W/out-L" # records the check
echo "meshgen generate, no change (cached):      $(best "$W/meshgen" generate --allow-test-keys -i "$W/fleet-L.yaml" -o "$W/out-L")"
echo "meshgen generate --check (cached):         $(best "$W/meshgen" generate --allow-test-keys --check -i "$W/fleet-L.yaml" -o "$W/out-L")"
echo "cat of every output file:                  $(best sh -c "find '$W/out-L' -type f -exec cat {} + >/dev/null")"
scratch() { rm -rf "$W/s"; mkdir -p "$W/s"; cp -r "$W/out-L/pki" "$W/s/"; "$W/meshgen" generate --allow-test-keys -i "$W/fleet-L.yaml" -o "$W/s"; }
echo "meshgen generate from scratch (PKI kept):  $(best scratch)"
kall() { for d in "$W"/out-L/overlays/*/; do "$ROOT/.bin/kustomize" build "$d" >/dev/null; done; }
echo "kustomize build of every overlay:          $(best kall)"
echo "peak RSS, generate no change (KB):         $(MESHGEN_NO_CACHE=1 rss "$W/meshgen" generate --allow-test-keys -i "$W/fleet-L.yaml" -o "$W/out-L")"
scratch_rss() { rm -rf "$W/s"; mkdir -p "$W/s"; cp -r "$W/out-L/pki" "$W/s/"; /usr/bin/time -f %M "$W/meshgen" generate --allow-test-keys -i "$W/fleet-L.yaml" -o "$W/s" 2>&1 >/dev/null | tail -1; }
echo "peak RSS, generate from scratch (KB):      $(scratch_rss)"
echo "--- fleet-M"
echo "meshgen generate, no change, no cache:     $(MESHGEN_NO_CACHE=1 best "$W/meshgen" generate --allow-test-keys -i "$W/fleet-M.yaml" -o "$W/out-M")"
