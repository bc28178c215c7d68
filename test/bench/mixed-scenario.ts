import { cpuShare, cpuSnapshot } from './cpu';
import { groupCommits, probeLiveness, sampleActivity } from './diagnostics';
import { BenchFamily, createData, createFamily, DeltaResponse, Device, taskCreate, taskUpdate, WireChange } from './fixtures';
import { HttpClient } from './http';
import type { BenchContext, MixedResult } from './scenarios';
import { round, summarize } from './stats';

interface MixDevice {
  http: HttpClient;
  device: Device;
  known: string[];
  versions: Map<string, number>;
  seq: number;
}

/** Scenario 4: 40 devices in 10 families, each looping "10 changes + pull" (one POST /sync/delta) over its own keep-alive connection. */
export async function mixedScenario(ctx: BenchContext): Promise<MixedResult> {
  const families = 10;
  const perFamily = 4;
  const changesPerRequest = 10;
  const duration = ctx.quick ? 8 : 30;
  const warmup = ctx.quick ? 2 : 5;
  const devices: MixDevice[] = [];
  for (let f = 0; f < families; f++) {
    const family: BenchFamily = await createFamily(ctx.http, `mix-owner-${f}`, `bench mixed ${f}`);
    for (let d = 0; d < perFamily; d++) {
      const userId = d === 0 ? family.ownerId : `mix-user-${f}-${d}`;
      const token = d === 0 ? family.token() : await family.addMember(userId);
      const http = new HttpClient(ctx.baseUrl, 1);
      devices.push({ http, device: new Device(http, `mix-device-${f}-${d}`, token), known: [], versions: new Map(), seq: 0 });
    }
  }

  const run = async (seconds: number, record: boolean) => {
    const latencies: number[] = [];
    const counters = {
      requests: 0,
      changes: 0,
      applied: 0,
      conflicts: 0,
      changeErrors: 0,
      httpErrors: 0,
      networkErrors: 0,
      serverChanges: 0,
    };
    const errorSamples: string[] = [];
    const started = performance.now();
    const until = started + seconds * 1000;
    await Promise.all(
      devices.map(async (d) => {
        while (performance.now() < until) {
          const changes = nextChanges(d, changesPerRequest);
          let res;
          try {
            res = await d.device.delta(changes);
          } catch (error) {
            counters.networkErrors++;
            if (errorSamples.length < 5) errorSamples.push(String(error));
            continue;
          }
          counters.requests++;
          latencies.push(res.ms);
          if (res.status !== 200) {
            counters.httpErrors++;
            if (errorSamples.length < 5) errorSamples.push(`HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
            continue;
          }
          counters.changes += changes.length;
          absorb(d, res.body, counters);
          if (res.body.errors.length > 0 && errorSamples.length < 5) errorSamples.push(JSON.stringify(res.body.errors[0]));
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    if (!record) return undefined;
    return { latencies, counters, elapsed, errorSamples };
  };

  ctx.log(`scenario 4: mixed load, ${devices.length} devices in ${families} families, ${warmup} s warm-up + ${duration} s`);
  await run(warmup, false);
  const cpuStart = cpuSnapshot(ctx.servicePid);
  const activity = sampleActivity(ctx.db);
  const liveness = probeLiveness(ctx.baseUrl);
  const groupsBefore = await groupCommits(ctx.baseUrl);
  const measured = (await run(duration, true))!;
  const groupsAfter = await groupCommits(ctx.baseUrl);
  const cpu = cpuShare(cpuStart, cpuSnapshot(ctx.servicePid));
  const connections = await activity.stop();
  const live = await liveness.stop();
  for (const d of devices) d.http.close();
  const { counters: c, elapsed } = measured;
  return {
    durationSeconds: round(elapsed),
    devices: devices.length,
    families,
    changesPerRequest,
    requests: c.requests,
    changes: c.changes,
    applied: c.applied,
    conflicts: c.conflicts,
    changeErrors: c.changeErrors,
    httpErrors: c.httpErrors,
    networkErrors: c.networkErrors,
    serverChangesReceived: c.serverChanges,
    requestsPerSecond: round(c.requests / elapsed),
    changesPerSecond: round(c.changes / elapsed),
    latency: summarize(measured.latencies),
    cpu,
    connections,
    liveness: live,
    pushesPerCommit: round((groupsAfter.requests - groupsBefore.requests) / Math.max(1, groupsAfter.groups - groupsBefore.groups)),
    errorSamples: measured.errorSamples,
  };
}

/** 2 creates and 8 updates of tasks the device knows (its own or seen in pulls), at their known versions. */
function nextChanges(d: MixDevice, n: number): WireChange[] {
  const at = new Date().toISOString();
  const updates = Math.min(n - 2, d.known.length);
  const picked = new Set<string>();
  while (picked.size < updates) picked.add(d.known[Math.floor(Math.random() * d.known.length)]);
  const changes: WireChange[] = [...picked].map((id) =>
    taskUpdate(
      id,
      d.versions.get(id)!,
      { title: `${createData(id).title} (${d.device.deviceId} #${d.seq})`, status: d.seq % 2 ? 'in_progress' : 'open' },
      at,
    ),
  );
  while (changes.length < n) changes.push(taskCreate(`${d.device.deviceId}-t${d.seq++}`, at));
  d.seq++;
  return changes;
}

function absorb(
  d: MixDevice,
  body: DeltaResponse,
  counters: { applied: number; conflicts: number; changeErrors: number; serverChanges: number },
): void {
  const see = (id: string, version: number) => {
    if (!d.versions.has(id)) d.known.push(id);
    d.versions.set(id, version);
  };
  counters.applied += body.applied_count;
  counters.conflicts += body.conflicts.filter((c) => c.resolution !== 'merged').length;
  counters.changeErrors += body.error_count;
  counters.serverChanges += body.server_changes.length;
  for (const s of body.server_changes) if (s.entity_type === 'task' && s.action !== 'delete') see(s.entity_id, s.version);
  for (const a of body.applied) if (a.entity_type === 'task') see(a.entity_id, a.version);
  for (const c of body.conflicts)
    if (c.server_version !== null && d.versions.has(c.entity_id)) d.versions.set(c.entity_id, c.server_version);
}
