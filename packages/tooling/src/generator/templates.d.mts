export declare const UNDICI_RANGE: string;
