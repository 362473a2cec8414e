/**
 * `hpf export`: a trained run as a self-contained model folder (model.json descriptor + TF.js
 * weight shards, BatchNorm folded) that `loadDetector` from @hpf/model reads in Node or a browser.
 */
import { exportDetector, type WrittenModel } from '@hpf/model/node';
import { openRun } from './run-files.js';

/** `checkpoint`: the run folder's file to export (default checkpoint.hpf; e.g. best.hpf). */
export async function exportRun(runDir: string, outDir: string, checkpoint?: string): Promise<WrittenModel & { detector: string; iteration: number }> {
  const run = await openRun(runDir, checkpoint);
  try {
    const written = await exportDetector(
      run.detector,
      { detector: run.meta.options.detector, options: run.meta.detectorOptions, classes: run.meta.categories, inputSize: run.meta.inputSize },
      outDir,
      { generatedBy: `hpf export (${run.meta.options.detector}, iteration ${run.meta.iteration})` },
    );
    return { ...written, detector: run.meta.options.detector, iteration: run.meta.iteration };
  } finally {
    run.detector.dispose();
  }
}
