/**
 * `hpf eval`'s files beside eval.json: the per-class AP table (printed and CSV), the per-class
 * precision-recall curves at IoU 0.5 and the confusion matrix (raw and column-normalised), each as
 * SVG + PNG. The numbers come from @hpf/eval; this module only lays them out.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '@hpf/data';
import { confusionMatrix, normaliseColumns, perClassAp, precisionRecallCurves, type ClassApRow, type CocoDataset, type CocoDetection, type CocoEvalResult } from '@hpf/eval';
import { confusionMatrixChartSpec, prCurveChartSpec, writeChart } from './charts.js';

const pct = (v: number): string => (v < 0 ? '-' : (100 * v).toFixed(1));

/** A fixed-width table: class, AP, AP50, AP75 (percent; '-' without ground truth), boxes, detections. */
export function formatClassTable(rows: readonly ClassApRow[]): string {
  const width = Math.max(5, ...rows.map((r) => r.name.length));
  const head = `${'class'.padEnd(width)}  ${'AP'.padStart(5)}  ${'AP50'.padStart(5)}  ${'AP75'.padStart(5)}  ${'boxes'.padStart(6)}  ${'dets'.padStart(7)}`;
  const lines = rows.map((r) => `${r.name.padEnd(width)}  ${pct(r.AP).padStart(5)}  ${pct(r.AP50).padStart(5)}  ${pct(r.AP75).padStart(5)}  ${String(r.groundTruth).padStart(6)}  ${String(r.detections).padStart(7)}`);
  return [head, ...lines].join('\n');
}

function csvField(value: string | number): string {
  const s = String(value);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV with a header; AP columns as fractions in [0, 1], empty where the class has no ground truth. */
export function classCsv(rows: readonly ClassApRow[]): string {
  const num = (v: number): string => (v < 0 ? '' : String(v));
  const lines = rows.map((r) => [r.categoryId, r.name, num(r.AP), num(r.AP50), num(r.AP75), r.groundTruth, r.detections].map(csvField).join(','));
  return ['category_id,name,AP,AP50,AP75,ground_truth,detections', ...lines].join('\n') + '\n';
}

/** The HPF setting of a run in words, for headers. */
export function describeHpf(hpf: unknown): string {
  if (hpf === false) return 'baseline loss (no HPF)';
  if (hpf === true || hpf === undefined) return 'HPF (default delta and momentum)';
  if (typeof hpf === 'object' && hpf !== null) {
    const parts = Object.entries(hpf as Record<string, unknown>).map(([k, v]) => `${k} ${String(v)}`);
    return parts.length === 0 ? 'HPF (default delta and momentum)' : `HPF with ${parts.join(', ')}`;
  }
  return `HPF setting ${JSON.stringify(hpf)}`;
}

export interface EvalFiles {
  csv: string;
  prCurve: { svg: string; png: string };
  confusion: { svg: string; png: string };
  confusionNormalised: { svg: string; png: string };
}

export async function writeEvalReport(dir: string, gt: CocoDataset, detections: readonly CocoDetection[], result: CocoEvalResult, scoreThreshold: number): Promise<{ table: string; files: EvalFiles }> {
  const rows = perClassAp(gt, detections, result);
  const csv = join(dir, 'per_class.csv');
  writeFileAtomic(csv, classCsv(rows));
  const curves = precisionRecallCurves(result, 0.5);
  const prCurve = await writeChart(
    join(dir, 'pr_curve'),
    prCurveChartSpec(curves.map((c) => ({ name: `${c.name} (AP50 ${pct(c.ap)})`, recall: c.recall, precision: c.precision })), 'precision-recall per class at IoU 0.5 (COCO interpolation, 100 detections per image)'),
  );
  const m = confusionMatrix(gt, detections, { iouThreshold: 0.5, scoreThreshold });
  const names = [...m.names, 'background'];
  const about = `IoU >= ${m.iouThreshold}, score >= ${m.scoreThreshold}`;
  const confusion = await writeChart(join(dir, 'confusion_matrix'), confusionMatrixChartSpec(m.counts, names, `confusion matrix (counts; ${about})`, false));
  const confusionNormalised = await writeChart(join(dir, 'confusion_matrix_normalized'), confusionMatrixChartSpec(normaliseColumns(m.counts), names, `confusion matrix (each true-class column sums to 1; ${about})`, true));
  return { table: formatClassTable(rows), files: { csv, prCurve, confusion, confusionNormalised } };
}
