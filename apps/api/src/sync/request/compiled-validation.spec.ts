import fc from 'fast-check';
import { validateSync } from 'class-validator';
import { compileDto } from '@app/sync-contract/rules/compiled-dto';
import { CreateEventDto, PatchEventDto } from '../../event/dto/event-data.dto';
import { CreatePointsLedgerDto } from '../../points-ledger/dto/points-ledger-data.dto';
import { CreateTaskDto, PatchTaskDto } from '../../task/dto/task-data.dto';

/** The DTOs' rules compiled once must answer "valid" exactly when class-validator finds no error. */
const DTOS: [string, new () => object, string[]][] = [
  ['CreateTaskDto', CreateTaskDto, ['title', 'desc', 'status', 'assignees', 'due', 'points', 'completedAt']],
  ['PatchTaskDto', PatchTaskDto, ['title', 'desc', 'status', 'assignees', 'due', 'points', 'completedAt']],
  ['CreateEventDto', CreateEventDto, ['title', 'start', 'end', 'description', 'attendees']],
  ['PatchEventDto', PatchEventDto, ['title', 'start', 'end', 'description', 'attendees']],
  ['CreatePointsLedgerDto', CreatePointsLedgerDto, ['userId', 'delta', 'reason', 'taskId']],
];

const value = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.constantFrom('open', 'in_progress', 'done', 'closed', '', 'x'),
  fc.string({ maxLength: 12 }),
  fc.string({ minLength: 120, maxLength: 600 }),
  fc.constantFrom(
    '2025-11-11',
    '2025-11-11T14:30:00Z',
    '2025-13-40',
    '2025-11-11T14:30:00',
    '20251111',
    '2025-02-29',
    '2024-02-29T10:00:00.123+02:00',
  ),
  fc.integer({ min: -2_000_000, max: 2_000_000 }),
  fc.constantFrom(0, 1.5, 100000, 100001, -1, Number.NaN),
  fc.boolean(),
  fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.constant('')), { maxLength: 4 }),
  fc.array(fc.constant('a'), { minLength: 199, maxLength: 202 }),
  fc.object({ maxDepth: 1 }),
);

const options = { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: false };

describe('compileDto: the same verdict as class-validator', () => {
  it.each(DTOS)('%s', (_name, dto, fields) => {
    const compiled = compileDto(dto)!;
    expect(compiled).toBeDefined();
    const data = fc.dictionary(fc.constantFrom(...fields, 'extra', 'Title'), value, { maxKeys: 8 });
    fc.assert(
      fc.property(data, (input) => {
        const instance = Object.assign(new dto(), input);
        expect(compiled(instance)).toBe(validateSync(instance, options).length === 0);
      }),
      { numRuns: 3000 },
    );
  });

  it('valid examples pass and invalid ones fail', () => {
    const task = compileDto(CreateTaskDto)!;
    expect(task(Object.assign(new CreateTaskDto(), { title: 'Buy milk', assignees: ['a'], due: '2025-11-11' }))).toBe(true);
    expect(task(Object.assign(new CreateTaskDto(), { title: '' }))).toBe(false);
    expect(task(Object.assign(new CreateTaskDto(), { title: 'x', colour: 'red' }))).toBe(false);
    expect(task(Object.assign(new CreateTaskDto(), { desc: 'no title' }))).toBe(false);
  });
});
