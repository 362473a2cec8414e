/**
 * A second, deliberately plain implementation of COCO box evaluation, written only for the tests.
 * It follows the published description of pycocotools' COCOeval step by step (evaluate per image,
 * category and area range; accumulate per category, area range and maxDets), with ordinary
 * objects and arrays, a hand-written stable merge sort and a binary searchsorted, and no code shared
 * with src/. Thresholds are built by repeated decimal arithmetic and checked against numpy.
 */
import type { CocoDataset, CocoDetection } from '../src/index.js';

export interface RefResult {
  precision: number[][][][][]; // [T][R][K][A][M]
  recall: number[][][][]; // [T][K][A][M]
  stats: number[];
}

interface Gt { id: number; bbox: number[]; area: number; iscrowd: number; ignore: boolean }
interface Dt { id: number; bbox: number[]; score: number; area: number }

/** Stable merge sort of indices by key ascending. */
function mergeArgsort(keys: number[]): number[] {
  const idx = keys.map((_, n) => n);
  const sort = (list: number[]): number[] => {
    if (list.length <= 1) return list;
    const mid = list.length >> 1;
    const left = sort(list.slice(0, mid));
    const right = sort(list.slice(mid));
    const out: number[] = [];
    let l = 0;
    let r = 0;
    while (l < left.length && r < right.length) {
      if (keys[right[r]!]! < keys[left[l]!]!) out.push(right[r++]!);
      else out.push(left[l++]!);
    }
    while (l < left.length) out.push(left[l++]!);
    while (r < right.length) out.push(right[r++]!);
    return out;
  };
  return sort(idx);
}

function iouOf(d: number[], g: number[], crowd: boolean): number {
  const [dx, dy, dw, dh] = d as [number, number, number, number];
  const [gx, gy, gw, gh] = g as [number, number, number, number];
  const iw = Math.min(dx + dw, gx + gw) - Math.max(dx, gx);
  const ih = Math.min(dy + dh, gy + gh) - Math.max(dy, gy);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / (crowd ? dw * dh : dw * dh + gw * gh - inter);
}

/** numpy.searchsorted(sorted, v, 'left'): first index whose value is >= v. */
function searchLeft(sorted: number[], v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function referenceEvaluate(
  dataset: CocoDataset,
  detections: readonly CocoDetection[],
  maxDets: number[] = [1, 10, 100],
  iouThrs: number[] = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95],
  recThrs: number[] = Array.from({ length: 101 }, (_, r) => (r === 100 ? 1 : r * 0.01)),
): RefResult {
  const imgIds = [...new Set(dataset.images.map((im) => im.id))].sort((a, b) => a - b);
  const catIds = [...new Set(dataset.categories.map((c) => c.id))].sort((a, b) => a - b);
  const areaRng: [number, number][] = [[0, 1e10], [0, 1024], [1024, 9216], [9216, 1e10]];
  const key = (i: number, c: number) => `${i}/${c}`;
  const gts = new Map<string, Gt[]>();
  const dts = new Map<string, Dt[]>();
  for (const a of dataset.annotations) {
    const list = gts.get(key(a.image_id, a.category_id)) ?? [];
    const crowd = a.iscrowd === true || a.iscrowd === 1 ? 1 : 0;
    list.push({ id: a.id, bbox: [...a.bbox], area: a.area, iscrowd: crowd, ignore: crowd === 1 });
    gts.set(key(a.image_id, a.category_id), list);
  }
  detections.forEach((d, n) => {
    const list = dts.get(key(d.image_id, d.category_id)) ?? [];
    list.push({ id: n + 1, bbox: [...d.bbox], score: d.score, area: d.bbox[2]! * d.bbox[3]! });
    dts.set(key(d.image_id, d.category_id), list);
  });
  const maxDet = maxDets[maxDets.length - 1]!;
  const T = iouThrs.length;

  interface EvalImg { dtScores: number[]; dtMatches: number[][]; dtIgnore: boolean[][]; gtIgnore: boolean[] }
  // evalImgs[k][a][i]
  const evalImgs: (EvalImg | null)[][][] = catIds.map((catId) => areaRng.map((rng) => imgIds.map((imgId) => {
    const gt = gts.get(key(imgId, catId)) ?? [];
    const dtAll = dts.get(key(imgId, catId)) ?? [];
    if (gt.length === 0 && dtAll.length === 0) return null;
    const gIg = gt.map((g) => g.ignore || g.area < rng[0] || g.area > rng[1]);
    const gOrder = mergeArgsort(gIg.map((v) => (v ? 1 : 0)));
    const gSorted = gOrder.map((n) => gt[n]!);
    const gtIgnore = gOrder.map((n) => gIg[n]!);
    const dOrder = mergeArgsort(dtAll.map((d) => -d.score)).slice(0, maxDet);
    const dSorted = dOrder.map((n) => dtAll[n]!);
    const dtMatches = iouThrs.map(() => dSorted.map(() => 0));
    const dtIgnore = iouThrs.map(() => dSorted.map(() => false));
    const gtMatched = iouThrs.map(() => gSorted.map(() => 0));
    if (gSorted.length > 0 && dSorted.length > 0) {
      iouThrs.forEach((thr, t) => {
        dSorted.forEach((d, di) => {
          let best = Math.min(thr, 1 - 1e-10);
          let m = -1;
          for (let gi = 0; gi < gSorted.length; gi++) {
            const g = gSorted[gi]!;
            if (gtMatched[t]![gi]! > 0 && g.iscrowd === 0) continue;
            if (m > -1 && !gtIgnore[m] && gtIgnore[gi]) break;
            const v = iouOf(d.bbox, g.bbox, g.iscrowd === 1);
            if (v < best) continue;
            best = v;
            m = gi;
          }
          if (m === -1) return;
          dtIgnore[t]![di] = gtIgnore[m]!;
          dtMatches[t]![di] = gSorted[m]!.id;
          gtMatched[t]![m] = d.id;
        });
      });
    }
    dSorted.forEach((d, di) => {
      const outside = d.area < rng[0] || d.area > rng[1];
      for (let t = 0; t < T; t++) if (dtMatches[t]![di] === 0 && outside) dtIgnore[t]![di] = true;
    });
    return { dtScores: dSorted.map((d) => d.score), dtMatches, dtIgnore, gtIgnore };
  })));

  const K = catIds.length;
  const A = areaRng.length;
  const M = maxDets.length;
  const R = recThrs.length;
  const precision = iouThrs.map(() => recThrs.map(() => catIds.map(() => areaRng.map(() => maxDets.map(() => -1)))));
  const recall = iouThrs.map(() => catIds.map(() => areaRng.map(() => maxDets.map(() => -1))));
  for (let k = 0; k < K; k++) {
    for (let a = 0; a < A; a++) {
      for (let m = 0; m < M; m++) {
        const E = evalImgs[k]![a]!.filter((e): e is EvalImg => e !== null);
        if (E.length === 0) continue;
        const scores = E.flatMap((e) => e.dtScores.slice(0, maxDets[m]));
        const inds = mergeArgsort(scores.map((s) => -s));
        const npig = E.reduce((acc, e) => acc + e.gtIgnore.filter((g) => !g).length, 0);
        if (npig === 0) continue;
        for (let t = 0; t < T; t++) {
          const matches = E.flatMap((e) => e.dtMatches[t]!.slice(0, maxDets[m]));
          const ignores = E.flatMap((e) => e.dtIgnore[t]!.slice(0, maxDets[m]));
          let tp = 0;
          let fp = 0;
          const rc: number[] = [];
          const pr: number[] = [];
          for (const n of inds) {
            if (!ignores[n]) {
              if (matches[n] !== 0) tp += 1;
              else fp += 1;
            }
            rc.push(tp / npig);
            pr.push(tp / (fp + tp + Number.EPSILON));
          }
          recall[t]![k]![a]![m] = rc.length > 0 ? rc[rc.length - 1]! : 0;
          for (let n = pr.length - 1; n > 0; n--) if (pr[n]! > pr[n - 1]!) pr[n - 1] = pr[n]!;
          for (let r = 0; r < R; r++) {
            const at = searchLeft(rc, recThrs[r]!);
            precision[t]![r]![k]![a]![m] = at < pr.length ? pr[at]! : 0;
          }
        }
      }
    }
  }

  const mean = (values: number[]) => {
    const kept = values.filter((v) => v > -1);
    return kept.length === 0 ? -1 : kept.reduce((s, v) => s + v, 0) / kept.length;
  };
  const ap = (thr: number | null, a: number, md: number) => {
    const m = maxDets.indexOf(md);
    if (m < 0) return -1;
    const values: number[] = [];
    iouThrs.forEach((v, t) => {
      if (thr !== null && v !== thr) return;
      for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) values.push(precision[t]![r]![k]![a]![m]!);
    });
    return mean(values);
  };
  const ar = (a: number, md: number) => {
    const m = maxDets.indexOf(md);
    const values: number[] = [];
    for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) values.push(recall[t]![k]![a]![m]!);
    return mean(values);
  };
  const stats = [
    ap(null, 0, 100), ap(0.5, 0, maxDets[2]!), ap(0.75, 0, maxDets[2]!),
    ap(null, 1, maxDets[2]!), ap(null, 2, maxDets[2]!), ap(null, 3, maxDets[2]!),
    ar(0, maxDets[0]!), ar(0, maxDets[1]!), ar(0, maxDets[2]!),
    ar(1, maxDets[2]!), ar(2, maxDets[2]!), ar(3, maxDets[2]!),
  ];
  return { precision, recall, stats };
}
