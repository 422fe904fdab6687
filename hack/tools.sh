#!/usr/bin/env bash
# Installs or builds the test bench's tools and prints the directory that holds
# them. Everything is cached by version under $OKR_CACHE_DIR (default
# ~/.cache/okr-operator), outside the work tree, so a fresh clone on a machine
# that has built once before gets them in seconds.
#
# Usage: hack/tools.sh [all|kube-apiserver|etcd|helm|kubeconform|apt]
set -euo pipefail

KUBE_VERSION=1.36.3        # kube-apiserver; its staging modules are v0.36.3
ETCD_VERSION=3.6.16        # the etcd minor envtest ships for Kubernetes 1.34 to 1.36
HELM_VERSION=3.19.0
KUBECONFORM_VERSION=0.7.0

CACHE_DIR=${OKR_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/okr-operator}
BIN_DIR=$CACHE_DIR/bin
mkdir -p "$BIN_DIR"

log() { echo "tools: $*" >&2; }

# build_wrapped NAME VERSION PACKAGE MODULE@VERSION [LDFLAGS]: builds PACKAGE
# inside a throwaway wrapper module, installs it as $BIN_DIR/NAME-VERSION.
build_wrapped() {
  local name=$1 version=$2 pkg=$3 module=$4 ldflags=${5:-}
  local out=$BIN_DIR/$name-$version
  [ -x "$out" ] && return 0
  local work; work=$(mktemp -d)
  log "building $name $version (first time only; minutes on 2 cores)"
  (
    cd "$work"
    go mod init okr-operator.local/tools >/dev/null 2>&1
    # The import first: a tidy without it would drop the pinned requirement.
    printf 'package tools\nimport _ "%s"\n' "$pkg" > tools.go
    go mod edit -require="$module"
    if [ "$name" = kube-apiserver ]; then
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
  mv "$out.tmp" "$out"
  rm -rf "$work"
}

link() { ln -sfn "$BIN_DIR/$1-$2" "$BIN_DIR/$1"; }

kube_apiserver() {
  build_wrapped kube-apiserver "$KUBE_VERSION" k8s.io/kubernetes/cmd/kube-apiserver \
    "k8s.io/kubernetes@v$KUBE_VERSION" \
    "-X k8s.io/component-base/version.gitVersion=v$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${KUBE_VERSION#1.}"
  link kube-apiserver "$KUBE_VERSION"
}

etcd() {
  build_wrapped etcd "$ETCD_VERSION" go.etcd.io/etcd/server/v3 "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  link etcd "$ETCD_VERSION"
}

helm() {
  local minor=${KUBE_VERSION#1.}; minor=${minor%%.*}
  # Without these ldflags helm reports version "" and KubeVersion 1.20.
  build_wrapped helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm "helm.sh/helm/v3@v$HELM_VERSION" \
    "-X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"
  link helm "$HELM_VERSION"
}

kubeconform() {
  build_wrapped kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform \
    "github.com/yannh/kubeconform@v$KUBECONFORM_VERSION"
  link kubeconform "$KUBECONFORM_VERSION"
}

# Debian packages: Prometheus 2.42 with promtool, Alertmanager 0.25, kubectl.
apt_packages() {
  local missing=()
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
  command -v kubectl >/dev/null || missing+=(kubernetes-client)
  command -v go >/dev/null || { log "go (1.24 or newer) is required on PATH"; exit 1; }
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  log "installing ${missing[*]} from Debian"
  $sudo apt-get update -qq
  # The packages' postinst would start system services on 0.0.0.0; policy-rc.d
  # keeps them stopped, we start our own copies on loopback.
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  $sudo rm -f /usr/sbin/policy-rc.d
}

case "${1:-all}" in
  all) apt_packages; etcd; helm; kubeconform; kube_apiserver ;;
  apt) apt_packages ;;
  kube-apiserver) kube_apiserver ;;
  etcd) etcd ;;
  helm) helm ;;
  kubeconform) kubeconform ;;
  *) echo "usage: $0 [all|apt|kube-apiserver|etcd|helm|kubeconform]" >&2; exit 2 ;;
esac
echo "$BIN_DIR"
