import type { Neighbors } from '../src/ranking/score';
import type { Manifest } from './manifest';
/** The parts of onnxruntime's API we use; onnxruntime-web and onnxruntime-node both provide them. */
export interface OrtLike {
    Tensor: new (type: 'int64' | 'float32', data: BigInt64Array | Float32Array, dims: number[]) => OrtTensor;
}
export interface OrtTensor {
    data: unknown;
    dims: readonly number[];
    dispose?: () => void;
}
export interface OrtSession {
    run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
    release?: () => Promise<void>;
}
export declare class InpageModel {
    readonly manifest: Manifest;
    private readonly ort;
    private readonly encoder;
    private readonly user;
    private readonly tokenizer;
    private readonly collabIndex;
    readonly neighbors: Neighbors | undefined;
    constructor(manifest: Manifest, ort: OrtLike, encoder: OrtSession, user: OrtSession, files: {
        tokenizer: unknown;
        tokenizerConfig: unknown;
        collabIndex?: {
            ids: string[];
        };
        collab?: ArrayBuffer;
        neighbors?: unknown;
    });
    private collab;
    get dims(): {
        text: number;
        collab: number;
        item: number;
    };
    /** Token ids exactly as the Python tokenizer makes them: [CLS] … [SEP], cut to maxTokens. */
    tokenize(text: string): number[];
    /** Text vectors, batched and padded to the longest text in each batch. */
    encode(texts: readonly string[], batchSize?: number): Promise<Float32Array[]>;
    /** The public collaborative vector shipped for an item, if any. */
    collabVector(id: string): Float32Array | undefined;
    /** item vector = [text vector, public vector or zeros]. */
    itemVector(text: Float32Array, collab?: ArrayLike<number>): Float32Array;
    eventTypeId(type: string): number | undefined;
    /**
     * User vectors for several histories at once (one batch, left-padded).
     * Each history: item vectors oldest first, with their event type ids.
     */
    userVectors(histories: readonly {
        vecs: readonly Float32Array[];
        types: readonly number[];
    }[]): Promise<Float32Array[]>;
    release(): Promise<void>;
}
export declare function readNeighbors(raw: unknown): Neighbors;
