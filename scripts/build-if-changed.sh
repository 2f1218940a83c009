#!/usr/bin/env bash
# Builds dist/ (npm run build) only when it is missing or older than what it is built from, so
# `npm start` starts at once when nothing changed. tsc writes every output on each build, so the
# oldest file in dist/ is the last build's time: any source, tsconfig or lock file newer than it,
# or a source added or removed since (the file counts differ), means rebuild.
set -euo pipefail
cd "$(dirname "$0")/.."

# tsc emits one .js per .ts source and copies each .js source (allowJs).
sources() { find src \( -name '*.ts' -o -name '*.js' \) ! -name '*.test.ts' -type f; }
outputs() { find dist -name '*.js' -type f 2>/dev/null || true; }

reason=''
if [[ ! -f dist/main.js ]]; then
  reason='dist/ is missing'
elif [[ $(sources | wc -l) -ne $(outputs | wc -l) ]]; then
  # A removed source leaves its output behind: build from a clean dist/.
  reason='source files were added or removed'
  rm -rf dist
else
  oldest=$(outputs | xargs ls -1tr | sed -n 1p)
  newer=$(find src tsconfig.json tsconfig.build.json package-lock.json -newer "$oldest" -type f \
    \( -name '*.ts' -o -name '*.js' -o -name '*.json' \) ! -name '*.test.ts' -print -quit)
  if [[ -n $newer ]]; then
    reason="$newer changed"
  fi
fi

if [[ -z $reason ]]; then
  echo 'build: dist/ is up to date'
  exit 0
fi
echo "build: $reason; building"
npm run build --silent
