// Process helpers: timed child processes (spawned from this process, so everything runs in one
// process tree), Node children that print one JSON line, and untimed shell chores.
'use strict';
const { spawn, fork, execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `command args` and resolves to { ms, code, signal, stdout, stderr }; ms is the wall time
 * from spawn to exit as seen by this process. Killed (by its pid) after timeoutMs. With
 * stdoutTo (a path: '/dev/null', or a file to create or truncate), the child's stdout is that
 * file itself, as a shell's `> path` makes it (opened before the clock starts), and stdout is ''.
 */
function runTimed(command, args, { timeoutMs = 30 * 60 * 1000, cwd, onLine, stdoutTo } = {}) {
  return new Promise((resolve, reject) => {
    const outFd = stdoutTo ? fs.openSync(stdoutTo, 'w') : undefined;
    const started = now();
    let child;
    try {
      child = spawn(command, args, { cwd, stdio: ['ignore', outFd ?? 'pipe', 'pipe'] });
    } finally {
      if (outFd !== undefined) fs.closeSync(outFd); // the child has its own copy
    }
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
      if (!onLine) return;
      pending += d;
      let at;
      while ((at = pending.indexOf('\n')) >= 0) {
        onLine(pending.slice(0, at));
        pending = pending.slice(at + 1);
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ ms: now() - started, code, signal, stdout, stderr });
    });
  });
}

const children = path.join(__dirname, '..', 'children');

/**
 * Runs bench/children/<script> with a JSON spec; resolves to its JSON line plus parentMs.
 * onLine sees every stdout line as it arrives (node-op.js's '@start' / '@end' marks).
 */
async function runNode(script, spec, { timeoutMs = 30 * 60 * 1000, onLine } = {}) {
  const r = await runTimed(process.execPath, [path.join(children, script), JSON.stringify(spec)], { timeoutMs, onLine });
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? '';
  let out;
  try {
    out = JSON.parse(line);
  } catch {
    out = { ok: false, error: `no result from ${script} (exit ${r.code ?? r.signal}): ${r.stderr.trim().slice(-2000)}` };
  }
  if (r.code !== 0 && out.ok !== false) out = { ...out, ok: false, error: `exit ${r.code ?? r.signal}: ${r.stderr.trim().slice(-2000)}` };
  out.parentMs = r.ms;
  if (r.stderr.trim()) out.stderr = r.stderr.trim().slice(-2000);
  return out;
}

/** Forks bench/children/<script> with IPC. */
function forkNode(script, spec) {
  return fork(path.join(children, script), [JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** Waits for the next IPC message of a type from a forked child. */
function nextMessage(child, type, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for '${type}' from pid ${child.pid}`));
    }, timeoutMs);
    const onMessage = (msg) => {
      if (msg && msg.type === type) {
        cleanup();
        resolve(msg);
      }
    };
    const onExit = (code) => {
      cleanup();
      reject(new Error(`pid ${child.pid} exited (${code}) before sending '${type}'`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Output of a command, trimmed; '' when it fails (for the machine description). */
function output(command, args, options = {}) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], ...options }).trim();
  } catch {
    return '';
  }
}

/**
 * Reads a file through the page cache (untimed warm-up), like `cat file > /dev/null`; a directory:
 * every file under it (a vault, a restic repository).
 */
function warm(file) {
  const devNull = fs.openSync('/dev/null', 'w');
  try {
    if (fs.statSync(file).isDirectory()) {
      execFileSync('find', [file, '-type', 'f', '-exec', 'cat', '{}', '+'], { stdio: ['ignore', devNull, 'inherit'] });
    } else {
      execFileSync('cat', [file], { stdio: ['ignore', devNull, 'inherit'] });
    }
  } finally {
    fs.closeSync(devNull);
  }
}

/** Apparent size in bytes of a directory tree, as `du -sb` reports it (files and directories). */
function duBytes(dir) {
  if (!fs.existsSync(dir)) return 0;
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split(/\s/)[0]);
}

/** Flushes the file system holding `dir` (untimed), so one run's writeback does not hit the next. */
function syncFs(dir) {
  execFileSync('sync', ['-f', dir], { stdio: 'inherit' });
}

/**
 * Writes `bytes` of zeros to a scratch file through write() and deletes it (untimed). On a VM whose
 * balloon reports free pages to the host, memory freed a few seconds ago is given back and the
 * next page-cache pages must be faulted in by the hypervisor, making write() into the page cache
 * several times slower at random; touching fresh memory right before a run and freeing it gives
 * every competitor the same, bare-metal-like start.
 */
function prefault(dir, bytes) {
  const mib = Math.ceil(bytes / 1048576);
  if (mib <= 0) return;
  const scratch = path.join(dir, 'prefault.tmp');
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${scratch}`, 'bs=1M', `count=${mib}`, 'status=none'], { stdio: 'inherit' });
  } finally {
    fs.rmSync(scratch, { force: true });
  }
}

/** What else is using the CPUs: the busiest processes over one second (from `top`). */
function busiest(count = 3) {
  const text = output('top', ['-b', '-n', '2', '-d', '1', '-o', '%CPU', '-w', '200']);
  const frames = text.split(/^top - /m);
  const last = frames[frames.length - 1] || '';
  const lines = last.split('\n');
  const header = lines.findIndex((l) => /^\s*PID\s/.test(l));
  if (header < 0) return [];
  const cols = lines[header].trim().split(/\s+/);
  const cpuAt = cols.indexOf('%CPU');
  const cmdAt = cols.indexOf('COMMAND');
  return lines
    .slice(header + 1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > cmdAt && Number(f[cpuAt]) >= 5 && f[cmdAt] !== 'top')
    .slice(0, count)
    .map((f) => `${f[cmdAt]} ${f[cpuAt]}%`);
}

/** CPUs busy (0..nproc) over `ms`, from /proc/stat; between runs the harness itself is idle. */
async function cpusBusy(ms = 1000) {
  const read = () => {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] || 0);
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  try {
    const a = read();
    await sleep(ms);
    const b = read();
    const total = b.total - a.total;
    return total > 0 ? ((total - (b.idle - a.idle)) / total) * require('os').cpus().length : 0;
  } catch {
    return NaN;
  }
}

/** fsyncs files (untimed). */
function fsyncFiles(files) {
  for (const file of files) {
    const fd = fs.openSync(file, 'r+');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** Removes a database and its -wal, -shm and -journal. */
function removeDb(file) {
  for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(file + suffix, { force: true });
}

module.exports = { now, sleep, runTimed, runNode, forkNode, nextMessage, output, warm, duBytes, syncFs, fsyncFiles, removeDb, prefault, busiest, cpusBusy };
