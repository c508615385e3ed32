import type { Candidate, Coverage, RankedItem, RerankOptions } from '../src/ranking/types';
import type { StoredEvent } from '../src/types';
import type { InpageModel } from './model';
/** Text vectors for items, from wherever is cheapest (cache, or the encoder). */
export interface TextVectorSource {
    textVectors(items: readonly {
        id: string;
        text: string;
    }[]): Promise<Float32Array[]>;
}
export interface PersonalizeResult {
    items: RankedItem[];
    coverage: Coverage;
    personalized: boolean;
    why: 'personalized' | 'no-history';
}
/** The item events the sequence model reads, oldest first, at most `maxHistory`. */
export declare function modelEvents(model: InpageModel, history: readonly StoredEvent[]): StoredEvent[];
export declare function personalize(model: InpageModel, source: TextVectorSource, history: readonly StoredEvent[], candidates: readonly Candidate[], options?: RerankOptions): Promise<PersonalizeResult>;
