export type BackendPreference = 'auto' | 'webgpu' | 'wasm';
export interface BackendChoice {
    order: ('webgpu' | 'wasm')[];
    dropped: {
        backend: 'webgpu' | 'wasm';
        reason: string;
    }[];
    adapter?: {
        vendor?: string;
        architecture?: string;
        isFallbackAdapter?: boolean;
    };
}
export declare function chooseBackend(pref: BackendPreference): Promise<BackendChoice>;
