// Types of scripts/precompress.mjs for the TypeScript that imports it (the demo's Vite config).
export function precompressDir(dir: string, cacheDir: string, outDir?: string): Promise<string[]>
export function pickEncoding(file: string, acceptEncoding?: string, copy?: string): { file: string; encoding: 'br' | 'gzip' | undefined }
