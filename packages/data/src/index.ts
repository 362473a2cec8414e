export { decodeImage, encodeImage, flipImageHorizontal, imageFormatOf, sniffImageFormat, type EncodeOptions, type ImageFormat, type RgbImage, type SniffedFormat } from './image.js';
export { jpegOrientation, orientImage } from './orientation.js';
export {
  boxesFromCanvas,
  boxesToCanvas,
  clipBoxesToCanvas,
  flipBoxesHorizontal,
  letterboxGeometry,
  letterboxImage,
  pasteIntoCanvas,
  resampleVisible,
  scaledGeometry,
  visibleRegion,
  type FloatRgbImage,
  type LetterboxGeometry,
  type ScalePlacement,
} from './letterbox.js';
export { adjustBrightness, adjustContrast, adjustHue, adjustSaturation, applyColorJitter, type ColorJitterParams, type PixelImage } from './photometric.js';
export {
  checkScaleJitter,
  colorJitterRanges,
  drawColorJitter,
  drawScalePlacement,
  type ColorJitterOptions,
  type ColorJitterRanges,
  type SampleAugmentation,
} from './augment.js';
export {
  CocoFormatError,
  cocoInstancesSchema,
  parseCocoInstances,
  type CocoAnnotation,
  type CocoCategory,
  type CocoImage,
  type CocoInstances,
} from './coco-schema.js';
export {
  formatSummary,
  loadImage,
  readCocoDataset,
  type CocoDataset,
  type DatasetImage,
  type DatasetSummary,
  type ReadCocoOptions,
} from './coco-dataset.js';
export { CocoFolderWriter, writeCocoFolder, writeFileAtomic, type NewAnnotation, type WriterOptions } from './coco-write.js';
export { permutation, seededGenerator, uniform01, type RandomGenerator } from './shuffle.js';
// The one mapping of predicted boxes back to the original image (the inverse of the letterbox and flip).
export { boxesToOriginal } from '@hpf/dense';
export {
  collateBatch,
  createBatchLoader,
  prepareSample,
  type BatchLoader,
  type BatchLoaderOptions,
  type BatchPlan,
  type DetectionBatch,
  type DetectionTarget,
  type ImageMeta,
  type Normalization,
  type PreparedSample,
  type SampleOptions,
} from './batch.js';
