// Small SVG charts drawn by hand (no library): grouped bars with an axis and value labels.
//
//   barChart({labels: ['billing', 'repair'], series: [{name: '呼入', values: [3, 1],
//             color: '#1d5fbf'}], width: 520, height: 200, title: '...'})  -> <svg>

const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function niceMax(value) {
  if (value <= 5) return 5;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (value <= step * power) return step * power;
  }
  return 10 * power;
}

export function barChart({ labels, series, width = 520, height = 200, title = '', testid }) {
  const left = 34; const right = 8; const top = title ? 22 : 8; const bottom = 34;
  const root = svg('svg', {
    width, height, viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img',
  });
  if (testid) root.dataset.testid = testid;
  if (title) root.appendChild(svg('text', { x: 4, y: 14, class: 'chart-title' }, title));
  const plotW = width - left - right; const plotH = height - top - bottom;
  const maxValue = niceMax(Math.max(0, ...series.flatMap((s) => s.values.map(Number))));
  for (let i = 0; i <= 4; i += 1) {
    const y = top + plotH - (plotH * i) / 4;
    root.appendChild(svg('line', { x1: left, x2: width - right, y1: y, y2: y, class: 'chart-grid' }));
    root.appendChild(svg('text', { x: left - 4, y: y + 4, class: 'chart-axis', 'text-anchor': 'end' },
      Math.round((maxValue * i) / 4)));
  }
  const groups = Math.max(1, labels.length);
  const groupW = plotW / groups;
  const barW = Math.max(2, Math.min(28, (groupW * 0.8) / Math.max(1, series.length)));
  labels.forEach((label, gi) => {
    const x0 = left + gi * groupW + (groupW - barW * series.length) / 2;
    series.forEach((s, si) => {
      const value = Number(s.values[gi] || 0);
      const h = (plotH * value) / maxValue;
      const x = x0 + si * barW;
      const bar = svg('rect', {
        x, y: top + plotH - h, width: barW - 1, height: Math.max(0, h), fill: s.color,
        class: 'chart-bar',
      });
      bar.appendChild(svg('title', {}, `${label} ${s.name}: ${value}`));
      root.appendChild(bar);
      if (value > 0 && barW >= 10) {
        root.appendChild(svg('text', {
          x: x + barW / 2, y: top + plotH - h - 2, class: 'chart-value', 'text-anchor': 'middle',
        }, value));
      }
    });
    if (groups <= 24 && (groups <= 12 || gi % 2 === 0)) {
      root.appendChild(svg('text', {
        x: left + gi * groupW + groupW / 2, y: top + plotH + 13, class: 'chart-axis',
        'text-anchor': 'middle',
      }, label));
    }
  });
  let lx = left;
  series.forEach((s) => {
    root.appendChild(svg('rect', { x: lx, y: height - 12, width: 10, height: 10, fill: s.color }));
    const text = svg('text', { x: lx + 14, y: height - 3, class: 'chart-axis' }, s.name);
    root.appendChild(text);
    lx += 24 + 12 * String(s.name).length;
  });
  return root;
}
