import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadConfig } from '@app/config';
import { DEPLOY_DIR, hasKubectl, Manifest, renderKustomization } from '../support/deploy-files';

/**
 * The example overlay rendered by kustomize (kubectl kustomize): generated settings whose
 * change rolls the pods, the CA mounted where DATABASE_URL's sslrootcert points, the
 * NetworkPolicy and Ingress reaching the ports the Service and pods have.
 */
const EXAMPLE = join(DEPLOY_DIR, 'overlays', 'example');
const find = (docs: Manifest[], kind: string): Manifest => docs.find((d) => d.kind === kind);

/** An overlay of the example that adds `extra` (YAML) to its kustomization. */
function renderVariant(extra: string): Manifest[] {
  const dir = mkdtempSync(join(tmpdir(), 'delta-sync-variant-'));
  try {
    writeFileSync(join(dir, 'kustomization.yaml'), `resources:\n  - ${relative(dir, EXAMPLE)}\n${extra}`);
    return renderKustomization(dir);
  } finally {
    rmSync(dir, { recursive: true });
  }
}

(hasKubectl ? describe : describe.skip)('deploy: the example overlay', () => {
  const docs = hasKubectl ? renderKustomization(EXAMPLE) : [];
  const deployment = find(docs, 'Deployment');
  const pod = deployment?.spec.template.spec;

  it('generated ConfigMap and Secret (hashed names) are what the Deployment and the Job read', () => {
    const configMap = find(docs, 'ConfigMap');
    const names = docs.filter((d) => d.kind === 'ConfigMap' || d.kind === 'Secret').map((d) => d.metadata.name);
    expect(names).toEqual(
      expect.arrayContaining([expect.stringMatching(/^delta-sync-config-\w{10}$/), expect.stringMatching(/^delta-sync-secrets-\w{10}$/)]),
    );
    for (const workload of [deployment, find(docs, 'Job')]) {
      const refs = workload.spec.template.spec.containers[0].envFrom.map((e: Manifest) => (e.configMapRef ?? e.secretRef).name);
      expect(refs.every((r: string) => names.includes(r))).toBe(true);
    }
    expect(configMap.metadata.namespace).toBe('delta-sync');
  });

  it('a changed setting or secret is a new name in the pod template, so the pods roll', () => {
    const refs = (d: Manifest[]) => JSON.stringify(find(d, 'Deployment').spec.template.spec.containers[0].envFrom);
    const changedConfig = renderVariant(
      'configMapGenerator:\n  - name: delta-sync-config\n    behavior: merge\n    literals: [LOG_LEVEL=debug]\n',
    );
    const changedSecret = renderVariant(
      'secretGenerator:\n  - name: delta-sync-secrets\n    behavior: merge\n    literals: [JWT_AUDIENCE=other]\n',
    );
    expect(refs(changedConfig)).not.toBe(refs(docs));
    expect(refs(changedSecret)).not.toBe(refs(docs));
    expect(refs(renderVariant(''))).toBe(refs(docs));
  });

  it('DATABASE_URL verifies the server (verify-full) against a CA file mounted from the generated ConfigMap', () => {
    const secret = find(docs, 'Secret');
    const env = Object.fromEntries(
      Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    );
    for (const name of ['DATABASE_URL', 'DATABASE_LISTEN_URL']) {
      const url = new URL(env[name]);
      expect(url.searchParams.get('sslmode')).toBe('verify-full');
      const caFile = url.searchParams.get('sslrootcert')!;
      for (const workload of [deployment, find(docs, 'Job')]) {
        const spec = workload.spec.template.spec;
        const mount = spec.containers[0].volumeMounts.find((m: Manifest) => caFile.startsWith(`${m.mountPath}/`));
        const volume = spec.volumes.find((v: Manifest) => v.name === mount.name);
        const ca = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === volume.configMap.name);
        expect(Object.keys(ca.data)).toContain(caFile.slice(mount.mountPath.length + 1));
      }
    }
    expect(loadConfig({ ...find(docs, 'ConfigMap').data, ...env }).database.url).toBe(env.DATABASE_URL);
  });

  it('NetworkPolicy: the API port from the ingress namespace, the metrics port from monitoring, only ports the pod has', () => {
    const policy = find(docs, 'NetworkPolicy');
    expect(deployment.spec.template.metadata.labels).toMatchObject(policy.spec.podSelector.matchLabels);
    const podPorts = pod.containers[0].ports.map((p: Manifest) => p.name);
    const allowed = policy.spec.ingress.map((r: Manifest) => [
      r.from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'],
      r.ports[0].port,
    ]);
    expect(allowed).toEqual([
      ['ingress-nginx', 'http'],
      ['monitoring', 'metrics'],
    ]);
    expect(allowed.every(([, port]: string[]) => podPorts.includes(port))).toBe(true);
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
  });

  it("Ingress: routes to the Service's http port, which is not the metrics port", () => {
    const ingress = find(docs, 'Ingress');
    const backend = ingress.spec.rules[0].http.paths[0].backend.service;
    const service = find(docs, 'Service');
    expect(backend.name).toBe(service.metadata.name);
    const port = service.spec.ports.find((p: Manifest) => p.name === backend.port.name);
    expect(port.targetPort).toBe('http');
    expect(ingress.metadata.namespace).toBe('delta-sync');
  });
});

(hasKubectl ? describe : describe.skip)('deploy: the PgBouncer overlay', () => {
  const docs = hasKubectl ? renderKustomization(join(DEPLOY_DIR, 'overlays', 'pgbouncer')) : [];
  const of = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name.startsWith(name));
  const secret = of('Secret', 'delta-sync-secrets-');
  const env = Object.fromEntries(
    Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
  );

  it('the pods pool through the PgBouncer Service in transaction mode, prepared statements off', () => {
    const pooler = of('Service', 'delta-sync-pgbouncer');
    const url = new URL(env.DATABASE_URL);
    expect([url.hostname, Number(url.port)]).toEqual([pooler.metadata.name, pooler.spec.ports[0].port]);
    const config = of('ConfigMap', 'delta-sync-config-').data;
    expect(loadConfig({ ...config, ...env }).database.preparedStatements).toBe(false);
    const ini = of('ConfigMap', 'delta-sync-pgbouncer-').data['pgbouncer.ini'];
    expect(ini).toMatch(/^pool_mode = transaction$/m);
    expect(ini).toMatch(/^ignore_startup_parameters = .*\boptions\b/m);
    expect(ini).toMatch(new RegExp(`^listen_port = ${pooler.spec.ports[0].port}$`, 'm'));
  });

  it('LISTEN and the migration Job (session-level lock) go straight to PostgreSQL', () => {
    expect(new URL(env.DATABASE_LISTEN_URL).hostname).not.toMatch(/pgbouncer/);
    const job = docs.find((d) => d.kind === 'Job').spec.template.spec.containers[0];
    const direct = job.env.find((e: Manifest) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef;
    expect(direct).toEqual({ name: secret.metadata.name, key: 'DATABASE_LISTEN_URL' });
  });
});
