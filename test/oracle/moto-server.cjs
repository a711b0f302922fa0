// moto_server (Python moto), the real S3-protocol server on loopback that the remote-vault tests
// (test/oracle/moto.ts) and the benchmark's remote section (bench/remote.js) start on a free
// 127.0.0.1 port and stop themselves. Plain CommonJS, so that both the TypeScript tests and the
// plain-Node bench load the same code. Whoever talks to the server (the caller and every child
// it starts) does so with dummy credentials and a region from the environment, with the
// machine's own AWS config files hidden (isolateAwsEnv), so nothing outside decides where
// requests go. Callers: any thread of a Node process; each started server is the caller's to stop.
'use strict';
const { spawn } = require('node:child_process');
const { createServer } = require('node:net');
const path = require('node:path');

/** The environment every client of the server (and its children) runs with. */
const MOTO_ENV = {
  AWS_ACCESS_KEY_ID: 'litevault-test',
  AWS_SECRET_ACCESS_KEY: 'litevault-test-secret',
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/** A port nothing listens on now (the kernel's choice for a socket bound to port 0). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Sets process.env for the server's clients: MOTO_ENV, the shared AWS config and credentials
 * files pointed into `home` (a directory of the caller's that holds neither), and no profile or
 * endpoint from the environment.
 */
function isolateAwsEnv(home) {
  Object.assign(process.env, MOTO_ENV);
  process.env.AWS_CONFIG_FILE = path.join(home, 'config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(home, 'credentials');
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_ENDPOINT_URL;
  delete process.env.AWS_ENDPOINT_URL_S3;
}

/** Whether the server at `endpoint` answers (its management API). */
async function answers(endpoint) {
  try {
    const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2000) });
    return res.status < 500;
  } catch {
    return false;
  }
}

/**
 * Starts moto_server on a free 127.0.0.1 port (three ports tried, up to 30 s each) and resolves
 * to { endpoint: 'http://127.0.0.1:<port>', process } once it answers; stop it with
 * stopMotoServer. Its environment is the caller's, without LD_PRELOAD (the sanitizer run's
 * preloaded runtime is there for our addon, not for Python).
 */
async function startMotoServer() {
  let lastError = '';
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const env = { ...process.env };
    delete env.LD_PRELOAD;
    const p = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    p.stderr.setEncoding('utf8').on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const exited = new Promise((resolve) => p.once('exit', () => resolve()));
    let gone = false;
    void exited.then(() => (gone = true));
    p.once('error', (err) => (lastError = String(err)));
    for (let i = 0; i < 300 && !gone; i++) {
      if (await answers(endpoint)) return { endpoint, process: p };
      await new Promise((r) => setTimeout(r, 100));
    }
    lastError = `moto_server on port ${port} did not answer (stderr: ${stderr}) ${lastError}`;
    p.kill('SIGKILL');
    await exited;
  }
  throw new Error(`cannot start moto_server (is it installed? pip install 'moto[server]'): ${lastError}`);
}

/** Stops a moto_server process started by startMotoServer: SIGTERM, then SIGKILL after 5 s. */
async function stopMotoServer(p) {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((resolve) => p.once('exit', () => resolve()));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

module.exports = { MOTO_ENV, freePort, isolateAwsEnv, startMotoServer, stopMotoServer };
