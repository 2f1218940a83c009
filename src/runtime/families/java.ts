/**
 * @module The Java family (Java8, Java11, Java17, Java21): `runtimes/java`'s guest, built into
 * `runtimes/java/build/strato-java-runtime.jar` by `scripts/build-java-runtime.sh`, on the
 * machine's JDK (every Java runtime runs on it, as every Python runtime runs on `python3`).
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { GuestInterpreter, RuntimeFamilySpec } from './runtime-family-spec.js'

const MIB = 1024 * 1024
/** The guest jar, relative to `runtimes/`; the same place from `src/` and from `dist/`. */
export const JAVA_GUEST_JAR = 'java/build/strato-java-runtime.jar'
const HOST_GUEST_JAR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../runtimes',
  JAVA_GUEST_JAR,
)

/**
 * Debian's JDK keeps `lib/jvm.cfg` and `conf/` as links into /etc/java-<N>-openjdk: without that
 * dir the JVM does not start, so a sandbox that shows only /usr must show it too.
 */
function jdkConfigDirs(realJava: string): string[] {
  try {
    const cfg = fs.realpathSync(path.join(path.dirname(path.dirname(realJava)), 'lib', 'jvm.cfg'))
    const dir = path.dirname(cfg)
    return dir.startsWith('/usr/') ? [] : [dir]
  } catch {
    return []
  }
}

export const JAVA_INTERPRETER: GuestInterpreter = {
  name: 'java',
  defaultCommand: 'java',
  // The JVM has no one-liner; the guest jar prints the launcher's real path (a missing jar, like a
  // missing JDK, makes Java "absent" at start with a warning).
  realPathProbe: ['-cp', HOST_GUEST_JAR, 'io.strato.guest.RealPath'],
  sandboxPaths: ['8', '11', '17', '21'].map(
    (v) => `/opt/function/runtime/java${v}/rtsp/jre/bin/java`,
  ),
  hostConfigDirs: jdkConfigDirs,
}

export const JAVA_FAMILY: RuntimeFamilySpec = {
  name: 'java',
  interpreter: JAVA_INTERPRETER,
  guest: { folders: ['java'], script: JAVA_GUEST_JAR },
  // The heap gets ~55% of memory_size: metaspace, code cache, thread stacks, GC structures and
  // the mapped CDS archive need the rest. C1 only and the serial collector start fastest and use
  // the least memory for FunctionGraph's short invocations; no perf data file in /tmp.
  interpreterArgs: (memorySizeMb) => [
    `-Xmx${Math.max(32, Math.floor(memorySizeMb * 0.55))}m`,
    `-Xms${Math.min(32, Math.max(16, Math.floor(memorySizeMb * 0.25)))}m`,
    '-Xss512k',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-XX:CICompilerCount=1',
    '-XX:ReservedCodeCacheSize=32m',
    '-XX:MaxMetaspaceSize=128m',
    '-XX:CompressedClassSpaceSize=64m',
    '-XX:-UsePerfData',
    '-XX:-UseContainerSupport',
    '-Xshare:auto',
    // The JVM's own warnings go to stdout by default, where they would count as function output.
    '-Xlog:disable',
    '-Xlog:all=warning:stderr',
    '-Djava.security.manager=allow',
    '-Dfile.encoding=UTF-8',
    '-jar',
  ],
  cellsPerMemorySize: true,
  // Reserved, not used: code cache, compressed class space, thread stacks.
  addressSpaceHeadroomBytes: 1024 * MIB,
  // A dependency package is a ZIP of JARs (or classes): the guest adds each tree and its JARs.
  dependencyPath: { variable: 'STRATO_JAVA_CLASSPATH', subdirs: [''] },
  transport: 'frames',
}
