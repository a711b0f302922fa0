// Small statistics and formatting helpers for the benchmark harness.
'use strict';

function sorted(values) {
  return values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
}

/** Median of the finite numbers in `values` (mean of the two middle ones for an even count). */
function median(values) {
  const s = sorted(values);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function min(values) {
  const s = sorted(values);
  return s.length ? s[0] : NaN;
}

function max(values) {
  const s = sorted(values);
  return s.length ? s[s.length - 1] : NaN;
}

/** Nearest-rank percentile (p in 0..100) of the finite numbers in `values`. */
function percentile(values, p) {
  const s = values instanceof Float64Array ? Float64Array.from(values).sort() : sorted(values);
  if (s.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[Math.min(s.length, rank) - 1];
}

/** Formats a number with `digits` significant-ish decimals; '—' for missing values. */
function fmt(value, digits = 2) {
  if (value === undefined || value === null || Number.isNaN(value)) return '—';
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return value.toFixed(0);
  if (abs >= 100) return value.toFixed(Math.min(digits, 1));
  if (abs >= 10) return value.toFixed(Math.min(digits, 2));
  if (abs >= 0.01 || abs === 0) return value.toFixed(digits);
  return value.toPrecision(2);
}

/** "median (min–max)" of a list of numbers. */
function summary(values, digits = 2) {
  const s = sorted(values);
  if (s.length === 0) return '—';
  if (s.length === 1) return fmt(s[0], digits);
  return `${fmt(median(s), digits)} (${fmt(s[0], digits)}–${fmt(s[s.length - 1], digits)})`;
}

function bytes(n) {
  if (!Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

module.exports = { median, min, max, percentile, fmt, summary, bytes, sorted };
