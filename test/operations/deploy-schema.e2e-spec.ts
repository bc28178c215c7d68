import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEPLOY_DIR, hasKubectl, Manifest, renderKustomization } from '../support/deploy-files';
import { kubernetesSchemaErrors } from '../support/k8s-schema';

/**
 * Every object kustomize renders, of the base and of each overlay (and the Prometheus
 * Operator's objects), is valid against the Kubernetes API schema of kubernetes-models, with
 * unknown fields refused: what `kubectl apply --validate=strict` would check, without a cluster.
 */
const OVERLAYS = readdirSync(join(DEPLOY_DIR, 'overlays'));
const KUSTOMIZATIONS = ['k8s', ...OVERLAYS.map((overlay) => join('overlays', overlay)), join('monitoring', 'operator')];

(hasKubectl ? describe : describe.skip)('deploy: every rendered object against the Kubernetes schema', () => {
  it('the base, each overlay and the operator objects are valid, strictly', () => {
    expect(OVERLAYS).toEqual(expect.arrayContaining(['example', 'pgbouncer']));
    const objects = KUSTOMIZATIONS.flatMap((dir) => renderKustomization(join(DEPLOY_DIR, dir)));
    // Every kind the manifests use has a model (an unknown one would be an error below too).
    expect(new Set(objects.map((m) => m.kind))).toEqual(
      new Set([
        'ConfigMap',
        'Secret',
        'Service',
        'Deployment',
        'Job',
        'PodDisruptionBudget',
        'HorizontalPodAutoscaler',
        'NetworkPolicy',
        'Ingress',
        'ServiceMonitor',
        'PrometheusRule',
      ]),
    );
    expect(kubernetesSchemaErrors(objects)).toEqual([]);
  });

  it('refuses a misspelled field, a wrong type and a missing required field: the check can fail', () => {
    const [deployment] = renderKustomization(join(DEPLOY_DIR, 'k8s')).filter((m) => m.kind === 'Deployment');
    const broken = (name: string, change: (m: Manifest) => void): Manifest => {
      const copy = structuredClone(deployment);
      copy.metadata.name = name;
      change(copy);
      return copy;
    };
    const errors = kubernetesSchemaErrors([
      deployment,
      // Unknown fields: the models' validate() alone lets these through.
      broken('misspelled-top', (m) => (m.spec.replicass = 2)),
      broken('misspelled-deep', (m) => (m.spec.template.spec.containers[0].imagePullPolicyy = 'Always')),
      broken('wrong-type', (m) => (m.spec.replicas = 'two')),
      broken('no-selector', (m) => delete m.spec.selector),
    ]);
    const about = (name: string) => errors.filter((e) => e.startsWith(`Deployment/${name}: `));
    expect(about(deployment.metadata.name)).toEqual([]);
    expect(about('misspelled-top')).toEqual([expect.stringContaining('\'"replicass"\' does not exist in type')]);
    expect(about('misspelled-deep')).toEqual([expect.stringContaining("'\"imagePullPolicyy\"' does not exist in type 'IContainer'")]);
    expect(about('wrong-type')).toContainEqual(expect.stringContaining('data/spec/replicas must be integer'));
    expect(about('no-selector')).toContainEqual(expect.stringContaining('data/spec must have required property selector'));
    expect(errors.filter((e) => !/^Deployment\/(misspelled-top|misspelled-deep|wrong-type|no-selector): /.test(e))).toEqual([]);
  });
});
