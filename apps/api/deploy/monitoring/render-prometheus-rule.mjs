// Writes operator/prometheus-rule.yaml: the groups of alerts.yaml as a PrometheusRule, so the
// rules exist once (npm run monitoring:rules; the monitoring test fails when it is stale).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const { groups } = parse(readFileSync(join(here, 'alerts.yaml'), 'utf8'));
const rule = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PrometheusRule',
  metadata: { name: 'delta-sync', labels: { 'app.kubernetes.io/name': 'delta-sync' } },
  spec: { groups },
};
const header = '# Generated from ../alerts.yaml by `npm run monitoring:rules`: edit alerts.yaml, then run it.\n';
writeFileSync(join(here, 'operator', 'prometheus-rule.yaml'), header + stringify(rule, { lineWidth: 0 }));
