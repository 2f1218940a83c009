/**
 * Builds container image archives in tests: `docker save` tarballs (manifest.json, config, layer
 * tars) or OCI image layouts (index.json, blobs by digest), and a runnable one made of Debian's
 * busybox-static serving HTTP on port 8000.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import zlib from 'node:zlib'
import tarStream from 'tar-stream'

/** One entry of a tar as a test writes it. */
export interface TarItem {
  readonly name: string
  readonly type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo'
  readonly content?: string | Buffer
  readonly mode?: number
  readonly linkname?: string
}

export async function tarOf(items: readonly TarItem[]): Promise<Buffer> {
  const pack = tarStream.pack()
  const chunks: Buffer[] = []
  const collected = (async (): Promise<void> => {
    for await (const chunk of pack) {
      chunks.push(chunk as Buffer)
    }
  })()
  for (const item of items) {
    const type = item.type ?? 'file'
    const body = type === 'file' ? Buffer.from(item.content ?? '') : undefined
    const header = {
      name: item.name,
      type,
      mode: item.mode ?? (type === 'directory' ? 0o755 : 0o644),
      ...(item.linkname === undefined ? {} : { linkname: item.linkname }),
      ...(body === undefined ? { size: 0 } : { size: body.length }),
    }
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve())
      if (body === undefined) {
        pack.entry(header, done)
      } else {
        pack.entry(header, body, done)
      }
    })
  }
  pack.finalize()
  await collected
  return Buffer.concat(chunks)
}

export interface ImageSpec {
  readonly layers: ReadonlyArray<readonly TarItem[]>
  /** The image config's `config` object (Entrypoint, Cmd, Env, WorkingDir, User). */
  readonly config: Record<string, unknown>
  readonly architecture?: string
  readonly format?: 'docker' | 'oci'
  readonly gzipLayers?: boolean
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

export async function buildImageArchive(spec: ImageSpec): Promise<Buffer> {
  const layers: Buffer[] = []
  for (const items of spec.layers) {
    const tar = await tarOf(items)
    layers.push(spec.gzipLayers === true ? zlib.gzipSync(tar) : tar)
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: spec.architecture ?? 'amd64',
      os: 'linux',
      config: spec.config,
      rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${sha256(l)}`) },
    }),
  )
  if (spec.format === 'oci') {
    const blob = (b: Buffer): TarItem => ({ name: `blobs/sha256/${sha256(b)}`, content: b })
    const descriptor = (mediaType: string, b: Buffer): Record<string, unknown> => ({
      mediaType,
      digest: `sha256:${sha256(b)}`,
      size: b.length,
    })
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: descriptor('application/vnd.oci.image.config.v1+json', config),
        layers: layers.map((l) =>
          descriptor(
            `application/vnd.oci.image.layer.v1.tar${spec.gzipLayers === true ? '+gzip' : ''}`,
            l,
          ),
        ),
      }),
    )
    const index = {
      schemaVersion: 2,
      manifests: [
        {
          ...descriptor('application/vnd.oci.image.manifest.v1+json', manifest),
          platform: { architecture: 'amd64', os: 'linux' },
        },
      ],
    }
    return tarOf([
      { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', content: JSON.stringify(index) },
      { name: 'blobs/', type: 'directory' },
      { name: 'blobs/sha256/', type: 'directory' },
      blob(config),
      blob(manifest),
      ...layers.map(blob),
    ])
  }
  const configName = `${sha256(config)}.json`
  const layerNames = layers.map((l) => `${sha256(l)}/layer.tar`)
  return tarOf([
    { name: configName, content: config },
    ...layers.flatMap((l, i) => [
      { name: `${sha256(l)}/`, type: 'directory' as const },
      { name: layerNames[i] ?? '', content: l },
    ]),
    {
      name: 'manifest.json',
      content: JSON.stringify([
        { Config: configName, RepoTags: ['strato-test:latest'], Layers: layerNames },
      ]),
    },
  ])
}

/** Debian's busybox-static: one static binary, so an image needs no libraries. */
export const BUSYBOX = '/bin/busybox'

/**
 * A runnable image: busybox's httpd on 127.0.0.1:8000 serving /www, with a CGI script that
 * echoes the request (method, path, query, body, one variable of each kind) and a second layer
 * that whiteouts `/www/secret.txt` of the first. `entrypoint` replaces the server's command.
 */
export async function busyboxHttpImage(
  options: { entrypoint?: readonly string[]; format?: 'docker' | 'oci' } = {},
): Promise<Buffer> {
  const oci = options.format === 'oci'
  const echo = [
    '#!/bin/sh',
    'body=$(cat)',
    'echo "echo cgi served $REQUEST_METHOD" >&2',
    'printf "Content-Type: text/plain\\r\\nX-Image: busybox\\r\\n\\r\\n"',
    'printf "method=%s path=%s query=%s body=%s greeting=%s func=%s cwd=%s uid=%s\\n" "$REQUEST_METHOD" "$PATH_INFO" "$QUERY_STRING" "$body" "$GREETING" "$RUNTIME_FUNC_NAME" "$(pwd)" "$(id -u)"',
    '',
  ].join('\n')
  return buildImageArchive({
    format: options.format ?? 'docker',
    // OCI layouts usually hold gzip layers; docker save writes them plain.
    gzipLayers: oci,
    config: {
      Entrypoint: options.entrypoint ?? ['/bin/busybox', 'httpd', '-f', '-p', '127.0.0.1:8000'],
      Cmd: ['-h', '/www'],
      Env: ['PATH=/bin', 'GREETING=hello from the image'],
      WorkingDir: '/www',
    },
    layers: [
      [
        { name: 'bin/', type: 'directory' },
        { name: 'bin/busybox', content: fs.readFileSync(BUSYBOX), mode: 0o755 },
        { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
        { name: 'bin/id', type: 'link', linkname: 'bin/busybox' },
        { name: 'bin/cat', type: 'symlink', linkname: '/bin/busybox' },
        { name: 'www/', type: 'directory' },
        { name: 'www/index.html', content: 'hello from busybox\n' },
        { name: 'www/secret.txt', content: 'whited out by layer 2\n' },
        { name: 'www/cgi-bin/', type: 'directory' },
        { name: 'www/cgi-bin/echo', content: echo, mode: 0o755 },
      ],
      [{ name: 'www/.wh.secret.txt' }, { name: 'www/layer2.txt', content: 'from layer 2\n' }],
    ],
  })
}
