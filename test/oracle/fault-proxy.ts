/**
 * A fault-injecting HTTP proxy for the remote-vault fault tests: it listens on a free 127.0.0.1
 * port, stands between the S3 client (the endpoint a test gives Vault.open) and moto_server
 * (test/oracle/moto.ts), and forwards every request, except where its plan says otherwise. Per
 * request the plan (explicit rules first, then a seeded mulberry32 draw at a given rate) picks
 * one action:
 * - 'status': answer 500 InternalError or 503 SlowDown (S3's XML error body), or 501
 *   NotImplemented naming the request's x-amz-checksum header (what Cloudflare R2 answered to
 *   the AWS SDK's checksum headers, aws/aws-sdk-js-v3#6810), without forwarding (the store never
 *   sees the request);
 * - 'status-after': forward, let the store do the work, then answer 500/503 instead of its answer;
 * - 'delay': forward after `ms` ms;
 * - 'drop-before': close the connection before forwarding anything;
 * - 'drop-after': forward, take the store's whole answer, then close the connection without a
 *   byte of it (the store did the work, the client never hears: the case a conditional create
 *   must survive);
 * - 'truncate': forward, send the answer's headers (with its full Content-Length) and only part
 *   of its body, then close the connection (an answer without a body is dropped instead).
 * Every request is recorded (method, S3 operation, key, headers, what was done, the status the
 * client got) for the test's report. Requests and answers are buffered whole: vault objects in these
 * tests are a few hundred KiB.
 *
 * Node's own http module only (no dependency); path-style requests (`/bucket/key`), as the
 * tests' clients send them. Thread safety: the test's main thread; one plan at a time.
 */
import * as http from 'node:http';
import { freePort } from './moto';
import { mulberry32 } from './random';

/** What the proxy does with one request. */
export type FaultAction =
  | { kind: 'pass' }
  | { kind: 'status'; status: 500 | 503 | 501 }
  | { kind: 'status-after'; status: 500 | 503 }
  | { kind: 'delay'; ms: number }
  | { kind: 'drop-before' }
  | { kind: 'drop-after' }
  | { kind: 'truncate'; fraction: number };

/**
 * An explicit fault: the `nth` request (1-based; a list: each of them; every one when absent)
 * of those that match `method`, `operation` and `key`. Every rule counts every request it
 * matches, whichever rule acts on it; the first rule whose count is due acts.
 */
export interface FaultRule {
  /** HTTP method, e.g. 'PUT'. */
  method?: string;
  /** S3 operation, e.g. 'PutObject', 'GetObject', 'DeleteObject', 'ListObjectsV2'. */
  operation?: string;
  /** Tested against the object key within the bucket (a listing's: its prefix). */
  key?: RegExp;
  /** Only requests that carry this header (lower-case name). */
  header?: string;
  nth?: number | number[];
  action: FaultAction;
}

/** Which faults a random draw picks, with relative weights. */
export type FaultWeights = Partial<Record<Exclude<FaultAction['kind'], 'pass'>, number>>;

export interface FaultPlan {
  /** Seed of the random draws (mulberry32); the same seed draws the same actions for the same sequence of requests. */
  seed?: number;
  /** Chance that a request no rule matched gets a random fault. Default 0. */
  rate?: number;
  /** Relative weights of the random faults. Default {@link DEFAULT_WEIGHTS}. */
  weights?: FaultWeights;
  /** Longest random delay, ms. Default 300. */
  maxDelayMs?: number;
  /**
   * Chance that a random status fault is 503 SlowDown rather than 500 InternalError. Default 0.5.
   * (The SDK backs off five times longer after a throttling answer.)
   */
  slowDown?: number;
  rules?: FaultRule[];
}

export const DEFAULT_WEIGHTS: Required<FaultWeights> = { status: 3, 'status-after': 1, delay: 2, 'drop-before': 2, 'drop-after': 2, truncate: 2 };

/** One request as the proxy saw and handled it. */
export interface ProxiedRequest {
  n: number;
  method: string;
  /** The S3 operation (the SDK's `x-id`, or what the query says: ListObjectsV2, ListMultipartUploads, ...). */
  operation: string;
  bucket: string;
  /** The object key (a listing's: its prefix). */
  key: string;
  /** The request's headers as the proxy received them (lower-case names). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The action taken, e.g. 'pass', 'status 503', 'drop-after', 'delay 120', 'truncate 57/230'. */
  action: string;
  /** The status the store answered, when the request reached it. */
  storeStatus?: number;
  /** The status the client got; undefined when its connection was closed before an answer was complete. */
  status?: number;
}

export interface FaultProxy {
  /** http://127.0.0.1:<port>, for Vault.open's `endpoint`. */
  readonly endpoint: string;
  /** Replaces the plan (and its rule counters) and starts a new log. */
  setPlan(plan: FaultPlan): void;
  /** The requests since the last setPlan(), in arrival order. */
  readonly log: readonly ProxiedRequest[];
  close(): Promise<void>;
}

const ERROR_BODY: Record<500 | 503 | 501, string> = {
  501: '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NotImplemented</Code><Message>Header \'x-amz-checksum-crc32\' with value \'...\' not implemented</Message></Error>',
  500: '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>',
  503: '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
};

/** Method, operation, bucket and key of a path-style S3 request. */
function describe(method: string, url: string): Pick<ProxiedRequest, 'method' | 'operation' | 'bucket' | 'key'> {
  const u = new URL(url, 'http://proxy');
  const [, bucket = '', ...rest] = u.pathname.split('/');
  const key = rest.map(decodeURIComponent).join('/');
  const q = u.searchParams;
  const operation =
    q.get('x-id') ??
    (q.get('list-type') === '2' ? 'ListObjectsV2' : q.has('uploads') ? (method === 'GET' ? 'ListMultipartUploads' : 'CreateMultipartUpload') : q.has('uploadId') ? (method === 'POST' ? 'CompleteMultipartUpload' : 'UploadPart') : `${method} ${key === '' ? 'bucket' : 'object'}`);
  return { method, operation, bucket: decodeURIComponent(bucket), key: key === '' ? (q.get('prefix') ?? '') : key };
}

const collect = (stream: NodeJS.ReadableStream): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });

/** Starts a proxy to `target` (moto's endpoint) with an empty plan (everything passes). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let plan: FaultPlan = {};
  let rand = mulberry32(0);
  let counts: number[] = [];
  let log: ProxiedRequest[] = [];
  let n = 0;

  const choose = (r: Pick<ProxiedRequest, 'method' | 'operation' | 'key' | 'headers'>): FaultAction => {
    let due: FaultAction | undefined;
    for (const [i, rule] of (plan.rules ?? []).entries()) {
      if ((rule.method !== undefined && rule.method !== r.method) || (rule.operation !== undefined && rule.operation !== r.operation) || (rule.key !== undefined && !rule.key.test(r.key)) || (rule.header !== undefined && r.headers[rule.header] === undefined)) continue;
      const count = (counts[i] = (counts[i] ?? 0) + 1);
      if (rule.nth === undefined || (Array.isArray(rule.nth) ? rule.nth.includes(count) : rule.nth === count)) due ??= rule.action;
    }
    if (due !== undefined) return due;
    if (rand() >= (plan.rate ?? 0)) return { kind: 'pass' };
    const weights = Object.entries(plan.weights ?? DEFAULT_WEIGHTS).filter(([, w]) => w > 0) as [Exclude<FaultAction['kind'], 'pass'>, number][];
    let x = rand() * weights.reduce((s, [, w]) => s + w, 0);
    const kind = weights.find(([, w]) => (x -= w) < 0)?.[0] ?? weights[0]![0];
    switch (kind) {
      case 'status':
      case 'status-after':
        return { kind, status: rand() < (plan.slowDown ?? 0.5) ? 503 : 500 };
      case 'delay':
        return { kind, ms: Math.round(rand() * (plan.maxDelayMs ?? 300)) };
      case 'truncate':
        return { kind, fraction: rand() };
      default:
        return { kind };
    }
  };

  // The store's answer to the request (its body buffered).
  const forward = (req: http.IncomingMessage, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers };
      delete headers.connection;
      const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent }, (answer) => {
        collect(answer).then((b) => resolve({ status: answer.statusCode!, headers: answer.headers, body: b }), reject);
      });
      up.once('error', reject);
      up.end(body);
    });

  const server = http.createServer((req, res) => {
    const record: ProxiedRequest = { n: ++n, ...describe(req.method!, req.url!), headers: req.headers, action: 'pass' };
    log.push(record);
    const action = choose(record);
    const drop = (): void => void req.socket.destroy();
    if (action.kind === 'drop-before') {
      record.action = 'drop-before';
      return drop();
    }
    if (action.kind === 'status') {
      record.action = `status ${action.status}`;
      req.resume();
      record.status = action.status;
      res.writeHead(action.status, { 'content-type': 'application/xml' });
      return void res.end(ERROR_BODY[action.status]);
    }
    void (async () => {
      const body = await collect(req);
      if (action.kind === 'delay') {
        record.action = `delay ${action.ms}`;
        await new Promise((r) => setTimeout(r, action.ms));
      }
      const answer = await forward(req, body);
      record.storeStatus = answer.status;
      if (action.kind === 'drop-after') {
        record.action = 'drop-after';
        return drop();
      }
      if (action.kind === 'status-after') {
        record.action = `status-after ${action.status}`;
        record.status = action.status;
        res.writeHead(action.status, { 'content-type': 'application/xml' });
        return void res.end(ERROR_BODY[action.status]);
      }
      const headers = { ...answer.headers };
      delete headers['transfer-encoding'];
      delete headers.connection;
      if (req.method !== 'HEAD') headers['content-length'] = String(answer.body.length);
      if (action.kind === 'truncate') {
        if (answer.body.length === 0 || req.method === 'HEAD') {
          record.action = 'truncate (no body: drop-after)';
          return drop();
        }
        const keep = Math.floor(action.fraction * answer.body.length);
        record.action = `truncate ${keep}/${answer.body.length}`;
        res.writeHead(answer.status, headers);
        res.write(answer.body.subarray(0, keep), () => drop());
        return;
      }
      record.status = answer.status;
      res.writeHead(answer.status, headers);
      res.end(answer.body);
    })().catch((err: unknown) => {
      record.action += ` (proxy failed: ${(err as Error).message})`;
      drop();
    });
  });
  // A client that closes its end while we still write is expected here.
  server.on('clientError', (_err, socket) => socket.destroy());
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    setPlan(p: FaultPlan) {
      plan = p;
      rand = mulberry32(p.seed ?? 0);
      counts = [];
      log = [];
    },
    get log() {
      return log;
    },
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
