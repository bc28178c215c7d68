import { validateSync, ValidationError } from 'class-validator';
import { CompiledDto, compileDto } from './compiled-dto';
import { ValidationResult } from '../conflict-resolver';
import { EntityData } from '../sync-change';

const flatten = (errors: ValidationError[], prefix = ''): string[] =>
  errors.flatMap((e) => [
    ...Object.values(e.constraints ?? {}).map((m) => (prefix ? `${prefix}.${m}` : m)),
    ...flatten(e.children ?? [], prefix ? `${prefix}.${e.property}` : e.property),
  ]);

const compiledDtos = new WeakMap<object, CompiledDto | null>();

function compiled(dto: new () => object): CompiledDto | undefined {
  if (!compiledDtos.has(dto)) compiledDtos.set(dto, compileDto(dto) ?? null);
  return compiledDtos.get(dto) ?? undefined;
}

/**
 * Validates `data` against a class-validator DTO: unknown fields, wrong types and
 * out-of-range values are refused with messages naming the field.
 */
export function validateWithDto(dto: new () => object, data: unknown, defaults: EntityData = {}): ValidationResult {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, message: 'data must be an object' };
  // Object.assign, not class-transformer: the DTOs are flat, and it is several times faster.
  const instance = Object.assign(new dto(), data);
  // The DTO's rules compiled once answer the common case (valid) without class-validator's
  // per-call work; anything else gets class-validator's own verdict and messages.
  if (compiled(dto)?.(instance)) return { ok: true, data: { ...defaults, ...(data as EntityData) } };
  const errors = validateSync(instance, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: false,
    validationError: { target: false, value: false },
  });
  if (errors.length > 0) return { ok: false, message: flatten(errors).join('; ') };
  return { ok: true, data: { ...defaults, ...(data as EntityData) } };
}
