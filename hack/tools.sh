#!/usr/bin/env bash
# Installs or builds the test bench's tools and prints the directory that holds
# them. Everything is cached by version under $OKR_CACHE_DIR (default
# ~/.cache/okr-operator), outside the work tree, so a fresh clone on a machine
# that has built once before gets them in seconds.
#
# Usage: hack/tools.sh [all|apt|kube-apiserver|kubectl|etcd|helm|kubeconform|kube-score|harnesses|schemas|versions]
#        hack/tools.sh harness-path NAME   (the binary of hack/harness/NAME at this checkout)
set -euo pipefail

KUBE_VERSION=1.36.3        # kube-apiserver and kubectl; their staging modules are v0.36.3
ETCD_VERSION=3.6.16        # the etcd minor envtest ships for Kubernetes 1.34 to 1.36
HELM_VERSION=3.19.0
KUBECONFORM_VERSION=0.7.0
# kube-score scores the chart's render (tests/unit/test_kube_score.py); findings it
# keeps are explained in docs/install.md.
KUBE_SCORE_VERSION=1.20.0
# The Adaptive Card JSON schema as Microsoft ships it in a registry package: the
# card designer embeds it (src/adaptive-card-schema.ts); okr digest --format teams
# is validated against it. The integrity is npm's own (dist.integrity).
ADAPTIVECARDS_DESIGNER_VERSION=2.4.4
ADAPTIVECARDS_DESIGNER_INTEGRITY=sha512-NhqlOr+rMmANEkZNeiuypYcwDPxTUB/i7la/O86gbpta6ApoEmaXbUwGZk3RRdhNC2Y4AYMAwGdoPN3mR3G14A==

CACHE_DIR=${OKR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/okr-operator}
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN_DIR=$CACHE_DIR/bin
mkdir -p "$BIN_DIR"

# The machines have Go under /usr/local/go without always having it on PATH
# (CI runs with a plain environment); Debian's own Go (1.19) is too old anyway.
if [ -x /usr/local/go/bin/go ]; then
  PATH=/usr/local/go/bin:$PATH
fi

log() { echo "tools: $*" >&2; }

# KUBE_LDFLAGS stamps the version that `kubectl version` and /version report;
# an unstamped build says v0.0.0-master, which kubectl's skew warning misreads.
kube_minor=${KUBE_VERSION#1.}; kube_minor=${kube_minor%%.*}
KUBE_LDFLAGS=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  KUBE_LDFLAGS+=" -X $pkg.gitVersion=v$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kube_minor"
  KUBE_LDFLAGS+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

# reports_version BINARY VERSION ARGS...: true if `BINARY ARGS` prints VERSION.
# This is how a cached binary is trusted: one built by an older recipe (for
# example without the version ldflags) is rebuilt instead of being kept.
reports_version() {
  local bin=$1 version=$2; shift 2
  [ -x "$bin" ] || return 1
  local out; out=$("$bin" "$@" 2>&1) || return 1
  [[ $out == *"$version"* ]]
}

# build_wrapped NAME VERSION PACKAGE MODULE@VERSION LDFLAGS VERSION-ARGS...:
# builds PACKAGE inside a throwaway wrapper module and installs it as
# $BIN_DIR/NAME-VERSION, unless a binary there already reports VERSION.
build_wrapped() {
  local name=$1 version=$2 pkg=$3 module=$4 ldflags=$5; shift 5
  local out=$BIN_DIR/$name-$version
  reports_version "$out" "$version" "$@" && return 0
  # One build per tool at a time, also across clones of the repository and
  # concurrent `make` runs: the second waits, then finds the binary ready.
  exec {lock_fd}>"$BIN_DIR/.$name.lock"
  flock "$lock_fd"
  if reports_version "$out" "$version" "$@"; then
    flock -u "$lock_fd"; return 0
  fi
  local work; work=$(mktemp -d)
  local started=$SECONDS
  log "building $name $version (first time only; minutes on 2 cores)"
  (
    cd "$work"
    go mod init okr-operator.local/tools >/dev/null 2>&1
    # The import first: a tidy without it would drop the pinned requirement.
    printf 'package tools\nimport _ "%s"\n' "$pkg" > tools.go
    go mod edit -require="$module"
    if [[ $module == k8s.io/kubernetes@* ]]; then
      # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces
      # them with local paths; a consumer must replace every one of them.
      local gomod
      gomod=$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
      local staging
      for staging in $(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$gomod"); do
        go mod edit -replace="$staging=$staging@v0.${KUBE_VERSION#1.}"
      done
    fi
    go mod tidy
    CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg"
  )
  rm -rf "$work"
  if ! reports_version "$out.tmp" "$version" "$@"; then
    log "built $name does not report version $version: $("$out.tmp" "$@" 2>&1 | head -3)"
    exit 1
  fi
  mv "$out.tmp" "$out"
  log "built $name $version in $((SECONDS - started)) s"
  flock -u "$lock_fd"
}

link() { ln -sfn "$BIN_DIR/$1-$2" "$BIN_DIR/$1"; }

kube_apiserver() {
  build_wrapped kube-apiserver "$KUBE_VERSION" k8s.io/kubernetes/cmd/kube-apiserver \
    "k8s.io/kubernetes@v$KUBE_VERSION" "$KUBE_LDFLAGS" --version
  link kube-apiserver "$KUBE_VERSION"
}

# kubectl of the server's minor: Debian's kubernetes-client is 1.20, and the
# version skew policy allows kubectl only one minor away from the apiserver.
# Same wrapper as kube-apiserver, so it reuses the module and build caches.
kubectl() {
  build_wrapped kubectl "$KUBE_VERSION" k8s.io/kubernetes/cmd/kubectl \
    "k8s.io/kubernetes@v$KUBE_VERSION" "$KUBE_LDFLAGS" version --client
  link kubectl "$KUBE_VERSION"
}

etcd() {
  build_wrapped etcd "$ETCD_VERSION" go.etcd.io/etcd/server/v3 "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" \
    "" --version
  link etcd "$ETCD_VERSION"
}

helm() {
  # Without these ldflags helm reports version "" and KubeVersion 1.20.
  build_wrapped helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm "helm.sh/helm/v3@v$HELM_VERSION" \
    "-X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kube_minor -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kube_minor" \
    version --short
  link helm "$HELM_VERSION"
}

kubeconform() {
  # Release builds stamp main.version; without it `kubeconform -v` says "development".
  build_wrapped kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform \
    "github.com/yannh/kubeconform@v$KUBECONFORM_VERSION" "-X main.version=v$KUBECONFORM_VERSION" -v
  link kubeconform "$KUBECONFORM_VERSION"
}

kube_score() {
  # goreleaser stamps main.version; a plain build says "development".
  build_wrapped kube-score "$KUBE_SCORE_VERSION" github.com/zegl/kube-score/cmd/kube-score \
    "github.com/zegl/kube-score@v$KUBE_SCORE_VERSION" "-X main.version=v$KUBE_SCORE_VERSION" version
  link kube-score "$KUBE_SCORE_VERSION"
}

# Our own Go test harnesses, hack/harness/NAME/ (main.go, go.mod, go.sum):
# they run the code other tools really run (Argo CD's gopher-lua set-up,
# kstatus) on our objects. One module each, so a harness builds only what it
# imports. Cached by a hash of their sources and the Go version: an edit
# rebuilds, an unchanged checkout in any clone reuses the binary.
harness_path() {
  local name=$1 dir=$REPO_DIR/hack/harness/$1
  [ -f "$dir/go.mod" ] || { log "no harness $name in hack/harness"; exit 2; }
  local hash
  hash=$({ go env GOVERSION; cd "$dir" && sha256sum go.mod go.sum ./*.go; } | sha256sum | cut -c1-16)
  echo "$BIN_DIR/harness-$name-$hash"
}

build_harness() {
  local name=$1 out; out=$(harness_path "$1")
  if [ ! -x "$out" ]; then
    exec {lock_fd}>"$BIN_DIR/.harness-$name.lock"
    flock "$lock_fd"
    if [ ! -x "$out" ]; then
      local started=$SECONDS
      log "building harness $name (hack/harness/$name)"
      (cd "$REPO_DIR/hack/harness/$name" &&
        CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -o "$out.tmp" .)
      mv "$out.tmp" "$out"
      log "built harness $name in $((SECONDS - started)) s"
    fi
    flock -u "$lock_fd"
  fi
  ln -sfn "$out" "$BIN_DIR/$name"
}

harnesses() {
  build_harness argocd-lua
  build_harness kstatus
}

# Debian packages: Prometheus 2.42 with promtool, Alertmanager 0.25 with amtool, Chromium,
# chromedriver and poppler for the reports, VictoriaMetrics 1.79.
apt_packages() {
  local missing=()
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
  # okr report --format pdf prints its HTML with headless Chromium; the tests read
  # the PDF with poppler (pdftotext, pdftoppm) and drive the web view with chromedriver.
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  command -v pdftotext >/dev/null || missing+=(poppler-utils)
  command -v npm >/dev/null || missing+=(npm)  # fetches the Adaptive Card schema (below)
  # Without recommends Chromium brings no fonts; a scorecard needs readable ones.
  [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
  [ -e /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ] || missing+=(fonts-liberation)
  # VictoriaMetrics 1.79: the MetricsQL backend of the query-language e2e tests.
  command -v victoria-metrics >/dev/null || missing+=(victoria-metrics)
  command -v go >/dev/null || { log "go (1.26 or newer) is required on PATH or in /usr/local/go"; exit 1; }
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  log "installing ${missing[*]} from Debian"
  $sudo apt-get update -qq
  # The packages' postinst would start system services on 0.0.0.0; policy-rc.d
  # keeps them stopped, we start our own copies on loopback.
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -o DPkg::Lock::Timeout=300 -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  $sudo rm -f /usr/sbin/policy-rc.d
}

adaptive_card_schema() {
  local out=$CACHE_DIR/schemas/adaptive-card-designer-$ADAPTIVECARDS_DESIGNER_VERSION.json
  [ -s "$out" ] && return 0
  mkdir -p "$CACHE_DIR/schemas"
  local work; work=$(mktemp -d)
  log "fetching the Adaptive Card schema (adaptivecards-designer $ADAPTIVECARDS_DESIGNER_VERSION from npm)"
  (cd "$work" && npm pack --silent "adaptivecards-designer@$ADAPTIVECARDS_DESIGNER_VERSION" >/dev/null)
  local tarball=$work/adaptivecards-designer-$ADAPTIVECARDS_DESIGNER_VERSION.tgz
  local actual; actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  if [ "$actual" != "$ADAPTIVECARDS_DESIGNER_INTEGRITY" ]; then
    log "adaptivecards-designer tarball integrity mismatch: $actual"; rm -rf "$work"; exit 1
  fi
  tar -xzf "$tarball" -C "$work" package/src/adaptive-card-schema.ts
  # The file is `export const adaptiveCardSchema = { ...JSON... };`: keep the JSON.
  sed -e '1,/^export const adaptiveCardSchema =/d' -e 's/^};[[:space:]]*$/}/' \
    "$work/package/src/adaptive-card-schema.ts" > "$out.tmp"
  python3 -m json.tool "$out.tmp" >/dev/null
  mv "$out.tmp" "$out"
  rm -rf "$work"
}

# Pinned versions, for tests that check what the bench runs.
versions() {
  printf 'KUBE_VERSION=%s\nETCD_VERSION=%s\nHELM_VERSION=%s\nKUBECONFORM_VERSION=%s\nKUBE_SCORE_VERSION=%s\n' \
    "$KUBE_VERSION" "$ETCD_VERSION" "$HELM_VERSION" "$KUBECONFORM_VERSION" "$KUBE_SCORE_VERSION"
  exit 0
}

case "${1:-all}" in
  all) apt_packages; etcd; helm; kubeconform; kube_score; kube_apiserver; kubectl; harnesses; adaptive_card_schema ;;
  schemas) adaptive_card_schema ;;
  harnesses) harnesses ;;
  harness-path) harness_path "${2:?usage: $0 harness-path NAME}"; exit 0 ;;
  apt) apt_packages ;;
  kube-apiserver) kube_apiserver ;;
  kubectl) kubectl ;;
  etcd) etcd ;;
  helm) helm ;;
  kubeconform) kubeconform ;;
  kube-score) kube_score ;;
  versions) versions ;;
  *) echo "usage: $0 [all|apt|kube-apiserver|kubectl|etcd|helm|kubeconform|kube-score|harnesses|schemas|versions|harness-path NAME]" >&2; exit 2 ;;
esac
echo "$BIN_DIR"
