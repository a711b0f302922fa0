// The machine and software description written at the top of RESULTS.md.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { output } = require('./proc');
const { bytes } = require('./stats');

function cpuModel() {
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const model = /^model name\s*:\s*(.*)$/m.exec(info);
    const mhz = /^cpu MHz\s*:\s*(.*)$/m.exec(info);
    return `${model ? model[1].trim() : os.cpus()[0]?.model ?? 'unknown'}${mhz ? ` (${Number(mhz[1]).toFixed(0)} MHz reported)` : ''}`;
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

function fileSha256(file) {
  try {
    return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 16);
  } catch {
    return 'unreadable';
  }
}

function disk(dir) {
  const mount = output('findmnt', ['-n', '-T', dir, '-o', 'SOURCE,FSTYPE,OPTIONS']);
  const source = mount.split(/\s+/)[0] || '';
  const dev = path.basename(source);
  const sysBlock = fs.existsSync(`/sys/class/block/${dev}`) ? `/sys/class/block/${dev}` : '';
  const read = (f) => {
    try {
      return fs.readFileSync(f, 'utf8').trim();
    } catch {
      return '';
    }
  };
  const parentDev = sysBlock && fs.existsSync(`${sysBlock}/partition`) ? path.basename(path.dirname(fs.realpathSync(sysBlock))) : dev;
  const q = `/sys/class/block/${parentDev}/queue`;
  const rotational = read(`${q}/rotational`);
  const scheduler = read(`${q}/scheduler`);
  const model = read(`/sys/class/block/${parentDev}/device/model`) || read(`/sys/class/block/${parentDev}/device/vendor`);
  const df = output('df', ['-B1', '--output=size,avail', dir]).split('\n').pop().trim().split(/\s+/).map(Number);
  return {
    mount,
    device: parentDev,
    rotational: rotational === '' ? 'unknown' : rotational === '1' ? 'rotational (as reported; virtual disks often say 1)' : 'non-rotational',
    scheduler,
    model,
    size: df[0],
    free: df[1],
  };
}

// The kernel's preemption model: with PREEMPT_NONE a long system call (a big pwrite) is not
// preempted, which shows up as event-loop delay when the loop thread shares its CPU.
function preemption() {
  const read = (f) => {
    try {
      return fs.readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  };
  const debug = read('/sys/kernel/debug/sched/preempt').trim();
  if (debug) return `${debug} (debugfs; the bracketed one is active)`;
  const cmdline = /(?:^|\s)preempt=(\S+)/.exec(read('/proc/cmdline'));
  if (cmdline) return `preempt=${cmdline[1]} (kernel command line)`;
  let config = '';
  try {
    config = require('zlib').gunzipSync(fs.readFileSync('/proc/config.gz')).toString();
  } catch {
    // no /proc/config.gz
  }
  const model = /^CONFIG_PREEMPT_(NONE|VOLUNTARY|LAZY|RT)=y$/m.exec(config) || (/^CONFIG_PREEMPT=y$/m.test(config) ? [0, 'FULL'] : null);
  const dynamic = /^CONFIG_PREEMPT_DYNAMIC=y$/m.test(config);
  const version = output('uname', ['-v']);
  if (model) return `PREEMPT_${model[1]}${dynamic ? ' (default of a PREEMPT_DYNAMIC kernel)' : ''}`;
  return version ? `unknown (uname -v: ${version})` : 'unknown';
}

// A virtio balloon with free page reporting hands freed guest memory back to the host, so new
// page-cache pages may first have to be faulted in by the hypervisor: write() bandwidth into the
// page cache then varies between runs.
function balloon() {
  try {
    for (const dev of fs.readdirSync('/sys/bus/virtio/devices')) {
      const base = `/sys/bus/virtio/devices/${dev}`;
      if (fs.readFileSync(`${base}/device`, 'utf8').trim() !== '0x0005') continue;
      const features = fs.readFileSync(`${base}/features`, 'utf8').trim();
      return `virtio-balloon present; free page reporting ${features[5] === '1' ? 'ON (freed memory returns to the host; new page-cache pages may fault in the hypervisor)' : 'off'}`;
    }
  } catch {
    // no virtio
  }
  return 'no virtio-balloon';
}

function describe({ workDir, litevault, root }) {
  const betterSqlite = (() => {
    try {
      const D = require(path.join(root, 'node_modules', 'better-sqlite3'));
      const db = new D(':memory:');
      const v = db.prepare('SELECT sqlite_version()').pluck().get();
      db.close();
      return { version: require(path.join(root, 'node_modules', 'better-sqlite3', 'package.json')).version, sqlite: v };
    } catch (err) {
      return { version: 'unavailable', sqlite: String(err.message) };
    }
  })();
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const commit = output('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
  const dirty = output('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no']);
  return {
    cpu: cpuModel(),
    nproc: output('nproc') || String(os.cpus().length),
    memory: bytes(os.totalmem()),
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    virtualization: [output('systemd-detect-virt'), output('uname', ['-v'])].filter(Boolean).join('; ') || 'unknown',
    preemption: preemption(),
    balloon: balloon(),
    disk: disk(workDir),
    workDir,
    node: process.version,
    sqlite3Shell: output('sqlite3', ['--version']).split(' ').slice(0, 2).join(' ') || 'not installed',
    betterSqlite,
    cp: output('cp', ['--version']).split('\n')[0],
    litevault: `${pkg.version}${commit ? ` at ${commit}${dirty ? ' (with uncommitted changes)' : ''}` : ''}`,
    addon: litevault ? { path: path.relative(root, litevault.path), from: litevault.from, sha256: fileSha256(litevault.path) } : null,
  };
}

module.exports = { describe, fileSha256 };
