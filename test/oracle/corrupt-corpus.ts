/**
 * The corruption corpus of issue 13: databases written by REAL SQLite (better-sqlite3 and the
 * sqlite3 shell), and copies of them with one deliberate defect each, for comparing SQLite's
 * `PRAGMA integrity_check` with litevault's own structural checker.
 *
 * - Bases: one database per page size (512 .. 65536) and auto_vacuum mode (none, full,
 *   incremental), written by better-sqlite3 in two phases: rows first (that image is kept as the
 *   base's "older content", for torn pages), then churn (updates that change row sizes, scattered
 *   deletes that leave freeblocks and fragments, a deleted range and a deleted overflow row that
 *   free whole pages). Schema: a rowid table `t` with a text index and a two-column index, a
 *   table `big` of multi-page overflow rows, and a WITHOUT ROWID table `w`.
 * - Corrupt cases: a copy of a base with bytes flipped or zeroed in one structure. Where the
 *   structures are is asked of SQLite (the dbstat virtual table, sqlite_schema, the header's
 *   freelist fields); the page bytes are parsed here only to aim a mutation at a field (a cell
 *   pointer, a child pointer, a freeblock, a varint), never to judge anything.
 * - Clean cases: the bases and their older images, databases SQLite wrote under heavy churn (the
 *   shell, compiled with SECURE_DELETE, and better-sqlite3, without), after VACUUM and
 *   incremental_vacuum, in UTF-16le, in WAL mode (checkpointed and with frames left in the
 *   `-wal`), and the named corpus of test/oracle/corpus.ts (empty, one-page, reserved bytes, ...).
 *
 * Everything is seeded (test/oracle/random.ts): the same seed builds the same corpus.
 */
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { corpusSpecs, createDatabase, PAGE_SIZES } from './corpus';
import { mulberry32 } from './random';
import { SQLITE3_BIN, sqliteShell } from './sqlite';

export type AutoVacuum = 'none' | 'full' | 'incremental';

/** What a case is: a clean database, or the structure its mutation hits. */
export type CaseKind =
  | 'clean'
  | 'page-header'
  | 'cell-pointer'
  | 'cell-content'
  | 'interior-rowid'
  | 'child-pointer'
  | 'freeblock'
  | 'fragment-count'
  | 'cross-link'
  | 'overflow-chain'
  | 'freelist'
  | 'header-page-count'
  | 'torn-page'
  | 'shuffled-cells'
  | 'pointer-map'
  | 'db-header';

/** Every mutation kind, in the order the generator applies them to a base. */
export const MUTATION_KINDS: readonly Exclude<CaseKind, 'clean'>[] = [
  'page-header',
  'cell-pointer',
  'cell-content',
  'interior-rowid',
  'child-pointer',
  'freeblock',
  'fragment-count',
  'cross-link',
  'overflow-chain',
  'freelist',
  'header-page-count',
  'torn-page',
  'shuffled-cells',
  'pointer-map',
  'db-header',
];

/** One database of the corpus. */
export interface CorpusCase {
  /** Unique, also the file's base name. */
  id: string;
  kind: CaseKind;
  /** The mutation's variant (e.g. 'sibling-dup'), or for a clean case what made it. */
  variant: string;
  /** The base database the case was made from (for clean cases: the database's own name). */
  base: string;
  pageSize: number;
  autoVacuum: AutoVacuum;
  /** The database file; a `-wal` beside it belongs to the case when `wal` is true. */
  file: string;
  wal: boolean;
  /** Who wrote the bytes before any mutation. */
  writer: 'better-sqlite3' | 'sqlite3-shell';
  /** What was done, with page numbers, offsets and old/new values. */
  description: string;
}

export interface CorruptCorpusOptions {
  /** Seed of every random choice (default 13). */
  seed?: number;
  /** Leave out the named corpus of test/oracle/corpus.ts (default: included, except large-4mib). */
  withoutNamedCorpus?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Randomness

interface Rng {
  /** Integer in [0, n). */
  int(n: number): number;
  pick<T>(a: readonly T[]): T;
  shuffle<T>(a: T[]): T[];
  bytes(n: number): Buffer;
}

function rng(seed: number): Rng {
  const next = mulberry32(seed);
  const int = (n: number): number => Math.floor(next() * n);
  return {
    int,
    pick: <T>(a: readonly T[]): T => {
      if (a.length === 0) throw new Error('pick from an empty list');
      return a[int(a.length)] as T;
    },
    shuffle: <T>(a: T[]): T[] => {
      for (let i = a.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [a[i], a[j]] = [a[j] as T, a[i] as T];
      }
      return a;
    },
    bytes: (n: number): Buffer => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      return b;
    },
  };
}

/** A seed per name, so that adding a case elsewhere does not move this one's choices. */
function seedOf(seed: number, name: string): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

// ---------------------------------------------------------------------------------------------
// Aiming: where SQLite says things are, and the few page fields needed to hit them

interface PageInfo {
  pgno: number;
  /** The b-tree (table or index name) the page belongs to, per dbstat. */
  tree: string;
  kind: 'internal' | 'leaf' | 'overflow';
  ncell: number;
  /** dbstat's path: '/' root, '/000/' its first child, '/000+000001' an overflow page. */
  path: string;
}

interface BaseInfo {
  name: string;
  path: string;
  image: Buffer;
  /** The same database before the churn (older content, for torn pages). */
  old: Buffer;
  pageSize: number;
  usable: number;
  autoVacuum: AutoVacuum;
  pageCount: number;
  pages: Map<number, PageInfo>;
  roots: Map<string, number>;
  trunks: number[];
  freeLeaves: number[];
  ptrmapPages: number[];
}

interface BtreeHeader {
  hdr: number;
  type: number;
  interior: boolean;
  intKey: boolean;
  firstFreeblock: number;
  ncell: number;
  /** Cell content area start as stored (0 means 65536). */
  contentRaw: number;
  frag: number;
  right: number;
  /** Offset of the cell pointer array in the page. */
  ptrs: number;
}

function pageOf(img: Buffer, pgno: number, ps: number): Buffer {
  return img.subarray((pgno - 1) * ps, pgno * ps);
}

function btreeHeader(page: Buffer, pgno: number): BtreeHeader {
  const hdr = pgno === 1 ? 100 : 0;
  const type = page[hdr] ?? 0;
  const interior = type === 2 || type === 5;
  return {
    hdr,
    type,
    interior,
    intKey: type === 5 || type === 13,
    firstFreeblock: page.readUInt16BE(hdr + 1),
    ncell: page.readUInt16BE(hdr + 3),
    contentRaw: page.readUInt16BE(hdr + 5),
    frag: page[hdr + 7] ?? 0,
    right: interior ? page.readUInt32BE(hdr + 8) : 0,
    ptrs: hdr + (interior ? 12 : 8),
  };
}

function cellPtr(page: Buffer, h: BtreeHeader, i: number): number {
  return page.readUInt16BE(h.ptrs + 2 * i);
}

/** A varint at `off`: its value (exact below 2^53) and length. */
function getVarint(b: Buffer, off: number): { value: number; len: number } {
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const c = b[off + i] ?? 0;
    v = v * 128 + (c & 0x7f);
    if ((c & 0x80) === 0) return { value: v, len: i + 1 };
  }
  return { value: v * 256 + (b[off + 8] ?? 0), len: 9 };
}

/** Writes `value` as a varint of exactly `len` bytes (1..8), padded with 0x80 bytes; false if it does not fit. */
function putVarintFixed(b: Buffer, off: number, len: number, value: number): boolean {
  if (len < 1 || len > 8 || value < 0 || value >= 2 ** (7 * len)) return false;
  let v = value;
  for (let i = len - 1; i >= 0; i--) {
    const seven = v % 128;
    v = Math.floor(v / 128);
    b[off + i] = seven | (i === len - 1 ? 0 : 0x80);
  }
  return true;
}

interface Cell {
  off: number;
  child: number;
  /** Offset and length of the payload-size varint (none in table interior cells). */
  sizeOff: number;
  sizeLen: number;
  payload: number;
  /** Rowid (table cells) and its varint. */
  rowid: number;
  rowidOff: number;
  rowidLen: number;
  payloadOff: number;
  local: number;
  /** Offset of the first-overflow-page number, or -1. */
  ovflOff: number;
  /** Bytes of the cell in the page. */
  size: number;
}

function localSize(payload: number, usable: number, table: boolean): number {
  const maxLocal = table ? usable - 35 : Math.floor(((usable - 12) * 64) / 255) - 23;
  const minLocal = Math.floor(((usable - 12) * 32) / 255) - 23;
  if (payload <= maxLocal) return payload;
  const k = minLocal + ((payload - minLocal) % (usable - 4));
  return k <= maxLocal ? k : minLocal;
}

function parseCell(page: Buffer, h: BtreeHeader, i: number, usable: number): Cell {
  const off = cellPtr(page, h, i);
  let p = off;
  let child = 0;
  if (h.interior) {
    child = page.readUInt32BE(p);
    p += 4;
  }
  if (h.type === 5) {
    const r = getVarint(page, p);
    return { off, child, sizeOff: -1, sizeLen: 0, payload: 0, rowid: r.value, rowidOff: p, rowidLen: r.len, payloadOff: -1, local: 0, ovflOff: -1, size: 4 + r.len };
  }
  const sz = getVarint(page, p);
  const sizeOff = p;
  p += sz.len;
  let rowid = 0;
  let rowidOff = -1;
  let rowidLen = 0;
  if (h.type === 13) {
    const r = getVarint(page, p);
    rowid = r.value;
    rowidOff = p;
    rowidLen = r.len;
    p += r.len;
  }
  const local = localSize(sz.value, usable, h.type === 13);
  const ovflOff = local < sz.value ? p + local : -1;
  const size = p + local + (ovflOff >= 0 ? 4 : 0) - off;
  return { off, child, sizeOff, sizeLen: sz.len, payload: sz.value, rowid, rowidOff, rowidLen, payloadOff: p, local, ovflOff, size: Math.max(size, 4) };
}

/** Child page numbers of an interior page, the right child last. */
function children(page: Buffer, h: BtreeHeader): number[] {
  const out: number[] = [];
  for (let i = 0; i < h.ncell; i++) out.push(page.readUInt32BE(cellPtr(page, h, i)));
  out.push(h.right);
  return out;
}

function ptrmapPagesOf(pageCount: number, usable: number): number[] {
  const per = Math.floor(usable / 5);
  const out: number[] = [];
  for (let p = 2; p <= pageCount; p += per + 1) out.push(p);
  return out;
}

/** Where the pointer-map entry of `pgno` is: [ptrmap page, offset in it]. */
function ptrmapEntry(pgno: number, usable: number): [number, number] {
  const per = Math.floor(usable / 5);
  const first = 2 + Math.floor((pgno - 2) / (per + 1)) * (per + 1);
  return [first, 5 * (pgno - first - 1)];
}

function analyze(name: string, path: string, old: Buffer, autoVacuum: AutoVacuum): BaseInfo {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  let stat: Array<{ name: string; pageno: number; pagetype: string; ncell: number; path: string }>;
  let schema: Array<{ name: string; rootpage: number }>;
  let pageCount: number;
  let pageSize: number;
  try {
    stat = db.prepare('SELECT name, pageno, pagetype, ncell, path FROM dbstat ORDER BY pageno').all() as typeof stat;
    schema = db.prepare('SELECT name, rootpage FROM sqlite_schema WHERE rootpage > 0').all() as typeof schema;
    pageCount = db.pragma('page_count', { simple: true }) as number;
    pageSize = db.pragma('page_size', { simple: true }) as number;
  } finally {
    db.close();
  }
  const image = readFileSync(path);
  const usable = pageSize - (image[20] ?? 0);
  const pages = new Map<number, PageInfo>();
  for (const s of stat) {
    pages.set(s.pageno, { pgno: s.pageno, tree: s.name === 'sqlite_master' ? 'sqlite_schema' : s.name, kind: s.pagetype as PageInfo['kind'], ncell: s.ncell, path: s.path });
  }
  const roots = new Map<string, number>([['sqlite_schema', 1]]);
  for (const s of schema) roots.set(s.name, s.rootpage);
  const trunks: number[] = [];
  const freeLeaves: number[] = [];
  for (let t = image.readUInt32BE(32); t !== 0 && trunks.length < 1000; ) {
    trunks.push(t);
    const page = pageOf(image, t, pageSize);
    const n = page.readUInt32BE(4);
    for (let i = 0; i < n; i++) freeLeaves.push(page.readUInt32BE(8 + 4 * i));
    t = page.readUInt32BE(0);
  }
  if (trunks.length + freeLeaves.length !== image.readUInt32BE(36)) throw new Error(`${name}: freelist walk disagrees with header byte 36`);
  return {
    name,
    path,
    image,
    old,
    pageSize,
    usable,
    autoVacuum,
    pageCount,
    pages,
    roots,
    trunks,
    freeLeaves,
    ptrmapPages: autoVacuum === 'none' ? [] : ptrmapPagesOf(pageCount, usable),
  };
}

function pagesWhere(b: BaseInfo, f: (p: PageInfo) => boolean): PageInfo[] {
  return [...b.pages.values()].filter(f);
}

// ---------------------------------------------------------------------------------------------
// Bases

/** Deterministic text of `len` characters (letters and digits). */
function text(r: Rng, len: number): string {
  const abc = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let s = '';
  for (let i = 0; i < len; i++) s += abc[r.int(abc.length)];
  return s;
}

/**
 * Writes base `path` with better-sqlite3 and returns the image it had before the churn. Rows of
 * `t` take about a tenth of a page each (so a leaf holds ~6 and the trees have interior pages at
 * every page size; 512-byte pages get 500 rows, a 3-level tree), index keys about a 24th.
 */
function writeBase(path: string, pageSize: number, autoVacuum: AutoVacuum, seed: number, secureDelete: boolean, rows?: number, wideRange = false): Buffer {
  const r = rng(seed);
  // Fewer rows at the largest page sizes keeps their files (and the corpus) small; the trees
  // still have interior pages.
  const n = rows ?? (pageSize === 512 ? 500 : pageSize >= 16384 ? 90 : 160);
  const db = new Database(path);
  try {
    db.pragma(`page_size=${pageSize}`);
    db.pragma(`auto_vacuum=${autoVacuum}`);
    db.pragma('journal_mode=delete');
    db.pragma('synchronous=OFF');
    db.pragma(`secure_delete=${secureDelete ? 'ON' : 'OFF'}`);
    db.exec(`
      CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT NOT NULL, b BLOB, c INTEGER);
      CREATE INDEX t_a ON t(a);
      CREATE INDEX t_ca ON t(c, a);
      CREATE TABLE big(id INTEGER PRIMARY KEY, data BLOB NOT NULL);
      CREATE TABLE w(k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;
    `);
    const aLen = Math.max(8, Math.floor(pageSize / 24));
    const bLen = Math.max(24, Math.floor(pageSize / 10));
    const insT = db.prepare('INSERT INTO t(id, a, b, c) VALUES (?, ?, ?, ?)');
    const insW = db.prepare('INSERT INTO w(k, v) VALUES (?, ?)');
    const insBig = db.prepare('INSERT INTO big(id, data) VALUES (?, ?)');
    db.transaction(() => {
      for (let id = 1; id <= n; id++) {
        insT.run(id, `${String(id).padStart(5, '0')}-${text(r, aLen - 6 + r.int(4))}`, r.bytes(Math.floor(bLen * (0.7 + r.int(60) / 100))), r.int(97));
      }
      for (let i = 0; i < n / 2; i++) insW.run(`${text(r, 3)}-${String(i).padStart(5, '0')}-${text(r, Math.floor(pageSize / 20))}`, r.bytes(Math.floor(pageSize / 16)));
      [2.5, 4, 1.3, 3].forEach((f, i) => insBig.run(i + 1, r.bytes(Math.floor(pageSize * f) + 17 * i)));
    })();
  } finally {
    db.close();
  }
  const old = readFileSync(path);
  const db2 = new Database(path);
  try {
    db2.pragma('synchronous=OFF');
    db2.pragma(`secure_delete=${secureDelete ? 'ON' : 'OFF'}`);
    const upd = db2.prepare('UPDATE t SET b = ? WHERE id = ?');
    db2.transaction(() => {
      // Row sizes change: some grow (cells move, freeblocks appear), some shrink.
      for (let i = 0; i < n / 8; i++) upd.run(r.bytes(Math.floor((pageSize / 10) * (0.2 + r.int(150) / 100))), 1 + r.int(n));
      // Scattered deletes: freeblocks and fragments in the leaves.
      db2.prepare('DELETE FROM t WHERE id % 9 = 4').run();
      db2.prepare("DELETE FROM w WHERE k LIKE '%-%5-%'").run();
    })();
    db2.transaction(() => {
      // A range: whole leaves free (kept on the freelist unless auto_vacuum=full).
      db2.prepare('DELETE FROM t WHERE id BETWEEN ? AND ?').run(Math.floor(n * (wideRange ? 0.1 : 0.4)), Math.floor(n * (wideRange ? 0.9 : 0.58)));
      db2.prepare('DELETE FROM big WHERE id = 3').run();
    })();
  } finally {
    db2.close();
  }
  return old;
}

// ---------------------------------------------------------------------------------------------
// Mutations

interface Mutation {
  variant: string;
  description: string;
  apply(img: Buffer): void;
}

type Maker = (b: BaseInfo, r: Rng) => Mutation | null;

interface Ctx {
  b: BaseInfo;
  r: Rng;
}

const u16 = (v: number): string => `0x${v.toString(16).padStart(4, '0')}`;

function describePage(b: BaseInfo, pgno: number): string {
  const p = b.pages.get(pgno);
  if (p) return `page ${pgno} (${p.tree} ${p.kind}${p.path === '/' ? ', root' : ''})`;
  if (b.trunks.includes(pgno)) return `page ${pgno} (freelist trunk)`;
  if (b.freeLeaves.includes(pgno)) return `page ${pgno} (free leaf)`;
  if (b.ptrmapPages.includes(pgno)) return `page ${pgno} (pointer map)`;
  return `page ${pgno}`;
}

function btreePages(b: BaseInfo, f: (p: PageInfo) => boolean = () => true): PageInfo[] {
  return pagesWhere(b, (p) => p.kind !== 'overflow' && f(p));
}

function hdrOf(b: BaseInfo, pgno: number): { page: Buffer; h: BtreeHeader } {
  const page = pageOf(b.image, pgno, b.pageSize);
  return { page, h: btreeHeader(page, pgno) };
}

/** Writes into the page `pgno` of the mutated image. */
function at(img: Buffer, b: BaseInfo, pgno: number): Buffer {
  return pageOf(img, pgno, b.pageSize);
}

function bitlen(n: number): number {
  return Math.max(1, Math.ceil(Math.log2(n + 1)));
}

function mk(variant: string, description: string, apply: (img: Buffer) => void): Mutation {
  return { variant, description, apply };
}

function set16(b: BaseInfo, pgno: number, off: number, v: number, variant: string, what: string): Mutation {
  const old = pageOf(b.image, pgno, b.pageSize).readUInt16BE(off);
  return mk(variant, `${describePage(b, pgno)}: ${what} at offset ${off} ${u16(old)} -> ${u16(v & 0xffff)}`, (img) => at(img, b, pgno).writeUInt16BE(v & 0xffff, off));
}

function set32(b: BaseInfo, pgno: number, off: number, v: number, variant: string, what: string): Mutation {
  const old = pageOf(b.image, pgno, b.pageSize).readUInt32BE(off);
  return mk(variant, `${describePage(b, pgno)}: ${what} at offset ${off} ${old} -> ${v >>> 0}`, (img) => at(img, b, pgno).writeUInt32BE(v >>> 0, off));
}

function set8(b: BaseInfo, pgno: number, off: number, v: number, variant: string, what: string): Mutation {
  const old = pageOf(b.image, pgno, b.pageSize)[off] ?? 0;
  return mk(variant, `${describePage(b, pgno)}: ${what} at offset ${off} ${old} -> ${v & 0xff}`, (img) => {
    at(img, b, pgno)[off] = v & 0xff;
  });
}

function setVarint(b: BaseInfo, pgno: number, off: number, len: number, v: number, variant: string, what: string): Mutation | null {
  const old = getVarint(pageOf(b.image, pgno, b.pageSize), off).value;
  if (v === old) return null;
  const probe = Buffer.alloc(9);
  if (!putVarintFixed(probe, 0, len, v)) return null;
  return mk(variant, `${describePage(b, pgno)}: ${what} (${len}-byte varint at offset ${off}) ${old} -> ${v}`, (img) => {
    putVarintFixed(at(img, b, pgno), off, len, v);
  });
}

/** A page with at least `min` cells, from the trees matching `f`. */
function cellPage(c: Ctx, min: number, f: (p: PageInfo) => boolean): { pgno: number; page: Buffer; h: BtreeHeader } | null {
  const cands = btreePages(c.b, (p) => p.ncell >= min && f(p));
  if (cands.length === 0) return null;
  const pgno = c.r.pick(cands).pgno;
  return { pgno, ...hdrOf(c.b, pgno) };
}

const tableLeaf = (b: BaseInfo) => (p: PageInfo): boolean => p.tree === 't' && p.kind === 'leaf' && b.roots.get('t') !== p.pgno;

// page-header -----------------------------------------------------------------------------------
const PAGE_HEADER: Record<string, Maker> = {
  'type-bitflip': (b, r) => {
    const p = r.pick(btreePages(b));
    const { page, h } = hdrOf(b, p.pgno);
    const bit = r.int(8);
    return set8(b, p.pgno, h.hdr, h.type ^ (1 << bit), 'type-bitflip', `page type (bit ${bit} flipped)`);
  },
  'type-zero': (b, r) => {
    const p = r.pick(btreePages(b, (q) => q.pgno !== 1));
    return set8(b, p.pgno, 0, 0, 'type-zero', 'page type zeroed');
  },
  'type-swap': (b, r) => {
    // A valid page type of the other b-tree kind (table <-> index).
    const p = r.pick(btreePages(b));
    const { h } = hdrOf(b, p.pgno);
    const other: Record<number, number> = { 13: 10, 10: 13, 5: 2, 2: 5 };
    return set8(b, p.pgno, h.hdr, other[h.type] ?? 0, 'type-swap', 'page type set to the other b-tree kind');
  },
  'ncell-bitflip': (b, r) => {
    const p = r.pick(btreePages(b, (q) => q.ncell > 0));
    const { h } = hdrOf(b, p.pgno);
    const bit = r.int(3);
    return set16(b, p.pgno, h.hdr + 3, h.ncell ^ (1 << bit), 'ncell-bitflip', `cell count (bit ${bit} flipped)`);
  },
  'ncell-zero': (b, r) => {
    const p = r.pick(btreePages(b, (q) => q.ncell > 0 && q.path !== '/'));
    const { h } = hdrOf(b, p.pgno);
    return set16(b, p.pgno, h.hdr + 3, 0, 'ncell-zero', 'cell count zeroed');
  },
  'ncell-high': (b, r) => {
    const p = r.pick(btreePages(b, (q) => q.ncell > 0));
    const { h } = hdrOf(b, p.pgno);
    return set16(b, p.pgno, h.hdr + 3, h.ncell ^ 0x0100, 'ncell-high', 'cell count (bit 8 flipped)');
  },
  'content-bitflip': (b, r) => {
    const p = r.pick(btreePages(b, (q) => q.ncell > 0));
    const { h } = hdrOf(b, p.pgno);
    const bit = r.int(bitlen(b.pageSize) - 2);
    return set16(b, p.pgno, h.hdr + 5, h.contentRaw ^ (1 << bit), 'content-bitflip', `cell content area start (bit ${bit} flipped)`);
  },
  'content-zero': (b, r) => {
    const p = r.pick(btreePages(b, (q) => q.ncell > 0));
    const { h } = hdrOf(b, p.pgno);
    return set16(b, p.pgno, h.hdr + 5, 0, 'content-zero', 'cell content area start zeroed');
  },
  'freeblock-bitflip': (b, r) => {
    const withFb = btreePages(b, (q) => hdrOf(b, q.pgno).h.firstFreeblock !== 0);
    const p = r.pick(withFb.length > 0 ? withFb : btreePages(b));
    const { h } = hdrOf(b, p.pgno);
    const bit = r.int(bitlen(b.pageSize) - 1);
    return set16(b, p.pgno, h.hdr + 1, h.firstFreeblock ^ (1 << bit), 'freeblock-bitflip', `first freeblock (bit ${bit} flipped)`);
  },
  'header-zero': (b, r) => {
    const p = r.pick(btreePages(b, (q) => q.pgno !== 1));
    const { h } = hdrOf(b, p.pgno);
    const n = h.interior ? 12 : 8;
    return mk('header-zero', `${describePage(b, p.pgno)}: the ${n}-byte b-tree page header zeroed`, (img) => at(img, b, p.pgno).fill(0, 0, n));
  },
};

// cell-pointer ----------------------------------------------------------------------------------
const CELL_POINTER: Record<string, Maker> = {
  'low-bitflip': (b, r) => {
    const c = cellPage({ b, r }, 2, () => true);
    if (!c) return null;
    const i = r.int(c.h.ncell);
    const bit = r.int(8);
    return set16(b, c.pgno, c.h.ptrs + 2 * i, cellPtr(c.page, c.h, i) ^ (1 << bit), 'low-bitflip', `cell pointer ${i} (bit ${bit} flipped)`);
  },
  'high-bitflip': (b, r) => {
    const c = cellPage({ b, r }, 2, () => true);
    if (!c) return null;
    const i = r.int(c.h.ncell);
    const bit = 8 + r.int(bitlen(b.pageSize) - 9);
    return set16(b, c.pgno, c.h.ptrs + 2 * i, cellPtr(c.page, c.h, i) ^ (1 << bit), 'high-bitflip', `cell pointer ${i} (bit ${bit} flipped)`);
  },
  zero: (b, r) => {
    const c = cellPage({ b, r }, 1, () => true);
    if (!c) return null;
    const i = r.int(c.h.ncell);
    return set16(b, c.pgno, c.h.ptrs + 2 * i, 0, 'zero', `cell pointer ${i} zeroed`);
  },
  dup: (b, r) => {
    const c = cellPage({ b, r }, 2, () => true);
    if (!c) return null;
    const i = r.int(c.h.ncell);
    let j = r.int(c.h.ncell - 1);
    if (j >= i) j++;
    return set16(b, c.pgno, c.h.ptrs + 2 * i, cellPtr(c.page, c.h, j), 'dup', `cell pointer ${i} set to cell pointer ${j}'s value`);
  },
  beyond: (b, r) => {
    const c = cellPage({ b, r }, 1, () => true);
    if (!c) return null;
    const i = r.int(c.h.ncell);
    return set16(b, c.pgno, c.h.ptrs + 2 * i, b.usable - 2, 'beyond', `cell pointer ${i} set to the last 2 bytes of the usable area`);
  },
  'into-header': (b, r) => {
    const c = cellPage({ b, r }, 1, () => true);
    if (!c) return null;
    const i = r.int(c.h.ncell);
    return set16(b, c.pgno, c.h.ptrs + 2 * i, c.h.ptrs + 2 * c.h.ncell - 2, 'into-header', `cell pointer ${i} pointed into the cell pointer array`);
  },
};

// cell-content ----------------------------------------------------------------------------------
function recordHeader(page: Buffer, cell: Cell): { hsize: number; hsizeLen: number; types: Array<{ off: number; len: number; value: number }> } | null {
  if (cell.payloadOff < 0 || cell.local < 2) return null;
  const hs = getVarint(page, cell.payloadOff);
  if (hs.value > cell.local) return null;
  const types: Array<{ off: number; len: number; value: number }> = [];
  for (let p = cell.payloadOff + hs.len; p < cell.payloadOff + hs.value; ) {
    const t = getVarint(page, p);
    types.push({ off: p, len: t.len, value: t.value });
    p += t.len;
  }
  return { hsize: hs.value, hsizeLen: hs.len, types };
}

function randomCell(c: Ctx, f: (p: PageInfo) => boolean, min = 1): { pgno: number; page: Buffer; h: BtreeHeader; i: number; cell: Cell } | null {
  const cp = cellPage(c, min, f);
  if (!cp) return null;
  const i = c.r.int(cp.h.ncell);
  return { ...cp, i, cell: parseCell(cp.page, cp.h, i, c.b.usable) };
}

const CELL_CONTENT: Record<string, Maker> = {
  'payload-size': (b, r) => {
    const x = randomCell({ b, r }, (p) => p.kind === 'leaf' && (p.tree === 't' || p.tree === 'w' || p.tree === 't_a'));
    if (!x) return null;
    const bit = r.int(6);
    return setVarint(b, x.pgno, x.cell.sizeOff, x.cell.sizeLen, x.cell.payload ^ (1 << bit), 'payload-size', `cell ${x.i} payload size (bit ${bit} flipped)`);
  },
  'rowid-dup': (b, r) => {
    const x = randomCell({ b, r }, tableLeaf(b), 3);
    if (!x || x.i === 0) return null;
    const prev = parseCell(x.page, x.h, x.i - 1, b.usable);
    return setVarint(b, x.pgno, x.cell.rowidOff, x.cell.rowidLen, prev.rowid, 'rowid-dup', `cell ${x.i} rowid set to cell ${x.i - 1}'s`);
  },
  'rowid-bitflip': (b, r) => {
    const x = randomCell({ b, r }, tableLeaf(b), 2);
    if (!x) return null;
    const bit = r.int(7);
    return setVarint(b, x.pgno, x.cell.rowidOff, x.cell.rowidLen, x.cell.rowid ^ (1 << bit), 'rowid-bitflip', `cell ${x.i} rowid (bit ${bit} flipped)`);
  },
  'record-header-size': (b, r) => {
    const x = randomCell({ b, r }, (p) => p.kind === 'leaf' && (p.tree === 't' || p.tree === 'w'));
    if (!x) return null;
    const rh = recordHeader(x.page, x.cell);
    if (!rh || rh.hsizeLen !== 1) return null;
    const bit = 2 + r.int(5);
    return set8(b, x.pgno, x.cell.payloadOff, rh.hsize ^ (1 << bit), 'record-header-size', `cell ${x.i} record header size (bit ${bit} flipped)`);
  },
  'serial-type': (b, r) => {
    const x = randomCell({ b, r }, (p) => p.kind === 'leaf' && (p.tree === 't' || p.tree === 'w'));
    if (!x) return null;
    const rh = recordHeader(x.page, x.cell);
    if (!rh) return null;
    // A blob or text column's length changed by one (the record no longer adds up).
    const cands = rh.types.filter((t) => t.value >= 12);
    if (cands.length === 0) return null;
    const t = r.pick(cands);
    return setVarint(b, x.pgno, t.off, t.len, t.value + 2, 'serial-type', `cell ${x.i} record serial type (text/blob one byte longer)`);
  },
  'serial-type-int': (b, r) => {
    const x = randomCell({ b, r }, (p) => p.kind === 'leaf' && p.tree === 't');
    if (!x) return null;
    const rh = recordHeader(x.page, x.cell);
    if (!rh) return null;
    // Column a (TEXT NOT NULL) recorded as a NULL: the record's remaining columns shift.
    const t = rh.types[1];
    if (!t) return null;
    return setVarint(b, x.pgno, t.off, t.len, 0, 'serial-type-int', `cell ${x.i} record serial type of column a set to NULL`);
  },
  'index-key-byte': (b, r) => {
    const x = randomCell({ b, r }, (p) => p.kind === 'leaf' && (p.tree === 't_a' || p.tree === 't_ca'));
    if (!x) return null;
    const rh = recordHeader(x.page, x.cell);
    if (!rh) return null;
    const off = x.cell.payloadOff + rh.hsize + r.int(Math.max(1, x.cell.local - rh.hsize));
    const bit = r.int(8);
    return set8(b, x.pgno, off, (x.page[off] ?? 0) ^ (1 << bit), 'index-key-byte', `cell ${x.i} index key byte (bit ${bit} flipped)`);
  },
  'cell-zero': (b, r) => {
    const x = randomCell({ b, r }, (p) => p.kind === 'leaf' && p.tree !== 'big');
    if (!x) return null;
    return mk('cell-zero', `${describePage(b, x.pgno)}: cell ${x.i} (${x.cell.size} bytes at offset ${x.cell.off}) zeroed`, (img) => at(img, b, x.pgno).fill(0, x.cell.off, x.cell.off + x.cell.size));
  },
  'schema-rootpage': (b, r) => {
    // The rootpage column of one sqlite_schema row: a page of another tree, or beyond the file.
    const { page, h } = hdrOf(b, 1);
    if (h.interior) return null;
    const i = r.int(h.ncell);
    const cell = parseCell(page, h, i, b.usable);
    const rh = recordHeader(page, cell);
    const t = rh?.types[3];
    if (!rh || !t || t.value < 1 || t.value > 2) return null;
    let off = cell.payloadOff + rh.hsize;
    for (const ty of rh.types.slice(0, 3)) off += ty.value >= 12 ? Math.floor((ty.value - 12) / 2) : [0, 1, 2, 3, 4, 6, 8, 8, 0, 0][ty.value] ?? 0;
    if (off + t.value > cell.payloadOff + cell.local) return null;
    const old = t.value === 1 ? page[off] ?? 0 : page.readUInt16BE(off);
    const others = [...b.pages.values()].filter((p) => p.kind === 'leaf' && p.tree !== 'sqlite_schema').map((p) => p.pgno);
    const target = r.int(2) === 0 ? r.pick(others) : b.pageCount + 1 + r.int(20);
    const max = t.value === 1 ? 127 : 32767;
    if (target > max || target === old) return null;
    return mk('schema-rootpage', `page 1 (sqlite_schema): row ${i} rootpage ${old} -> ${target} (${describePage(b, target)})`, (img) => {
      if (t.value === 1) img[off] = target;
      else img.writeUInt16BE(target, off);
    });
  },
};

// interior-rowid --------------------------------------------------------------------------------
function maxRowid(b: BaseInfo, pgno: number): number {
  for (let depth = 0; depth < 10; depth++) {
    const { page, h } = hdrOf(b, pgno);
    if (h.interior) pgno = h.right;
    else return h.ncell === 0 ? -1 : parseCell(page, h, h.ncell - 1, b.usable).rowid;
  }
  return -1;
}
function minRowid(b: BaseInfo, pgno: number): number {
  for (let depth = 0; depth < 10; depth++) {
    const { page, h } = hdrOf(b, pgno);
    if (h.ncell === 0) return -1;
    const c = parseCell(page, h, 0, b.usable);
    if (h.interior) pgno = c.child;
    else return c.rowid;
  }
  return -1;
}

function interiorT(c: Ctx): { pgno: number; page: Buffer; h: BtreeHeader } | null {
  return cellPage(c, 2, (p) => p.tree === 't' && p.kind === 'internal');
}

const INTERIOR_ROWID: Record<string, Maker> = {
  'above-next': (b, r) => {
    const x = interiorT({ b, r });
    if (!x) return null;
    const i = r.int(x.h.ncell - 1);
    const c = parseCell(x.page, x.h, i, b.usable);
    const next = parseCell(x.page, x.h, i + 1, b.usable);
    return setVarint(b, x.pgno, c.rowidOff, c.rowidLen, next.rowid + 1, 'above-next', `interior cell ${i} rowid set above the next divider`);
  },
  'below-left-max': (b, r) => {
    const x = interiorT({ b, r });
    if (!x) return null;
    const i = r.int(x.h.ncell);
    const c = parseCell(x.page, x.h, i, b.usable);
    const leftMax = maxRowid(b, c.child);
    if (leftMax < 1) return null;
    return setVarint(b, x.pgno, c.rowidOff, c.rowidLen, leftMax - 1, 'below-left-max', `interior cell ${i} rowid set below the largest rowid of its left child ${c.child}`);
  },
  zero: (b, r) => {
    const x = interiorT({ b, r });
    if (!x) return null;
    const i = 1 + r.int(x.h.ncell - 1);
    const c = parseCell(x.page, x.h, i, b.usable);
    return setVarint(b, x.pgno, c.rowidOff, c.rowidLen, 0, 'zero', `interior cell ${i} rowid set to 0`);
  },
  bitflip: (b, r) => {
    const x = interiorT({ b, r });
    if (!x) return null;
    const i = r.int(x.h.ncell);
    const c = parseCell(x.page, x.h, i, b.usable);
    const bit = r.int(7);
    return setVarint(b, x.pgno, c.rowidOff, c.rowidLen, c.rowid ^ (1 << bit), 'bitflip', `interior cell ${i} rowid (bit ${bit} flipped)`);
  },
  'right-min': (b, r) => {
    // The divider raised to the smallest rowid of the subtree on its right: that row now lies
    // on the wrong side of its divider (SQLite's check bounds rowids from above only).
    const x = interiorT({ b, r });
    if (!x) return null;
    const i = r.int(x.h.ncell);
    const c = parseCell(x.page, x.h, i, b.usable);
    const rightChild = i + 1 < x.h.ncell ? parseCell(x.page, x.h, i + 1, b.usable).child : x.h.right;
    const m = minRowid(b, rightChild);
    if (m < 0) return null;
    return setVarint(b, x.pgno, c.rowidOff, c.rowidLen, m, 'right-min', `interior cell ${i} rowid raised to the smallest rowid of the next child ${rightChild}`);
  },
};

// child-pointer ---------------------------------------------------------------------------------
function interiorAny(c: Ctx): { pgno: number; page: Buffer; h: BtreeHeader } | null {
  return cellPage(c, 1, (p) => p.kind === 'internal');
}

function setChild(b: BaseInfo, x: { pgno: number; page: Buffer; h: BtreeHeader }, i: number, v: number, variant: string, what: string): Mutation {
  // i === ncell: the right child.
  if (i >= x.h.ncell) return set32(b, x.pgno, x.h.hdr + 8, v, variant, `right child ${what}`);
  return set32(b, x.pgno, cellPtr(x.page, x.h, i), v, variant, `child of cell ${i} ${what}`);
}

const CHILD_POINTER: Record<string, Maker> = {
  zero: (b, r) => {
    const x = interiorAny({ b, r });
    return x && setChild(b, x, r.int(x.h.ncell), 0, 'zero', 'zeroed');
  },
  beyond: (b, r) => {
    const x = interiorAny({ b, r });
    return x && setChild(b, x, r.int(x.h.ncell + 1), b.pageCount + 1 + r.int(50), 'beyond', 'set beyond the page count');
  },
  self: (b, r) => {
    const x = interiorAny({ b, r });
    return x && setChild(b, x, r.int(x.h.ncell + 1), x.pgno, 'self', 'set to the page itself');
  },
  page1: (b, r) => {
    const x = interiorAny({ b, r });
    return x && setChild(b, x, r.int(x.h.ncell + 1), 1, 'page1', 'set to page 1');
  },
  'other-tree': (b, r) => {
    const x = interiorAny({ b, r });
    if (!x) return null;
    const tree = b.pages.get(x.pgno)?.tree;
    const other = btreePages(b, (p) => p.kind === 'leaf' && p.tree !== tree && p.pgno !== 1);
    const t = r.pick(other);
    return setChild(b, x, r.int(x.h.ncell + 1), t.pgno, 'other-tree', `set to ${describePage(b, t.pgno)}`);
  },
  'free-or-overflow': (b, r) => {
    const x = interiorAny({ b, r });
    if (!x) return null;
    const pool = b.freeLeaves.length > 0 ? b.freeLeaves : pagesWhere(b, (p) => p.kind === 'overflow').map((p) => p.pgno);
    const t = r.pick(pool);
    return setChild(b, x, r.int(x.h.ncell + 1), t, 'free-or-overflow', `set to ${describePage(b, t)}`);
  },
  'right-zero': (b, r) => {
    const x = interiorAny({ b, r });
    return x && setChild(b, x, x.h.ncell, 0, 'right-zero', 'zeroed');
  },
  bitflip: (b, r) => {
    const x = interiorAny({ b, r });
    if (!x) return null;
    const i = r.int(x.h.ncell + 1);
    const old = children(x.page, x.h)[i] ?? 0;
    const bit = r.int(bitlen(b.pageCount));
    return setChild(b, x, i, old ^ (1 << bit), 'bitflip', `(bit ${bit} flipped)`);
  },
  depth: (b, r) => {
    // A child one level up or down: a root's child replaced by a grandchild (depth differs).
    const roots = btreePages(b, (p) => p.path === '/' && p.kind === 'internal');
    const deep = roots.filter((p) => btreePages(b, (q) => q.tree === p.tree && q.path.split('/').length > 3).length > 0);
    const root = deep.length > 0 ? r.pick(deep) : r.pick(roots);
    const x = { pgno: root.pgno, ...hdrOf(b, root.pgno) };
    const kids = children(x.page, x.h);
    const i = r.int(kids.length);
    const kid = kids[i] ?? 0;
    const k = hdrOf(b, kid);
    if (!k.h.interior) {
      // Two-level tree: the leaf child replaced by the root of another two-level tree's child.
      const other = btreePages(b, (p) => p.kind === 'internal' && p.pgno !== root.pgno);
      if (other.length === 0) return null;
      const t = r.pick(other).pgno;
      return setChild(b, x, i, t, 'depth', `set to ${describePage(b, t)} (an interior page where a leaf was)`);
    }
    const grand = children(k.page, k.h);
    const t = grand[r.int(grand.length)] ?? 0;
    return setChild(b, x, i, t, 'depth', `set to its grandchild ${t}`);
  },
};

// freeblock ----------------------------------------------------------------------------------------
function freeblockPage(c: Ctx): { pgno: number; page: Buffer; h: BtreeHeader; chain: number[] } | null {
  const cands = btreePages(c.b, (p) => hdrOf(c.b, p.pgno).h.firstFreeblock !== 0);
  if (cands.length === 0) return null;
  const pgno = c.r.pick(cands).pgno;
  const { page, h } = hdrOf(c.b, pgno);
  const chain: number[] = [];
  for (let fb = h.firstFreeblock; fb !== 0 && chain.length < 1000; fb = page.readUInt16BE(fb)) chain.push(fb);
  return { pgno, page, h, chain };
}

const FREEBLOCK: Record<string, Maker> = {
  'first-into-cell': (b, r) => {
    const x = freeblockPage({ b, r });
    if (!x || x.h.ncell === 0) return null;
    const i = r.int(x.h.ncell);
    return set16(b, x.pgno, x.h.hdr + 1, cellPtr(x.page, x.h, i), 'first-into-cell', `first freeblock pointed at cell ${i}`);
  },
  'first-zero': (b, r) => {
    const x = freeblockPage({ b, r });
    return x && set16(b, x.pgno, x.h.hdr + 1, 0, 'first-zero', 'first freeblock zeroed (the chain lost)');
  },
  'size-grow': (b, r) => {
    const x = freeblockPage({ b, r });
    if (!x) return null;
    const fb = r.pick(x.chain);
    const size = x.page.readUInt16BE(fb + 2);
    return set16(b, x.pgno, fb + 2, size + 4 + r.int(16), 'size-grow', `size of the freeblock at ${fb} grown`);
  },
  'size-shrink': (b, r) => {
    const x = freeblockPage({ b, r });
    if (!x) return null;
    const fb = r.pick(x.chain);
    const size = x.page.readUInt16BE(fb + 2);
    return set16(b, x.pgno, fb + 2, size > 4 ? size - 1 - r.int(size - 4) : 2, 'size-shrink', `size of the freeblock at ${fb} shrunk`);
  },
  'next-loop': (b, r) => {
    const x = freeblockPage({ b, r });
    if (!x) return null;
    const fb = x.chain[x.chain.length - 1] ?? 0;
    return set16(b, x.pgno, fb, x.chain[0] ?? 0, 'next-loop', `next of the last freeblock (at ${fb}) pointed back to the first`);
  },
  'next-beyond': (b, r) => {
    const x = freeblockPage({ b, r });
    if (!x) return null;
    const fb = r.pick(x.chain);
    return set16(b, x.pgno, fb, b.usable - 2, 'next-beyond', `next of the freeblock at ${fb} set to the end of the usable area`);
  },
  'next-into-cell': (b, r) => {
    const x = freeblockPage({ b, r });
    if (!x || x.h.ncell === 0) return null;
    const fb = x.chain[x.chain.length - 1] ?? 0;
    const after = Array.from({ length: x.h.ncell }, (_, i) => cellPtr(x.page, x.h, i)).filter((p) => p > fb + 4);
    if (after.length === 0) return null;
    return set16(b, x.pgno, fb, r.pick(after), 'next-into-cell', `next of the last freeblock (at ${fb}) pointed at a cell`);
  },
};

// fragment-count -------------------------------------------------------------------------------------
const FRAGMENT: Record<string, Maker> = {
  'plus-one': (b, r) => {
    const p = r.pick(btreePages(b, (q) => hdrOf(b, q.pgno).h.frag < 255));
    const { h } = hdrOf(b, p.pgno);
    return set8(b, p.pgno, h.hdr + 7, h.frag + 1, 'plus-one', 'fragmented byte count + 1');
  },
  'toggle': (b, r) => {
    const withFrag = btreePages(b, (q) => hdrOf(b, q.pgno).h.frag > 0);
    const p = r.pick(withFrag.length > 0 ? withFrag : btreePages(b));
    const { h } = hdrOf(b, p.pgno);
    return set8(b, p.pgno, h.hdr + 7, h.frag > 0 ? 0 : 3, 'toggle', h.frag > 0 ? 'fragmented byte count zeroed' : 'fragmented byte count set to 3');
  },
  max: (b, r) => {
    const p = r.pick(btreePages(b));
    const { h } = hdrOf(b, p.pgno);
    return set8(b, p.pgno, h.hdr + 7, 255, 'max', 'fragmented byte count set to 255');
  },
  bitflip: (b, r) => {
    const p = r.pick(btreePages(b));
    const { h } = hdrOf(b, p.pgno);
    const bit = r.int(6);
    return set8(b, p.pgno, h.hdr + 7, h.frag ^ (1 << bit), 'bitflip', `fragmented byte count (bit ${bit} flipped)`);
  },
};

// cross-link ---------------------------------------------------------------------------------------------
function overflowChains(b: BaseInfo): Array<{ leaf: number; cell: number; ovflOff: number; chain: number[] }> {
  const out: Array<{ leaf: number; cell: number; ovflOff: number; chain: number[] }> = [];
  for (const p of btreePages(b, (q) => q.kind === 'leaf')) {
    const { page, h } = hdrOf(b, p.pgno);
    for (let i = 0; i < h.ncell; i++) {
      const c = parseCell(page, h, i, b.usable);
      if (c.ovflOff < 0) continue;
      const chain: number[] = [];
      for (let o = page.readUInt32BE(c.ovflOff); o !== 0 && chain.length < 10000; o = pageOf(b.image, o, b.pageSize).readUInt32BE(0)) chain.push(o);
      out.push({ leaf: p.pgno, cell: i, ovflOff: c.ovflOff, chain });
    }
  }
  return out;
}

const CROSS_LINK: Record<string, Maker> = {
  'sibling-dup': (b, r) => {
    const x = cellPage({ b, r }, 1, (p) => p.kind === 'internal');
    if (!x) return null;
    const kids = children(x.page, x.h);
    const i = r.int(kids.length);
    let j = r.int(kids.length - 1);
    if (j >= i) j++;
    return setChild(b, x, i, kids[j] ?? 0, 'sibling-dup', `set to sibling child ${kids[j]} (two cells point to one page)`);
  },
  'other-parent': (b, r) => {
    // Two interior pages of the same kind of tree point to one leaf of the same type.
    const x = cellPage({ b, r }, 1, (p) => p.kind === 'internal' && p.tree !== 'sqlite_schema');
    if (!x) return null;
    const tree = b.pages.get(x.pgno)?.tree ?? '';
    const sameType = btreePages(b, (p) => p.kind === 'leaf' && p.pgno !== 1 && p.tree !== tree && hdrOf(b, p.pgno).h.type === (x.h.type | 8));
    const sameTree = btreePages(b, (p) => p.kind === 'leaf' && p.tree === tree && !children(x.page, x.h).includes(p.pgno));
    const pool = sameType.length > 0 && (sameTree.length === 0 || r.int(2) === 0) ? sameType : sameTree;
    if (pool.length === 0) return null;
    const t = r.pick(pool);
    return setChild(b, x, r.int(x.h.ncell + 1), t.pgno, 'other-parent', `set to ${describePage(b, t.pgno)}, which keeps its own parent`);
  },
  'overflow-shared': (b, r) => {
    const chains = overflowChains(b).filter((c) => c.chain.length > 0);
    if (chains.length < 2) return null;
    const [a, c] = r.shuffle([...chains]);
    if (!a || !c) return null;
    return set32(b, a.leaf, a.ovflOff, c.chain[0] ?? 0, 'overflow-shared', `cell ${a.cell}'s first overflow page set to another cell's (${c.chain[0]})`);
  },
  'overflow-into-tree': (b, r) => {
    const chains = overflowChains(b).filter((c) => c.chain.length > 0);
    if (chains.length === 0) return null;
    const c = r.pick(chains);
    const k = r.int(c.chain.length);
    const leaf = r.pick(btreePages(b, (p) => p.kind === 'leaf' && p.tree === 't')).pgno;
    return set32(b, c.chain[k] ?? 0, 0, leaf, 'overflow-into-tree', `overflow next pointer set to ${describePage(b, leaf)}`);
  },
  'root-shared': (b, r) => {
    // A child pointer to another tree's root page.
    const x = cellPage({ b, r }, 1, (p) => p.kind === 'internal');
    if (!x) return null;
    const tree = b.pages.get(x.pgno)?.tree;
    const roots = [...b.roots.entries()].filter(([n, pg]) => n !== tree && pg !== 1).map(([, pg]) => pg);
    const t = r.pick(roots);
    return setChild(b, x, r.int(x.h.ncell + 1), t, 'root-shared', `set to ${describePage(b, t)}`);
  },
};

// overflow-chain ---------------------------------------------------------------------------------------
function longChain(c: Ctx, min = 2): ReturnType<typeof overflowChains>[number] | null {
  const chains = overflowChains(c.b).filter((x) => x.chain.length >= min);
  return chains.length === 0 ? null : c.r.pick(chains);
}

const OVERFLOW: Record<string, Maker> = {
  'next-zero': (b, r) => {
    const c = longChain({ b, r });
    if (!c) return null;
    const k = r.int(c.chain.length - 1);
    return set32(b, c.chain[k] ?? 0, 0, 0, 'next-zero', `overflow page ${k + 1} of ${c.chain.length}: next pointer zeroed (chain truncated)`);
  },
  'next-beyond': (b, r) => {
    const c = longChain({ b, r });
    if (!c) return null;
    const k = r.int(c.chain.length - 1);
    return set32(b, c.chain[k] ?? 0, 0, b.pageCount + 1 + r.int(30), 'next-beyond', `overflow page ${k + 1} of ${c.chain.length}: next pointer set beyond the page count`);
  },
  'next-free': (b, r) => {
    const c = longChain({ b, r });
    if (!c) return null;
    const k = r.int(c.chain.length - 1);
    const pool = b.freeLeaves.length > 0 ? b.freeLeaves : btreePages(b, (p) => p.kind === 'leaf' && p.tree === 't_a').map((p) => p.pgno);
    const t = r.pick(pool);
    return set32(b, c.chain[k] ?? 0, 0, t, 'next-free', `overflow page ${k + 1} of ${c.chain.length}: next pointer set to ${describePage(b, t)}`);
  },
  'next-self': (b, r) => {
    const c = longChain({ b, r });
    if (!c) return null;
    const k = r.int(c.chain.length);
    return set32(b, c.chain[k] ?? 0, 0, c.chain[k] ?? 0, 'next-self', `overflow page ${k + 1} of ${c.chain.length}: next pointer set to itself`);
  },
  'last-extended': (b, r) => {
    const c = longChain({ b, r }, 1);
    if (!c) return null;
    const last = c.chain[c.chain.length - 1] ?? 0;
    const pool = b.freeLeaves.length > 0 ? b.freeLeaves : pagesWhere(b, (p) => p.kind === 'overflow' && !c.chain.includes(p.pgno)).map((p) => p.pgno);
    if (pool.length === 0) return null;
    const t = r.pick(pool);
    return set32(b, last, 0, t, 'last-extended', `last overflow page's next pointer (0) set to ${describePage(b, t)}`);
  },
  'first-zero': (b, r) => {
    const c = longChain({ b, r }, 1);
    return c && set32(b, c.leaf, c.ovflOff, 0, 'first-zero', `cell ${c.cell}: first overflow page number zeroed`);
  },
  'skip-one': (b, r) => {
    const c = longChain({ b, r }, 3);
    if (!c) return null;
    const k = r.int(c.chain.length - 2);
    return set32(b, c.chain[k] ?? 0, 0, c.chain[k + 2] ?? 0, 'skip-one', `overflow page ${k + 1} of ${c.chain.length}: next pointer skips one page`);
  },
  'payload-grown': (b, r) => {
    const c = longChain({ b, r }, 1);
    if (!c) return null;
    const { page, h } = hdrOf(b, c.leaf);
    const cell = parseCell(page, h, c.cell, b.usable);
    return setVarint(b, c.leaf, cell.sizeOff, cell.sizeLen, cell.payload + (b.usable - 4), 'payload-grown', `cell ${c.cell}: payload size one overflow page larger than the chain`);
  },
};

// freelist -----------------------------------------------------------------------------------------------
const usedLeaf = (b: BaseInfo, r: Rng): number => r.pick(btreePages(b, (p) => p.kind === 'leaf' && p.pgno !== 1)).pgno;

const FREELIST: Record<string, Maker> = {
  'trunk-next-used': (b, r) => {
    if (b.trunks.length === 0) return null;
    const t = r.pick(b.trunks);
    const u = usedLeaf(b, r);
    return set32(b, t, 0, u, 'trunk-next-used', `next trunk pointer set to ${describePage(b, u)}`);
  },
  'trunk-next-beyond': (b, r) => {
    const t = b.trunks.length === 0 ? undefined : r.pick(b.trunks);
    return t === undefined ? null : set32(b, t, 0, b.pageCount + 1 + r.int(40), 'trunk-next-beyond', 'next trunk pointer set beyond the page count');
  },
  'trunk-next-self': (b, r) => {
    const t = b.trunks.length === 0 ? undefined : r.pick(b.trunks);
    return t === undefined ? null : set32(b, t, 0, t, 'trunk-next-self', 'next trunk pointer set to the trunk itself');
  },
  'trunk-next-zero': (b, r) => {
    if (b.trunks.length < 2) return null;
    const i = r.int(b.trunks.length - 1);
    return set32(b, b.trunks[i] ?? 0, 0, 0, 'trunk-next-zero', `next trunk pointer of trunk ${i + 1} of ${b.trunks.length} zeroed (the trunks after it lost)`);
  },
  'trunk-next-skip': (b, r) => {
    if (b.trunks.length < 3) return null;
    const i = r.int(b.trunks.length - 2);
    return set32(b, b.trunks[i] ?? 0, 0, b.trunks[i + 2] ?? 0, 'trunk-next-skip', `next trunk pointer of trunk ${i + 1} of ${b.trunks.length} skips one trunk`);
  },
  'leaf-count-plus': (b) => {
    const t = b.trunks[0];
    if (t === undefined) return null;
    const n = pageOf(b.image, t, b.pageSize).readUInt32BE(4);
    return set32(b, t, 4, n + 1, 'leaf-count-plus', 'leaf count + 1');
  },
  'leaf-count-minus': (b) => {
    const t = b.trunks[0];
    if (t === undefined) return null;
    const n = pageOf(b.image, t, b.pageSize).readUInt32BE(4);
    return n === 0 ? null : set32(b, t, 4, n - 1, 'leaf-count-minus', 'leaf count - 1 (the last leaf dropped)');
  },
  'leaf-count-huge': (b) => {
    const t = b.trunks[0];
    return t === undefined ? null : set32(b, t, 4, Math.floor(b.usable / 4) - 1, 'leaf-count-huge', 'leaf count set beyond what a trunk holds');
  },
  'leaf-used': (b, r) => {
    const t = b.trunks[0];
    if (t === undefined || b.freeLeaves.length === 0) return null;
    const n = Math.min(pageOf(b.image, t, b.pageSize).readUInt32BE(4), b.freeLeaves.length);
    const u = usedLeaf(b, r);
    return set32(b, t, 8 + 4 * r.int(n), u, 'leaf-used', `a free leaf number set to ${describePage(b, u)}`);
  },
  'leaf-zero': (b, r) => {
    const t = b.trunks[0];
    if (t === undefined || b.freeLeaves.length === 0) return null;
    const n = Math.min(pageOf(b.image, t, b.pageSize).readUInt32BE(4), b.freeLeaves.length);
    return set32(b, t, 8 + 4 * r.int(n), 0, 'leaf-zero', 'a free leaf number zeroed');
  },
  'leaf-beyond': (b, r) => {
    const t = b.trunks[0];
    if (t === undefined || b.freeLeaves.length === 0) return null;
    const n = Math.min(pageOf(b.image, t, b.pageSize).readUInt32BE(4), b.freeLeaves.length);
    return set32(b, t, 8 + 4 * r.int(n), b.pageCount + 1 + r.int(9), 'leaf-beyond', 'a free leaf number set beyond the page count');
  },
  'leaf-dup': (b, r) => {
    const t = b.trunks[0];
    if (t === undefined || b.freeLeaves.length < 2) return null;
    const n = Math.min(pageOf(b.image, t, b.pageSize).readUInt32BE(4), b.freeLeaves.length);
    const i = r.int(n);
    const j = (i + 1 + r.int(n - 1)) % n;
    return set32(b, t, 8 + 4 * i, b.freeLeaves[j] ?? 0, 'leaf-dup', `free leaf ${i} set to free leaf ${j}'s number`);
  },
  'header-count': (b, r) => {
    if (b.trunks.length === 0) return null;
    const n = b.image.readUInt32BE(36);
    const v = r.int(2) === 0 ? n + 1 : n - 1;
    return mk('header-count', `header byte 36 (freelist page count) ${n} -> ${v}`, (img) => img.writeUInt32BE(v, 36));
  },
  'header-trunk-zero': (b) => {
    if (b.trunks.length === 0) return null;
    return mk('header-trunk-zero', `header byte 32 (first trunk) ${b.trunks[0]} -> 0 (the free pages lost)`, (img) => img.writeUInt32BE(0, 32));
  },
  'header-trunk-used': (b, r) => {
    if (b.trunks.length === 0) return null;
    const u = usedLeaf(b, r);
    return mk('header-trunk-used', `header byte 32 (first trunk) ${b.trunks[0]} -> ${describePage(b, u)}`, (img) => img.writeUInt32BE(u, 32));
  },
};

// header-page-count ------------------------------------------------------------------------------------
function pageCountTo(b: BaseInfo, v: number, variant: string): Mutation | null {
  if (v < 1 || v === b.pageCount) return null;
  return mk(variant, `header byte 28 (page count) ${b.pageCount} -> ${v}, bytes 92..95 (version-valid-for) set equal to 24..27 so SQLite trusts it; file has ${b.pageCount} pages`, (img) => {
    img.writeUInt32BE(v, 28);
    img.copy(img, 92, 24, 28);
  });
}

const PAGE_COUNT: Record<string, Maker> = {
  'smaller-1': (b) => pageCountTo(b, b.pageCount - 1, 'smaller-1'),
  'smaller-half': (b) => pageCountTo(b, Math.max(2, Math.floor(b.pageCount / 2)), 'smaller-half'),
  'larger-1': (b) => pageCountTo(b, b.pageCount + 1, 'larger-1'),
  'larger-many': (b, r) => pageCountTo(b, b.pageCount + 10 + r.int(1000), 'larger-many'),
  'smaller-random': (b, r) => pageCountTo(b, 2 + r.int(b.pageCount - 2), 'smaller-random'),
};

// torn-page -----------------------------------------------------------------------------------------------
/** Pages whose second half holds live bytes: b-tree pages, and trunks or pointer maps that long. */
function tornTargets(b: BaseInfo): number[] {
  const pages = btreePages(b).map((p) => p.pgno);
  const half = b.pageSize / 2;
  const trunks = b.trunks.filter((t) => 8 + 4 * pageOf(b.image, t, b.pageSize).readUInt32BE(4) > half);
  const ptrmaps = b.ptrmapPages.filter((pm) => 5 * Math.min(b.pageCount - pm, Math.floor(b.usable / 5)) > half);
  return [...pages, ...trunks, ...ptrmaps];
}

const TORN: Record<string, Maker> = {
  zeros: (b, r) => {
    const cands = tornTargets(b).filter((p) => pageOf(b.image, p, b.pageSize).subarray(b.pageSize / 2).some((x) => x !== 0));
    if (cands.length === 0) return null;
    const p = r.pick(cands);
    return mk('zeros', `${describePage(b, p)}: second half (${b.pageSize / 2} bytes) zeroed`, (img) => at(img, b, p).fill(0, b.pageSize / 2));
  },
  old: (b, r) => {
    const oldPages = Math.floor(b.old.length / b.pageSize);
    const cands = tornTargets(b).filter((p) => p <= oldPages && !pageOf(b.old, p, b.pageSize).subarray(b.pageSize / 2).equals(pageOf(b.image, p, b.pageSize).subarray(b.pageSize / 2)));
    if (cands.length === 0) return null;
    const p = r.pick(cands);
    return mk('old', `${describePage(b, p)}: second half replaced by the same page's older content (before the churn)`, (img) => {
      pageOf(b.old, p, b.pageSize).copy(at(img, b, p), b.pageSize / 2, b.pageSize / 2);
    });
  },
};

// shuffled-cells ------------------------------------------------------------------------------------------
function permuteCells(b: BaseInfo, r: Rng, variant: string, f: (p: PageInfo) => boolean, how: (n: number, r: Rng) => number[]): Mutation | null {
  const x = cellPage({ b, r }, 3, f);
  if (!x) return null;
  const perm = how(x.h.ncell, r);
  if (perm.every((v, i) => v === i)) return null;
  const ptrs = Array.from({ length: x.h.ncell }, (_, i) => cellPtr(x.page, x.h, i));
  return mk(variant, `${describePage(b, x.pgno)}: cell pointer array (${x.h.ncell} cells) permuted as [${perm.slice(0, 12).join(',')}${perm.length > 12 ? ',...' : ''}]`, (img) => {
    const page = at(img, b, x.pgno);
    perm.forEach((from, i) => page.writeUInt16BE(ptrs[from] ?? 0, x.h.ptrs + 2 * i));
  });
}

const SHUFFLE: Record<string, Maker> = {
  'swap-adjacent': (b, r) =>
    permuteCells(b, r, 'swap-adjacent', tableLeaf(b), (n, rr) => {
      const p = Array.from({ length: n }, (_, i) => i);
      const i = rr.int(n - 1);
      [p[i], p[i + 1]] = [p[i + 1] ?? 0, p[i] ?? 0];
      return p;
    }),
  reverse: (b, r) => permuteCells(b, r, 'reverse', tableLeaf(b), (n) => Array.from({ length: n }, (_, i) => n - 1 - i)),
  random: (b, r) => permuteCells(b, r, 'random', tableLeaf(b), (n, rr) => rr.shuffle(Array.from({ length: n }, (_, i) => i))),
  rotate: (b, r) => permuteCells(b, r, 'rotate', tableLeaf(b), (n) => Array.from({ length: n }, (_, i) => (i + 1) % n)),
  'interior-table': (b, r) => permuteCells(b, r, 'interior-table', (p) => p.tree === 't' && p.kind === 'internal', (n, rr) => rr.shuffle(Array.from({ length: n }, (_, i) => i))),
  'index-leaf': (b, r) => permuteCells(b, r, 'index-leaf', (p) => (p.tree === 't_a' || p.tree === 'w') && p.kind === 'leaf', (n, rr) => rr.shuffle(Array.from({ length: n }, (_, i) => i))),
};

// pointer-map ---------------------------------------------------------------------------------------------
function ptrmapOf(b: BaseInfo, pgno: number): { pm: number; off: number; type: number; parent: number } {
  const [pm, off] = ptrmapEntry(pgno, b.usable);
  const page = pageOf(b.image, pm, b.pageSize);
  return { pm, off, type: page[off] ?? 0, parent: page.readUInt32BE(off + 1) };
}

function ptrmapTarget(b: BaseInfo, r: Rng, f: (p: PageInfo) => boolean = () => true): number | null {
  const cands = [...b.pages.values()].filter((p) => p.pgno !== 1 && f(p)).map((p) => p.pgno);
  return cands.length === 0 ? null : r.pick(cands);
}

const POINTER_MAP: Record<string, Maker> = {
  'type-changed': (b, r) => {
    const p = ptrmapTarget(b, r);
    if (p === null) return null;
    const e = ptrmapOf(b, p);
    const v = r.pick([1, 2, 3, 4, 5].filter((t) => t !== e.type));
    return set8(b, e.pm, e.off, v, 'type-changed', `pointer-map entry of ${describePage(b, p)}: type`);
  },
  'parent-changed': (b, r) => {
    const p = ptrmapTarget(b, r, (q) => q.path !== '/');
    if (p === null) return null;
    const e = ptrmapOf(b, p);
    const others = [...b.pages.values()].filter((q) => q.kind === 'internal' && q.pgno !== e.parent).map((q) => q.pgno);
    const v = others.length > 0 ? r.pick(others) : e.parent + 1;
    return set32(b, e.pm, e.off + 1, v, 'parent-changed', `pointer-map entry of ${describePage(b, p)}: parent`);
  },
  'root-parent': (b, r) => {
    const roots = [...b.roots.values()].filter((p) => p !== 1);
    const p = r.pick(roots);
    const e = ptrmapOf(b, p);
    return set32(b, e.pm, e.off + 1, 1 + r.int(b.pageCount), 'root-parent', `pointer-map entry of root ${describePage(b, p)}: parent (must be 0)`);
  },
  'entry-zero': (b, r) => {
    const p = ptrmapTarget(b, r);
    if (p === null) return null;
    const e = ptrmapOf(b, p);
    return mk('entry-zero', `pointer-map page ${e.pm}: entry of ${describePage(b, p)} (type ${e.type}, parent ${e.parent}) zeroed`, (img) => at(img, b, e.pm).fill(0, e.off, e.off + 5));
  },
  'largest-root-zero': (b) =>
    mk('largest-root-zero', `header bytes 52..55 (largest root page, nonzero in auto_vacuum) ${b.image.readUInt32BE(52)} -> 0`, (img) => img.writeUInt32BE(0, 52)),
  'overflow-type': (b, r) => {
    const p = ptrmapTarget(b, r, (q) => q.kind === 'overflow');
    if (p === null) return null;
    const e = ptrmapOf(b, p);
    return set8(b, e.pm, e.off, e.type === 3 ? 4 : 3, 'overflow-type', `pointer-map entry of ${describePage(b, p)}: overflow type 3 <-> 4`);
  },
  'page-zero': (b) => {
    const pm = b.ptrmapPages[0];
    return pm === undefined ? null : mk('page-zero', `pointer-map page ${pm} zeroed`, (img) => at(img, b, pm).fill(0));
  },
  'free-entry': (b, r) => {
    if (b.freeLeaves.length + b.trunks.length === 0) return null;
    const p = r.pick([...b.trunks, ...b.freeLeaves]);
    const e = ptrmapOf(b, p);
    return mk('free-entry', `pointer-map entry of ${describePage(b, p)}: type ${e.type} -> 5 (b-tree), parent -> 2`, (img) => {
      const page = at(img, b, e.pm);
      page[e.off] = 5;
      page.writeUInt32BE(2, e.off + 1);
    });
  },
};

// db-header ------------------------------------------------------------------------------------------------
const DB_HEADER: Record<string, Maker> = {
  magic: (b, r) => {
    const i = r.int(16);
    const bit = r.int(8);
    return mk('magic', `header magic byte ${i} (bit ${bit} flipped)`, (img) => {
      img[i] = (img[i] ?? 0) ^ (1 << bit);
    });
  },
  'page-size-invalid': (b) => mk('page-size-invalid', 'header bytes 16..17 (page size) set to 768 (not a power of two)', (img) => img.writeUInt16BE(768, 16)),
  'page-size-other': (b) => {
    const v = b.pageSize === 512 ? 1024 : b.pageSize / 2;
    return mk('page-size-other', `header bytes 16..17 (page size) ${b.pageSize} -> ${v}`, (img) => img.writeUInt16BE(v === 65536 ? 1 : v, 16));
  },
  reserved: (b) => mk('reserved', 'header byte 20 (reserved bytes per page) 0 -> 32', (img) => {
    img[20] = 32;
  }),
  'payload-fraction': (b) => mk('payload-fraction', 'header byte 21 (max embedded payload fraction) 64 -> 63', (img) => {
    img[21] = 63;
  }),
};

const MAKERS: Record<Exclude<CaseKind, 'clean'>, { perBase: (b: BaseInfo) => number; variants: Record<string, Maker> }> = {
  'page-header': { perBase: () => 2, variants: PAGE_HEADER },
  'cell-pointer': { perBase: () => 2, variants: CELL_POINTER },
  'cell-content': { perBase: () => 2, variants: CELL_CONTENT },
  'interior-rowid': { perBase: () => 1, variants: INTERIOR_ROWID },
  'child-pointer': { perBase: () => 2, variants: CHILD_POINTER },
  freeblock: { perBase: () => 1, variants: FREEBLOCK },
  'fragment-count': { perBase: () => 1, variants: FRAGMENT },
  'cross-link': { perBase: () => 1, variants: CROSS_LINK },
  'overflow-chain': { perBase: () => 1, variants: OVERFLOW },
  // Every freelist variant on the base whose freelist has several trunks.
  freelist: { perBase: (b) => (b.trunks.length > 1 ? Object.keys(FREELIST).length : b.trunks.length > 0 ? 2 : 0), variants: FREELIST },
  'header-page-count': { perBase: () => 1, variants: PAGE_COUNT },
  'torn-page': { perBase: () => 2, variants: TORN },
  'shuffled-cells': { perBase: () => 1, variants: SHUFFLE },
  'pointer-map': { perBase: (b) => (b.autoVacuum === 'none' ? 0 : 2), variants: POINTER_MAP },
  'db-header': { perBase: () => 1, variants: DB_HEADER },
};

// ---------------------------------------------------------------------------------------------
// Clean databases under heavy churn

const WORDS = ['alpha', 'Beta', 'gamma', 'δέλτα', 'épsilon', 'Zeta', 'straße', '漢字', 'テキスト', 'emoji🙂', 'naïve', 'ÆØÅ', 'ok'];

function sqlText(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Hex literal for small blobs; zeroblob() for the big ones (keeps the script small). */
function sqlBlob(r: Rng, n: number): string {
  return n <= 2048 ? `X'${r.bytes(n).toString('hex')}'` : `zeroblob(${n})`;
}

/**
 * SQL for a heavy churn, the same text for the shell and better-sqlite3: rows of varied sizes
 * (overflow blobs and overflowing index keys included), updates that change sizes, deletes of
 * single rows and ranges, over a rowid table with five indexes (multi-column, DESC, partial,
 * expression, unique) and two WITHOUT ROWID tables (one with a NOCASE key and a secondary index).
 */
function churnSql(r: Rng, pageSize: number, txns: number, state = { nextId: 1, kvN: 0, t0: 0 }): string {
  const out: string[] = [
    'CREATE TABLE IF NOT EXISTS items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, cat INTEGER, price REAL, body BLOB, note TEXT);',
    'CREATE INDEX IF NOT EXISTS items_name ON items(name);',
    'CREATE INDEX IF NOT EXISTS items_cat_price ON items(cat, price DESC);',
    'CREATE INDEX IF NOT EXISTS items_note ON items(note) WHERE note IS NOT NULL;',
    'CREATE INDEX IF NOT EXISTS items_len ON items(length(body));',
    'CREATE UNIQUE INDEX IF NOT EXISTS items_cat_name_id ON items(cat, name, id);',
    'CREATE TABLE IF NOT EXISTS kv(k TEXT NOT NULL, n INTEGER NOT NULL, v BLOB, PRIMARY KEY(k, n)) WITHOUT ROWID;',
    'CREATE INDEX IF NOT EXISTS kv_nv ON kv(n, v);',
    'CREATE TABLE IF NOT EXISTS words(w TEXT PRIMARY KEY COLLATE NOCASE, freq INTEGER) WITHOUT ROWID;',
    'CREATE TABLE IF NOT EXISTS log(ts INTEGER, msg TEXT);',
  ];
  const bodySize = (): number => {
    const x = r.int(100);
    if (x < 60) return r.int(200);
    if (x < 88) return r.int(Math.max(64, pageSize >> 1));
    return pageSize + r.int(pageSize * 3);
  };
  const name = (): string => {
    const x = r.int(100);
    const base = `${r.pick(WORDS)}-${text(r, 1 + r.int(12))}`;
    // Some keys longer than an index page's local payload: index overflow chains.
    return x < 6 ? base + text(r, Math.floor(pageSize / 3) + r.int(pageSize)) : base;
  };
  let { nextId, kvN } = state;
  for (let t = state.t0; t < state.t0 + txns; t++) {
    out.push('BEGIN;');
    const ops = 20 + r.int(30);
    for (let o = 0; o < ops; o++) {
      const x = r.int(100);
      if (x < 40 || nextId < 20) {
        const note = r.int(3) === 0 ? 'NULL' : sqlText(`${r.pick(WORDS)} ${text(r, r.int(40))}`);
        out.push(`INSERT INTO items(id, name, cat, price, body, note) VALUES (${nextId++}, ${sqlText(name())}, ${r.int(20)}, ${(r.int(100000) / 100).toFixed(2)}, ${sqlBlob(r, bodySize())}, ${note});`);
      } else if (x < 55) {
        out.push(`UPDATE items SET body = ${sqlBlob(r, bodySize())}, price = price + 1 WHERE id = ${1 + r.int(nextId)};`);
      } else if (x < 62) {
        out.push(`UPDATE items SET name = ${sqlText(name())} WHERE id = ${1 + r.int(nextId)};`);
      } else if (x < 72) {
        out.push(`DELETE FROM items WHERE id = ${1 + r.int(nextId)};`);
      } else if (x < 74) {
        const a = 1 + r.int(nextId);
        out.push(`DELETE FROM items WHERE id BETWEEN ${a} AND ${a + 5 + r.int(40)};`);
      } else if (x < 84) {
        out.push(`INSERT OR REPLACE INTO kv(k, n, v) VALUES (${sqlText(`${r.pick(WORDS)}/${text(r, 1 + r.int(20))}`)}, ${kvN++ % 50}, ${sqlBlob(r, r.int(100) < 90 ? r.int(300) : pageSize + r.int(pageSize))});`);
      } else if (x < 88) {
        out.push(`DELETE FROM kv WHERE n = ${r.int(50)} AND k < ${sqlText(text(r, 2))};`);
      } else if (x < 94) {
        out.push(`INSERT INTO words(w, freq) VALUES (${sqlText(`${r.pick(WORDS)}${text(r, 1 + r.int(6))}`)}, 1) ON CONFLICT(w) DO UPDATE SET freq = freq + 1;`);
      } else if (x < 98) {
        out.push(`INSERT INTO log(ts, msg) VALUES (${t * 1000 + o}, ${sqlText(text(r, r.int(300)))});`);
      } else {
        out.push(`DELETE FROM log WHERE ts < ${t * 1000 - 3000};`);
      }
    }
    out.push('COMMIT;');
  }
  Object.assign(state, { nextId, kvN, t0: state.t0 + txns });
  return out.join('\n') + '\n';
}

/**
 * SQL for a database that uses what the schema allows beyond plain tables: AUTOINCREMENT
 * (sqlite_sequence), a STRICT table, generated columns (virtual and stored, one indexed), every
 * record serial type, NOCASE/RTRIM collations and DESC index columns, a WITHOUT ROWID table with
 * overflowing rows, a view, a trigger, FTS5 and R-tree virtual tables (their shadow tables),
 * 40 tables whose CREATE statements overflow small pages, one of 1200 columns (its record header
 * alone is longer than a small page), ALTER TABLE ADD/RENAME/DROP COLUMN (rows shorter than the
 * schema), dropped tables (auto_vacuum moves root pages), and ANALYZE.
 */
function featureSql(r: Rng, pageSize: number): string {
  const out: string[] = [
    'CREATE TABLE seq(id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);',
    'CREATE TABLE audit(at INTEGER, what TEXT);',
    "CREATE TRIGGER seq_audit AFTER INSERT ON seq BEGIN INSERT INTO audit VALUES (new.id, 'insert ' || new.v); END;",
    'CREATE TABLE strict_t(id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB, a ANY) STRICT;',
    "CREATE TABLE gen(a INTEGER, b INTEGER, c INTEGER GENERATED ALWAYS AS (a * b) VIRTUAL, d TEXT GENERATED ALWAYS AS (printf('%d-%d', a, b)) STORED);",
    'CREATE INDEX gen_c ON gen(c);',
    'CREATE TABLE types(id INTEGER PRIMARY KEY, v);',
    'CREATE TABLE coll(a TEXT COLLATE NOCASE, b TEXT COLLATE RTRIM, c TEXT, gone TEXT);',
    'CREATE INDEX coll_ab ON coll(a DESC, b);',
    'CREATE UNIQUE INDEX coll_c ON coll(c COLLATE NOCASE);',
    'CREATE TABLE wr(k BLOB PRIMARY KEY, v BLOB, n INTEGER) WITHOUT ROWID;',
    'CREATE INDEX wr_n ON wr(n);',
    'CREATE TABLE "odd ""name"" here"(x, "y z");',
    'CREATE VIEW seq_view AS SELECT id, upper(v) AS v FROM seq WHERE id % 2 = 0;',
    'CREATE VIRTUAL TABLE docs USING fts5(title, body);',
    'CREATE VIRTUAL TABLE boxes USING rtree(id, x0, x1, y0, y1);',
  ];
  const values = ['NULL', '0', '1', '-1', '127', '-128', '32767', '8388607', '2147483647', '140737488355327', '9223372036854775807', '-9223372036854775808', '1.5', '-0.0', '1e308', "''", "x''", "'é漢🙂'"];
  values.forEach((v, i) => out.push(`INSERT INTO types(id, v) VALUES (${i + 1}, ${v});`));
  out.push(`INSERT INTO types(v) VALUES (${sqlText(text(r, pageSize * 2))}), (X'${r.bytes(pageSize * 3).toString('hex')}');`);
  for (let i = 0; i < 120; i++) {
    out.push(`INSERT INTO seq(v) VALUES (${sqlText(`${r.pick(WORDS)} ${i}`)});`);
    out.push(`INSERT INTO strict_t(i, r, t, b, a) VALUES (${r.int(1e9)}, ${r.int(1e6) / 7}, ${sqlText(text(r, r.int(60)))}, X'${r.bytes(r.int(40)).toString('hex')}', ${r.int(2) === 0 ? r.int(100) : sqlText(text(r, 5))});`);
    out.push(`INSERT INTO gen(a, b) VALUES (${r.int(1000)}, ${r.int(1000)});`);
    out.push(`INSERT OR IGNORE INTO coll(a, b, c, gone) VALUES (${sqlText(`${r.pick(WORDS)}${text(r, 3)}`)}, ${sqlText(`${text(r, 4)}   `)}, ${sqlText(`${text(r, 8)}${i}`)}, 'x');`);
    out.push(`INSERT INTO wr(k, v, n) VALUES (X'${r.bytes(4 + r.int(30)).toString('hex')}', ${r.int(10) === 0 ? `zeroblob(${pageSize + r.int(pageSize * 2)})` : `X'${r.bytes(r.int(200)).toString('hex')}'`}, ${r.int(50)});`);
    out.push(`INSERT INTO docs(title, body) VALUES (${sqlText(`${r.pick(WORDS)} ${i}`)}, ${sqlText(Array.from({ length: 5 + r.int(60) }, () => r.pick(WORDS)).join(' '))});`);
    const x = r.int(1000);
    const y = r.int(1000);
    out.push(`INSERT INTO boxes VALUES (${i + 1}, ${x}, ${x + 1 + r.int(50)}, ${y}, ${y + 1 + r.int(50)});`);
  }
  out.push(`INSERT INTO "odd ""name"" here" VALUES (1, 'q');`);
  for (let t = 0; t < 40; t++) {
    const cols = Array.from({ length: 30 }, (_, j) => `c${j}_${text(r, 12)} TEXT DEFAULT '${text(r, 30)}'`);
    out.push(`CREATE TABLE wide_${t}(id INTEGER PRIMARY KEY, ${cols.join(', ')});`);
    out.push(`INSERT INTO wide_${t}(id) VALUES (1), (2);`);
  }
  const many = Array.from({ length: 1200 }, (_, j) => `k${j} INTEGER`);
  out.push(`CREATE TABLE huge_row(${many.join(', ')});`);
  out.push(`INSERT INTO huge_row(k0, k600, k1199) VALUES (1, 2, 3);`);
  out.push(`INSERT INTO huge_row VALUES (${Array.from({ length: 1200 }, (_, j) => (j % 7 === 0 ? 'NULL' : String(j * 1000))).join(', ')});`);
  out.push(
    "ALTER TABLE types ADD COLUMN extra TEXT DEFAULT 'later';",
    'INSERT INTO types(v, extra) VALUES (42, NULL);',
    'ALTER TABLE coll RENAME COLUMN c TO c2;',
    'ALTER TABLE coll DROP COLUMN gone;',
    'ALTER TABLE seq RENAME TO seq2;',
    'DROP TABLE wide_3;',
    'DROP TABLE wide_17;',
    'DELETE FROM seq2 WHERE id % 3 = 0;',
    "DELETE FROM docs WHERE rowid % 4 = 0;",
    'DELETE FROM wr WHERE n % 5 = 0;',
    'ANALYZE;',
  );
  return out.join('\n') + '\n';
}

/** Rows of tiny records, many of them: deep trees (4 levels at 512-byte pages). */
function deepSql(rows: number): string {
  return [
    'CREATE TABLE d(id INTEGER PRIMARY KEY, s TEXT);',
    'CREATE INDEX d_s ON d(s);',
    `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${rows}) INSERT INTO d SELECT i, printf('%08x', (i * 2654435761) % 4294967296) FROM c;`,
  ].join('\n') + '\n';
}

/** Fills `f`, then deletes most of it: a freelist of several trunk pages. */
function trunksSql(rows: number): string {
  return [
    'CREATE TABLE f(id INTEGER PRIMARY KEY, s TEXT, b BLOB);',
    'CREATE INDEX f_s ON f(s);',
    `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${rows}) INSERT INTO f SELECT i, printf('%06d-%s', i, hex(zeroblob(8))), zeroblob(40 + i % 60) FROM c;`,
    `DELETE FROM f WHERE id % 10 <> 0;`,
  ].join('\n') + '\n';
}

/** A clean database written by one SQLite from a script. */
interface ScriptSpec {
  name: string;
  writer: 'better-sqlite3' | 'sqlite3-shell';
  /** The page size the database ends with. */
  pageSize: number;
  autoVacuum: AutoVacuum;
  /** Page size and auto_vacuum set before the first table, when they differ from the final ones (VACUUM changes them). */
  initial?: { pageSize: number; autoVacuum: AutoVacuum };
  encoding?: 'UTF-8' | 'UTF-16le';
  /** What the database holds, in words. */
  what: string;
  /** The script, in the rollback journal mode. */
  main: (r: Rng) => string;
  /** Then in WAL mode: 'checkpointed' (all frames back in the file) or 'frames' (left in the -wal). */
  wal?: 'checkpointed' | 'frames';
  walPart?: (r: Rng) => string;
}

const churn = (pageSize: number, txns: number, after = ''): { main: (r: Rng) => string; walPart: (r: Rng) => string } => {
  // One state for both parts: the WAL part goes on with the same row ids.
  let state = { nextId: 1, kvN: 0, t0: 0 };
  return {
    main: (r) => {
      state = { nextId: 1, kvN: 0, t0: 0 };
      return churnSql(r, pageSize, txns, state) + after;
    },
    walPart: (r) => churnSql(r, pageSize, 5, state),
  };
};

function churnSpec(name: string, writer: ScriptSpec['writer'], pageSize: number, autoVacuum: AutoVacuum, txns: number, extra: Partial<ScriptSpec> & { after?: 'vacuum' | 'incremental_vacuum' } = {}): ScriptSpec {
  const after = extra.after === 'vacuum' ? 'VACUUM;\n' : extra.after === 'incremental_vacuum' ? 'PRAGMA incremental_vacuum(5);\n' : '';
  const c = churn(pageSize, txns, after);
  return {
    name,
    writer,
    pageSize,
    autoVacuum,
    what: [`${txns} transactions of churn`, extra.after ?? '', extra.wal ? `then WAL, ${extra.wal}` : ''].filter(Boolean).join(', '),
    main: c.main,
    walPart: c.walPart,
    ...extra,
  };
}

const SCRIPT_SPECS: ScriptSpec[] = [
  churnSpec('shell-churn-512-none', 'sqlite3-shell', 512, 'none', 30),
  churnSpec('shell-churn-1024-incremental', 'sqlite3-shell', 1024, 'incremental', 30),
  churnSpec('shell-churn-4096-full', 'sqlite3-shell', 4096, 'full', 30),
  churnSpec('shell-churn-8192-none', 'sqlite3-shell', 8192, 'none', 20),
  churnSpec('shell-churn-65536-incremental', 'sqlite3-shell', 65536, 'incremental', 6),
  churnSpec('shell-churn-2048-none-vacuum', 'sqlite3-shell', 2048, 'none', 25, { after: 'vacuum' }),
  churnSpec('shell-churn-4096-incremental-ivac', 'sqlite3-shell', 4096, 'incremental', 25, { after: 'incremental_vacuum' }),
  churnSpec('shell-churn-4096-utf16le', 'sqlite3-shell', 4096, 'none', 20, { encoding: 'UTF-16le' }),
  churnSpec('shell-churn-1024-wal-frames', 'sqlite3-shell', 1024, 'none', 15, { wal: 'frames' }),
  churnSpec('shell-churn-4096-wal-checkpointed', 'sqlite3-shell', 4096, 'full', 15, { wal: 'checkpointed' }),
  churnSpec('bs3-churn-512-incremental', 'better-sqlite3', 512, 'incremental', 30),
  churnSpec('bs3-churn-2048-full', 'better-sqlite3', 2048, 'full', 30),
  churnSpec('bs3-churn-4096-none', 'better-sqlite3', 4096, 'none', 30),
  churnSpec('bs3-churn-16384-none', 'better-sqlite3', 16384, 'none', 12),
  churnSpec('bs3-churn-32768-full', 'better-sqlite3', 32768, 'full', 8),
  churnSpec('bs3-churn-1024-none-vacuum', 'better-sqlite3', 1024, 'none', 25, { after: 'vacuum' }),
  churnSpec('bs3-churn-8192-incremental-ivac', 'better-sqlite3', 8192, 'incremental', 20, { after: 'incremental_vacuum' }),
  churnSpec('bs3-churn-1024-utf16le', 'better-sqlite3', 1024, 'incremental', 20, { encoding: 'UTF-16le' }),
  churnSpec('bs3-churn-4096-wal-frames', 'better-sqlite3', 4096, 'none', 15, { wal: 'frames' }),
  churnSpec('bs3-churn-2048-wal-checkpointed', 'better-sqlite3', 2048, 'incremental', 15, { wal: 'checkpointed' }),
  ...(
    [
      ['shell', 512, 'full'],
      ['bs3', 1024, 'incremental'],
      ['shell', 4096, 'none'],
      ['bs3', 65536, 'incremental'],
      ['bs3', 2048, 'full'],
    ] as const
  ).map(([w, pageSize, autoVacuum]): ScriptSpec => ({
    name: `${w}-features-${pageSize}-${autoVacuum}`,
    writer: w === 'shell' ? 'sqlite3-shell' : 'better-sqlite3',
    pageSize,
    autoVacuum,
    what: 'schema features: AUTOINCREMENT, STRICT, generated columns, all serial types, collations, WITHOUT ROWID overflow, view, trigger, FTS5, R-tree, overflowing CREATE statements, a 1200-column row, ALTER TABLE, DROP TABLE, ANALYZE',
    main: (r) => featureSql(r, pageSize),
  })),
  { name: 'bs3-features-4096-utf16le', writer: 'better-sqlite3', pageSize: 4096, autoVacuum: 'none', encoding: 'UTF-16le', what: 'schema features (as above) in UTF-16le', main: (r) => featureSql(r, 4096) },
  { name: 'shell-deep-512', writer: 'sqlite3-shell', pageSize: 512, autoVacuum: 'none', what: '60000 tiny rows and an index: 4-level trees', main: () => deepSql(60000) },
  { name: 'bs3-deep-1024-full', writer: 'better-sqlite3', pageSize: 1024, autoVacuum: 'full', what: '60000 tiny rows and an index under auto_vacuum', main: () => deepSql(60000) },
  { name: 'shell-trunks-512', writer: 'sqlite3-shell', pageSize: 512, autoVacuum: 'none', what: 'a freelist of several trunk pages (free pages zeroed)', main: () => trunksSql(6000) },
  { name: 'bs3-trunks-512-incremental', writer: 'better-sqlite3', pageSize: 512, autoVacuum: 'incremental', what: 'a freelist of several trunk pages (old content kept)', main: () => trunksSql(6000) },
  {
    name: 'bs3-resize-4096-to-1024-full',
    writer: 'better-sqlite3',
    pageSize: 1024,
    autoVacuum: 'full',
    initial: { pageSize: 4096, autoVacuum: 'none' },
    what: 'page size 4096 -> 1024 and auto_vacuum none -> full by VACUUM',
    main: (r) => churnSql(r, 4096, 10) + 'PRAGMA page_size=1024;\nPRAGMA auto_vacuum=full;\nVACUUM;\n',
  },
  {
    name: 'shell-wal-shrink-2048',
    writer: 'sqlite3-shell',
    pageSize: 2048,
    autoVacuum: 'none',
    what: 'WAL: most rows deleted and VACUUM in frames left in the -wal (the file is longer than the database)',
    main: () => deepSql(20000),
    wal: 'frames',
    walPart: () => 'DELETE FROM d WHERE id > 2000;\nVACUUM;\n',
  },
  {
    name: 'bs3-wal-shrink-1024-incremental',
    writer: 'better-sqlite3',
    pageSize: 1024,
    autoVacuum: 'incremental',
    what: 'WAL: most rows deleted and incremental_vacuum in frames left in the -wal',
    main: () => deepSql(20000),
    wal: 'frames',
    walPart: () => 'DELETE FROM d WHERE id > 2000;\nPRAGMA incremental_vacuum;\n',
  },
];

function writeScript(file: string, s: ScriptSpec, seed: number): void {
  const r = rng(seed);
  const init = s.initial ?? { pageSize: s.pageSize, autoVacuum: s.autoVacuum };
  const setup = `PRAGMA page_size=${init.pageSize};\nPRAGMA auto_vacuum=${init.autoVacuum};\nPRAGMA encoding='${s.encoding ?? 'UTF-8'}';\n`;
  const main = s.main(r);
  const walPart = s.wal ? (s.walPart?.(r) ?? '') : '';
  if (s.writer === 'sqlite3-shell') {
    let script = setup + main;
    if (s.wal === 'frames') script += 'PRAGMA journal_mode=wal;\n.dbconfig no_ckpt_on_close on\nPRAGMA wal_autocheckpoint=0;\n' + walPart;
    if (s.wal === 'checkpointed') script += 'PRAGMA journal_mode=wal;\n' + walPart + 'PRAGMA wal_checkpoint(TRUNCATE);\n';
    sqliteShell(file, script);
    if (s.wal === 'frames' && !(existsSync(file + '-wal') && statSync(file + '-wal').size > 32)) throw new Error(`${file}: no frames left in the -wal`);
    rmSync(file + '-shm', { force: true });
    return;
  }
  const tmp = `${file}.writing`;
  const db = new Database(tmp);
  try {
    db.pragma('synchronous=OFF');
    db.exec(setup);
    db.exec(main);
    if (s.wal) {
      db.pragma('journal_mode=wal');
      db.pragma('wal_autocheckpoint=0');
      db.exec(walPart);
      if (s.wal === 'checkpointed') db.pragma('wal_checkpoint(TRUNCATE)');
    }
    // The files as they are while the writer is still open: a -wal with the frames it committed.
    copyFileSync(tmp, file);
    if (s.wal === 'frames') copyFileSync(tmp + '-wal', file + '-wal');
  } finally {
    db.close();
  }
  for (const sfx of ['', '-wal', '-shm', '-journal']) rmSync(tmp + sfx, { force: true });
}

// ---------------------------------------------------------------------------------------------
// The corpus

/**
 * Builds the whole corpus under `dir` (which must exist and be empty) and returns its cases:
 * every base's clean image and older image, the churned clean databases, the named corpus, and
 * for every base the mutations of every kind that applies (freelist ones where there is a
 * freelist, pointer-map ones under auto_vacuum).
 */
export function buildCorruptCorpus(dir: string, options: CorruptCorpusOptions = {}): CorpusCase[] {
  const seed = options.seed ?? 13;
  const cases: CorpusCase[] = [];
  const baseDir = join(dir, 'bases');
  const caseDir = join(dir, 'cases');
  mkdirSync(baseDir, { recursive: true });
  mkdirSync(caseDir, { recursive: true });
  const add = (c: Omit<CorpusCase, 'file'>, bytes: Buffer | null, from?: string): void => {
    const file = join(caseDir, `${c.id}.db`);
    if (bytes) writeFileSync(file, bytes);
    else if (from !== undefined) {
      copyFileSync(from, file);
      if (c.wal) copyFileSync(from + '-wal', file + '-wal');
    }
    cases.push({ ...c, file });
  };

  const modes: AutoVacuum[] = ['none', 'full', 'incremental'];
  const bases: Array<{ name: string; pageSize: number; autoVacuum: AutoVacuum; rows?: number; wideRange?: boolean }> = [];
  for (const pageSize of PAGE_SIZES) for (const autoVacuum of modes) bases.push({ name: `p${pageSize}-${autoVacuum}`, pageSize, autoVacuum });
  // Small ones (<= 64 KiB), whose cases can serve as fuzz seeds.
  bases.push({ name: 'p512-none-small', pageSize: 512, autoVacuum: 'none', rows: 60 });
  bases.push({ name: 'p1024-full-small', pageSize: 1024, autoVacuum: 'full', rows: 40 });
  bases.push({ name: 'p1024-incremental-small', pageSize: 1024, autoVacuum: 'incremental', rows: 40 });
  // A freelist of several trunk pages.
  bases.push({ name: 'p512-none-trunks', pageSize: 512, autoVacuum: 'none', rows: 1500, wideRange: true });
  let baseIndex = 0;
  for (const { name, pageSize, autoVacuum, rows, wideRange } of bases) {
    {
      const path = join(baseDir, `${name}.db`);
      const secureDelete = baseIndex % 2 === 1;
      const old = writeBase(path, pageSize, autoVacuum, seedOf(seed, name), secureDelete, rows, wideRange);
      const b = analyze(name, path, old, autoVacuum);
      const common = { base: name, pageSize, autoVacuum, wal: false, writer: 'better-sqlite3' as const };
      add({ ...common, id: `clean.base.${name}`, kind: 'clean', variant: 'base', description: `base ${name} after churn (better-sqlite3, secure_delete ${secureDelete ? 'on' : 'off'}), ${b.pageCount} pages, ${b.trunks.length + b.freeLeaves.length} free` }, null, path);
      add({ ...common, id: `clean.old.${name}`, kind: 'clean', variant: 'pre-churn', description: `base ${name} before churn (better-sqlite3)` }, old);

      for (const kind of MUTATION_KINDS) {
        const spec = MAKERS[kind];
        const names = Object.keys(spec.variants);
        const want = spec.perBase(b);
        let made = 0;
        const seen = new Set<string>();
        // Variants rotate over the bases so that every variant appears across page sizes and modes.
        for (let attempt = 0; made < want && attempt < names.length * 3; attempt++) {
          const variant = names[(baseIndex * want + attempt) % names.length] ?? '';
          const r = rng(seedOf(seed, `${name}/${kind}/${variant}/${attempt}`));
          const m = spec.variants[variant]?.(b, r) ?? null;
          if (!m) continue;
          const img = Buffer.from(b.image);
          m.apply(img);
          if (img.equals(b.image) || seen.has(m.description)) continue;
          seen.add(m.description);
          add({ ...common, id: `${name}.${kind}.${m.variant}.${made}`, kind, variant: m.variant, description: m.description }, img);
          made++;
        }
      }
      baseIndex++;
    }
  }

  const scriptDir = join(dir, 'scripts');
  mkdirSync(scriptDir, { recursive: true });
  for (const s of SCRIPT_SPECS) {
    const file = join(scriptDir, `${s.name}.db`);
    writeScript(file, s, seedOf(seed, s.name));
    const by = s.writer === 'sqlite3-shell' ? 'sqlite3 shell 3.40.1 (SECURE_DELETE)' : 'better-sqlite3 (no secure delete)';
    add({ id: `clean.script.${s.name}`, kind: 'clean', variant: s.name.replace(/^(shell|bs3)-/, '').replace(/-.*/, '') + (s.wal ? `-wal-${s.wal}` : ''), base: s.name, pageSize: s.pageSize, autoVacuum: s.autoVacuum, wal: s.wal === 'frames', writer: s.writer, description: `${by}: ${s.what}${s.encoding ? `, ${s.encoding}` : ''}` }, null, file);
  }

  if (options.withoutNamedCorpus !== true) {
    const namedDir = join(dir, 'named');
    mkdirSync(namedDir, { recursive: true });
    for (const e of corpusSpecs()) {
      if (e.name === 'large-4mib') continue;
      const file = join(namedDir, `${e.name}.db`);
      createDatabase(file, e.spec);
      const wal = existsSync(file + '-wal') && statSync(file + '-wal').size > 0;
      add({ id: `clean.named.${e.name}`, kind: 'clean', variant: 'named-corpus', base: e.name, pageSize: e.spec.pageSize ?? 4096, autoVacuum: e.spec.autoVacuum ?? 'none', wal, writer: 'sqlite3-shell', description: `test/oracle/corpus.ts entry ${e.name}: ${JSON.stringify(e.spec)}` }, null, file);
    }
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// SQLite's verdicts

/** What one SQLite said about one case. */
export interface SqliteVerdict {
  /** 'ok': the only row is 'ok'; 'corrupt': problems reported or the check failed as corrupt; 'error': anything else. */
  verdict: 'ok' | 'corrupt' | 'error';
  /** The problems, one per line ('*** in database main ***' left out). */
  messages: string[];
  /** The error that stopped the open or the statement (code and message), if any. */
  error: string | null;
}

/** Messages that need the SQL engine (index contents against table rows, column values, collations). */
const SQL_ONLY: readonly RegExp[] = [
  /^row \d+ missing from index /,
  /^wrong # of entries in index /,
  /^NULL value in /,
  /^non-unique entry in index /,
  /^CHECK constraint failed in /,
  /^non-\w+ value in /,
  /^(NUMERIC|TEXT) value in /,
  /is not a valid type for column/,
  /^index \S+ stores an imprecise floating-point value/,
  /^rowid not at end-of-record for row \d+ of index /,
  /^row \d+ values differ from index /,
  /^row not in PRIMARY KEY order for /,
];

/** 'structural' when any message is outside the SQL-engine class or the check failed as corrupt. */
export function classify(v: SqliteVerdict): 'ok' | 'structural' | 'sql-only' | 'error' {
  if (v.verdict === 'ok') return 'ok';
  if (v.verdict === 'error') return 'error';
  if (v.error !== null) return 'structural';
  return v.messages.every((m) => SQL_ONLY.some((re) => re.test(m))) ? 'sql-only' : 'structural';
}

function isCorruptError(code: string, message: string): boolean {
  return /^SQLITE_(CORRUPT|NOTADB)/.test(code) || /malformed|not a database|\bcorrupt/i.test(message);
}

function verdictOf(rows: string[], error: string | null, corruptError: boolean): SqliteVerdict {
  const messages = rows.flatMap((row) => row.split('\n')).map((l) => l.trim()).filter((l) => l !== '' && l !== '*** in database main ***');
  if (error !== null) return { verdict: corruptError ? 'corrupt' : 'error', messages, error };
  if (rows.length === 1 && rows[0] === 'ok') return { verdict: 'ok', messages: [], error: null };
  return { verdict: messages.length > 0 ? 'corrupt' : 'error', messages, error };
}

/** Copies the case's files (the database and, for a WAL case, its -wal) to `to`. */
export function copyCase(c: CorpusCase, to: string): void {
  copyFileSync(c.file, to);
  if (c.wal) copyFileSync(c.file + '-wal', to + '-wal');
}

export function removeCopy(path: string): void {
  for (const sfx of ['', '-wal', '-shm', '-journal']) rmSync(path + sfx, { force: true });
}

/** PRAGMA integrity_check by better-sqlite3 (SQLite 3.53), read-only, on `copy`. */
export function bs3IntegrityCheck(copy: string): SqliteVerdict {
  let db: Database.Database | undefined;
  try {
    db = new Database(copy, { readonly: true, fileMustExist: true });
    const rows = db.prepare('PRAGMA integrity_check').pluck().all() as string[];
    return verdictOf(rows.map(String), null, false);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const code = e.code ?? 'ERROR';
    const message = e.message ?? String(err);
    return verdictOf([], `${code}: ${message}`, isCorruptError(code, message));
  } finally {
    db?.close();
  }
}

/** PRAGMA integrity_check by the sqlite3 shell (3.40.1), `-readonly`, on `copy`, in a child process. */
export function shellIntegrityCheck(copy: string): Promise<SqliteVerdict> {
  return new Promise((done) => {
    const child = execFile(
      SQLITE3_BIN,
      ['-batch', '-init', '/dev/null', '-readonly', resolve(copy)],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      (err, stdout, stderr) => {
        const rows = stdout.split('\n').filter((l) => l !== '');
        const errText = stderr.trim();
        if (err || errText !== '') {
          const message = errText || (err?.message ?? 'failed');
          done(verdictOf(rows, message, isCorruptError('', message)));
          return;
        }
        done(verdictOf(rows.length === 1 ? rows : [rows.join('\n')], null, false));
      },
    );
    child.stdin?.end('PRAGMA integrity_check;\n');
  });
}
