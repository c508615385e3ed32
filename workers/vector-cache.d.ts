import type { TextVectorSource } from './personalize';
export declare const VECTOR_CACHE_LIMIT = 20000;
export declare class VectorCache implements TextVectorSource {
    private readonly dbName;
    private readonly version;
    private readonly encode;
    private readonly limit;
    private readonly memory;
    private kv;
    private writes;
    hits: number;
    misses: number;
    constructor(dbName: string, version: string, encode: (texts: string[]) => Promise<Float32Array[]>, limit?: number);
    private key;
    textVectors(items: readonly {
        id: string;
        text: string;
    }[]): Promise<Float32Array[]>;
    private persist;
    /** Keeps the cache bounded: drops entries of other model versions, then the surplus. */
    private trim;
    size(): Promise<number>;
    close(): void;
}
