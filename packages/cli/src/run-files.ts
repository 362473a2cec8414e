/** Opening a finished (or checkpointed) run: its checkpoint header and a detector with its weights. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Detector } from '@hpf/fpn';
import { buildDetector, checkpointPath, loadModelState, type CheckpointMeta } from './train.js';
import { readCheckpoint } from '@hpf/engine/node';

export async function openRun(dir: string): Promise<{ meta: CheckpointMeta; detector: Detector }> {
  const path = checkpointPath(resolve(dir));
  if (!existsSync(path)) throw new Error(`--run: ${path} not found (train with 'hpf train --out ${dir}' first)`);
  const { meta } = readCheckpoint<CheckpointMeta>(path);
  const detector = await buildDetector(meta.options.detector, meta.detectorOptions);
  try {
    loadModelState(path, detector);
  } catch (error) {
    detector.dispose();
    throw error;
  }
  return { meta, detector };
}
