/**
 * Where a test's vault lives, for tests that run the same code against every kind of storage:
 * a local directory, or a prefix in a bucket of the file's moto_server (test/oracle/moto.ts).
 * A VaultPlace says how to open it (Vault.open's location and options, the CLI's arguments) and
 * lets the test look at what is stored there from outside litevault: the filesystem for a
 * directory, the AWS SDK's own S3 calls for a bucket.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { moto } from './moto';

export type StorageKind = 'directory' | 's3';
/**
 * Every kind the storage-parameterized tests run against; LITEVAULT_TEST_STORAGE=directory|s3
 * picks one. The sanitizer run (LITEVAULT_SANITIZED=1) takes the directory only: the s3 runs
 * exercise the same native code, and only more JavaScript (vitest.config.ts says the same).
 */
export const STORAGE_KINDS: StorageKind[] = (['directory', 's3'] as const).filter(
  (k) => (process.env.LITEVAULT_TEST_STORAGE ?? (process.env.LITEVAULT_SANITIZED === '1' ? 'directory' : k)) === k,
);

export interface VaultPlace {
  kind: StorageKind;
  /** What Vault.open and the CLI take: the directory, or s3://bucket/prefix. */
  location: string;
  /** Vault.open's options for it ({} or {endpoint}); spread `create` etc. over them. */
  options: { endpoint?: string };
  /** The CLI's arguments for it ([] or ['--endpoint', URL]). */
  cliArgs: string[];
  /** Every stored key under the vault, sorted (a directory's temporaries included). */
  keys(): Promise<string[]>;
  /** The same, with each object's size and a tag that changes when its bytes do (the store's ETag; a file's sha256). */
  objects(): Promise<StoredObjectView[]>;
  /** One stored object's bytes. */
  read(key: string): Promise<Buffer>;
  /** What unfinished writes left: a directory's `.tmp-*` files, or a bucket's incomplete multipart uploads. */
  leftovers(): Promise<string[]>;
}

/** One stored object as {@link VaultPlace.objects} sees it. */
export interface StoredObjectView {
  key: string;
  size: number;
  tag: string;
}

/** The meta JSON of a manifest object (docs/vault-format.md "Manifest": magic, version, metaLength, meta), read without litevault. */
export function manifestMeta(bytes: Buffer): { name: string; seq: number; id: string; type: string; base: number | null; packs: { key: string; bytes: number; slots: number }[] } {
  if (bytes.length < 36 || bytes.subarray(0, 8).toString('hex') !== '4c564d414e490001') throw new Error('not a manifest object');
  return JSON.parse(bytes.subarray(16, 16 + bytes.readUInt32LE(12)).toString('utf8'));
}

let bucket: Promise<string> | undefined;

/**
 * A new, empty place for a vault: `dir` itself for 'directory'; for 's3', the prefix
 * `basename(dir)` in the file's bucket (dir's basename is unique per test).
 */
export async function vaultPlace(kind: StorageKind, dir: string): Promise<VaultPlace> {
  if (kind === 'directory') {
    const keys = (): string[] => {
      const out: string[] = [];
      const walk = (p: string, rel: string): void => {
        for (const e of fs.readdirSync(p, { withFileTypes: true })) {
          if (e.isDirectory()) walk(path.join(p, e.name), rel === '' ? e.name : `${rel}/${e.name}`);
          else out.push(rel === '' ? e.name : `${rel}/${e.name}`);
        }
      };
      if (fs.existsSync(dir)) walk(dir, '');
      return out.sort();
    };
    return {
      kind,
      location: dir,
      options: {},
      cliArgs: [],
      keys: async () => keys(),
      objects: async () =>
        keys().map((key) => {
          const bytes = fs.readFileSync(path.join(dir, ...key.split('/')));
          return { key, size: bytes.length, tag: createHash('sha256').update(bytes).digest('hex') };
        }),
      read: async (key) => fs.readFileSync(path.join(dir, ...key.split('/'))),
      leftovers: async () => keys().filter((k) => path.basename(k).startsWith('.tmp-')),
    };
  }
  const server = await moto();
  bucket ??= server.bucket();
  const Bucket = await bucket;
  const prefix = path.basename(dir);
  const s3 = await import('@aws-sdk/client-s3');
  const client = new s3.S3Client({ endpoint: server.endpoint, forcePathStyle: true });
  const objects = async (): Promise<StoredObjectView[]> => {
    const out: StoredObjectView[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await client.send(new s3.ListObjectsV2Command({ Bucket, Prefix: `${prefix}/`, ContinuationToken }));
      for (const o of page.Contents ?? []) out.push({ key: o.Key!.slice(prefix.length + 1), size: o.Size ?? 0, tag: o.ETag ?? '' });
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  };
  return {
    kind,
    location: `s3://${Bucket}/${prefix}`,
    options: { endpoint: server.endpoint },
    cliArgs: ['--endpoint', server.endpoint],
    keys: async () => (await objects()).map((o) => o.key),
    objects,
    read: async (key) => {
      const r = await client.send(new s3.GetObjectCommand({ Bucket, Key: `${prefix}/${key}` }));
      return Buffer.from(await r.Body!.transformToByteArray());
    },
    leftovers: async () => {
      const r = await client.send(new s3.ListMultipartUploadsCommand({ Bucket, Prefix: `${prefix}/` }));
      return (r.Uploads ?? []).map((u) => `${u.Key!.slice(prefix.length + 1)} (multipart upload ${u.UploadId})`);
    },
  };
}
