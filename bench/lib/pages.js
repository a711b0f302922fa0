// Page-level comparisons of two database files for the vault benchmark (untimed): which pages
// differ between two versions of a database (the pages an incremental backup must store), and
// whether a restored file is the source's image; and a database's page size, from its header,
// and page count.
'use strict';
const fs = require('fs');

const CHUNK = 8 << 20;

/** The page size in a database file's header (bytes 16..17; 1 means 65536). */
function pageSizeOf(file) {
  const header = Buffer.alloc(100);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, header, 0, 100, 0);
  } finally {
    fs.closeSync(fd);
  }
  return header.readUInt16BE(16) === 1 ? 65536 : header.readUInt16BE(16);
}

/** A database file's size, page size and page count (from its header and length). */
function databaseShape(file) {
  const sourceBytes = fs.statSync(file).size;
  const pageSize = pageSizeOf(file);
  return { sourceBytes, pageSize, pageCount: sourceBytes / pageSize };
}

/**
 * Compares `before` and `after` page by page and writes every page of `after` that differs from
 * `before` (or lies past its end), in page-number order, to `outFile`. Returns the count, the page
 * numbers (1-based) and the pages `before` had past `after`'s end (a shrink).
 */
function changedPages(before, after, pageSize, outFile) {
  const a = fs.openSync(before, 'r');
  const b = fs.openSync(after, 'r');
  const out = fs.openSync(outFile, 'w', 0o600);
  const bufA = Buffer.alloc(CHUNK);
  const bufB = Buffer.alloc(CHUNK);
  const pages = [];
  try {
    const sizeA = fs.fstatSync(a).size;
    const sizeB = fs.fstatSync(b).size;
    for (let at = 0; at < sizeB; at += CHUNK) {
      const nb = fs.readSync(b, bufB, 0, CHUNK, at);
      const na = at < sizeA ? fs.readSync(a, bufA, 0, CHUNK, at) : 0;
      for (let off = 0; off < nb; off += pageSize) {
        const pageB = bufB.subarray(off, Math.min(off + pageSize, nb));
        const same = off + pageSize <= na && pageB.equals(bufA.subarray(off, off + pageSize));
        if (!same) {
          pages.push((at + off) / pageSize + 1);
          fs.writeSync(out, pageB);
        }
      }
    }
    return { count: pages.length, pages, rawBytes: pages.length * pageSize, shrunkPages: Math.max(0, Math.ceil((sizeA - sizeB) / pageSize)) };
  } finally {
    fs.closeSync(a);
    fs.closeSync(b);
    fs.closeSync(out);
  }
}

// Header fields a copy may legitimately differ in (the oracle): the file change counter
// (24..27), the schema cookie (40..43), and "version-valid-for" + SQLITE_VERSION_NUMBER (92..99).
const IGNORED = [
  [24, 28],
  [40, 44],
  [92, 100],
];

/** Whether `copy` is `source`'s byte image outside the header fields above. */
function sameImage(source, copy) {
  const a = fs.openSync(source, 'r');
  const b = fs.openSync(copy, 'r');
  const bufA = Buffer.alloc(CHUNK);
  const bufB = Buffer.alloc(CHUNK);
  try {
    const sizeA = fs.fstatSync(a).size;
    const sizeB = fs.fstatSync(b).size;
    if (sizeA !== sizeB) return { same: false, why: `sizes differ: ${sizeA} vs ${sizeB}` };
    for (let at = 0; at < sizeA; at += CHUNK) {
      const na = fs.readSync(a, bufA, 0, CHUNK, at);
      const nb = fs.readSync(b, bufB, 0, CHUNK, at);
      if (na !== nb) return { same: false, why: `short read at ${at}` };
      if (at === 0) {
        for (const [from, to] of IGNORED) {
          bufA.fill(0, from, to);
          bufB.fill(0, from, to);
        }
      }
      if (!bufA.subarray(0, na).equals(bufB.subarray(0, nb))) {
        for (let i = 0; i < na; i++) if (bufA[i] !== bufB[i]) return { same: false, why: `first difference at byte ${at + i}` };
      }
    }
    return { same: true };
  } finally {
    fs.closeSync(a);
    fs.closeSync(b);
  }
}

module.exports = { pageSizeOf, databaseShape, changedPages, sameImage };
