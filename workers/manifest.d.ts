export interface FileEntry {
    sha256: string;
    bytes: number;
}
export interface Manifest {
    name: string;
    version: string;
    files: Record<string, FileEntry>;
    dims: {
        text: number;
        collab: number;
        item: number;
    };
    encoder: {
        file: string;
        maxTokens: number;
        inputs: string[];
        output: string;
    };
    user: {
        file: string;
        maxHistory: number;
        eventTypes: Record<string, number>;
        output: string;
    };
    collab?: {
        file: string;
        index: string;
    };
    scoring?: {
        knn?: {
            file: string;
            weight: number;
            decay: number;
        };
    };
    metrics?: unknown;
}
export declare function checkManifest(raw: unknown): Manifest;
/** The files the engine needs, in load order (small first, so failures show early). */
export declare function requiredFiles(m: Manifest): string[];
