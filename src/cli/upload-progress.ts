/**
 * @module Upload progress of `deploy` on stderr: shown when stderr is a terminal (one line,
 * rewritten in place) or when the package is large (a line per quarter, so a CI log shows that a
 * slow upload is moving); small uploads to a pipe print nothing.
 */

/** Packages from this size on show progress even when stderr is not a terminal. */
export const LARGE_PACKAGE_BYTES = 4 * 1024 * 1024

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
}

/**
 * The progress callback for an upload whose zip has `packageBytes`, or `undefined` when nothing
 * should be shown. The callback is given the request body's bytes (the zip in base64, in JSON).
 */
export function uploadProgress(
  packageBytes: number,
  stderr: NodeJS.WriteStream = process.stderr,
): ((sentBytes: number, totalBytes: number) => void) | undefined {
  const tty = stderr.isTTY
  if (!tty && packageBytes < LARGE_PACKAGE_BYTES) {
    return undefined
  }
  let shownQuarter = -1
  return (sent, total) => {
    const percent = Math.floor((sent / total) * 100)
    if (tty) {
      stderr.write(`\ruploading ${mib(sent)} of ${mib(total)} (${percent} %)`)
      if (sent >= total) {
        stderr.write('\n')
      }
      return
    }
    const quarter = Math.floor(percent / 25)
    if (quarter > shownQuarter) {
      shownQuarter = quarter
      stderr.write(`uploading ${mib(sent)} of ${mib(total)} (${percent} %)\n`)
    }
  }
}
