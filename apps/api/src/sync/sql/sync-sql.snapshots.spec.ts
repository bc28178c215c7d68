import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { snapshotText, syncSqlSnapshots } from './sync-sql.snapshots';

describe('the hot statements equal their committed snapshots (npm run sql:snapshots rewrites them)', () => {
  it.each(Object.entries(syncSqlSnapshots()))('%s', (file, sql) => {
    expect(snapshotText(sql)).toBe(readFileSync(join(__dirname, file), 'utf8'));
  });
});
