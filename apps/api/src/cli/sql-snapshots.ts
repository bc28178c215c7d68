import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { snapshotText, syncSqlSnapshots } from '../sync/sql/sync-sql.snapshots';

/** `npm run sql:snapshots`: writes the hot statements' `.sql` snapshots (review the diff). */
const folder = join(__dirname, '..', 'sync', 'sql');
for (const [file, sql] of Object.entries(syncSqlSnapshots())) {
  writeFileSync(join(folder, file), snapshotText(sql));
  process.stdout.write(`${join('apps/api/src/sync/sql', file)}\n`);
}
