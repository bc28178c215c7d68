// `nest build` bundles the service's own code (apps/api and libs/*) with webpack; packages in
// node_modules stay external. The bundles go to the tsconfig's outDir (dist/apps/api for
// apps/api/tsconfig.app.json), one per entry point:
//   main.js     the service (`npm run start:prod`, the Deployment)
//   migrate.js  applies pending migrations and exits (the migration Job)
//   resync-horizon.js  after a restore from backup, every device resyncs once (README)
const path = require('node:path');
const ts = require('typescript');

/** The compilerOptions.outDir of the tsconfig `nest build` was given (extends resolved). */
function outDirOf(tsconfigPath) {
  const file = path.resolve(tsconfigPath);
  const { config, error } = ts.readConfigFile(file, ts.sys.readFile);
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, path.dirname(file));
  if (!options.outDir) throw new Error(`${tsconfigPath} sets no compilerOptions.outDir`);
  return options.outDir;
}

module.exports = (options) => {
  const tsconfig = options.module.rules[0].use[0].options.configFile;
  return {
    ...options,
    entry: {
      main: path.join(__dirname, 'src', 'main.ts'),
      migrate: path.join(__dirname, 'src', 'cli', 'migrate.ts'),
      'resync-horizon': path.join(__dirname, 'src', 'cli', 'resync-horizon.ts'),
    },
    output: { ...options.output, path: outDirOf(tsconfig), filename: '[name].js' },
  };
};
