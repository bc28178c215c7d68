import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseEnv } from 'node:util';
import { getMetadataStorage } from 'class-validator';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { EnvironmentVariables, loadConfig } from '@app/config';
import { startTestApp, TestApp } from '../support/test-app';
import { change, createFamily, syncOk } from '../support/sync-fixtures';
import { DEPLOY_DIR, exportedSeries, loadDeployYaml, manifest, Manifest, metricNames, ROOT } from '../support/deploy-files';

/**
 * What can be checked of apps/api/deploy without a cluster, a registry or a Docker engine:
 * every YAML parses, the manifests agree with each other and with the app (probe paths and
 * ports answer on a running app, every variable they set is one the config validates, the
 * grace period covers the drain), and every metric the dashboard and the alert rules use is
 * served by /metrics of a running app.
 */

/** Metrics from outside the service: Prometheus itself (`up`) and kube-state-metrics. */
const EXTERNAL_METRICS = new Set(['up', 'kube_pod_status_ready', 'kube_pod_owner']);
/** PROTOCOL 3: the dashboard must show each of these. */
const SPEC_METRICS = [
  'sync_requests_total',
  'sync_request_duration_seconds',
  'sync_changes_total',
  'sync_conflicts_total',
  'sync_batch_size',
];

const files = loadDeployYaml();
const deployment: Manifest = manifest(files, 'Deployment', 'delta-sync');
const container: Manifest = deployment.spec.template.spec.containers[0];
// The generated ConfigMap and the example overlay's generated Secret, read from their env files.
const configMap: Manifest = {
  metadata: { name: 'delta-sync-config' },
  data: parseEnv(readFileSync(join(DEPLOY_DIR, 'k8s', 'config.env'), 'utf8')),
};
const secretExample: Manifest = {
  metadata: { name: 'delta-sync-secrets' },
  stringData: parseEnv(readFileSync(join(DEPLOY_DIR, 'overlays', 'example', 'secrets.example.env'), 'utf8')),
};
const job: Manifest = manifest(files, 'Job', 'delta-sync-migrate-RELEASE');
const dashboard = JSON.parse(readFileSync(join(DEPLOY_DIR, 'monitoring', 'grafana-dashboard.json'), 'utf8'));
const alertRules: { alert?: string; record?: string; expr: string; for?: string }[] = (
  files.get('monitoring/alerts.yaml')![0] as Manifest
).groups.flatMap((g: Manifest) => g.rules);
const recorded = new Set(alertRules.map((r) => r.record).filter(Boolean));
const serviceMonitor: Manifest = files.get('monitoring/operator/servicemonitor.yaml')![0];

const dashboardTargets = (): { datasource: { type: string }; expr?: string; rawSql?: string }[] =>
  dashboard.panels.flatMap((p: Manifest) => (p.targets ?? []).map((t: Manifest) => ({ ...t, datasource: t.datasource ?? p.datasource })));

describe('deploy: the manifests and monitoring files', () => {
  it('has every expected file, each YAML parsing, and kustomization lists every base manifest, the settings generated from config.env', () => {
    expect([...files.keys()].sort()).toEqual([
      'k8s/deployment.yaml',
      'k8s/hpa.yaml',
      'k8s/kustomization.yaml',
      'k8s/migration-job.yaml',
      'k8s/pdb.yaml',
      'k8s/service.yaml',
      'monitoring/alerts.yaml',
      'monitoring/operator/kustomization.yaml',
      'monitoring/operator/prometheus-rule.yaml',
      'monitoring/operator/servicemonitor.yaml',
      'monitoring/prometheus-scrape.example.yaml',
      'monitoring/tests/connections.test.yaml',
      'monitoring/tests/pods.test.yaml',
      'monitoring/tests/slo.test.yaml',
      'overlays/example/ingress.yaml',
      'overlays/example/kustomization.yaml',
      'overlays/example/networkpolicy.yaml',
      'overlays/pgbouncer/kustomization.yaml',
      'overlays/pgbouncer/migration-job-direct.yaml',
      'overlays/pgbouncer/pgbouncer.yaml',
    ]);
    const kustomization = files.get('k8s/kustomization.yaml')![0] as Manifest;
    const others = [...files.keys()].filter((f) => f.startsWith('k8s/') && !/kustomization/.test(f)).map((f) => f.slice(4));
    expect([...kustomization.resources].sort()).toEqual(others.sort());
    expect(kustomization.configMapGenerator).toEqual([expect.objectContaining({ name: configMap.metadata.name, envs: ['config.env'] })]);
  });

  (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0 ? it : it.skip)(
    'renders with kustomize (kubectl kustomize), images rewritten',
    () => {
      const out = execFileSync('kubectl', ['kustomize', join(DEPLOY_DIR, 'k8s')], { encoding: 'utf8' });
      const kinds = [...out.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]).sort();
      expect(kinds).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Job', 'PodDisruptionBudget', 'Service']);
      expect(out.match(/image: registry\.example\.com\/delta-sync:0\.1\.0/g)).toHaveLength(2);
      // The migration Job is named per release (kustomize replacement from the image tag).
      expect(out).toMatch(/^ {2}name: delta-sync-migrate-0\.1\.0$/m);
      // An overlay that sets the next tag and repeats the replacement gets the next Job.
      const overlay = mkdtempSync(join(tmpdir(), 'delta-sync-overlay-'));
      const base = readFileSync(join(DEPLOY_DIR, 'k8s', 'kustomization.yaml'), 'utf8');
      writeFileSync(
        join(overlay, 'kustomization.yaml'),
        `resources:\n  - ${relative(overlay, join(DEPLOY_DIR, 'k8s'))}\n` +
          `images:\n  - name: registry.example.com/delta-sync\n    newTag: '0.2.0'\n${base.slice(base.indexOf('replacements:'))}`,
      );
      const next = execFileSync('kubectl', ['kustomize', overlay], { encoding: 'utf8' });
      rmSync(overlay, { recursive: true });
      expect(next).toMatch(/^ {2}name: delta-sync-migrate-0\.2\.0$/m);
      expect(next.match(/image: registry\.example\.com\/delta-sync:0\.2\.0/g)).toHaveLength(2);
    },
  );

  it('Deployment: no replicas (the HPA owns them), non-root, read-only root filesystem with emptyDirs for DATA_DIR and /tmp', () => {
    expect(deployment.spec.replicas).toBeUndefined();
    const pod = deployment.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources.requests).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
    expect(container.resources.limits.memory).toEqual(expect.any(String));
    const emptyDirs = new Set(pod.volumes.filter((v: Manifest) => v.emptyDir).map((v: Manifest) => v.name));
    const writable = container.volumeMounts.filter((m: Manifest) => emptyDirs.has(m.name)).map((m: Manifest) => m.mountPath);
    expect(writable).toEqual(expect.arrayContaining([configMap.data.DATA_DIR, '/tmp']));
  });

  it('selectors agree: Service, PodDisruptionBudget and the pod template; the HPA scales this Deployment from 3; drains evict unhealthy pods', () => {
    const labels = deployment.spec.template.metadata.labels;
    for (const selector of [
      deployment.spec.selector.matchLabels,
      manifest(files, 'PodDisruptionBudget').spec.selector.matchLabels,
      manifest(files, 'Service').spec.selector,
    ]) {
      expect(labels).toMatchObject(selector);
    }
    const service = manifest(files, 'Service');
    expect(container.ports.map((p: Manifest) => p.name)).toContain(service.spec.ports[0].targetPort);
    const hpa = manifest(files, 'HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBe(3);
    expect(manifest(files, 'PodDisruptionBudget').spec).toMatchObject({ maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
  });

  it('terminationGracePeriodSeconds exceeds the preStop pause plus the drain (SHUTDOWN_DRAIN_MS)', () => {
    const pause = Number(container.lifecycle.preStop.exec.command.at(-1));
    const drainMs = loadConfig({ ...configMap.data, ...secretExample.stringData }).http.shutdownDrainMs;
    expect(pause).toBeGreaterThan(0);
    expect(drainMs).toBeGreaterThan(0);
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(pause * 1000 + drainMs);
  });

  it('every variable the manifests set is one the config validates, and their values pass validation', () => {
    const accepted = new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
        .map((m) => m.propertyName),
    );
    const set = [
      ...Object.keys(configMap.data),
      ...Object.keys(secretExample.stringData),
      ...[container, job.spec.template.spec.containers[0]].flatMap((c: Manifest) => (c.env ?? []).map((e: Manifest) => e.name)),
    ];
    expect(set.filter((name) => !accepted.has(name))).toEqual([]);
    for (const c of [container, job.spec.template.spec.containers[0]]) {
      expect(c.envFrom).toEqual([
        { configMapRef: { name: configMap.metadata.name } },
        { secretRef: { name: secretExample.metadata.name } },
      ]);
    }
    const config = loadConfig({ ...configMap.data, ...secretExample.stringData });
    expect(config.env).toBe('production');
    expect(config.database.migrationsRun).toBe(false);
    expect(config.database.url).toMatch(/^postgres/);
    expect(config.sync.rateLimitRedisUrl).toMatch(/^rediss?:/);
  });

  it('the image runs the compiled service and the Job the compiled migration CLI, both built from sources that exist', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const finalStage = dockerfile.split(/^FROM /m).at(-1)!;
    expect(finalStage).toMatch(/npm ci --omit=dev/);
    expect(finalStage).toMatch(/^USER (?!root|0\b)\S+/m);
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(finalStage)![1]);
    expect(container.command).toEqual(cmd);
    const jobCommand = job.spec.template.spec.containers[0].command;
    // `nest build` bundles one file per entry of apps/api/webpack.config.cjs into dist/apps/api.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the build's own CommonJS config, evaluated as nest build does
    const webpackConfig = require(join(ROOT, 'apps', 'api', 'webpack.config.cjs')) as (options: object) => {
      entry: Record<string, string>;
    };
    const tsconfig = { options: { configFile: join(ROOT, 'apps', 'api', 'tsconfig.app.json') } };
    const { entry: entries } = webpackConfig({ entry: '', output: {}, module: { rules: [{ use: [tsconfig] }] } });
    for (const [node, entry] of [cmd, jobCommand]) {
      expect(node).toBe('node');
      const name = /^dist\/apps\/api\/(\w+)\.js$/.exec(entry)?.[1] ?? '';
      expect(existsSync(entries[name] ?? '')).toBe(true);
    }
    expect(entries.migrate).toMatch(/cli\/migrate\.ts$/);
    // The README's restore step runs `node dist/apps/api/resync-horizon.js` in the image.
    expect(entries['resync-horizon']).toMatch(/cli\/resync-horizon\.ts$/);
    expect(existsSync(entries['resync-horizon'])).toBe(true);
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts['resync-horizon:prod']).toBe(
      'node dist/apps/api/resync-horizon.js',
    );
    expect(jobCommand[1]).toBe('dist/apps/api/migrate.js');
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expect(readFileSync(join(ROOT, '.dockerignore'), 'utf8')).toMatch(/^node_modules$/m);
  });

  it("both image stages are the Node major that package.json's engines require and .ci/run tests on", () => {
    const froms = [...readFileSync(join(ROOT, 'Dockerfile'), 'utf8').matchAll(/^FROM node:(\d+)-bookworm-slim AS \w+$/gm)].map((m) => m[1]);
    expect(froms).toHaveLength(2);
    expect(new Set(froms).size).toBe(1);
    const engines = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node;
    expect(engines).toBe(`>=${froms[0]}`);
    expect(readFileSync(join(ROOT, '.ci', 'run'), 'utf8')).toMatch(/FROM node:.*AS runtime[\s\S]*node@\$NODE_MAJOR[\s\S]*export PATH=/);
  });

  it('metricNames reads PromQL as expected', () => {
    expect(
      metricNames('histogram_quantile(0.99, sum by (le, instance) (rate(a_bucket{job=~"$job",x="y{z}"}[$__rate_interval]))) > 5'),
    ).toEqual(['a_bucket']);
    expect(metricNames('sum(rate(a_total[5m])) / sum(rate(b_total{outcome="error"}[5m])) > 0.01')).toEqual(['a_total', 'b_total']);
  });
});

describe('deploy: against a running app', () => {
  let t: TestApp;
  let exported: Set<string>;

  beforeAll(async () => {
    t = await startTestApp();
    // One sync with an applied change, a conflict and an error, so the labelled series exist.
    const f = await createFamily(t);
    await syncOk(t, f.token(), { changes: [change({ entity_id: 'a', data: { title: 'A' } })] });
    const second = await syncOk(t, f.token(), {
      changes: [
        change({ entity_id: 'a', action: 'update', version: 7, data: { title: 'stale' }, client_timestamp: '2020-01-01T00:00:00Z' }),
        change({ entity_id: 'b', data: { title: '' } }),
      ],
    });
    expect(second.conflicts).toHaveLength(1);
    expect(second.errors).toHaveLength(1);
    exported = exportedSeries((await request(t.server).get('/metrics').expect(200)).text);
  });
  afterAll(() => t?.close());

  it('the probe paths answer 200 on the app, on the port the ConfigMap gives it', async () => {
    const port = container.ports.find((p: Manifest) => p.name === 'http').containerPort;
    expect(loadConfig({ ...configMap.data, ...secretExample.stringData }).http.port).toBe(port);
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      const { path, port: probePort } = container[probe].httpGet;
      expect(probePort === 'http' || probePort === port).toBe(true);
      await request(t.server).get(path).expect(200);
    }
    expect(container.livenessProbe.httpGet.path).toBe('/health/live');
    expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    // The ServiceMonitor scrapes the Service's metrics port, which leads to METRICS_PORT
    // (metrics-port-docs.e2e-spec.ts serves /metrics there).
    const endpoint = manifest(files, 'Service').spec.ports.find((p: Manifest) => p.name === serviceMonitor.spec.endpoints[0].port);
    const metricsPort = container.ports.find((p: Manifest) => p.name === endpoint.targetPort).containerPort;
    expect(loadConfig({ ...configMap.data, ...secretExample.stringData }).http.metricsPort).toBe(metricsPort);
    expect(metricsPort).not.toBe(port);
    expect(serviceMonitor.spec.endpoints[0].path).toBe('/metrics');
  });

  it('every metric of the dashboard and of the alert rules is served by /metrics', () => {
    const promTargets = dashboardTargets().filter((x) => x.datasource.type === 'prometheus');
    const exprs = [...promTargets.map((x) => x.expr!), ...alertRules.map((r) => r.expr)];
    expect(promTargets.length).toBeGreaterThan(10);
    const referenced = new Set(exprs.flatMap(metricNames));
    const missing = [...referenced].filter((name) => !EXTERNAL_METRICS.has(name) && !recorded.has(name) && !exported.has(name));
    expect(missing).toEqual([]);
    for (const name of SPEC_METRICS) {
      expect([...referenced].some((r) => r === name || r.startsWith(`${name}_`))).toBe(true);
    }
  });

  it("the dashboard's per-device table runs on the schema", async () => {
    const sqlTargets = dashboardTargets().filter((x) => x.rawSql);
    expect(sqlTargets).toHaveLength(1);
    const rows = await t.app.get(DataSource).query(sqlTargets[0].rawSql!);
    expect(rows).toEqual([expect.objectContaining({ device_id: 'device-1', sync_count: '2' })]);
  });
});
