/**
 * Issue 13 finding 1: every web form parser over arbitrary field names (including `__proto__`,
 * `constructor`, `prototype`, dots and empty segments) never writes outside its result, and the
 * result has no prototype to inherit surprises from. The query string never joins a POST form.
 */
import fc from 'fast-check';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { nest } from '../src/web/forms.js';
import { formOf } from '../src/web/web-context.js';
import { DomainError } from '../src/services/errors.js';

const SEGMENTS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'x', 'a', '0', '', '_csrf'];
const segment = fc.oneof(fc.constantFrom(...SEGMENTS), fc.string({ maxLength: 6 }));
const fieldName = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('.'));
const fields = fc.array(fc.tuple(fieldName, fc.string({ maxLength: 8 })), { maxLength: 8 });

/** Object.prototype's own keys and a probe object, captured before each run. */
const snapshot = () => ({ keys: Reflect.ownKeys(Object.prototype).map(String).sort(), probe: Object.keys({}), fnKeys: Object.keys(Object.prototype.constructor) });
const before = snapshot();

afterEach(() => {
  expect(snapshot()).toEqual(before);
});

/** Walks a parser result: every object in it has a null prototype (arrays aside) and only own keys. */
function assertBare(v: unknown, path = '$'): void {
  if (typeof v !== 'object' || v === null) return;
  if (Array.isArray(v)) {
    v.forEach((x, i) => assertBare(x, `${path}[${i}]`));
    return;
  }
  expect(Object.getPrototypeOf(v), `${path} has a prototype`).toBeNull();
  for (const k of Object.keys(v)) assertBare((v as Record<string, unknown>)[k], `${path}.${k}`);
}

const UNSAFE = new Set(['__proto__', 'constructor', 'prototype']);
const unsafeName = (k: string) => k.split('.').some((p) => UNSAFE.has(p));

describe('form parsers never touch Object.prototype', () => {
  it('nest: any field names either nest into null-prototype objects or are refused with a field error', () => {
    fc.assert(
      fc.property(fields, (pairs) => {
        const flat = Object.create(null) as Record<string, unknown>;
        for (const [k, v] of pairs) flat[k] = v;
        try {
          const out = nest(flat);
          assertBare(out);
          expect(pairs.some(([k]) => k !== '_csrf' && unsafeName(k))).toBe(false);
          expect(({} as Record<string, unknown>).x).toBeUndefined();
        } catch (e) {
          expect(e).toBeInstanceOf(DomainError);
          expect((e as DomainError).code).toBe('validation_failed');
          expect(Object.keys((e as DomainError).fields ?? {})).toHaveLength(1);
        }
        expect(Reflect.ownKeys(Object.prototype).map(String).sort()).toEqual(before.keys);
      }),
      { numRuns: 2000 },
    );
  });

  it('nest: `__proto__.x`, `constructor.prototype.x` and `a.prototype` are refused naming the field', () => {
    for (const name of ['__proto__.x', 'constructor.prototype.x', 'a.prototype', 'args.__proto__.polluted']) {
      const flat = Object.create(null) as Record<string, unknown>;
      flat[name] = '1';
      expect(() => nest(flat)).toThrow(expect.objectContaining({ code: 'validation_failed', fields: { [name]: 'this field name is not allowed' } }) as Error);
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('nest: a name that is both a value and a group is a field error, not a crash', () => {
    expect(() => nest({ a: '1', 'a.b': '2' })).toThrow(expect.objectContaining({ code: 'validation_failed', fields: { 'a.b': 'this field is also sent as a single value' } }) as Error);
    expect(() => nest({ 'a.b': '2', a: '1' })).toThrow(expect.objectContaining({ fields: { a: 'this field is also sent as a group' } }) as Error);
  });

  it('formOf: a urlencoded body with any names gives a null-prototype object; the query string is not merged', async () => {
    const app = new Hono();
    let seen: Record<string, unknown> = {};
    for (const method of ['post', 'put', 'delete'] as const) {
      app[method]('/f', async (c) => {
        seen = await formOf(c, { all: c.req.header('x-all') === '1' });
        return c.body(null, 204);
      });
    }
    await fc.assert(
      fc.asyncProperty(fields, fc.constantFrom('POST', 'PUT'), fc.boolean(), async (pairs, method, all) => {
        const body = new URLSearchParams(pairs).toString();
        const res = await app.request('/f?confirm=from-query&__proto__=q', { method, body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...(all ? { 'x-all': '1' } : {}) } });
        expect(res.status).toBe(204);
        assertBare(seen);
        expect(Object.keys(seen).sort()).toEqual([...new Set(pairs.map(([k]) => k))].sort());
        if (!pairs.some(([k]) => k === 'confirm')) expect(seen.confirm).toBeUndefined();
        if (!pairs.some(([k]) => k === 'toString')) expect(seen.toString).toBeUndefined();
        expect(Reflect.ownKeys(Object.prototype).map(String).sort()).toEqual(before.keys);
      }),
      { numRuns: 300 },
    );
  });

  it('formOf: DELETE (htmx sends its parameters in the URL) reads the query into a null-prototype object', async () => {
    const app = new Hono();
    app.delete('/f', async (c) => c.json({ keys: Object.keys(await formOf(c)), proto: Object.getPrototypeOf(await formOf(c)) === null }));
    const res = await app.request('/f?confirm=web-1&__proto__=x&constructor.prototype.y=1', { method: 'DELETE' });
    expect(await res.json()).toEqual({ keys: ['confirm', '__proto__', 'constructor.prototype.y'], proto: true });
    expect(({} as Record<string, unknown>).y).toBeUndefined();
  });

  it('formOf then nest: names from a real body that reach a prototype are refused, everything else nests', async () => {
    const app = new Hono();
    app.post('/f', async (c) => {
      try {
        return c.json({ ok: Object.keys(nest(await formOf(c))) });
      } catch (e) {
        return c.json({ refused: (e as DomainError).fields }, 400);
      }
    });
    const post = (body: string) => app.request('/f', { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(await (await post('__proto__.x=1&kind=backup')).json()).toEqual({ refused: { '__proto__.x': 'this field name is not allowed' } });
    expect(await (await post('constructor.prototype.x=1')).json()).toEqual({ refused: { 'constructor.prototype.x': 'this field name is not allowed' } });
    expect(await (await post('args.paths=%2Fetc&kind=backup')).json()).toEqual({ ok: ['args', 'kind'] });
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe('copies of outside objects keep `__proto__` as data', () => {
  it('scrubPayload keeps an own `__proto__` key as a plain property, the copy keeps Object.prototype', async () => {
    const { scrubPayload } = await import('../src/services/audit.service.js');
    const out = scrubPayload(JSON.parse('{"__proto__":{"admin":true},"password":"p"}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(out.admin).toBeUndefined();
    expect(JSON.stringify(out)).toBe('{"__proto__":{"admin":true},"password":"[changed]"}');
  });
});
