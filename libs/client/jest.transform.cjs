// Jest transform for the client SDK's sources. The package is "type": "module", so the
// root tsconfig (nodenext) would emit ES modules for it, which Jest on Node 20 cannot
// require; ts-jest cannot take a second tsconfig in one project (it caches one per
// project). This transpiles each file to CommonJS, no type check (tsc does that).
const ts = require('typescript');

module.exports = {
  process(source, filename) {
    const out = ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        inlineSourceMap: true,
        inlineSources: true,
      },
    });
    return { code: out.outputText };
  },
  getCacheKey(source, filename) {
    return require('node:crypto').createHash('sha1').update(`${ts.version}\0${filename}\0${source}`).digest('hex');
  },
};
