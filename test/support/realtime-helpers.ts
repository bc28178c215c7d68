import { createFamily, FamilyFixture } from './sync-fixtures';
import { startTestApp, TestApp } from './test-app';

/**
 * A realtime suite across instances: two Nest apps in this process on one database (A, and B
 * sharing A's database), so a commit on A reaches B only through PostgreSQL NOTIFY; alice's
 * and olga's families created through A. `track` a client to have it closed after the test.
 * Call it inside the suite's describe.
 */
export function instancePairSuite() {
  let a: TestApp;
  let b: TestApp;
  let f: FamilyFixture;
  let other: FamilyFixture;
  const open: { close(): void }[] = [];

  beforeAll(async () => {
    a = await startTestApp();
    b = await startTestApp({}, { db: a.db });
    f = await createFamily(a, 'alice');
    other = await createFamily(a, 'olga');
  });
  afterEach(() => {
    for (const client of open.splice(0)) client.close();
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  const track = <T extends { close(): void }>(client: T): T => (open.push(client), client);
  return { a: () => a, b: () => b, family: () => f, other: () => other, track };
}
