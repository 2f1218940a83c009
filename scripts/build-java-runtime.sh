#!/usr/bin/env bash
# Builds Strato's Java runtime from runtimes/java/src with the JDK's javac and jar (no Maven):
# runtimes/java/build/strato-java-runtime.jar (the guest, and the library functions compile
# against: com.huawei.services.runtime and com.opentelekomcloud.services.runtime) beside a copy
# of Debian's Gson (libgoogle-gson-java) as gson.jar. Run by `npm install` (prepare). Without a
# JDK or Gson it warns and builds nothing: Strato starts, and Java functions fail to start.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/runtimes/java/src"
out="$root/runtimes/java/build"
jar_file="$out/strato-java-runtime.jar"
gson="${STRATO_GSON_JAR:-/usr/share/java/gson.jar}"

if ! command -v javac >/dev/null 2>&1 || ! command -v jar >/dev/null 2>&1; then
  echo "build-java-runtime: WARNING: no JDK (javac, jar) found; Java functions will not run. Install one: apt-get install default-jdk-headless" >&2
  exit 0
fi
if [[ ! -f $gson ]]; then
  echo "build-java-runtime: WARNING: Gson not found at $gson; Java functions will not run. Install it: apt-get install libgoogle-gson-java (or set STRATO_GSON_JAR)" >&2
  exit 0
fi
if [[ -f $jar_file && -f $out/gson.jar ]] &&
  [[ -z $(find "$src" "$0" -newer "$jar_file" -print -quit) ]]; then
  exit 0 # up to date
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/classes" "$out"
cp -L "$gson" "$work/gson.jar"
# The library users compile against targets Java 8 (FunctionGraph's oldest Java runtime); the
# guest runs only on the host's JDK.
find "$src/com" -name '*.java' >"$work/api.txt"
javac -nowarn -Xlint:-options --release 8 -encoding UTF-8 -cp "$work/gson.jar" -d "$work/classes" @"$work/api.txt"
find "$src/io" -name '*.java' >"$work/guest.txt"
javac -Xlint:-removal -encoding UTF-8 -cp "$work/gson.jar:$work/classes" -d "$work/classes" @"$work/guest.txt"
cat >"$work/manifest.txt" <<'MANIFEST'
Main-Class: io.strato.guest.Guest
Class-Path: gson.jar
Add-Opens: java.base/java.io java.base/java.util
MANIFEST
jar --create --file "$work/strato-java-runtime.jar" --manifest "$work/manifest.txt" -C "$work/classes" .
mv "$work/gson.jar" "$out/gson.jar"
mv "$work/strato-java-runtime.jar" "$jar_file"
echo "build-java-runtime: built $jar_file"
