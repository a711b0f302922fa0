/**
 * A real S3-protocol server for the remote-vault tests: `moto_server` (Python moto) on a free
 * 127.0.0.1 port, one per test file, started on first use and stopped (SIGTERM, then SIGKILL)
 * by {@link stopMoto} in afterAll (the process handling is moto-server.cjs's, shared with the
 * benchmark). The test process and every child it starts talk to it with dummy credentials and
 * a region from the environment (set here), and with the machine's own AWS config files hidden,
 * so nothing outside the test decides where requests go.
 * Buckets are made with the AWS SDK itself, as a user would (aws s3 mb).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpDir } from './sqlite';
import { MOTO_ENV, freePort, isolateAwsEnv, startMotoServer, stopMotoServer } from './moto-server.cjs';

export { MOTO_ENV, freePort };

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

/** The file's moto_server, started on first call (sets {@link MOTO_ENV} in process.env). */
export function moto(): Promise<Moto> {
  running ??= start();
  return running;
}

async function start(): Promise<Moto> {
  // No ~/.aws profile, endpoint_url or region leaks into the tests.
  isolateAwsEnv(tmpDir('litevault-moto-'));
  const server = (await startMotoServer()) as { endpoint: string; process: ChildProcess };
  child = server.process;
  const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({ endpoint: server.endpoint, forcePathStyle: true, region: MOTO_ENV.AWS_REGION });
  return {
    endpoint: server.endpoint,
    process: server.process,
    bucket: async () => {
      const name = `lv-${randomBytes(6).toString('hex')}`;
      await client.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
  };
}

/** Stops the file's moto_server, if one was started; for afterAll. */
export async function stopMoto(): Promise<void> {
  const p = child;
  running = undefined;
  child = undefined;
  await stopMotoServer(p);
}
