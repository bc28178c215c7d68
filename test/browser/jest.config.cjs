// `npm run test:browser`: the demo in Debian's chromium (playwright-core), against the real
// AppModule on a real PostgreSQL (the e2e global setup: TEST_DATABASE_URL or the embedded one).
const e2e = require('../../package.json').jest.projects.find((p) => p.displayName === 'e2e');

module.exports = {
  ...e2e,
  displayName: 'browser',
  rootDir: '../..',
  testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'],
  setupFilesAfterEnv: [],
  testTimeout: 120_000,
};
