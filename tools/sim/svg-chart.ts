/**
 * A small line chart as an SVG string, for the benchmark reports (no
 * dependency, no network): a log-scale or linear x axis, a linear y axis
 * from 0, one polyline with point markers per series, dashed series for
 * theoretical curves, and a legend.
 */

export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
  /** drawn dashed, without markers: a theoretical curve */
  readonly dashed?: boolean;
  readonly color: string;
}

export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xLog?: boolean;
  readonly series: readonly Series[];
  readonly width?: number;
  readonly height?: number;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (x: number) => (Math.round(x * 10) / 10).toString();

/** "Nice" tick values covering [0, max]. */
function linearTicks(max: number): number[] {
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step / 2; v += step) ticks.push(v);
  return ticks;
}

export function lineChart(spec: ChartSpec): string {
  const width = spec.width ?? 720;
  const height = spec.height ?? 420;
  const m = { left: 60, right: 190, top: 40, bottom: 50 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = spec.series.flatMap((s) => s.points.map((p) => p[1]));
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const yTicks = linearTicks(Math.max(1, ...ys));
  const yMax = yTicks[yTicks.length - 1] ?? 1;
  const tx = spec.xLog === true ? (x: number) => Math.log10(x) : (x: number) => x;
  const X = (x: number) => m.left + (xMax === xMin ? plotW / 2 : ((tx(x) - tx(xMin)) / (tx(xMax) - tx(xMin))) * plotW);
  const Y = (y: number) => m.top + plotH - (y / yMax) * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escape(spec.title)}</text>`);
  for (const v of yTicks) {
    out.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${fmt(Y(v))}" y2="${fmt(Y(v))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 6}" y="${fmt(Y(v) + 4)}" text-anchor="end">${fmt(v)}</text>`);
  }
  const xTicks = [...new Set(xs)].sort((a, b) => a - b);
  for (const v of xTicks) {
    out.push(`<line x1="${fmt(X(v))}" x2="${fmt(X(v))}" y1="${m.top}" y2="${m.top + plotH}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${fmt(X(v))}" y="${m.top + plotH + 16}" text-anchor="middle">${v.toLocaleString('en-US')}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${m.left + plotW / 2}" y="${height - 12}" text-anchor="middle">${escape(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(spec.yLabel)}</text>`);
  spec.series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a[0] - b[0]).map(([x, y]) => `${fmt(X(x))},${fmt(Y(y))}`).join(' ');
    const dash = s.dashed === true ? ' stroke-dasharray="6 4"' : '';
    out.push(`<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    if (s.dashed !== true) for (const [x, y] of s.points) out.push(`<circle cx="${fmt(X(x))}" cy="${fmt(Y(y))}" r="3.5" fill="${s.color}"/>`);
    const ly = m.top + 10 + i * 20;
    const lx = m.left + plotW + 14;
    out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 30}" y="${ly + 4}">${escape(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
