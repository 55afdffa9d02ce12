/**
 * A small XML well-formedness checker for the SVG tests (the project has no XML parser dependency):
 * one root element, properly nested and closed tags, double-quoted attributes without `<` or duplicate
 * names, and `&` only as a known entity or a character reference.
 */
export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  text: string;
}

const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/y;

const badAmpersand = (s: string): number => {
  for (let i = s.indexOf('&'); i >= 0; i = s.indexOf('&', i + 1)) {
    ENTITY.lastIndex = i;
    if (!ENTITY.test(s)) return i;
  }
  return -1;
};

export const decodeEntities = (s: string): string =>
  s.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_m, e: string) =>
    e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e]!,
  );

/** Parses `xml` into an element tree, or throws an Error saying where it is not well-formed. */
export const parseXml = (xml: string): XmlElement => {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const token = /<!--[\s\S]*?-->|<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*="[^"]*")*)\s*(\/?)>|([^<]+)|([\s\S])/gy;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  for (let m = token.exec(body); m !== null; m = token.exec(body)) {
    const [whole, closing, name, attrText, selfClosing, chars, stray] = m;
    if (stray !== undefined) throw new Error(`stray '${stray}' at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
    if (whole.startsWith('<!--')) continue;
    if (chars !== undefined) {
      if (stack.length === 0) {
        if (chars.trim() !== '') throw new Error(`text outside the root element at ${m.index}`);
        continue;
      }
      if (badAmpersand(chars) >= 0) throw new Error(`bare & in text at ${m.index}`);
      stack[stack.length - 1]!.text += decodeEntities(chars);
      continue;
    }
    if (closing === '/') {
      const open = stack.pop();
      if (open?.name !== name) throw new Error(`</${name}> at ${m.index} closes <${open?.name ?? 'nothing'}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of (attrText ?? '').matchAll(/([A-Za-z_][\w:.-]*)="([^"]*)"/g)) {
      const [, k, v] = a as unknown as [string, string, string];
      if (k in attrs) throw new Error(`duplicate attribute ${k} on <${name}>`);
      if (v.includes('<') || badAmpersand(v) >= 0) throw new Error(`bad character in attribute ${k} of <${name}>`);
      attrs[k] = decodeEntities(v);
    }
    const e: XmlElement = { name: name!, attrs, children: [], text: '' };
    if (stack.length === 0) {
      if (root !== undefined) throw new Error(`second root element <${name}>`);
      root = e;
    } else stack[stack.length - 1]!.children.push(e);
    if (selfClosing !== '/') stack.push(e);
  }
  if (stack.length > 0) throw new Error(`<${stack[stack.length - 1]!.name}> is never closed`);
  if (root === undefined) throw new Error('no root element');
  return root;
};

/** Every element of the tree, depth first. */
export const allElements = (e: XmlElement): XmlElement[] => [e, ...e.children.flatMap(allElements)];
