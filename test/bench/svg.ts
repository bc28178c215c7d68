/** One batch size of scenario 5: milliseconds per change (median request latency / batch size). */
export interface ChartPoint {
  size: number;
  service: number;
  floor: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));

/**
 * A log-log line chart of latency per change against batch size, service vs SQL floor,
 * as a self-contained SVG.
 */
export function batchChart(points: ChartPoint[], subtitle: string): string {
  const W = 720;
  const H = 440;
  const m = { left: 80, right: 150, top: 64, bottom: 60 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const sizes = points.map((p) => p.size);
  const values = points.flatMap((p) => [p.service, p.floor]).filter((v) => v > 0 && Number.isFinite(v));
  const xMin = Math.log10(Math.min(...sizes)) - 0.1;
  const xMax = Math.log10(Math.max(...sizes)) + 0.1;
  const yMin = Math.floor(Math.log10(Math.min(...values)));
  const yMax = Math.ceil(Math.log10(Math.max(...values)));
  const x = (size: number) => m.left + ((Math.log10(size) - xMin) / (xMax - xMin)) * pw;
  const y = (v: number) => m.top + ph - ((Math.log10(v) - yMin) / Math.max(1, yMax - yMin)) * ph;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="${m.left}" y="26" font-size="16" font-weight="bold">Latency per change vs batch size (median, log-log)</text>`);
  parts.push(`<text x="${m.left}" y="46" fill="#555">${esc(subtitle)}</text>`);

  // Grid: decades (solid) and 2x/5x (dotted) on the y axis; one line per batch size on the x axis.
  for (let d = yMin; d <= yMax; d++) {
    const v = 10 ** d;
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#ccc"/>`);
    parts.push(`<text x="${m.left - 8}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
    if (d < yMax) {
      for (const k of [2, 5])
        parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y(k * v)}" y2="${y(k * v)}" stroke="#eee" stroke-dasharray="2,3"/>`);
    }
  }
  for (const s of sizes) {
    parts.push(`<line x1="${x(s)}" x2="${x(s)}" y1="${m.top}" y2="${m.top + ph}" stroke="#eee"/>`);
    parts.push(`<text x="${x(s)}" y="${m.top + ph + 18}" text-anchor="middle">${s}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="${H - 16}" text-anchor="middle">changes per request (batch size)</text>`);
  parts.push(`<text transform="translate(20 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">milliseconds per change</text>`);

  const series: { key: 'service' | 'floor'; label: string; color: string }[] = [
    { key: 'service', label: 'service (HTTP)', color: '#1f77b4' },
    { key: 'floor', label: 'SQL floor', color: '#ff7f0e' },
  ];
  for (const s of series) {
    const pts = points.filter((p) => p[s.key] > 0);
    parts.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2.5" points="${pts.map((p) => `${x(p.size).toFixed(1)},${y(p[s.key]).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const p of pts) {
      const cy = y(p[s.key]);
      parts.push(`<circle cx="${x(p.size)}" cy="${cy}" r="4" fill="${s.color}"/>`);
      parts.push(`<text x="${x(p.size) + 7}" y="${cy + (s.key === 'service' ? -7 : 15)}" fill="${s.color}">${fmt(p[s.key])}</text>`);
    }
  }
  // Legend, with the ratio per batch size.
  const lx = m.left + pw + 16;
  series.forEach((s, i) => {
    parts.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${m.top + 10 + i * 20}" y2="${m.top + 10 + i * 20}" stroke="${s.color}" stroke-width="2.5"/>`,
    );
    parts.push(`<text x="${lx + 28}" y="${m.top + 14 + i * 20}">${s.label}</text>`);
  });
  parts.push(`<text x="${lx}" y="${m.top + 70}" font-weight="bold">service / floor</text>`);
  points.forEach((p, i) =>
    parts.push(`<text x="${lx}" y="${m.top + 90 + i * 18}">batch ${p.size}: ${(p.service / p.floor).toFixed(1)}x</text>`),
  );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
