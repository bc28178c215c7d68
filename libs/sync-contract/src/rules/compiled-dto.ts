import { getMetadataStorage, ValidationArguments, ValidationTypes } from 'class-validator';

type Condition = (object: object, value: unknown) => boolean;
type Check = (object: object, value: unknown) => boolean;

interface PropertyPlan {
  name: string;
  conditions: Condition[];
  /** IsDefined checks: run before the others, as class-validator does. */
  defined: Check[];
  checks: Check[];
}

/** true: class-validator would find no error in `object` (validateSync with whitelist + forbidNonWhitelisted). */
export type CompiledDto = (object: object) => boolean;

const SUPPORTED = new Set<string>([
  ValidationTypes.CUSTOM_VALIDATION,
  ValidationTypes.CONDITIONAL_VALIDATION,
  ValidationTypes.IS_DEFINED,
  ValidationTypes.WHITELIST,
]);

/**
 * A DTO's class-validator rules compiled once into one function: the same metadata, the same
 * constraint instances (`IsString`, `Length`, custom ones...), the same order and conditions
 * (`ValidateIf`, `IsOptional`) as `validateSync`, without its per-call metadata lookups and
 * error objects. It only answers "valid or not"; a caller wanting the messages asks
 * class-validator itself. Undefined when the DTO uses what this does not reproduce (nested
 * or async validation, groups): the caller then always uses class-validator.
 */
export function compileDto(dto: new () => object): CompiledDto | undefined {
  const storage = getMetadataStorage();
  const metadatas = storage.getTargetValidationMetadatas(dto, '', false, false);
  const plans = new Map<string, PropertyPlan>();
  for (const m of metadatas) {
    if (!SUPPORTED.has(m.type) || m.groups?.length || m.always) return undefined;
    const plan = plans.get(m.propertyName) ?? { name: m.propertyName, conditions: [], defined: [], checks: [] };
    plans.set(m.propertyName, plan);
    if (m.type === ValidationTypes.WHITELIST) continue;
    if (m.type === ValidationTypes.CONDITIONAL_VALIDATION) {
      plan.conditions.push(m.constraints[0] as Condition);
      continue;
    }
    const constraints = storage.getTargetValidatorConstraints(m.constraintCls);
    if (constraints.some((c) => c.async)) return undefined;
    const check: Check = (object, value) => {
      if (m.validateIf && !m.validateIf(object, value)) return true;
      const args: ValidationArguments = { targetName: dto.name, property: m.propertyName, object, value, constraints: m.constraints };
      const each = m.each && (Array.isArray(value) || value instanceof Set || value instanceof Map);
      const values = each ? (value instanceof Map ? [...value.values()] : [...(value as Iterable<unknown>)]) : [value];
      return constraints.every((c) => values.every((v) => Boolean(c.instance.validate(v, args))));
    };
    (m.type === ValidationTypes.IS_DEFINED ? plan.defined : plan.checks).push(check);
  }
  const properties = [...plans.values()];
  const known = new Set(plans.keys());
  if (properties.length === 0) return undefined;
  return (object) => {
    for (const key of Object.keys(object)) if (!known.has(key)) return false;
    const record = object as Record<string, unknown>;
    for (const p of properties) {
      const value = record[p.name];
      if (!p.conditions.every((c) => c(object, value))) continue;
      if (!p.defined.every((c) => c(object, value))) return false;
      if (!p.checks.every((c) => c(object, value))) return false;
    }
    return true;
  };
}
