import { useEffect, useRef } from 'react';
import uPlot, { type AlignedData, type Options } from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
  /** Bars instead of a line (counts per bucket). */
  bars?: boolean;
}

interface Props {
  /** Bucket starts, epoch ms. */
  t: number[];
  series: Series[];
  height?: number;
  /** How a value reads on the axis and in the legend ("12 ms", "3"). */
  unit?: string;
  /** A sparkline: no axes, no legend, no cursor. */
  spark?: boolean;
  label: string;
}

/**
 * A time-series chart drawn by uPlot (canvas, small, fast with thousands of points), sized to
 * its container and redrawn when the data change. Wrapped here so pages speak in series, not in
 * uPlot's options.
 */
export function Chart({ t, series, height = 180, unit = '', spark = false, label }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = [t.map((ms) => ms / 1000), ...series.map((s) => s.values)] as AlignedData;
  const latest = useRef(data);
  latest.current = data;
  const shape = `${spark}|${height}|${unit}|${series.map((s) => `${s.label}:${s.color}:${s.bars}`).join(',')}`;

  // Rebuilt only when the chart's shape changes (`shape` stands for the options read here); new data go through setData below.
  // biome-ignore lint/correctness/useExhaustiveDependencies: see above
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const bars = uPlot.paths.bars?.({ size: [0.7, 40] });
    const options: Options = {
      width: Math.max(el.clientWidth, 100),
      height,
      legend: { show: !spark },
      cursor: { show: !spark, points: { show: !spark } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: spark
        ? [{ show: false }, { show: false }]
        : [
            { stroke: '#64748b', grid: { stroke: '#e2e8f0' } },
            {
              stroke: '#64748b',
              grid: { stroke: '#e2e8f0' },
              values: (_u, ticks) => ticks.map((v) => `${v}${unit}`),
              size: 56,
            },
          ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          fill: s.bars ? `${s.color}55` : spark ? `${s.color}22` : undefined,
          width: spark ? 1.5 : 2,
          spanGaps: false,
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : `${Math.round(v * 10) / 10}${unit}`),
          ...(s.bars && bars ? { paths: bars } : {}),
        })),
      ],
    };
    const chart = new uPlot(options, latest.current, el);
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(el.clientWidth, 100), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [shape]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: new data arrive as new `t`/`series`; `latest` holds them
  useEffect(() => {
    plot.current?.setData(latest.current);
  }, [t, series]);

  return <div ref={box} className={spark ? 'chart chart-spark' : 'chart'} role="img" aria-label={label} />;
}
