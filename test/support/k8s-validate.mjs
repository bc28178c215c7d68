// Validates Kubernetes objects against the API's schema with kubernetes-models (and
// @kubernetes-models/prometheus-operator for monitoring.coreos.com): types, formats,
// required fields. stdin: a JSON array of objects; stdout: a JSON array of errors, one
// "<Kind>/<name>: <what>" per invalid object. An ES module run by Node, because these packages
// are ESM-only with no `require` export, which Jest cannot load (test/support/k8s-schema.ts).
import { readFileSync } from 'node:fs';
import process from 'node:process';

const objects = JSON.parse(readFileSync(0, 'utf8'));
const errors = [];
for (const object of objects) {
  const name = `${object.kind}/${object.metadata?.name}`;
  const models = object.apiVersion?.startsWith('monitoring.coreos.com/') ? '@kubernetes-models/prometheus-operator' : 'kubernetes-models';
  let Model;
  try {
    Model = (await import(`${models}/${object.apiVersion}/${object.kind}`))[object.kind];
  } catch {
    errors.push(`${name}: no model for ${object.apiVersion} ${object.kind}`);
    continue;
  }
  try {
    new Model(object).validate();
  } catch (error) {
    errors.push(`${name}: ${error.message}`);
  }
}
process.stdout.write(JSON.stringify(errors));
