/** The AWS CLI shorthand syntax parser (`Name=x,Values=a,b`, `a={b=c}`, quoting, escapes). */
import { describe, expect, it } from 'vitest';
import { parseShorthand, ShorthandParseError } from '../../src/cli/shorthand.js';

describe('parseShorthand', () => {
  it.each([
    ['Key=k,Value=v', { Key: 'k', Value: 'v' }],
    ['Name=replication-task-arn,Values=arn1,arn2', { Name: 'replication-task-arn', Values: ['arn1', 'arn2'] }],
    ['Values=a,b,Name=n', { Values: ['a', 'b'], Name: 'n' }],
    ['Name=x,Values=arn:aws:dms:us-east-1:123456789012:task:ABC', { Name: 'x', Values: 'arn:aws:dms:us-east-1:123456789012:task:ABC' }],
    ['a={b=c,d=e},f=g', { a: { b: 'c', d: 'e' }, f: 'g' }],
    ['a={b={c=d}}', { a: { b: { c: 'd' } } }],
    ['a=[x,y],b=[]', { a: ['x', 'y'], b: [] }],
    ['a=[{b=c},{b=d}]', { a: [{ b: 'c' }, { b: 'd' }] }],
    ['a=', { a: '' }],
    ['a={}', { a: {} }],
    [" Key = k , Value = v w ", { Key: 'k', Value: 'v w' }],
    ["Value='x,y=z'", { Value: 'x,y=z' }],
    ['Value="say \\"hi\\""', { Value: 'say "hi"' }],
    ['Value=a\\,b', { Value: 'a,b' }],
    ['Value=a=b', { Value: 'a=b' }],
    ['path/with.dots:and#hash=1', { 'path/with.dots:and#hash': '1' }],
  ])('%s', (input, expected) => {
    expect(parseShorthand(input)).toEqual(expected);
  });

  it.each([
    ['novalue', /expected "=" after "novalue"/],
    ['=v', /expected a key/],
    ['a=b,a=c', /given twice/],
    ['a={b=c', /expected "}"/],
    ['a=[b,c', /expected "," or "]"/],
    ["a='open", /unterminated quoted value/],
  ])('rejects %s with a positioned message', (input, message) => {
    expect(() => parseShorthand(input)).toThrow(ShorthandParseError);
    expect(() => parseShorthand(input)).toThrow(message);
  });
});
