import { createFamily, Device, ids, taskCreate, taskUpdate } from './fixtures';
import type { BenchContext } from './scenarios';
import { round, summarize } from './stats';

export interface PatchesResult {
  tasks: number;
  editsPerRound: number;
  rounds: number;
  /** Medians over the rounds: response bytes per pulled entity, and ms per pull. */
  withPatches: { bytesPerEntity: number; ms: number };
  without: { bytesPerEntity: number; ms: number };
  bytesRatio: number;
  msRatio: number;
}

/**
 * PROTOCOL 2.10: a family of 2,000 tasks with a ~1 KB `desc`; each round one device renames
 * 200 of them (one field), then two caught-up devices pull the round, one with patches and
 * one without (alternating which goes first): bytes per pulled entity and time per pull.
 */
export async function patchesScenario(ctx: BenchContext): Promise<PatchesResult> {
  const tasks = 2000;
  const editsPerRound = 200;
  const rounds = ctx.quick ? 5 : 15;
  const family = await createFamily(ctx.http, 'bench-patches-owner', 'bench patches');
  const writer = new Device(ctx.http, 'bench-patches-writer', family.token());
  const taskIds = ids('pt', tasks);
  const desc = 'A longer description of the chore, with the details the family agreed on. '.repeat(14);
  ctx.log(`patches: seeding ${tasks} tasks with a ${desc.length}-character desc`);
  for (let i = 0; i < tasks; i += 500)
    await writer.pushApplied(
      taskIds.slice(i, i + 500).map((id) => ({ ...taskCreate(id), data: { ...taskCreate(id).data, desc } })),
      'seed',
    );
  const versions = new Map(taskIds.map((id) => [id, 1]));
  const patched = new Device(ctx.http, 'bench-patches-on', family.token());
  const whole = new Device(ctx.http, 'bench-patches-off', family.token());
  const catchUp = async (d: Device, patches: boolean) => {
    for (;;) {
      const res = await d.delta([], { patches });
      if (res.status !== 200) throw new Error(`patches: HTTP ${res.status}`);
      if (!res.body.has_more) return res;
    }
  };
  await catchUp(patched, true);
  await catchUp(whole, false);

  const on: { bytes: number; ms: number }[] = [];
  const off: { bytes: number; ms: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    const edited = taskIds.slice((r * editsPerRound) % tasks, ((r * editsPerRound) % tasks) + editsPerRound);
    const res = await writer.pushApplied(
      edited.map((id) => taskUpdate(id, versions.get(id)!, { title: `Renamed ${id} in round ${r}` })),
      `round ${r}`,
    );
    for (const a of res.body.applied) versions.set(a.entity_id, a.version);
    const pull = async (d: Device, patches: boolean) => {
      const page = await catchUp(d, patches);
      const n = page.body.server_changes.length;
      if (n !== editsPerRound) throw new Error(`patches: pulled ${n} entities, expected ${editsPerRound}`);
      return { bytes: page.bytes / n, ms: page.ms };
    };
    if (r % 2 === 0) {
      on.push(await pull(patched, true));
      off.push(await pull(whole, false));
    } else {
      off.push(await pull(whole, false));
      on.push(await pull(patched, true));
    }
  }
  const med = (xs: number[]) => round(summarize(xs).median);
  const withPatches = { bytesPerEntity: med(on.map((x) => x.bytes)), ms: med(on.map((x) => x.ms)) };
  const without = { bytesPerEntity: med(off.map((x) => x.bytes)), ms: med(off.map((x) => x.ms)) };
  return {
    tasks,
    editsPerRound,
    rounds,
    withPatches,
    without,
    bytesRatio: Math.round((withPatches.bytesPerEntity / without.bytesPerEntity) * 1000) / 1000,
    msRatio: Math.round((withPatches.ms / without.ms) * 1000) / 1000,
  };
}

export function patchesLines(r: PatchesResult): string[] {
  return [
    `Scenario 7: ${r.rounds} rounds of ${r.editsPerRound} one-field edits of ${r.tasks} tasks (~1 KB desc), pulled by a caught-up device with and without patches (medians)`,
    `  bytes per pulled entity: ${r.withPatches.bytesPerEntity} with patches, ${r.without.bytesPerEntity} without (ratio ${r.bytesRatio})`,
    `  ms per pull (${r.editsPerRound} entities): ${r.withPatches.ms} with patches, ${r.without.ms} without (ratio ${r.msRatio}; target <= 1.10: ${r.msRatio <= 1.1 ? 'MET' : 'MISSED'})`,
  ];
}
