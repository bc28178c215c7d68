import { IsInt, IsOptional, IsString, Length } from 'class-validator';
import { EntityData } from '../sync-change';
import { validateWithDto } from './validate-dto';

class SampleDto {
  @IsString()
  @Length(1, 5)
  name: string;

  @IsOptional()
  @IsInt()
  count?: number;
}

describe('validateWithDto', () => {
  it.each<[string, unknown]>([
    ['null', null],
    ['an array', [{ name: 'a' }]],
    ['a string', 'name'],
    ['a number', 5],
    ['undefined', undefined],
  ])('refuses %s as data', (_name, data) => {
    expect(validateWithDto(SampleDto, data)).toEqual({ ok: false, message: 'data must be an object' });
  });

  it.each<[string, unknown, string]>([
    ['an unknown field', { name: 'a', extra: 1 }, 'extra'],
    ['a wrong type', { name: 5 }, 'name'],
    ['an out-of-range value', { name: 'toolong' }, 'name'],
    ['a missing required field', {}, 'name'],
    ['a wrong optional type', { name: 'a', count: 1.5 }, 'count'],
  ])('refuses %s with a message naming the field', (_name, data, field) => {
    const result = validateWithDto(SampleDto, data);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toContain(field);
  });

  it.each<[string, unknown, EntityData, EntityData]>([
    ['without defaults', { name: 'a' }, {}, { name: 'a' }],
    ['with defaults filled in', { name: 'a' }, { count: 0 }, { count: 0, name: 'a' }],
    ['with data overriding defaults', { name: 'a', count: 3 }, { count: 0 }, { count: 3, name: 'a' }],
  ])('accepts valid data %s', (_name, data, defaults, expected) => {
    expect(validateWithDto(SampleDto, data, defaults)).toEqual({ ok: true, data: expected });
  });

  it('does not mutate the input', () => {
    const data = { name: 'a' };
    validateWithDto(SampleDto, data, { count: 0 });
    expect(data).toEqual({ name: 'a' });
  });
});
