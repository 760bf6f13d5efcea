// Minimal typings for the parts of s3rver 3.x the testkit uses (the package ships none).
declare module 's3rver' {
  import type { Server } from 'node:net';
  interface S3rverOptions {
    address?: string;
    port?: number;
    key?: string | Buffer;
    cert?: string | Buffer;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
  }
  export default class S3rver {
    constructor(options: S3rverOptions);
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
    httpServer?: Server & { closeAllConnections?: () => void };
  }
}
