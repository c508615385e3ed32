import { type Manifest } from './manifest';
export interface Progress {
    file: string;
    loaded: number;
    total: number;
    /** 0–100; the last event of a load is exactly 100. */
    percent: number;
    fromCache: boolean;
}
export declare function sha256Hex(buf: ArrayBuffer): Promise<string>;
export declare function loadManifest(baseUrl: string): Promise<Manifest>;
/** Loads and verifies every file the engine needs. */
export declare function loadModelFiles(baseUrl: string, manifest: Manifest, onProgress: (p: Progress) => void): Promise<Map<string, ArrayBuffer>>;
