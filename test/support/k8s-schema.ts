import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import ts from 'typescript';
import { Manifest, ROOT } from './deploy-files';

/** The module of kubernetes-models (or its prometheus-operator models) that has `kind` of `apiVersion`. */
const modelModule = (m: Manifest): string =>
  `${String(m.apiVersion).startsWith('monitoring.coreos.com/') ? '@kubernetes-models/prometheus-operator' : 'kubernetes-models'}/${m.apiVersion}/${m.kind}`;
const label = (m: Manifest): string => `${m.kind}/${m.metadata?.name}`;

/**
 * Every object checked against the Kubernetes API schema of kubernetes-models, strictly: an
 * unknown (say misspelled) field is an error too. Returns one message per problem, empty when
 * all are valid. Two checks, because the models' validate() ignores unknown fields:
 * - TypeScript's excess-property check: each object, as an object literal, must be assignable
 *   to its model's interface (`IDeployment`, ...), at every depth;
 * - the models' validate() (types, formats, required fields, in test/support/k8s-validate.mjs).
 */
export function kubernetesSchemaErrors(objects: Manifest[]): string[] {
  return [...unknownFieldErrors(objects), ...modelErrors(objects)];
}

function unknownFieldErrors(objects: Manifest[]): string[] {
  // A module beside the project's node_modules, never written to disk. Two lines per object.
  const file = join(ROOT, 'test', 'support', 'k8s-objects.generated.mts');
  const source = objects
    .map((m, i) => `import type { I${m.kind} as T${i} } from '${modelModule(m)}';\nexport const o${i}: T${i} = ${JSON.stringify(m)};`)
    .join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, source, language) : read(name, language, ...rest);
  host.fileExists = (
    (exists) => (name: string) =>
      name === file || exists(name)
  )(host.fileExists.bind(host));
  return ts.getPreEmitDiagnostics(ts.createProgram([file], options, host)).map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    const object = objects[Math.floor(line / 2)];
    return `${object ? label(object) : 'objects'}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}

function modelErrors(objects: Manifest[]): string[] {
  // kustomize wraps a long base64 value of a Secret over lines; the API server's decoder (Go's
  // encoding/base64) skips the line breaks, the models' "byte" format does not.
  const unwrapped = objects.map((m) =>
    m.kind === 'Secret' && m.data
      ? { ...m, data: Object.fromEntries(Object.entries(m.data as Record<string, string>).map(([k, v]) => [k, v.replace(/\s+/g, '')])) }
      : m,
  );
  const out = execFileSync(process.execPath, [join(__dirname, 'k8s-validate.mjs')], { input: JSON.stringify(unwrapped), encoding: 'utf8' });
  return JSON.parse(out) as string[];
}
