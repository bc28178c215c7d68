import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { cpuShare, cpuSnapshot } from './cpu';
import { BenchFamily, createFamily, taskCreate } from './fixtures';
import { expectStatus, HttpClient } from './http';
import { round, summarize, Summary } from './stats';

export interface RealtimeResult {
  instances: 2;
  sockets: number;
  families: number;
  pushes: number;
  pushRatePerSecond: number;
  /** Push answered by instance A -> poke arrived on a WebSocket held on instance B (ms; negative: the poke beat the answer). */
  latencyMs: Summary;
  missed: number;
  /** RSS growth of instance B per open, idle, authenticated WebSocket. */
  bytesPerConnection: number;
  rssMb: { before: number; after: number };
  /** CPU of instance B (it only listens and pokes) while the pushes run, in cores (1.0 = one core busy). */
  listenerInstanceCores: number;
  pushAnswerMs: Summary;
}

const rss = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An authenticated socket that records when each position arrived. */
function openSocket(url: string, token: string, deviceId: string, arrivals: Map<string, number>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    socket.once('error', reject);
    socket.once('open', () => socket.send(JSON.stringify({ type: 'auth', token, device_id: deviceId })));
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { type: string; last_changed_at: string };
      if (message.type === 'ready') resolve(socket);
      else if (message.type === 'poke' && !arrivals.has(message.last_changed_at)) arrivals.set(message.last_changed_at, performance.now());
    });
    socket.once('close', (code) => reject(new Error(`socket closed with ${code} before ready`)));
  });
}

/**
 * Realtime: instance B holds `sockets` WebSockets over `families` families; pushes go to
 * instance A at a steady rate; each poke reaches B only through PostgreSQL NOTIFY.
 */
export async function realtimeScenario(opts: {
  quick: boolean;
  http: HttpClient;
  baseUrlA: string;
  baseUrlB: string;
  pidB: number;
  log(message: string): void;
}): Promise<RealtimeResult> {
  const families = 200;
  const perFamily = 10;
  const rate = 50;
  const seconds = opts.quick ? 10 : 30;
  const wsUrl = `${opts.baseUrlB.replace(/^http/, 'ws')}/sync/ws`;

  opts.log(`realtime: creating ${families} families`);
  const fams: BenchFamily[] = [];
  for (let i = 0; i < families; i++) fams.push(await createFamily(opts.http, `rt-owner-${i}`, `rt-${i}`));
  // Warm instance B (code paths, pools) before its memory is read.
  const warm = await openSocket(wsUrl, fams[0].token(), 'warm', new Map());
  warm.close();
  await sleep(2000);
  const before = rss(opts.pidB);

  opts.log(`realtime: opening ${families * perFamily} WebSockets on instance B`);
  const arrivals: Map<string, number>[][] = fams.map(() => Array.from({ length: perFamily }, () => new Map()));
  const sockets: WebSocket[] = [];
  for (let i = 0; i < families; i += 20) {
    const group = fams
      .slice(i, i + 20)
      .flatMap((f, j) => Array.from({ length: perFamily }, (_, d) => openSocket(wsUrl, f.token(), `watcher-${d}`, arrivals[i + j][d])));
    sockets.push(...(await Promise.all(group)));
  }
  await sleep(5000);
  const after = rss(opts.pidB);
  const bytesPerConnection = (after - before) / sockets.length;
  opts.log(
    `realtime: ${sockets.length} sockets open; instance B RSS ${Math.round(before / 2 ** 20)} -> ${Math.round(after / 2 ** 20)} MB (${Math.round(bytesPerConnection / 1024)} KB per connection)`,
  );

  opts.log(`realtime: pushing ${rate}/s for ${seconds} s through instance A`);
  const pushers = new HttpClient(opts.baseUrlA, 32);
  const pushes: { family: number; position: string; answeredAt: number; ms: number }[] = [];
  const inFlight: Promise<void>[] = [];
  const cpuStart = cpuSnapshot(opts.pidB);
  const started = performance.now();
  for (let n = 0; n < rate * seconds; n++) {
    const due = started + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const family = n % families;
    const f = fams[family];
    inFlight.push(
      (async () => {
        const res = expectStatus(
          await pushers.post<{ last_sync_at: string }>('/sync/delta', { device_id: 'pusher', changes: [taskCreate(`rt-${n}`)] }, f.token()),
          200,
          'realtime push',
        );
        pushes.push({ family, position: res.body.last_sync_at, answeredAt: performance.now(), ms: res.ms });
      })(),
    );
  }
  await Promise.all(inFlight);
  await sleep(2000);
  const cpu = cpuShare(cpuStart, cpuSnapshot(opts.pidB));
  pushers.close();

  const latencies: number[] = [];
  let missed = 0;
  for (const p of pushes) {
    for (const socketArrivals of arrivals[p.family]) {
      const at = socketArrivals.get(p.position);
      if (at === undefined) missed++;
      else latencies.push(at - p.answeredAt);
    }
  }
  for (const s of sockets) s.close();
  await sleep(500);
  const result: RealtimeResult = {
    instances: 2,
    sockets: sockets.length,
    families,
    pushes: pushes.length,
    pushRatePerSecond: rate,
    latencyMs: summarize(latencies),
    missed,
    bytesPerConnection: Math.round(bytesPerConnection),
    rssMb: { before: round(before / 2 ** 20), after: round(after / 2 ** 20) },
    listenerInstanceCores: cpu.serviceCores,
    pushAnswerMs: summarize(pushes.map((p) => p.ms)),
  };
  return result;
}

export function realtimeLines(r: RealtimeResult): string[] {
  const l = r.latencyMs;
  return [
    `${r.sockets} WebSockets on instance B over ${r.families} families; ${r.pushes} pushes through instance A at ${r.pushRatePerSecond}/s`,
    `  push answer -> poke on B (ms): p50 ${round(l.median)}  p95 ${round(l.p95)}  p99 ${round(l.p99)}  max ${round(l.max)}  min ${round(l.min)}  (n ${l.n}, missed ${r.missed})`,
    `  push answer time (ms): p50 ${round(r.pushAnswerMs.median)}  p99 ${round(r.pushAnswerMs.p99)}`,
    `  memory: ${Math.round(r.bytesPerConnection / 102.4) / 10} KB per idle connection (instance B RSS ${r.rssMb.before} -> ${r.rssMb.after} MB)`,
    `  instance B CPU while pushing (listener + pokes): ${r.listenerInstanceCores} cores`,
    `  targets: p99 < 100 ms ${l.p99 < 100 ? 'met' : 'NOT met'}; < 30 KB per idle connection ${r.bytesPerConnection < 30 * 1024 ? 'met' : 'NOT met'}`,
  ];
}
