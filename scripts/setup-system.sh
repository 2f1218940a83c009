#!/usr/bin/env bash
# Installs the system packages Strato's sandbox and runtimes use, where they are missing:
# bubblewrap (the sandbox), util-linux (setpriv, prlimit, unshare, nsenter), nftables, iproute2
# and conntrack (function egress, ADR 0023), python3 (Python functions),
# php-cli (PHP functions), a JDK with Debian's Gson (Java functions;
# scripts/build-java-runtime.sh builds the runtime with them), curl (custom runtime bootstraps),
# and for the tests only golang-go and busybox-static (they build Go functions and a container
# image with them).
# Needs root and Debian's package archive; without them Strato still starts, at a weaker
# isolation level that it reports at start and on /strato/info. When everything is present it
# prints nothing and installs nothing.
set -euo pipefail

need=()
why=()
want() {
  # $1: the package, $2: what it is for; each package once.
  local p
  for p in "${need[@]}"; do
    [[ $p == "$1" ]] && return 0
  done
  need+=("$1")
  why+=("$1 ($2)")
}
command -v bwrap >/dev/null 2>&1 || want bubblewrap 'the instance sandbox'
command -v setpriv >/dev/null 2>&1 || want util-linux 'setpriv, prlimit: instance uids and limits'
command -v prlimit >/dev/null 2>&1 || want util-linux 'setpriv, prlimit: instance uids and limits'
command -v nft >/dev/null 2>&1 || want nftables 'function egress: the network policy of instances'
command -v ip >/dev/null 2>&1 || want iproute2 'function egress: veths and bandwidth bounds of instances'
command -v tc >/dev/null 2>&1 || want iproute2 'function egress: veths and bandwidth bounds of instances'
command -v conntrack >/dev/null 2>&1 || want conntrack "function egress: a stopped instance's connections forgotten"
command -v python3 >/dev/null 2>&1 || want python3 'Python functions'
command -v php >/dev/null 2>&1 || want php-cli 'PHP functions'
command -v javac >/dev/null 2>&1 || want default-jdk-headless 'Java functions'
[[ -f /usr/share/java/gson.jar ]] || want libgoogle-gson-java 'Java functions (Gson)'
[[ -x /bin/busybox ]] || want busybox-static 'tests only: the Custom Image tests build an image from it'
# Tests only: Go functions are built by their authors; the tests build theirs with the host Go.
command -v go >/dev/null 2>&1 || want golang-go "building the Go functions of Strato's tests"
command -v curl >/dev/null 2>&1 || want curl "custom runtime bootstraps (FunctionGraph's documented one calls curl)"
if ((${#need[@]} == 0)); then
  exit 0
fi
missing=$(printf '%s, ' "${why[@]}")
missing=${missing%, }
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-system: missing ${missing}; install them (apt-get install ${need[*]}, as root) for full isolation" >&2
  exit 0
fi
echo "setup-system: missing ${missing}"
echo "setup-system: running: apt-get update && apt-get install -y ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
echo "setup-system: installed ${need[*]}"
