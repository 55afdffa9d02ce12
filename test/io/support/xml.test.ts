import { describe, expect, it } from 'vitest';
import { parseXml } from './xml.js';

// the checker is itself tested, so the SVG tests that rely on it can fail for the right reasons
describe('parseXml (test support)', () => {
  it('accepts well-formed XML and decodes entities', () => {
    const root = parseXml('<?xml version="1.0"?>\n<a x="1 &amp; 2"><b/><c>&lt;&#65;&gt;</c></a>\n');
    expect(root.attrs.x).toBe('1 & 2');
    expect(root.children.map((c) => c.name)).toEqual(['b', 'c']);
    expect(root.children[1]!.text).toBe('<A>');
  });

  it.each([
    ['an unclosed tag', '<a><b></a>'],
    ['a mismatched close', '<a></b>'],
    ['a bare ampersand', '<a>x & y</a>'],
    ['a < in an attribute', '<a x="<"/>'],
    ['an unquoted attribute', '<a x=1/>'],
    ['a duplicate attribute', '<a x="1" x="2"/>'],
    ['two roots', '<a/><b/>'],
    ['text outside the root', '<a/>tail'],
  ])('refuses %s', (_label, xml) => {
    expect(() => parseXml(xml)).toThrow();
  });
});
