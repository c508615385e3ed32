import type { Candidate, RerankOptions } from '../src/ranking/types';
import type { StoredEvent } from '../src/types';
import { type BackendPreference } from './backend';
import { type Progress } from './loader';
import { type PersonalizeResult } from './personalize';
export interface EngineConfig {
    /** Base URL of the model folder (with manifest.json). */
    modelUrl: string;
    /** Where ORT's wasm files are served; default: `ort/` beside this worker file. */
    wasmPaths?: string;
    backend: BackendPreference;
    /** Recommender name: separates vector caches. */
    name: string;
    /** WASM threads; default 1 without cross-origin isolation, else min(4, cores). */
    numThreads?: number;
}
export interface EngineInfo {
    model: {
        name: string;
        version: string;
    };
    backend: 'webgpu' | 'wasm';
    dropped: {
        backend: string;
        reason: string;
    }[];
    adapter?: {
        vendor?: string;
        architecture?: string;
        isFallbackAdapter?: boolean;
    };
    threads: number;
    threadsReason: string;
    loadMs: number;
    fromCache: boolean;
}
export type EngineRerank = PersonalizeResult & {
    backend: 'webgpu' | 'wasm';
    engineMs: number;
};
declare class Engine {
    private model;
    private cache;
    private loading;
    private information;
    private name;
    load(cfg: EngineConfig, onProgress?: (p: Progress) => void): Promise<EngineInfo>;
    private doLoad;
    private ready;
    rerank(history: StoredEvent[], candidates: Candidate[], options: RerankOptions): Promise<EngineRerank>;
    /** Text vectors straight from the encoder (parity checks, benchmarks). */
    encode(texts: string[]): Promise<Float32Array[]>;
    tokenize(text: string): number[];
    userVectors(histories: {
        vecs: Float32Array[];
        types: number[];
    }[]): Promise<Float32Array[]>;
    itemVector(text: Float32Array, id: string): Float32Array;
    cacheStats(): {
        hits: number;
        misses: number;
    };
    /** forget(): let go of the vector cache (the page deletes the databases and cached files). */
    clear(): Promise<void>;
}
export type EngineApi = Engine;
export {};
