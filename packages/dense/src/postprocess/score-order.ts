/**
 * Flat indices of the (at most k) highest scores above `scoreThreshold`, by descending score and
 * ascending index on ties (deterministic, unlike tf.topk).
 */
export function topPairs(scores: Float32Array, scoreThreshold: number, k: number): Int32Array {
  // Compare in float32 as torch does (`scores > 0.05` on a float32 tensor), so a score stored
  // as float32(0.05) does not pass a 0.05 threshold.
  const threshold = Math.fround(scoreThreshold);
  const n = scores.length;
  if (n > MAX_KEYED) return topPairsHeap(scores, threshold, k);
  // Each passing pair becomes one float64 key whose ascending order is (score descending, index
  // ascending): the score's float32 bits mapped to an order-preserving uint32 and flipped, times
  // 2^21, plus the index. Keys are exact (32 + 21 bits <= 53) and distinct, so a quickselect and a
  // quicksort on a Float64Array, without comparator calls, replace a heap and a comparator sort:
  // 1000 of 2560 pairs measured ~7x faster, 1000 of 23040 ~5x. (V8's own Float64Array sort
  // measured 2-4x slower than sortAscending here.)
  const bits = new Uint32Array(scores.buffer, scores.byteOffset, n);
  // On large levels a histogram of the keys' top 16 bits first finds the bucket that holds the
  // k-th best score (radix select, as torch.topk), so only the pairs from that bucket up get keys.
  const minBucket = n > 4 * k && k > 0 ? cutoffBucket(scores, bits, threshold, k) : 0;
  const keys = new Float64Array(n > 4 * k ? Math.min(n, 4 * k) : n);
  let store = keys;
  let m = 0;
  for (let i = 0; i < n; i++) {
    const v = scores[i]!;
    if (!(v > threshold)) continue;
    const ordered = orderedBits(v, bits[i]!);
    if (ordered >>> 16 < minBucket) continue;
    if (m === store.length) {
      const grown = new Float64Array(Math.min(n, 2 * store.length));
      grown.set(store);
      store = grown;
    }
    store[m++] = (0xffffffff - ordered) * KEY_SPAN + i;
  }
  const cap = Math.min(k, m);
  const passing = store.subarray(0, m);
  if (cap < m) selectSmallest(passing, cap);
  const best = passing.subarray(0, cap);
  sortAscending(best, 0, cap - 1);
  const out = new Int32Array(cap);
  for (let i = 0; i < cap; i++) out[i] = best[i]! % KEY_SPAN;
  return out;
}

// Float32 bits as a uint32 whose unsigned order is the scores' numeric order; -0 and +0 are equal
// scores (ordered by index), so both map to +0's value.
function orderedBits(v: number, u: number): number {
  if (v === 0) return 0x80000000;
  return u >= 0x80000000 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
}

const histogram = new Int32Array(65536);

// The highest 16-bit bucket of ordered scores such that the buckets from it up hold >= k passing pairs.
function cutoffBucket(scores: Float32Array, bits: Uint32Array, threshold: number, k: number): number {
  histogram.fill(0);
  let passing = 0;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i]!;
    if (!(v > threshold)) continue;
    histogram[orderedBits(v, bits[i]!) >>> 16]!++;
    passing++;
  }
  if (passing <= k) return 0;
  let count = 0;
  for (let b = 65535; b > 0; b--) {
    count += histogram[b]!;
    if (count >= k) return b;
  }
  return 0;
}

/**
 * All indices of `scores` by descending score, ascending index on ties (NaN last, by index): the
 * visiting order of greedy NMS, with the float64 keys of {@link topPairs} instead of a comparator
 * sort (measured ~5x faster on 3450 candidates).
 */
export function indicesByScore(scores: Float32Array): Int32Array {
  const n = scores.length;
  if (n > MAX_KEYED) {
    return Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => cmpScores(scores[a]!, scores[b]!) || a - b);
  }
  const bits = new Uint32Array(scores.buffer, scores.byteOffset, n);
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = scores[i]!;
    // NaN after every number: key of the lowest ordered value, then by index.
    keys[i] = (0xffffffff - (Number.isNaN(v) ? 0 : orderedBits(v, bits[i]!))) * KEY_SPAN + i;
  }
  sortAscending(keys, 0, n - 1);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = keys[i]! % KEY_SPAN;
  return out;
}

// Descending by value, NaN after every number.
function cmpScores(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return b - a;
}

const KEY_SPAN = 2 ** 21;
const MAX_KEYED = KEY_SPAN;

// Hoare partition of a[lo..hi] around a median-of-three pivot. Returns [i, j] with
// a[lo..j] <= pivot <= a[i..hi] and j < i.
function partition(a: Float64Array, lo: number, hi: number): [number, number] {
  const mid = (lo + hi) >> 1;
  const x = a[lo]!, y = a[mid]!, z = a[hi]!;
  const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
  let i = lo;
  let j = hi;
  while (i <= j) {
    while (a[i]! < pivot) i++;
    while (a[j]! > pivot) j--;
    if (i <= j) {
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
      i++;
      j--;
    }
  }
  return [i, j];
}

// Reorders `a` so that its `k` smallest values come first (in any order); Hoare-style quickselect
// with a median-of-three pivot. Values must be distinct.
function selectSmallest(a: Float64Array, k: number): void {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const [i, j] = partition(a, lo, hi);
    // Now a[lo..j] <= pivot <= a[i..hi]; keep the part that holds position k - 1.
    if (k - 1 <= j) hi = j;
    else if (k - 1 >= i) lo = i;
    else return;
  }
}

// Sorts a[lo..hi] ascending: quicksort with median-of-three pivots, recursion on the smaller side,
// insertion sort below 17 values.
function sortAscending(a: Float64Array, lo: number, hi: number): void {
  while (hi - lo > 16) {
    const [i, j] = partition(a, lo, hi);
    if (j - lo < hi - i) {
      sortAscending(a, lo, j);
      lo = i;
    } else {
      sortAscending(a, i, hi);
      hi = j;
    }
  }
  for (let i = lo + 1; i <= hi; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= lo && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
}

// Levels of more than 2^21 pairs (beyond what a float64 key can index): a size-k min-heap, O(n log k).
function topPairsHeap(scores: Float32Array, threshold: number, k: number): Int32Array {
  const cap = Math.min(k, scores.length);
  const heapScore = new Float32Array(cap);
  const heapIndex = new Int32Array(cap);
  let size = 0;
  // Heap order: the root is the worst kept pair (lowest score; on equal scores the higher
  // index, which is always the later one since indices arrive in increasing order).
  const worse = (a: number, b: number) =>
    heapScore[a]! < heapScore[b]! || (heapScore[a] === heapScore[b] && heapIndex[a]! > heapIndex[b]!);
  const swap = (a: number, b: number) => {
    const s = heapScore[a]!;
    heapScore[a] = heapScore[b]!;
    heapScore[b] = s;
    const i = heapIndex[a]!;
    heapIndex[a] = heapIndex[b]!;
    heapIndex[b] = i;
  };
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i]!;
    if (!(v > threshold)) continue;
    if (size < cap) {
      heapScore[size] = v;
      heapIndex[size] = i;
      for (let c = size++; c > 0; ) {
        const parent = (c - 1) >> 1;
        if (!worse(c, parent)) break;
        swap(c, parent);
        c = parent;
      }
    } else if (cap > 0 && v > heapScore[0]!) {
      heapScore[0] = v;
      heapIndex[0] = i;
      for (let p = 0; ; ) {
        const l = 2 * p + 1;
        const r = l + 1;
        let m = p;
        if (l < size && worse(l, m)) m = l;
        if (r < size && worse(r, m)) m = r;
        if (m === p) break;
        swap(p, m);
        p = m;
      }
    }
  }
  return heapIndex.slice(0, size).sort((a, b) => scores[b]! - scores[a]! || a - b);
}

