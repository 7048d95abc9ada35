// A JSON cluster file read again after one node changed differs from the
// last read in one element of its "nodes" list. Instead of parsing the whole
// file (2 MB, 10 000 nodes, and garbage for the collector every change),
// the new text is compared with the last read's: when the bytes before and
// after one element are the same, only that element's text is parsed, and
// the document is the last one with that element replaced.
//
// Exact, not a heuristic: the last text was accepted by JSON.parse; the new
// text equals it outside [start, end) of one element, and the new text of
// that range is one complete JSON value by itself. JSON has no context
// across values, so JSON.parse of the new text would give the same document
// with that value in that place. Anything else (a node added or removed, a
// change across elements or in the config, a slice that does not parse,
// two "nodes" keys) returns undefined and the caller parses the whole file,
// which also gives the line-numbered error for a broken file. An ASCII file
// (the usual one) is compared as bytes, its text never decoded: a string
// of the file's size per read is garbage in the large-object space, and
// each such garbage brings the next full collection of the whole heap
// closer. Pure.

import { isAscii } from 'node:buffer';

export interface JsonBase {
  /** The text JSON.parse accepted. */
  readonly text: string;
  /**
   * The same text as bytes when it is ASCII (byte i is character i): an
   * ASCII read is then compared byte for byte (spliceAscii), and its text,
   * a 1 MB string at 10 000 nodes, is never made.
   */
  readonly ascii?: Buffer;
  /** What JSON.parse made of it (not modified by anyone). */
  readonly doc: Readonly<Record<string, unknown>>;
  /** Start and end offsets of each element of doc.nodes in text, found when first needed (null: the text's shape does not allow splicing). */
  spans?: Int32Array | null;
}

/** Characters compared at a time while looking for the first and last difference. */
const CHUNK = 4096;
/** Bytes compared at a time (one native memcmp each). */
const BYTE_CHUNK = 16384;

function commonBytePrefix(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i + BYTE_CHUNK <= n && a.compare(b, i, i + BYTE_CHUNK, i, i + BYTE_CHUNK) === 0) i += BYTE_CHUNK;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** The common suffix of a and b, at most `max` bytes. */
function commonByteSuffix(a: Buffer, b: Buffer, max: number): number {
  let k = 0;
  while (k + BYTE_CHUNK <= max && a.compare(b, b.length - k - BYTE_CHUNK, b.length - k, a.length - k - BYTE_CHUNK, a.length - k) === 0) k += BYTE_CHUNK;
  while (k < max && a[a.length - 1 - k] === b[b.length - 1 - k]) k++;
  return k;
}

/** The base of an ASCII text from its bytes; the text is made only if asked for (a whole parse's error path, the first scan of spans). */
export function asciiBase(bytes: Buffer, doc: Readonly<Record<string, unknown>>, spans?: Int32Array | null): JsonBase {
  let text: string | undefined;
  return { ascii: bytes, doc, spans, get text() { return (text ??= bytes.toString('latin1')); } };
}

function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i + CHUNK <= n && a.slice(i, i + CHUNK) === b.slice(i, i + CHUNK)) i += CHUNK;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** The common suffix of a and b, at most `max` characters. */
function commonSuffix(a: string, b: string, max: number): number {
  let k = 0;
  while (k + CHUNK <= max && a.slice(a.length - k - CHUNK, a.length - k) === b.slice(b.length - k - CHUNK, b.length - k)) k += CHUNK;
  while (k < max && a.charCodeAt(a.length - 1 - k) === b.charCodeAt(b.length - 1 - k)) k++;
  return k;
}

const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;

/**
 * The offsets of the elements of the top-level object's "nodes" array in
 * `text`, a text JSON.parse accepted (so this does not validate); null when
 * the document is no object, has no "nodes" array or more than one key
 * named "nodes" once unescaped, or the spans do not match `count` elements.
 */
export function nodeSpans(text: string, count: number): Int32Array | null {
  const n = text.length;
  let i = 0;
  const ws = () => {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
  };
  const skipString = () => {
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 92) i += 2;
      else {
        i++;
        if (c === 34) return;
      }
    }
  };
  const skipValue = () => {
    const c = text.charCodeAt(i);
    if (c === 34) return skipString();
    if (c === 123 || c === 91) {
      let depth = 0;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 34) {
          skipString();
          continue;
        }
        i++;
        if (d === 123 || d === 91) depth++;
        else if ((d === 125 || d === 93) && --depth === 0) return;
      }
      return;
    }
    while (i < n) {
      const d = text.charCodeAt(i);
      if (d === 44 || d === 93 || d === 125 || isSpace(d)) return;
      i++;
    }
  };
  ws();
  if (text.charCodeAt(i) !== 123) return null;
  i++;
  let spans: number[] | undefined;
  let named = 0;
  for (;;) {
    ws();
    if (text.charCodeAt(i) === 125) break;
    const keyStart = i;
    skipString();
    const key = JSON.parse(text.slice(keyStart, i)) as string;
    ws();
    i++; // ':'
    ws();
    if (key === 'nodes') {
      named++;
      if (text.charCodeAt(i) !== 91) return null;
      spans = [];
      i++;
      ws();
      if (text.charCodeAt(i) === 93) i++;
      else {
        for (;;) {
          ws();
          const start = i;
          skipValue();
          spans.push(start, i);
          ws();
          const c = text.charCodeAt(i++);
          if (c === 93) break;
          if (c !== 44) return null;
        }
      }
    } else {
      skipValue();
    }
    ws();
    const c = text.charCodeAt(i++);
    if (c === 125) break;
    if (c !== 44) return null;
  }
  if (named !== 1 || !spans || spans.length !== 2 * count) return null;
  return Int32Array.from(spans);
}

export interface Spliced {
  /** The new document: the base's with one element of "nodes" replaced (a new top object and array). */
  doc: Record<string, unknown>;
  /** Which element was parsed anew. */
  index: number;
  /** The new element's value (its depth is the caller's to check). */
  value: unknown;
  base: JsonBase;
}

/**
 * The document JSON.parse would make of `text`, from `base` and the one
 * element of its nodes list that changed; undefined when the change is not
 * within one element (then parse the whole text).
 */
export function spliceJson(base: JsonBase, text: string): Spliced | undefined {
  if (!spansOf(base)) return undefined;
  const old = base.text;
  const p = commonPrefix(old, text);
  if (p === old.length && p === text.length) return undefined; // the same text: nothing to splice
  const s = commonSuffix(old, text, Math.min(old.length, text.length) - p);
  return spliceAt(base, old.length, p, s, text.length, (a, b) => text.slice(a, b), (doc, spans) => ({ text, doc, spans }));
}

/**
 * spliceJson(base, bytes as text) for an ASCII base (base.ascii) and ASCII
 * `bytes`: each byte is one character of the text, so the comparison, the
 * offsets and the element's slice are the same on the bytes; the new text
 * is not made. Undefined also when either is not ASCII.
 */
export function spliceAscii(base: JsonBase, bytes: Buffer): Spliced | undefined {
  const old = base.ascii;
  if (!old || !isAscii(bytes) || !spansOf(base)) return undefined;
  const p = commonBytePrefix(old, bytes);
  if (p === old.length && p === bytes.length) return undefined;
  const s = commonByteSuffix(old, bytes, Math.min(old.length, bytes.length) - p);
  return spliceAt(base, old.length, p, s, bytes.length, (a, b) => bytes.toString('latin1', a, b), (doc, spans) => asciiBase(bytes, doc, spans));
}

/** The base's element offsets, scanned from its text when first needed; null when it cannot be spliced. */
function spansOf(base: JsonBase): Int32Array | null {
  const nodes = base.doc.nodes;
  if (!Array.isArray(nodes) || nodes.length === 0) return null;
  if (base.spans === undefined) base.spans = nodeSpans(base.text, nodes.length);
  return base.spans;
}

/**
 * The splice when the old text (`oldLength` long) and the new one (`newLength`)
 * share `p` leading and `s` trailing characters; `slice` reads the new text.
 */
function spliceAt(base: JsonBase, oldLength: number, p: number, s: number, newLength: number, slice: (start: number, end: number) => string,
  nextBase: (doc: Record<string, unknown>, spans: Int32Array) => JsonBase): Spliced | undefined {
  const nodes = base.doc.nodes as unknown[];
  const spans = base.spans!;
  const endOld = oldLength - s;
  const delta = newLength - oldLength;
  // The last element starting at or before the first difference.
  let lo = 0;
  let hi = nodes.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (spans[2 * mid] <= p) lo = mid;
    else hi = mid - 1;
  }
  const start = spans[2 * lo];
  const end = spans[2 * lo + 1];
  if (start > p || endOld > end) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(slice(start, end + delta));
  } catch {
    return undefined;
  }
  const list = nodes.slice();
  list[lo] = value;
  const doc: Record<string, unknown> = { ...base.doc };
  doc.nodes = list;
  const next = new Int32Array(spans);
  next[2 * lo + 1] += delta;
  if (delta) for (let j = 2 * lo + 2; j < next.length; j++) next[j] += delta;
  return { doc, index: lo, value, base: nextBase(doc, next) };
}
