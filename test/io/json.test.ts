import { fc, it as prop } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import * as _ from '../../src/io/json.js';

const special = new Set(['NaN', 'Infinity', '-Infinity']);
const number = fc.double().map((x) => (Object.is(x, -0) ? 0 : x)); // JSON has no -0
const value = fc.letrec((tie) => ({
  json: fc.oneof(
    { depthSize: 'small' },
    number,
    fc.string().filter((s) => !special.has(s)),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('json'), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie('json'), { maxKeys: 4 }),
  ),
})).json;

describe('toJson and parseJson', () => {
  it('keeps NaN and the infinities, which JSON.stringify turns into null', () => {
    const text = _.toJson({ loss: Number.NaN, grad: [Infinity, -Infinity, 1.5] });
    expect(text).toBe('{"loss":"NaN","grad":["Infinity","-Infinity",1.5]}');
    expect(_.parseJson(text)).toEqual({ loss: Number.NaN, grad: [Infinity, -Infinity, 1.5] });
  });

  prop.prop([value, fc.constantFrom(...special)], { numRuns: 200 })(
    'parseJson(toJson(v)) = v for JSON values with any numbers, as long as no string in v is exactly "NaN", "Infinity" or "-Infinity" (such strings come back as numbers)',
    (v, s) => {
      expect(_.parseJson(_.toJson(v))).toEqual(v);
      expect(_.parseJson(_.toJson([v, s]))).toEqual([v, Number(s)]);
    },
  );
  it('keeps -0 out of the law: it comes back as 0, which JSON cannot tell apart', () => {
    expect(Object.is(_.parseJson(_.toJson(-0)), 0)).toBe(true);
  });

  it('throws on a value without a JSON form', () => {
    expect(() => _.toJson(undefined)).toThrow(TypeError);
  });
});
