/**
 * Sorts idx[0..n) by key[idx[i]] descending, keeping the incoming order of equal keys (a stable
 * sort, like numpy's mergesort of -key). Insertion sort on short runs, then bottom-up merges
 * through `tmp` (length >= n). No comparator callbacks: this runs over millions of detections.
 * 0 and -0 compare equal, as in numpy. Keys must not be NaN.
 */
export function stableSortDescending(key: Float64Array, idx: Int32Array, n: number, tmp: Int32Array): void {
  const RUN = 16;
  for (let lo = 0; lo < n; lo += RUN) {
    const hi = Math.min(lo + RUN, n);
    for (let i = lo + 1; i < hi; i++) {
      const x = idx[i]!;
      const kx = key[x]!;
      let j = i - 1;
      while (j >= lo && key[idx[j]!]! < kx) {
        idx[j + 1] = idx[j]!;
        j--;
      }
      idx[j + 1] = x;
    }
  }
  let src = idx;
  let dst = tmp;
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let l = lo;
      let r = mid;
      let o = lo;
      while (l < mid && r < hi) {
        // Take from the right run only when strictly greater: ties keep left-run order.
        if (key[src[r]!]! > key[src[l]!]!) dst[o++] = src[r++]!;
        else dst[o++] = src[l++]!;
      }
      while (l < mid) dst[o++] = src[l++]!;
      while (r < hi) dst[o++] = src[r++]!;
    }
    const swap = src;
    src = dst;
    dst = swap;
  }
  if (src !== idx) idx.set(src.subarray(0, n));
}
