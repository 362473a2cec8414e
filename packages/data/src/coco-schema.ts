import { z } from 'zod';

/**
 * The subset of COCO `instances.json` detection needs. Objects are loose: COCO files carry extra
 * fields (segmentation, licenses, flickr urls...) that readers must tolerate and keep.
 */
const coordinate = z.number().nonnegative();
const id = z.number().int();

export const cocoCategorySchema = z.looseObject({
  id,
  name: z.string(),
  supercategory: z.string().optional(),
});

export const cocoImageSchema = z.looseObject({
  id,
  file_name: z.string().min(1),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});

export const cocoAnnotationSchema = z.looseObject({
  id,
  image_id: id,
  category_id: id,
  /** `[x, y, width, height]` in pixels of the original image. */
  bbox: z.tuple([coordinate, coordinate, coordinate, coordinate]),
  area: z.number().nonnegative().optional(),
  iscrowd: z.union([z.literal(0), z.literal(1), z.boolean()]).optional(),
});

export const cocoInstancesSchema = z.looseObject({
  info: z.unknown().optional(),
  licenses: z.array(z.unknown()).optional(),
  images: z.array(cocoImageSchema),
  annotations: z.array(cocoAnnotationSchema),
  categories: z.array(cocoCategorySchema).min(1),
});

export type CocoCategory = z.infer<typeof cocoCategorySchema>;
export type CocoImage = z.infer<typeof cocoImageSchema>;
export type CocoAnnotation = z.infer<typeof cocoAnnotationSchema>;
export type CocoInstances = z.infer<typeof cocoInstancesSchema>;

/** An error in a dataset file: `file` is the offending file, `annotationId` set when one is to blame. */
export class CocoFormatError extends Error {
  readonly file: string;
  readonly annotationId: number | undefined;
  constructor(file: string, message: string, annotationId?: number) {
    super(`${file}: ${annotationId === undefined ? '' : `annotation id ${annotationId}: `}${message}`);
    this.name = 'CocoFormatError';
    this.file = file;
    this.annotationId = annotationId;
  }
}

/**
 * Parses and validates instances.json text (a leading UTF-8 byte-order mark is skipped). Errors name `file`, the JSON parser's position (with
 * line and column) for malformed JSON, and the annotation id for a bad annotation.
 */
export function parseCocoInstances(text: string, file: string): CocoInstances {
  // Editors on Windows save UTF-8 with a byte-order mark, which JSON.parse rejects.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const pos = jsonErrorPosition(text, message);
    const before = text.slice(0, pos);
    const line = before.split('\n').length;
    const column = pos - before.lastIndexOf('\n');
    const where = ` at position ${pos} (line ${line}, column ${column})`;
    throw new CocoFormatError(file, `malformed JSON${where}: ${message}`);
  }
  const parsed = cocoInstancesSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = formatPath(issue.path);
  const annotationId = annotationIdAt(raw, issue.path);
  throw new CocoFormatError(file, `${path}: ${issue.message}`, annotationId);
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('') || '(root)';
}

function annotationIdAt(raw: unknown, path: readonly PropertyKey[]): number | undefined {
  if (path[0] !== 'annotations' || typeof path[1] !== 'number') return undefined;
  const annotations = (raw as { annotations?: unknown }).annotations;
  const entry = Array.isArray(annotations) ? (annotations[path[1]] as { id?: unknown } | undefined) : undefined;
  return typeof entry?.id === 'number' ? entry.id : undefined;
}

/**
 * The offset where JSON.parse failed. V8 reports it in most messages ("... in JSON at position
 * N") but not in Node 20's "Unexpected token" ones; then the parser itself is asked, by bisection
 * over prefixes: a prefix is still viable when it parses or fails only because it ended (JSON's
 * viable prefixes are prefix-closed), and the first non-viable prefix ends at the bad character.
 */
function jsonErrorPosition(text: string, message: string): number {
  const reported = /position (\d+)/.exec(message);
  if (reported) return Number(reported[1]);
  const viable = (k: number): boolean => {
    try {
      JSON.parse(text.slice(0, k));
      return true;
    } catch (err) {
      const m = (err as Error).message;
      if (/Unexpected end of JSON input/.test(m)) return true;
      const at = /position (\d+)/.exec(m);
      return at !== null && Number(at[1]) >= k;
    }
  };
  let lo = 0; // viable
  let hi = text.length; // not viable
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (viable(mid)) lo = mid;
    else hi = mid;
  }
  return hi - 1;
}
