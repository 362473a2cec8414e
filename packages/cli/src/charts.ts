/**
 * Report charts: a Vega-Lite spec compiled to Vega, rendered to SVG in Node (no browser, no
 * canvas), then rasterised to PNG by resvg.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { Resvg } from "@resvg/resvg-js";
import { writeFileAtomic } from "@hpf/data";

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), {
    renderer: "none",
  });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function svgToPng(svg: string, scale = 2): Buffer {
  const png = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
    background: "white",
  })
    .render()
    .asPng();
  return Buffer.from(png);
}

/** Writes `<base>.svg` and `<base>.png`; returns both paths. */
export async function writeChart(
  base: string,
  spec: TopLevelSpec
): Promise<{ svg: string; png: string }> {
  const svg = await renderSvg(spec);
  writeFileAtomic(`${base}.svg`, svg);
  writeFileAtomic(`${base}.png`, svgToPng(svg));
  return { svg: `${base}.svg`, png: `${base}.png` };
}

export interface DeltaPoint {
  detector: string;
  seed: number;
  delta: number;
}

/** A detector's mean delta and its 95% t-interval over seeds (null with one seed: no bar). */
export interface DeltaInterval {
  detector: string;
  mean: number;
  ci95: [number, number] | null;
}

/**
 * AP delta (HPF - baseline, AP points) per detector: the mean with its 95% t-interval, the bar the
 * report's verdict reads (above zero: gain), and the per-seed points beside it.
 */
export function deltaChartSpec(
  points: readonly DeltaPoint[],
  intervals: readonly DeltaInterval[],
  metric = "AP"
): TopLevelSpec {
  const x = { field: "detector", type: "nominal", title: "detector", axis: { labelAngle: 0 } };
  const bars = intervals
    .filter((i) => i.ci95 !== null)
    .map((i) => ({ detector: i.detector, lo: 100 * i.ci95![0], hi: 100 * i.ci95![1] }));
  const y = { type: "quantitative", title: `${metric} delta (points)` };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `${metric} delta per detector (HPF − baseline; red: mean with its 95% interval over seeds; blue: seeds)`,
    width: Math.max(240, 60 * new Set(points.map((p) => p.detector)).size),
    height: 260,
    layer: [
      // the zero line spans the whole plot: it has no x encoding
      { mark: { type: "rule", color: "#888" }, encoding: { y: { datum: 0 } } },
      {
        data: { values: bars },
        mark: { type: "rule", color: "#d62728", strokeWidth: 2 },
        encoding: { x, y: { field: "lo", ...y }, y2: { field: "hi" } },
      },
      ...(["lo", "hi"] as const).map((end) => ({
        data: { values: bars },
        mark: { type: "tick", color: "#d62728", thickness: 2, size: 14 },
        encoding: { x, y: { field: end, ...y } },
      })),
      {
        data: { values: intervals.map((i) => ({ detector: i.detector, mean: 100 * i.mean })) },
        mark: { type: "point", filled: true, size: 90, color: "#d62728", opacity: 1 },
        encoding: { x, y: { field: "mean", ...y } },
      },
      {
        data: { values: points.map((p) => ({ ...p, delta: 100 * p.delta })) },
        mark: { type: "point", size: 40, opacity: 0.7, color: "#1f77b4" },
        encoding: { x, y: { field: "delta", ...y }, xOffset: { field: "seed", type: "nominal" } },
      },
    ],
  } as TopLevelSpec;
}

export interface GammaPoint {
  iteration: number;
  level: string;
  gamma: number;
}

/** Per-level gamma over training (one line per pyramid level). */
export function gammaChartSpec(
  points: readonly GammaPoint[],
  title: string
): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 480,
    height: 260,
    data: { values: [...points] },
    mark: { type: "line", strokeWidth: 1.5 },
    encoding: {
      x: { field: "iteration", type: "quantitative", title: "iteration" },
      y: {
        field: "gamma",
        type: "quantitative",
        title: "gamma",
        scale: { zero: false },
      },
      color: { field: "level", type: "nominal", title: "level" },
    },
  } as TopLevelSpec;
}

export interface CurvePoint {
  /** 'loss' (loss terms) or 'val AP' (COCO AP on the validation split, percent). */
  panel: "loss" | "val AP";
  /** The loss term, or 'AP'. */
  series: string;
  arm: string;
  iteration: number;
  value: number;
}

/** Two panels over iterations: loss terms (colour: term, dash: arm) and validation AP (colour: arm). */
export function curvesChartSpec(
  points: readonly CurvePoint[],
  title: string
): TopLevelSpec {
  const x = { field: "iteration", type: "quantitative", title: "iteration" } as const;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    data: { values: [...points] },
    vconcat: [
      {
        width: 480,
        height: 220,
        transform: [{ filter: "datum.panel === 'loss'" }],
        mark: { type: "line", strokeWidth: 1.2 },
        encoding: {
          x,
          y: { field: "value", type: "quantitative", title: "loss" },
          color: { field: "series", type: "nominal", title: "term" },
          strokeDash: { field: "arm", type: "nominal", title: "arm" },
          detail: { field: "arm" },
        },
      },
      {
        width: 480,
        height: 160,
        transform: [{ filter: "datum.panel === 'val AP'" }],
        mark: { type: "line", point: true, strokeWidth: 1.5 },
        encoding: {
          x,
          y: { field: "value", type: "quantitative", title: "val AP (%)" },
          color: { field: "arm", type: "nominal", title: "arm" },
        },
      },
    ],
  } as TopLevelSpec;
}

export interface PrCurveSeries {
  /** Legend entry, e.g. "cat (AP50 71.2)". */
  name: string;
  recall: readonly number[];
  precision: readonly number[];
}

/** Precision over recall, one line per class (hpf eval's PR curves at one IoU threshold). */
export function prCurveChartSpec(series: readonly PrCurveSeries[], title: string): TopLevelSpec {
  const values = series.flatMap((s) => s.recall.map((r, i) => ({ class: s.name, recall: r, precision: s.precision[i]! })));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 420,
    height: 360,
    data: { values },
    mark: { type: "line", strokeWidth: 1.5, interpolate: "step-after" },
    encoding: {
      x: { field: "recall", type: "quantitative", title: "recall", scale: { domain: [0, 1] } },
      y: { field: "precision", type: "quantitative", title: "precision", scale: { domain: [0, 1] } },
      color: { field: "class", type: "nominal", title: "class", sort: series.map((s) => s.name) },
    },
  } as TopLevelSpec;
}

/**
 * A confusion matrix as a heat map with the value in each cell: rows the predicted class, columns
 * the true class, `names` in matrix order (background last).
 */
export function confusionMatrixChartSpec(matrix: readonly (readonly number[])[], names: readonly string[], title: string, normalised: boolean): TopLevelSpec {
  const values = matrix.flatMap((row, i) => row.map((v, j) => ({ predicted: names[i]!, true: names[j]!, value: v, label: normalised ? (v === 0 ? "" : v.toFixed(2)) : v === 0 ? "" : String(v) })));
  const max = Math.max(1e-12, ...matrix.flat());
  const side = Math.max(240, 34 * names.length);
  const axis = { field: "", type: "nominal", sort: [...names], axis: { labelAngle: 0 } } as const;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: side,
    height: side,
    data: { values },
    encoding: {
      x: { ...axis, field: "true", title: "true class", axis: { labelAngle: -45 } },
      y: { ...axis, field: "predicted", title: "predicted class" },
    },
    layer: [
      {
        mark: "rect",
        encoding: {
          color: { field: "value", type: "quantitative", title: normalised ? "fraction of the column" : "count", scale: { scheme: "blues", domain: [0, max] } },
        },
      },
      {
        mark: { type: "text", fontSize: 11 },
        encoding: {
          text: { field: "label" },
          color: { condition: { test: `datum.value > ${max / 2}`, value: "white" }, value: "black" },
        },
      },
    ],
  } as TopLevelSpec;
}

export interface RunCurvePoint {
  /** 'loss' (a loss term), 'lr', 'val AP' (percent) or 'gamma' (a pyramid level). */
  panel: "loss" | "lr" | "val AP" | "gamma";
  /** The loss term ('loss' is the total), 'lr', 'AP' / 'AP50', or the level ('P3', ...). */
  series: string;
  iteration: number;
  value: number;
}

/** One training run over iterations, stacked panels on one iteration axis: loss terms, learning rate, val AP (when measured), gamma per level. */
export function runCurvesChartSpec(points: readonly RunCurvePoint[], title: string): TopLevelSpec {
  const iterations = points.map((p) => p.iteration);
  const domain = [Math.min(...iterations), Math.max(...iterations)];
  const x = { field: "iteration", type: "quantitative", title: "iteration", scale: { domain }, axis: { tickMinStep: 1 } } as const;
  const panel = (name: RunCurvePoint["panel"], height: number, yTitle: string, legend: string | null, extra: { zero?: boolean; point?: boolean; format?: string } = {}) => ({
    width: 520,
    height,
    transform: [{ filter: `datum.panel === '${name}'` }],
    mark: { type: "line", strokeWidth: 1.3, ...(extra.point === true ? { point: true } : {}) },
    encoding: {
      x,
      y: { field: "value", type: "quantitative", title: yTitle, scale: { zero: extra.zero === true }, ...(extra.format === undefined ? {} : { axis: { format: extra.format } }) },
      ...(legend === null ? {} : { color: { field: "series", type: "nominal", title: legend } }),
    },
  });
  const has = (name: RunCurvePoint["panel"]): boolean => points.some((p) => p.panel === name);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    data: { values: [...points] },
    vconcat: [
      panel("loss", 200, "loss", "term"),
      panel("lr", 90, "learning rate", null, { zero: true }),
      ...(has("val AP") ? [panel("val AP", 140, "val AP (%)", "metric", { zero: true, point: true, format: ".1f" })] : []),
      ...(has("gamma") ? [panel("gamma", 140, "gamma", "level")] : []),
    ],
    // each panel its own colour legend: loss terms, AP kinds and levels are different things
    resolve: { scale: { color: "independent" } },
  } as TopLevelSpec;
}
