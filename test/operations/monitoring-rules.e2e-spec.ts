import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DEPLOY_DIR, ROOT, loadDeployYaml, manifest, Manifest } from '../support/deploy-files';

/**
 * The alert rules as Prometheus runs them: promtool checks them and runs the unit tests in
 * monitoring/tests (each alert firing on its failure and silent where it must not page), the
 * PrometheusRule carries the same groups, the ServiceMonitor scrapes the API pods under the
 * job the rules select, and every alert links a README runbook section that exists.
 */
const MONITORING = join(DEPLOY_DIR, 'monitoring');
const files = loadDeployYaml();
const groups: Manifest[] = (files.get('monitoring/alerts.yaml')![0] as Manifest).groups;
const alerts: Manifest[] = groups.flatMap((g) => g.rules).filter((r) => r.alert);
const testFiles = readdirSync(join(MONITORING, 'tests')).filter((f) => f.endsWith('.test.yaml'));
const cases: Manifest[] = testFiles.flatMap((f) => (files.get(`monitoring/tests/${f}`)![0] as Manifest).tests);
const hasPromtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes. */
const anchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');

describe('monitoring: the alert rules', () => {
  (hasPromtool ? it : it.skip)('pass promtool check rules and every promtool unit test', () => {
    execFileSync('promtool', ['check', 'rules', join(MONITORING, 'alerts.yaml')], { stdio: 'pipe' });
    const out = execFileSync('promtool', ['test', 'rules', ...testFiles], { cwd: join(MONITORING, 'tests'), encoding: 'utf8' });
    expect(out).not.toMatch(/FAILED/);
  });

  it('every alert has a unit test where it fires and one where it must stay silent', () => {
    const checks = cases.flatMap((c) => c.alert_rule_test as Manifest[]);
    for (const { alert } of alerts) {
      const mine = checks.filter((t) => t.alertname === alert);
      expect({ alert, fires: mine.some((t) => t.exp_alerts.length > 0) }).toEqual({ alert, fires: true });
      expect({ alert, silent: mine.some((t) => t.exp_alerts.length === 0) }).toEqual({ alert, silent: true });
    }
  });

  it('the burn-rate alerts read recording rules on two windows and a traffic floor', () => {
    const records = new Set(groups.flatMap((g) => g.rules).map((r: Manifest) => r.record));
    for (const name of ['DeltaSyncErrorBudgetBurn', 'DeltaSyncLatencyBudgetBurn']) {
      const used = alerts.find((a) => a.alert === name).expr.match(/delta_sync:[\w:]+/g);
      expect(used.every((r: string) => records.has(r))).toBe(true);
      expect(new Set(used).size).toBe(3);
      expect(used.some((r: string) => r.startsWith('delta_sync:sync_requests:'))).toBe(true);
    }
    expect(alerts.find((a) => a.alert === 'DeltaSyncDown').expr).toMatch(/^absent\(/);
  });

  it('every alert links a runbook section of the README', () => {
    const headings = new Set([...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/^#+ (.+)$/gm)].map((m) => anchor(m[1])));
    for (const { alert, annotations } of alerts) {
      const [, section] = /#(.+)$/.exec(annotations.runbook_url ?? '') ?? [];
      expect({ alert, section, exists: headings.has(section) }).toEqual({ alert, section, exists: true });
    }
  });

  it('selects the scrape job of the API pods only: no pod-name pattern that the migration pod matches', () => {
    const exprs = groups.flatMap((g) => g.rules).map((r: Manifest) => r.expr as string);
    for (const expr of exprs) {
      for (const [, labels] of expr.matchAll(/\{([^}]*)\}/g)) {
        expect(labels).not.toMatch(/pod=~/);
        if (/job=/.test(labels)) expect(labels).toMatch(/job="delta-sync"/);
      }
    }
  });

  it('the PrometheusRule carries exactly the groups of alerts.yaml (npm run monitoring:rules)', () => {
    const rule = parse(readFileSync(join(MONITORING, 'operator', 'prometheus-rule.yaml'), 'utf8'));
    expect(rule).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule' });
    expect(rule.spec.groups).toEqual(groups);
  });

  it('the ServiceMonitor selects the Service, scrapes a port it has, names the job delta-sync; the Job pod is no endpoint', () => {
    const monitor: Manifest = files.get('monitoring/operator/servicemonitor.yaml')![0];
    const service = manifest(files, 'Service');
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(service.metadata.labels[monitor.spec.jobLabel]).toBe('delta-sync');
    expect(service.spec.ports.map((p: Manifest) => p.name)).toContain(monitor.spec.endpoints[0].port);
    const jobPod = manifest(files, 'Job').spec.template.metadata.labels;
    expect(Object.entries(service.spec.selector).every(([k, v]) => jobPod[k] === v)).toBe(false);
    const deployment = manifest(files, 'Deployment');
    expect(deployment.spec.template.metadata.annotations?.['prometheus.io/scrape']).toBeUndefined();
  });

  (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0 ? it : it.skip)(
    'the operator kustomization renders a ServiceMonitor and a PrometheusRule',
    () => {
      const out = execFileSync('kubectl', ['kustomize', join(MONITORING, 'operator')], { encoding: 'utf8' });
      expect([...out.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]).sort()).toEqual(['PrometheusRule', 'ServiceMonitor']);
    },
  );
});
