// Float64 references of the losses the adapters' known-answer tests compare against. Plain
// arithmetic on numbers, deliberately independent of @hpf/loss and tfjs.

export const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Binary cross-entropy of logit z against the soft target q. */
export const bce64 = (z: number, q: number): number => -(q * Math.log(sigmoid(z)) + (1 - q) * Math.log(1 - sigmoid(z)));

/** Sigmoid focal loss of logit z for target t (1 positive, 0 negative). */
export function focal64(z: number, t: number, gamma = 2, alpha = 0.25): number {
  const p = sigmoid(z);
  return t === 1 ? -alpha * (1 - p) ** gamma * Math.log(p) : -(1 - alpha) * p ** gamma * Math.log(1 - p);
}

/** Quality focal loss of logit z for the soft target y. */
export function qfl64(z: number, y: number, beta = 2): number {
  const p = sigmoid(z);
  return -(y * Math.log(p) + (1 - y) * Math.log(1 - p)) * Math.abs(y - p) ** beta;
}

/** IoU and GIoU of two `[x1, y1, x2, y2]` boxes. */
export function overlaps64(a: readonly number[], b: readonly number[]): { iou: number; giou: number } {
  const area = (x: readonly number[]) => (x[2]! - x[0]!) * (x[3]! - x[1]!);
  const iw = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const ih = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = iw * ih;
  const union = area(a) + area(b) - inter;
  const enclose = (Math.max(a[2]!, b[2]!) - Math.min(a[0]!, b[0]!)) * (Math.max(a[3]!, b[3]!) - Math.min(a[1]!, b[1]!));
  return { iou: inter / union, giou: inter / union - (enclose - union) / enclose };
}

export const giou64 = (a: readonly number[], b: readonly number[]): number => overlaps64(a, b).giou;
