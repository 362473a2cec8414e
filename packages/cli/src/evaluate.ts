/** Runs a detector over a COCO split and scores it with @hpf/eval. */
import { createBatchLoader, type CocoDataset } from '@hpf/data';
import { evaluateCoco, type CocoDataset as EvalDataset, type CocoDetection, type CocoEvalResult } from '@hpf/eval';
import type { Detector } from '@hpf/dense';

export interface PredictOptions {
  batchSize: number;
  inputSize: number;
  /** Called after each batch with the number of images done. */
  onBatch?: (done: number, total: number) => void;
}

/** Detections of every image of `dataset` in COCO results format (original pixels, xywh). */
export async function predictDataset(detector: Detector, dataset: CocoDataset, options: PredictOptions): Promise<CocoDetection[]> {
  const loader = createBatchLoader(dataset, { batchSize: options.batchSize, inputSize: options.inputSize, shuffle: false, flipProbability: 0 });
  const detections: CocoDetection[] = [];
  let done = 0;
  for (const batch of loader.epoch(0)) {
    let perImage;
    try {
      perImage = await detector.predict(batch.images, batch.meta);
    } finally {
      batch.images.dispose();
    }
    perImage.forEach((dets, i) => {
      for (const d of dets) {
        const [x1, y1, x2, y2] = d.box;
        const categoryId = dataset.labelToCategoryId[d.label];
        if (categoryId === undefined) throw new Error(`detector predicted label ${d.label}, but the dataset has ${dataset.categories.length} categories`);
        detections.push({ image_id: batch.meta[i]!.imageId, category_id: categoryId, bbox: [x1, y1, x2 - x1, y2 - y1], score: d.score });
      }
    });
    done += batch.meta.length;
    options.onBatch?.(done, dataset.images.length);
  }
  return detections;
}

export async function evaluateDetector(
  detector: Detector,
  dataset: CocoDataset,
  options: PredictOptions,
): Promise<{ detections: CocoDetection[]; result: CocoEvalResult }> {
  const detections = await predictDataset(detector, dataset, options);
  return { detections, result: evaluateCoco(groundTruth(dataset), detections) };
}

/** @hpf/data's validated instances as @hpf/eval wants them: COCO's optional area and iscrowd filled in. */
export function groundTruth(dataset: CocoDataset): EvalDataset {
  const { images, categories, annotations } = dataset.instances;
  return {
    images,
    categories,
    annotations: annotations.map((a) => ({ ...a, area: a.area ?? a.bbox[2] * a.bbox[3], iscrowd: a.iscrowd ?? 0 })),
  };
}
