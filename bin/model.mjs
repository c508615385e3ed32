// The general model as the package carries it: its large files as brotli copies only (dist/models/<name>/*.br,
// beside the library's precompressed files) and its small files plain (public/models/<name>/), expanded here
// into a folder the browser or onnxruntime-node reads. Every file is checked against the manifest's sha256.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { brotliDecompressSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'

export const GENERAL_MODEL = 'inpage-general-v1'
const pkg = fileURLToPath(new URL('..', import.meta.url))

export class PackagedModelError extends Error {
  name = 'PackagedModelError'
}

function packagedFile(name, file) {
  const plain = `${pkg}public/models/${name}/${file}`
  if (existsSync(plain)) return readFileSync(plain)
  const br = `${pkg}dist/models/${name}/${file}.br`
  if (existsSync(br)) return brotliDecompressSync(readFileSync(br))
  throw new PackagedModelError(`${name}/${file} is not in the package (a broken install? reinstall inpage)`)
}

/** The packaged model's files: [file name, bytes] for manifest.json and every file it lists, each verified. */
export function packagedModelFiles(name = GENERAL_MODEL) {
  const manifestBytes = packagedFile(name, 'manifest.json')
  const manifest = JSON.parse(manifestBytes.toString('utf8'))
  const out = [['manifest.json', manifestBytes]]
  for (const [file, { sha256 }] of Object.entries(manifest.files ?? {})) {
    // File names come from our own manifest; still, never let one leave the folder.
    if (!/^[\w.-]+$/.test(file)) throw new PackagedModelError(`${name}/manifest.json lists a bad file name ${JSON.stringify(file)}`)
    const bytes = packagedFile(name, file)
    if (createHash('sha256').update(bytes).digest('hex') !== sha256) throw new PackagedModelError(`${name}/${file}: sha256 differs from manifest.json`)
    out.push([file, bytes])
  }
  return out
}
