/** Opening a finished (or checkpointed) run: its checkpoint header and a detector with its weights. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Detector } from '@hpf/dense';
import { buildDetector, CHECKPOINT_FILE, loadModelState, type CheckpointMeta } from './train.js';
import { readCheckpoint } from '@hpf/engine/node';

/**
 * A run folder's checkpoint (`checkpoint`: its checkpoint.hpf by default, or another file such as
 * best.hpf, relative to the folder or absolute) with a detector holding its weights.
 */
export async function openRun(dir: string, checkpoint: string = CHECKPOINT_FILE): Promise<{ meta: CheckpointMeta; detector: Detector; path: string }> {
  const path = resolve(dir, checkpoint);
  if (!existsSync(path)) {
    const hint = checkpoint === CHECKPOINT_FILE ? `train with 'hpf train --out ${dir}' first` : 'best.hpf is written by hpf train --val-every';
    throw new Error(`--run: ${path} not found (${hint})`);
  }
  const { meta } = readCheckpoint<CheckpointMeta>(path);
  const detector = await buildDetector(meta.options.detector, meta.detectorOptions);
  try {
    loadModelState(path, detector);
  } catch (error) {
    detector.dispose();
    throw error;
  }
  return { meta, detector, path };
}
