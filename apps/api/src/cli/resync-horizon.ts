/**
 * After a restore from backup, every device resyncs once (SPEC 3): moves every family's resync
 * horizon to the restore time. `node dist/apps/api/resync-horizon.js [--at <ISO time>]`
 * (`npm run resync-horizon:prod`; `npm run resync-horizon` from the sources); without `--at`,
 * now. Run it after the restore and the release's migrations, before the pods take traffic
 * (README, "Backup and restore"). Safe to run twice: a horizon never moves back.
 */
import 'reflect-metadata';
import { Client } from 'pg';
import { loadConfig } from '@app/config';
import { moveResyncHorizon, parseRestoreTime } from '../sync/maintenance/resync-horizon';
import { cliLog, runCli } from './cli-run';

const log = cliLog('ResyncHorizon');

async function main(): Promise<void> {
  const at = process.argv.indexOf('--at');
  const atUs = parseRestoreTime(at >= 0 ? process.argv[at + 1] : undefined);
  const config = loadConfig(process.env);
  if (!config.database.url) throw new Error('DATABASE_URL is required: the horizon is moved on the restored database');
  const client = new Client({ connectionString: config.database.url, application_name: 'delta-sync-resync-horizon' });
  await client.connect();
  try {
    await client.query('BEGIN');
    const result = await moveResyncHorizon(client, atUs);
    await client.query('COMMIT');
    log('resync horizon moved: every watermark issued before it answers resync_required', {
      horizon: new Date(atUs / 1000).toISOString(),
      ...result,
    });
  } finally {
    await client.end();
  }
}

runCli('ResyncHorizon', main);
