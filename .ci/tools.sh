#!/usr/bin/env bash
# Install the pinned "oracle" tools used by meshgen's tests and CI.
#
#   .ci/tools.sh [DEST]      # DEST defaults to $PWD/.bin
#
# Installs: istioctl, kustomize, sops, helm, staticcheck (Go builds into DEST),
# the Flux and Argo CD CRDs that generated delivery objects are validated
# against (DEST/crds, from the tools/crds module) and openssl (apt, only if
# missing). Idempotent: a tool is skipped when DEST/<tool>
# exists and DEST/.stamps/<tool> matches the pinned version. Needs only Go
# (>= 1.26) and network access to the Go module proxy (+ apt for openssl).
# Reruns reuse the Go module and build caches, so they are fast.
set -euo pipefail

# ---- pins -------------------------------------------------------------------
# buildTag is what was asked for; buildVersion is what `istioctl version`
# prints (otherwise "unknown"). Neither changes rendered manifests (image
# hub/tag are only overridden when buildHub is also set).
ISTIO_BUILD_TAG=1.31-dev
KUSTOMIZE_VERSION=v5.8.2
SOPS_VERSION=v3.13.3
HELM_VERSION=v4.3.1                             # newest helm v4 (go 1.26.0)

# ---- setup ------------------------------------------------------------------
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
ISTIOCTL_MOD="$REPO_ROOT/sim"
STATICCHECK_MOD="$REPO_ROOT/tools/staticcheck"

DEST=${1:-$PWD/.bin}
mkdir -p "$DEST/.stamps"
DEST=$(cd "$DEST" && pwd)
STAMPS="$DEST/.stamps"

command -v go >/dev/null 2>&1 || { echo "tools.sh: go not found in PATH" >&2; exit 1; }

# The tool modules must be built as standalone modules: never pick up a
# go.work, a vendor dir, or the caller's -mod flag.
export GOWORK=off
export GOFLAGS="${GOFLAGS:-}"
GOFLAGS=$(printf '%s' "$GOFLAGS" | sed -E 's/(^| )-mod=[^ ]*//g')
export CGO_ENABLED="${CGO_ENABLED:-0}"

# up_to_date TOOL STAMP -> 0 when DEST/TOOL exists and its stamp matches.
up_to_date() {
  [[ -x "$DEST/$1" && -f "$STAMPS/$1" && "$(cat "$STAMPS/$1")" == "$2" ]]
}

# ensure TOOL STAMP CMD... -> run CMD unless up to date, then write the stamp.
ensure() {
  local tool=$1 stamp=$2; shift 2
  if up_to_date "$tool" "$stamp"; then
    printf '%-10s %-40s cached     %s\n' "$tool" "$stamp" "$DEST/$tool"
    return
  fi
  local start=$SECONDS
  rm -f "$STAMPS/$tool"
  "$@"
  printf '%s' "$stamp" >"$STAMPS/$tool"
  printf '%-10s %-40s installed  %s (%ss)\n' "$tool" "$stamp" "$DEST/$tool" "$((SECONDS - start))"
}

# ---- istioctl (the sim module; its go.mod pins istio + deps) -----------------
# Built without -trimpath and with CGO_ENABLED=0, exactly as the route oracle's
# tests in sim/ are compiled, so the Go build cache holds one build of Istio's
# packages that both oracles share.
# The stamp includes a hash of go.mod/go.sum so any re-pin forces a rebuild.
istioctl_stamp() {
  local sum
  sum=$(cat "$ISTIOCTL_MOD/go.mod" "$ISTIOCTL_MOD/go.sum" | sha256sum | cut -c1-12)
  printf '%s+%s' "$ISTIO_BUILD_TAG" "$sum"
}
build_istioctl() {
  (cd "$ISTIOCTL_MOD" && go build \
    -ldflags "-s -w -X istio.io/istio/pkg/version.buildTag=$ISTIO_BUILD_TAG -X istio.io/istio/pkg/version.buildVersion=$ISTIO_BUILD_TAG" \
    -o "$DEST/istioctl" istio.io/istio/istioctl/cmd/istioctl)
}

# ---- go install based tools ---------------------------------------------------
go_install() { # PKG@VERSION [ldflags]
  GOBIN="$DEST" go install -trimpath -ldflags "-s -w ${2:-}" "$1"
}

# ---- openssl (system package) ---------------------------------------------------
ensure_openssl() {
  if ! command -v openssl >/dev/null 2>&1; then
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    command -v apt-get >/dev/null 2>&1 || { echo "openssl missing and apt-get unavailable" >&2; exit 1; }
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >&2
    $sudo apt-get install -y -qq openssl >&2
    printf '%-10s %-40s installed  %s\n' openssl "$(openssl version | awk '{print $2}')" "$(command -v openssl)"
  else
    printf '%-10s %-40s present    %s\n' openssl "$(openssl version | awk '{print $2}')" "$(command -v openssl)"
  fi
}

ensure istioctl "$(istioctl_stamp)" build_istioctl
# kubeconfig-check: client-go's loader, from the same pinned module, to prove
# the kubeconfigs of generated remote secrets load the way istiod loads them.
build_kubeconfig_check() {
  (cd "$ISTIOCTL_MOD" && go build -ldflags "-s -w" -o "$DEST/kubeconfig-check" ./kubeconfig-check)
}
ensure kubeconfig-check "$(istioctl_stamp)+$(sha256sum "$ISTIOCTL_MOD/kubeconfig-check/main.go" | cut -c1-8)" build_kubeconfig_check
ensure kustomize "$KUSTOMIZE_VERSION" go_install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
ensure sops "$SOPS_VERSION" go_install "github.com/getsops/sops/v3/cmd/sops@$SOPS_VERSION"
ensure helm "$HELM_VERSION" go_install "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" \
  "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
# staticcheck: pinned by the tools/staticcheck module (honnef.co/go/tools).
staticcheck_stamp() {
  printf '%s' "$(cat "$STATICCHECK_MOD/go.mod" "$STATICCHECK_MOD/go.sum" | sha256sum | cut -c1-12)"
}
build_staticcheck() {
  (cd "$STATICCHECK_MOD" && go build -trimpath -ldflags "-s -w" -o "$DEST/staticcheck" honnef.co/go/tools/cmd/staticcheck)
}
ensure staticcheck "$(staticcheck_stamp)" build_staticcheck
ensure_openssl

# ---- CRD schemas (tools/crds module; go.mod/go.sum pin Flux and Argo CD) ------
# `go mod download` verifies the module zips against go.sum and compiles
# nothing, so modules that would not build with this Go still serve their
# CRD files. The tests validate generated objects against them.
CRDS_MOD="$REPO_ROOT/tools/crds"
crds_stamp() { cat "$CRDS_MOD/go.mod" "$CRDS_MOD/go.sum" | sha256sum | cut -c1-12; }
install_crds() {
  local argo flux gwapi
  argo=$(cd "$CRDS_MOD" && go mod download -json github.com/argoproj/argo-cd/v3 | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  flux=$(cd "$CRDS_MOD" && go mod download -json github.com/fluxcd/kustomize-controller | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  gwapi=$(cd "$CRDS_MOD" && go mod download -json sigs.k8s.io/gateway-api | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d "$argo" && -d "$flux" && -d "$gwapi" ]] || { echo "tools.sh: CRD modules not downloaded" >&2; exit 1; }
  mkdir -p "$DEST/crds"
  install -m 0644 "$argo/manifests/crds/applicationset-crd.yaml" "$argo/manifests/crds/application-crd.yaml" "$DEST/crds/"
  install -m 0644 "$flux/config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml" "$DEST/crds/"
  install -m 0644 "$gwapi/config/crd/standard/gateway.networking.k8s.io_gateways.yaml" "$DEST/crds/"
  # ensure() checks for an executable DEST/<tool>: a listing stands in.
  (cd "$DEST/crds" && ls) >"$DEST/crds.list" && chmod 0755 "$DEST/crds.list"
}
ensure crds.list "$(crds_stamp)" install_crds
