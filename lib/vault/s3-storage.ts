/**
 * S3Storage: a vault on S3-compatible object storage (AWS S3, Cloudflare R2, MinIO, Ceph RGW,
 * ...) through @aws-sdk/client-s3, with exactly the keys DirectoryStorage has, under
 * `s3://bucket/prefix/` (docs/vault-format.md: "Keys", "The commit rule", "Locks", "Errors").
 * The SDK is required by the first S3Storage only, so local vaults never load it.
 *
 * - put() and create() are one PutObject with `If-None-Match: *` (objects of MULTIPART_BYTES and
 *   more: lib-storage's Upload, the condition on CompleteMultipartUpload), so an object appears
 *   complete or not at all. Each carries its CRC32 as x-amz-checksum-crc32 (multipart: a CRC32
 *   per part), which the store checks before it stores anything: the checksum the AWS SDK itself
 *   sends on every upload. It is computed by zlib.crc32 (about 2 GB/s on the main thread), and
 *   the payload goes unsigned (x-amz-content-sha256: UNSIGNED-PAYLOAD, as the SDK's own streamed
 *   uploads go), so no SHA-256 of the body is computed on the main thread: the CRC checks the
 *   bytes, the signature covers it, TLS (https) or an encrypted vault's AES-GCM authenticates
 *   them (over plain http a CRC32 is no defence against someone who can rewrite the traffic).
 *   A store that refuses those headers (400 or 501 naming them; R2 did so in 2025) gets the
 *   upload again, and every later one, with Content-MD5 and a payload the SDK signs; so does
 *   every store on a Node without zlib.crc32 (before 20.15). A put()'s data may be reused once
 *   it settles: after an early answer (a 412 before the whole body went out) Node may still be
 *   sending the rest, which the store has already given up on. A 412 means "exists": success for put() (content
 *   objects are named by their checksum); for create() the object found is read back and
 *   compared with ours, because a create whose response was lost, sent again by the SDK's
 *   retry, finds its own first write and must still resolve true.
 * - Retries: the SDK's standard mode (exponential backoff with jitter on 5xx, throttling,
 *   timeouts and dropped connections) up to maxAttempts; the two things the SDK does not
 *   retry are retried here the same way: a body whose connection dropped mid-download, and a
 *   conditional write answered 409 ConditionalRequestConflict (another conditional write of the
 *   key in flight).
 * - lock(): a lease object, see {@link S3Lease}.
 * - Failures are LitevaultError LITEVAULT_REMOTE_* (or LITEVAULT_STORAGE) naming the operation,
 *   the s3:// URL of the object and the HTTP status (remoteError below).
 *
 * Thread safety: main thread only; any number of calls may be in flight at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as zlib from 'node:zlib';
import { performance } from 'node:perf_hooks';
import type * as S3 from '@aws-sdk/client-s3';
import { LitevaultError, LitevaultErrorCode, misuse } from '../errors';
import { Storage, StorageLock, StoredObject } from './storage';

/** How to reach an `s3://` vault's store: {@link Vault.open}'s options for remote vaults. */
export interface RemoteVaultOptions {
  /**
   * The store's endpoint URL, for S3-compatible stores (R2: `https://<account>.r2.cloudflarestorage.com`,
   * MinIO: `http://host:9000`). Default: the AWS SDK's: `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`,
   * the profile's `endpoint_url`, else AWS S3 in the region.
   */
  endpoint?: string;
  /** The region to sign for (R2: 'auto'). Default: the AWS SDK's chain (`AWS_REGION`, the profile's `region`). */
  region?: string;
  /**
   * Path-style requests (`http://host/bucket/key`) instead of virtual-hosted ones
   * (`http://bucket.host/key`). Default: true when an endpoint is given (here, or in
   * `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`): what MinIO and most self-hosted stores need;
   * false for AWS S3.
   */
  forcePathStyle?: boolean;
  /**
   * Access keys, or a function that resolves to them. Default: the AWS SDK's default chain
   * (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, `AWS_PROFILE` and the shared
   * `~/.aws/credentials` and `~/.aws/config` files, SSO, web identity, container and instance roles).
   */
  credentials?: RemoteCredentials | (() => Promise<RemoteCredentials>);
  /** Attempts per request, the first included (the SDK's standard retry mode). Default 5. */
  maxAttempts?: number;
  /**
   * How long a backup's lease on its name (`locks/<name>.lease`) lasts without renewal, ms; it is
   * renewed every third of that. A killed holder blocks the name for at most about this long.
   * Default 60000.
   */
  leaseMs?: number;
  /** @internal Objects of this many bytes and more go up as multipart uploads (default MULTIPART_BYTES). */
  multipartBytes?: number;
  /** @internal Part size of those uploads (default PART_BYTES; the store's minimum is 5 MiB). */
  partBytes?: number;
}

/** Static credentials for a remote vault. */
export interface RemoteCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

type Sdk = typeof S3;
let sdk: Sdk | undefined;
// The SDK, loaded on first use (a local vault command never gets here).
function loadSdk(): Sdk {
  return (sdk ??= require('@aws-sdk/client-s3') as Sdk);
}

/** Objects this big and bigger are uploaded in parts (only manifests of databases of ~8 GiB and more). */
export const MULTIPART_BYTES = 32 << 20;
const PART_BYTES = 8 << 20;
const PARTS_IN_FLIGHT = 4; // an upload holds no copy: parts are views of the object's Buffer
const DEFAULT_LEASE_MS = 60_000;
const DEFAULT_ATTEMPTS = 5;
// Last-Modified and Date have whole seconds: a lease is taken over only this much after its
// TTL has passed by the store's clock.
const CLOCK_SLACK_MS = 2_000;
const SERVER_DATE = '$litevaultServerDate';

const URL_FORM = /^s3:\/\/([A-Za-z0-9][A-Za-z0-9._-]{0,254})(?:\/(.*))?$/;

const REMOTE_KEYS = ['endpoint', 'region', 'forcePathStyle', 'credentials', 'maxAttempts', 'leaseMs', 'multipartBytes', 'partBytes'] as const;

/**
 * The storage of an `s3://bucket/prefix` location, or null for any other location (a
 * directory), for which remote options are SQLITE_MISUSE rather than silently ignored.
 */
export function remoteStorage(location: string, options: RemoteVaultOptions): S3Storage | null {
  if (location.startsWith('s3://')) return new S3Storage(location, options);
  const given = REMOTE_KEYS.find((k) => options[k] !== undefined);
  if (given !== undefined) throw misuse(`Vault.open(): ${given} applies to s3:// vaults only, not to the directory '${location}'`);
  return null;
}

// `s3://bucket/a/b/` -> { bucket, root: 'a/b/' }; the prefix has no empty, '.' or '..' segment.
function parseUrl(url: string): { bucket: string; root: string } {
  const m = URL_FORM.exec(url);
  const prefix = (m?.[2] ?? '').replace(/\/$/, '');
  if (!m || (prefix !== '' && prefix.split('/').some((s) => s === '' || s === '.' || s === '..'))) {
    throw misuse(`Vault.open(): '${url}' is not an s3:// vault URL (s3://bucket or s3://bucket/prefix, a prefix without empty, '.' or '..' parts)`);
  }
  return { bucket: m[1]!, root: prefix === '' ? '' : `${prefix}/` };
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}
const status = (err: unknown): number | undefined => (err as SdkError)?.$metadata?.httpStatusCode;
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_STREAM_PREMATURE_CLOSE']);
const TIMEOUT = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

/** An SDK failure as the LitevaultError docs/vault-format.md "Errors" names for it. */
function remoteError(operation: string, url: string, err: unknown): LitevaultError {
  if (err instanceof LitevaultError) return err;
  const e = (err ?? {}) as SdkError;
  const httpStatus = status(err);
  const name = e.name ?? 'Error';
  let code: LitevaultErrorCode = 'LITEVAULT_STORAGE';
  let hint = '';
  if (httpStatus === 401 || httpStatus === 403 || name === 'CredentialsProviderError') {
    code = 'LITEVAULT_REMOTE_DENIED';
    if (httpStatus === undefined) hint = ' (give credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or ~/.aws/credentials)';
  } else if (name === 'NoSuchBucket') {
    code = 'LITEVAULT_REMOTE_NO_BUCKET';
  } else if (httpStatus === 501 || name === 'NotImplemented') {
    code = 'LITEVAULT_REMOTE_UNSUPPORTED';
    hint = ' (a vault needs conditional writes: If-None-Match and If-Match on PutObject)';
  } else if ((httpStatus !== undefined && (httpStatus >= 500 || httpStatus === 429)) || TIMEOUT.has(name) || NETWORK.has(e.code ?? '') || NETWORK.has(name)) {
    code = 'LITEVAULT_REMOTE_UNAVAILABLE';
  } else if (httpStatus === undefined && /region is missing/i.test(e.message ?? '')) {
    hint = ' (give a region: --region, the region option or AWS_REGION; R2: auto, MinIO: us-east-1)';
  }
  const attempts = e.$metadata?.attempts ?? 1;
  const what = httpStatus !== undefined ? `HTTP ${httpStatus} ${name}` : e.code !== undefined && (name === 'Error' || name === e.code) ? e.code : `${e.code === undefined ? '' : `${e.code} `}${name}`;
  return new LitevaultError({
    message: `vault storage: cannot ${operation} '${url}': ${what}: ${e.message ?? String(err)}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}${hint}`,
    code,
    retryable: code === 'LITEVAULT_REMOTE_UNAVAILABLE',
    httpStatus,
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
// The SDK's standard backoff: full jitter over 100 ms x 2^attempt, at most 20 s.
const backoff = (attempt: number): Promise<void> => sleep(Math.random() * Math.min(20_000, 100 * 2 ** attempt));

/** One object read back: its bytes, its ETag, when the store last wrote it and the store's clock at the read. */
interface Read {
  bytes: Buffer;
  etag: string;
  lastModified: number | undefined;
  serverNow: number | undefined;
}

type Condition = { IfNoneMatch: '*' } | { IfMatch: string };

export class S3Storage implements Storage {
  readonly location: string;
  readonly #bucket: string;
  readonly #root: string;
  readonly #client: S3.S3Client;
  readonly #attempts: number;
  readonly #leaseMs: number;
  readonly #multipartBytes: number;
  readonly #partBytes: number;
  /** Full keys being uploaded by this process now (sweep() leaves their multipart uploads alone). */
  readonly #writing = new Map<string, number>();
  /** The store refused x-amz-checksum-* headers once: every upload since carries Content-MD5 and a signed payload. */
  #md5Only = crc32 === undefined;

  /** @param url `s3://bucket` or `s3://bucket/prefix`; @param options see {@link RemoteVaultOptions}. */
  constructor(url: string, options: RemoteVaultOptions = {}) {
    const { bucket, root } = parseUrl(url);
    this.#bucket = bucket;
    this.#root = root;
    this.location = `s3://${bucket}${root === '' ? '' : `/${root.slice(0, -1)}`}`;
    for (const k of ['maxAttempts', 'leaseMs', 'multipartBytes', 'partBytes'] as const) {
      const v = options[k];
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw misuse(`Vault.open(): ${k} must be a positive integer`);
    }
    if (options.endpoint !== undefined && (typeof options.endpoint !== 'string' || !/^https?:\/\/./.test(options.endpoint))) {
      throw misuse(`Vault.open(): endpoint must be an http:// or https:// URL, not ${JSON.stringify(options.endpoint)}`);
    }
    this.#attempts = options.maxAttempts ?? DEFAULT_ATTEMPTS;
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#partBytes = Math.max(options.partBytes ?? PART_BYTES, 5 << 20);
    this.#multipartBytes = Math.max(options.multipartBytes ?? MULTIPART_BYTES, this.#partBytes + 1);
    const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    const config: S3.S3ClientConfig = {
      forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
      maxAttempts: this.#attempts,
      retryMode: 'standard',
      // The upload checksum is ours (putObject below); no SDK checksums on top, and downloads
      // are checked against the vault's own hashes.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      followRegionRedirects: true,
      // A connection that hangs (no byte for a minute) fails and is retried like a dropped one.
      requestHandler: { connectionTimeout: 10_000, socketTimeout: 60_000 },
    };
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    if (options.region !== undefined) config.region = options.region;
    if (options.credentials !== undefined) config.credentials = options.credentials;
    this.#client = new (loadSdk().S3Client)(config);
    // The store's clock (the Date header), for lease expiry judged by the store's time only.
    this.#client.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const date = (result.response as { headers?: Record<string, string> } | undefined)?.headers?.date;
        if (date !== undefined && result.output && typeof result.output === 'object') (result.output as unknown as Record<string, unknown>)[SERVER_DATE] = Date.parse(date);
        return result;
      },
      { step: 'build', name: 'litevaultServerDate' },
    );
  }

  #url(key: string): string {
    return `${this.location}/${key}`;
  }

  async #send<T>(operation: string, key: string, command: unknown): Promise<T> {
    try {
      return (await this.#client.send(command as Parameters<S3.S3Client['send']>[0])) as T;
    } catch (err) {
      throw Object.assign(remoteError(operation, this.#url(key), err), { cause: err });
    }
  }

  async get(key: string): Promise<Buffer> {
    const found = await this.#read(key, 'read');
    if (!found) throw new LitevaultError({ message: `vault storage: no object '${key}' in '${this.location}'`, code: 'LITEVAULT_NOT_FOUND', httpStatus: 404 });
    return found.bytes;
  }

  // The object, or null when there is none. A body cut off mid-way is read again.
  async #read(key: string, operation: string): Promise<Read | null> {
    const { GetObjectCommand } = loadSdk();
    for (let attempt = 1; ; attempt++) {
      let res: S3.GetObjectCommandOutput;
      try {
        res = await this.#send(operation, key, new GetObjectCommand({ Bucket: this.#bucket, Key: this.#root + key }));
      } catch (err) {
        const cause = (err as { cause?: SdkError }).cause;
        if (status(cause) === 404 && cause?.name !== 'NoSuchBucket') return null;
        throw err;
      }
      try {
        const bytes = await collect(res.Body as AsyncIterable<Uint8Array>, res.ContentLength);
        const serverNow = (res as unknown as Record<string, unknown>)[SERVER_DATE];
        return { bytes, etag: res.ETag ?? '', lastModified: res.LastModified?.getTime(), serverNow: typeof serverNow === 'number' && !Number.isNaN(serverNow) ? serverNow : undefined };
      } catch (err) {
        if (attempt >= this.#attempts) {
          throw new LitevaultError({
            message: `vault storage: cannot ${operation} '${this.#url(key)}': the connection dropped while the object was downloading: ${(err as Error).message} (after ${attempt} attempts)`,
            code: 'LITEVAULT_REMOTE_UNAVAILABLE',
            retryable: true,
          });
        }
        await backoff(attempt);
      }
    }
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.#write(key, data, { IfNoneMatch: '*' }, 'put');
  }

  async create(key: string, data: Buffer): Promise<boolean> {
    return (await this.#writeIf(key, data, { IfNoneMatch: '*' }, 'create')) !== null;
  }

  // A conditional write: its new ETag, or null when the condition failed because of another
  // writer. A 412 for our own earlier attempt (the response lost, the request sent again) is
  // told apart by reading the object: our bytes there are our write.
  async #writeIf(key: string, data: Buffer, condition: Condition, operation: string): Promise<string | null> {
    const written = await this.#write(key, data, condition, operation);
    if (written !== null) return written;
    const found = await this.#read(key, operation);
    return found !== null && found.bytes.equals(data) ? found.etag : null;
  }

  // One upload under `condition`: the ETag, or null when the store answered 412 (or 404 for an
  // If-Match on a missing object). 409 ConditionalRequestConflict is retried with backoff.
  async #write(key: string, data: Buffer, condition: Condition, operation: string): Promise<string | null> {
    const full = this.#root + key;
    this.#writing.set(full, (this.#writing.get(full) ?? 0) + 1);
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const out = data.length >= this.#multipartBytes ? await this.#multipart(full, data, condition) : await this.#client.send(putObject(this.#bucket, full, data, condition, this.#md5Only));
          return out.ETag ?? '';
        } catch (err) {
          const s = status(err);
          if (!this.#md5Only && refusesChecksumHeaders(err)) {
            this.#md5Only = true; // and this attempt again, the old way
            attempt--;
            continue;
          }
          if (s === 412 || (s === 404 && 'IfMatch' in condition && (err as SdkError).name !== 'NoSuchBucket')) return null;
          if (s === 409 && attempt < this.#attempts) {
            await backoff(attempt);
            continue;
          }
          throw Object.assign(remoteError(operation, this.#url(key), err), { cause: err });
        }
      }
    } finally {
      const n = this.#writing.get(full)! - 1;
      if (n === 0) this.#writing.delete(full);
      else this.#writing.set(full, n);
    }
  }

  // lib-storage's Upload: parts of PART_BYTES (views of `data`, a CRC32 each), PARTS_IN_FLIGHT at
  // once, the condition on CompleteMultipartUpload; a failed upload is aborted (or, if the abort
  // fails too, left for sweep()).
  async #multipart(full: string, data: Buffer, condition: Condition): Promise<{ ETag?: string }> {
    const { Upload } = require('@aws-sdk/lib-storage') as typeof import('@aws-sdk/lib-storage');
    const upload = new Upload({
      client: this.#client,
      // A CRC32 per part; where the store refuses checksum headers, the parts' signed payloads.
      params: { Bucket: this.#bucket, Key: full, Body: data, ...(this.#md5Only ? {} : { ChecksumAlgorithm: 'CRC32' as const }), ...condition },
      partSize: this.#partBytes,
      queueSize: PARTS_IN_FLIGHT,
      leavePartsOnError: false,
    });
    return upload.done();
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const { ListObjectsV2Command } = loadSdk();
    const out: StoredObject[] = [];
    let token: string | undefined;
    do {
      const page: S3.ListObjectsV2CommandOutput = await this.#send('list', prefix, new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#root + prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const key = o.Key?.slice(this.#root.length) ?? '';
        // A key ending in '/' is a console's "folder" marker, not an object of the vault.
        if (key !== '' && !key.endsWith('/')) out.push({ key, size: o.Size ?? 0 });
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#send('delete', key, new (loadSdk().DeleteObjectCommand)({ Bucket: this.#bucket, Key: this.#root + key }));
    } catch (err) {
      const cause = (err as { cause?: SdkError }).cause;
      if (status(cause) === 404 && cause?.name !== 'NoSuchBucket') return;
      throw err;
    }
  }

  /** Aborts the multipart uploads interrupted runs left under `prefix` (those of this process's own uploads in flight excepted). */
  async sweep(prefix: string): Promise<number> {
    const { ListMultipartUploadsCommand, AbortMultipartUploadCommand } = loadSdk();
    let removed = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page: S3.ListMultipartUploadsCommandOutput = await this.#send(
        'list the multipart uploads under',
        prefix,
        new ListMultipartUploadsCommand({ Bucket: this.#bucket, Prefix: this.#root + prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
      );
      for (const u of page.Uploads ?? []) {
        if (u.Key === undefined || u.UploadId === undefined || this.#writing.has(u.Key)) continue;
        const key = u.Key.slice(this.#root.length);
        try {
          await this.#send('abort the multipart upload of', key, new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: u.Key, UploadId: u.UploadId }));
          removed++;
        } catch (err) {
          if (status((err as { cause?: unknown }).cause) !== 404) throw err; // NoSuchUpload: gone meanwhile
        }
      }
      if (page.IsTruncated !== true) return removed;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  /**
   * Takes the lease `locks/<name>.lease` by one attempt: created if there is none; taken over by
   * a conditional overwrite (If-Match its ETag) if the one there has expired by the store's
   * clock; else LITEVAULT_BACKUP_IN_PROGRESS (retryable).
   */
  async lock(name: string): Promise<StorageLock> {
    const key = `locks/${name}.lease`;
    const holder = `${os.hostname()}:${process.pid}:${randomBytes(8).toString('hex')}`;
    const body = (renewal: number): Buffer => {
      const now = Date.now();
      return Buffer.from(JSON.stringify({ holder, pid: process.pid, renewal, ttlMs: this.#leaseMs, renewedAt: new Date(now).toISOString(), expiresAt: new Date(now + this.#leaseMs).toISOString() }) + '\n');
    };
    const ops: LeaseOps = {
      write: (data: Buffer, condition: Condition) => this.#writeIf(key, data, condition, 'renew the lease'),
      own: async () => {
        const found = await this.#read(key, 'read the lease');
        return found !== null && parseLease(found.bytes)?.holder === holder ? found.etag : null;
      },
      delete: (etag: string) => this.#deleteIf(key, etag),
    };
    for (let tries = 0; tries < 2; tries++) {
      const sentAt = performance.now();
      const created = await this.#writeIf(key, body(0), { IfNoneMatch: '*' }, 'take the lease');
      if (created !== null) return new S3Lease(ops, this.#url(key), name, this.#leaseMs, created, sentAt, body);
      const found = await this.#read(key, 'read the lease');
      if (found === null) continue; // released meanwhile: one more try
      const lease = parseLease(found.bytes);
      const ttl = lease?.ttlMs ?? this.#leaseMs;
      const now = found.serverNow ?? Date.now();
      const written = found.lastModified ?? now;
      if (now - written <= ttl + CLOCK_SLACK_MS) throw this.#inProgress(name, key, lease, ttl + CLOCK_SLACK_MS - (now - written));
      // Expired: take it over, unless someone else does first.
      const takeoverAt = performance.now();
      const taken = await this.#writeIf(key, body(0), { IfMatch: found.etag }, 'take over the expired lease');
      if (taken !== null) return new S3Lease(ops, this.#url(key), name, this.#leaseMs, taken, takeoverAt, body);
      throw this.#inProgress(name, key, null, this.#leaseMs);
    }
    throw this.#inProgress(name, key, null, this.#leaseMs);
  }

  #inProgress(name: string, key: string, lease: LeaseBody | null, leftMs: number): LitevaultError {
    const by = lease ? ` by ${lease.holder}` : '';
    return new LitevaultError({
      message: `vault '${this.location}': a backup or prune of ${name} is running (its lease ${key} is held${by}; it expires in about ${Math.ceil(Math.max(leftMs, 0) / 1000)} s unless renewed)`,
      code: 'LITEVAULT_BACKUP_IN_PROGRESS',
      retryable: true,
    });
  }

  // Deletes the lease if it still has `etag`: true, or false when it has another ETag (412). A
  // missing lease counts as deleted; a store that does not implement conditional deletes (501)
  // gets a plain one: we held the lease a moment ago.
  async #deleteIf(key: string, etag: string): Promise<boolean> {
    const { DeleteObjectCommand } = loadSdk();
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#root + key, IfMatch: etag }));
    } catch (err) {
      const s = status(err);
      if (s === 412) return false;
      if (s === 404) return true;
      if (s !== 501) throw remoteError('release the lease', this.#url(key), err);
      await this.delete(key);
    }
    return true;
  }
}

type Crc32 = (data: Uint8Array) => number;
const crc32 = (zlib as { crc32?: Crc32 }).crc32;

// A single-request upload of `data`, with the checksum the store verifies before it stores it:
// its CRC32 and an unsigned payload (the SDK hashes nothing), or (md5Only: a store that refuses
// x-amz-checksum-* headers, or a Node without zlib.crc32) Content-MD5 and the SDK's signed payload.
function putObject(bucket: string, key: string, data: Buffer, condition: Condition, md5Only: boolean): S3.PutObjectCommand {
  const { PutObjectCommand } = loadSdk();
  const input: S3.PutObjectCommandInput = { Bucket: bucket, Key: key, Body: data, ContentLength: data.length, ...condition };
  if (md5Only || crc32 === undefined) return new PutObjectCommand({ ...input, ContentMD5: createHash('md5').update(data).digest('base64') });
  const sum = Buffer.alloc(4);
  sum.writeUInt32BE(crc32(data) >>> 0);
  const command = new PutObjectCommand({ ...input, ChecksumAlgorithm: 'CRC32', ChecksumCRC32: sum.toString('base64') });
  command.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'litevaultUnsignedPayload' },
  );
  return command;
}

// A store that does not implement the flexible-checksum headers: R2 answered the AWS SDK's
// 501 NotImplemented "Header 'x-amz-checksum-crc32' ... not implemented", others 400 naming
// x-amz-sdk-checksum-algorithm (aws/aws-sdk-js-v3#6810).
function refusesChecksumHeaders(err: unknown): boolean {
  const s = status(err);
  return (s === 400 || s === 501) && /x-amz-(sdk-)?checksum/i.test((err as SdkError).message ?? '');
}

// The whole body, into one Buffer of the announced length (no second copy); a short or long
// body is an error (the caller reads again).
async function collect(body: AsyncIterable<Uint8Array> | undefined, length: number | undefined): Promise<Buffer> {
  if (body === undefined) return Buffer.alloc(0);
  if (length === undefined) {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
  }
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  for await (const chunk of body) {
    if (at + chunk.length > length) throw new Error(`the body is longer than its Content-Length ${length}`);
    out.set(chunk, at);
    at += chunk.length;
  }
  if (at !== length) throw new Error(`got ${at} of ${length} bytes`);
  return out;
}

/** The lease object's JSON (docs/vault-format.md "Locks"). */
interface LeaseBody {
  holder: string;
  ttlMs: number;
}

function parseLease(bytes: Buffer): LeaseBody | null {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as Partial<LeaseBody>;
    return typeof v.holder === 'string' && Number.isInteger(v.ttlMs) && v.ttlMs! > 0 ? (v as LeaseBody) : null;
  } catch {
    return null;
  }
}

/** What a lease does through its storage: conditional writes, a read of whose it is, and the conditional delete. */
interface LeaseOps {
  /** The new ETag, or null when the condition failed (the lease has another ETag, or none). */
  write(data: Buffer, condition: Condition): Promise<string | null>;
  /** The lease's ETag if it still names this taking's holder, else null. */
  own(): Promise<string | null>;
  /** True when deleted (or gone), false when the lease has another ETag. */
  delete(etag: string): Promise<boolean>;
}

/**
 * A held lease. Renewed every ttl/3 by an unref'd timer (a conditional overwrite, If-Match the
 * ETag of our last write). It is ours for certain while less than ttl has passed since the last
 * successful write was sent: a taker waits for ttl (plus the clock slack) after the store wrote
 * it. check() renews when a third of that has gone by, and fails once the lease is lost (a
 * renewal found another holder's lease, or could not be written for a whole ttl). A renewal
 * the store wrote but whose answer never came leaves the lease under an ETag we never heard of:
 * the next renewal's If-Match fails, finds our own holder there, adopts that ETag and writes
 * again (when the store wrote the adopted one is unknown, so the certainty still counts from
 * the last write we heard of until then); release() does the same. release() deletes it if it
 * is still ours; it never throws (a lease it could not delete expires).
 */
class S3Lease implements StorageLock {
  readonly #ops: LeaseOps;
  readonly #url: string;
  readonly #name: string;
  readonly #ttl: number;
  readonly #body: (renewal: number) => Buffer;
  #etag: string;
  #writtenAt: number;
  #renewal = 0;
  #lost: LitevaultError | null = null;
  #released = false;
  #chain: Promise<void> = Promise.resolve();
  readonly #timer: NodeJS.Timeout;

  constructor(ops: LeaseOps, url: string, name: string, ttl: number, etag: string, writtenAt: number, body: (renewal: number) => Buffer) {
    this.#ops = ops;
    this.#url = url;
    this.#name = name;
    this.#ttl = ttl;
    this.#etag = etag;
    this.#writtenAt = writtenAt;
    this.#body = body;
    this.#timer = setInterval(() => void this.#renew(true).catch(() => undefined), Math.max(1, Math.floor(ttl / 3)));
    this.#timer.unref();
  }

  check(): Promise<void> {
    return this.#renew(false);
  }

  // One renewal at a time; `force` (the timer) renews whatever the age.
  #renew(force: boolean): Promise<void> {
    const run = this.#chain.then(async () => {
      if (this.#lost) throw this.#lost;
      if (this.#released) return;
      if (!force && performance.now() - this.#writtenAt < this.#ttl / 3) return;
      try {
        for (let adopted = false; ; adopted = true) {
          const sentAt = performance.now();
          const etag = await this.#ops.write(this.#body(++this.#renewal), { IfMatch: this.#etag });
          if (etag !== null) {
            this.#etag = etag;
            this.#writtenAt = sentAt;
            return;
          }
          // Another ETag: another holder's lease, or one of our renewals whose answer was lost.
          const ours = adopted ? null : await this.#ops.own();
          if (ours === null) this.#lose('another holder took it over after it expired');
          this.#etag = ours!;
        }
      } catch (err) {
        if (err !== this.#lost && performance.now() - this.#writtenAt >= this.#ttl) this.#lose(`it could not be renewed for ${this.#ttl} ms: ${(err as Error).message}`);
        throw err;
      }
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #lose(why: string): never {
    clearInterval(this.#timer);
    this.#lost = new LitevaultError({ message: `the lease on ${this.#name} (${this.#url}) was lost: ${why}; this run stops before it changes anything more`, code: 'LITEVAULT_BACKUP_IN_PROGRESS', retryable: true });
    throw this.#lost;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    await this.#chain;
    if (this.#lost) return;
    try {
      if (await this.#ops.delete(this.#etag)) return;
      const ours = await this.#ops.own(); // a renewal whose answer was lost: delete it under its ETag
      if (ours !== null) await this.#ops.delete(ours);
    } catch {
      // it expires
    }
  }
}
