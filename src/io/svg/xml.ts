/** Small helpers for writing SVG as strings: escaping and attribute formatting. */

/** Text or an attribute value with `& < > " '` escaped. */
export const escapeXml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

/** A coordinate with two decimals (enough for screens, keeps files small). */
export const px = (x: number): string => String(Math.round(x * 100) / 100);

/** `<name a="1" ...>children</name>`, or self-closed without children; attribute values are escaped. */
export const el = (name: string, attrs: Readonly<Record<string, string | number | undefined>>, ...children: readonly string[]): string => {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(typeof v === 'number' ? px(v) : v!)}"`)
    .join('');
  return children.length === 0 ? `<${name}${a}/>` : `<${name}${a}>${children.join('')}</${name}>`;
};

/** A text element; `content` is escaped. */
export const text = (attrs: Readonly<Record<string, string | number | undefined>>, content: string): string =>
  el('text', attrs, escapeXml(content));

/** The root element of a standalone SVG document. */
export const svgDocument = (width: number, height: number, ...children: readonly string[]): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n${el(
    'svg',
    { xmlns: 'http://www.w3.org/2000/svg', width, height, viewBox: `0 0 ${px(width)} ${px(height)}`, 'font-family': 'DejaVu Sans, Helvetica, Arial, sans-serif', 'font-size': 12 },
    el('rect', { width, height, fill: 'white' }),
    ...children,
  )}\n`;
