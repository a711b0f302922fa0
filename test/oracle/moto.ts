/**
 * A real S3-protocol server for the remote-vault tests: `moto_server` (Python moto) on a free
 * 127.0.0.1 port, one per test file, started on first use and stopped (SIGTERM, then SIGKILL)
 * by {@link stopMoto} in afterAll. The test process and every child it starts talk to it with
 * dummy credentials and a region from the environment (set here), and with the machine's own
 * AWS config files hidden, so nothing outside the test decides where requests go.
 * Buckets are made with the AWS SDK itself, as a user would (aws s3 mb).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { tmpDir } from './sqlite';

/** The environment every remote-vault test (and its children) runs with. */
export const MOTO_ENV: Record<string, string> = {
  AWS_ACCESS_KEY_ID: 'litevault-test',
  AWS_SECRET_ACCESS_KEY: 'litevault-test-secret',
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

export interface Moto {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** Makes a new, empty bucket and returns its name. */
  bucket(): Promise<string>;
  /** The running server's process. */
  process: ChildProcess;
}

let running: Promise<Moto> | undefined;
let child: ChildProcess | undefined;

/** A port nothing listens on now (the kernel's choice for a socket bound to port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2000) });
    return res.status < 500;
  } catch {
    return false;
  }
}

/** The file's moto_server, started on first call (sets {@link MOTO_ENV} in process.env). */
export function moto(): Promise<Moto> {
  running ??= start();
  return running;
}

async function start(): Promise<Moto> {
  Object.assign(process.env, MOTO_ENV);
  // No ~/.aws profile, endpoint_url or region leaks into the tests.
  const home = tmpDir('litevault-moto-');
  process.env.AWS_CONFIG_FILE = path.join(home, 'config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(home, 'credentials');
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_ENDPOINT_URL;
  delete process.env.AWS_ENDPOINT_URL_S3;
  let lastError = '';
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    // Not under the sanitizer run's preloaded runtime: it is there for our addon, not for Python.
    const env = { ...process.env };
    delete env.LD_PRELOAD;
    const p = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'], env });
    child = p;
    let stderr = '';
    p.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    let gone = false;
    void exited.then(() => (gone = true));
    p.once('error', (err) => (lastError = String(err)));
    for (let i = 0; i < 300 && !gone; i++) {
      if (await answers(endpoint)) {
        const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
        const client = new S3Client({ endpoint, forcePathStyle: true, region: MOTO_ENV.AWS_REGION });
        return {
          endpoint,
          process: p,
          bucket: async () => {
            const name = `lv-${randomBytes(6).toString('hex')}`;
            await client.send(new CreateBucketCommand({ Bucket: name }));
            return name;
          },
        };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    lastError = `moto_server on port ${port} did not answer (stderr: ${stderr}) ${lastError}`;
    p.kill('SIGKILL');
    await exited;
  }
  throw new Error(`cannot start moto_server (is it installed? pip install 'moto[server]'): ${lastError}`);
}

/** Stops the file's moto_server, if one was started; for afterAll. */
export async function stopMoto(): Promise<void> {
  const p = child;
  running = undefined;
  child = undefined;
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
