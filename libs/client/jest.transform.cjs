// Jest transform to CommonJS, no type check (tsc does that), for two kinds of files:
// - the client SDK's sources. The package is "type": "module", so the root tsconfig
//   (nodenext) would emit ES modules for it, which Jest on Node 20 cannot require; ts-jest
//   cannot take a second tsconfig in one project (it caches one per project).
// - ESM-only packages in node_modules (jose, NestJS 12's @nestjs/*): Jest's module system
//   on Node 20 cannot load ES modules ("Must use import to load ES Module"). Their
//   `import.meta` has no CommonJS form, so it is rewritten first to what Jest's module
//   wrapper has in scope (require, __filename, __dirname).
const ts = require('typescript');

// Bump when the rewrite changes: Jest caches transformed files by this key.
const VERSION = '2';

/** `import.meta` of an ES module in node_modules, in CommonJS terms. */
function withoutImportMeta(source) {
  if (!source.includes('import.meta')) return source;
  return source
    .replace(/^\s*const require = createRequire\(import\.meta\.url\);\s*$/gm, '')
    .replace(/createRequire\(import\.meta\.url\)/g, 'require')
    .replace(/import\.meta\.resolve\(/g, 'require.resolve(')
    .replace(/import\.meta\.dirname/g, '__dirname')
    .replace(/import\.meta\.filename/g, '__filename')
    .replace(/import\.meta\.url/g, "require('node:url').pathToFileURL(__filename).href");
}

module.exports = {
  process(source, filename) {
    const input = filename.includes('/node_modules/') ? withoutImportMeta(source) : source;
    const out = ts.transpileModule(input, {
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
    return require('node:crypto').createHash('sha1').update(`${VERSION}\0${ts.version}\0${filename}\0${source}`).digest('hex');
  },
};
