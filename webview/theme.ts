/** Chart colours read from the CSS variables (VS Code theme, or the report's fallbacks). */
export interface Palette {
  fg: string;
  bg: string;
  muted: string;
  grid: string;
  red: string;
  blue: string;
  green: string;
  yellow: string;
  orange: string;
  purple: string;
  font: string;
  /** Distinct colours for series (runs, versions). */
  series: string[];
  highContrast: boolean;
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export function readPalette(): Palette {
  const p = {
    fg: cssVar('--mo-fg', '#1f2328'),
    bg: cssVar('--mo-bg', '#ffffff'),
    muted: cssVar('--mo-muted', '#59636e'),
    grid: cssVar('--mo-grid', '#d0d7de'),
    red: cssVar('--mo-red', '#cf222e'),
    blue: cssVar('--mo-blue', '#0969da'),
    green: cssVar('--mo-green', '#1a7f37'),
    yellow: cssVar('--mo-yellow', '#9a6700'),
    orange: cssVar('--mo-orange', '#bc4c00'),
    purple: cssVar('--mo-purple', '#8250df'),
    font: cssVar('--mo-font', 'sans-serif'),
  };
  const cls = document.body.classList;
  return {
    ...p,
    series: [p.blue, p.orange, p.green, p.purple, p.red, p.yellow],
    highContrast: cls.contains('vscode-high-contrast') || cls.contains('vscode-high-contrast-light'),
  };
}

/** A colour with an alpha, for shading (works for #rgb, #rrggbb and rgb()/rgba() values). */
export function withAlpha(color: string, alpha: number): string {
  const c = color.trim();
  let m = /^#([0-9a-f]{3})$/i.exec(c);
  if (m) {
    const [r, g, b] = m[1].split('').map((h) => parseInt(h + h, 16));
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }
  m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(c);
  if (m) {
    const n = parseInt(m[1], 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }
  const r = /^rgba?\(([^,]+),([^,]+),([^,)]+)/i.exec(c);
  if (r) return `rgba(${r[1].trim()}, ${r[2].trim()}, ${r[3].trim()}, ${alpha})`;
  return c;
}
