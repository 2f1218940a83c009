#!/usr/bin/env bash
# Installs the system packages Strato's sandbox and runtimes use, where they are missing:
# bubblewrap (the sandbox), util-linux (setpriv, prlimit, unshare) and python3 (Python functions).
# Needs root and Debian's package archive; without them Strato still starts, at a weaker
# isolation level that it reports at start and on /strato/info.
set -euo pipefail

need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
command -v prlimit >/dev/null 2>&1 || need+=(util-linux)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if ((${#need[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-system: missing ${need[*]}; install them (needs root and apt-get) for full isolation" >&2
  exit 0
fi
echo "setup-system: installing ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
