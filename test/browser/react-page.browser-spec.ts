import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { Browser, chromium, Page } from 'playwright-core';
import { SyncClient } from '@delta-sync/client';
import { sdkClient } from '../support/client-sdk';
import { createFamily, FamilyFixture } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';
import { CHROMIUM_ARGS, eventually } from './device';

/**
 * The React binding in chromium (issue 30): react-page/main.ts, bundled by esbuild with
 * React's development build (StrictMode double-mounts only there), served on the API's own
 * origin by request interception. It lists open tasks with useQuery; another device's push
 * appears without a reload (live mode's poke), and StrictMode starts one client.
 */
const ROOT = join(__dirname, '..', '..');
const OUT = join(ROOT, '.data', 'browser-test', 'react-page');
// A page fulfilled by request interception has no IP address space, so chromium's local
// network access checks would refuse its WebSocket to 127.0.0.1; the demo test's pages are
// served by the API itself and need no flag.
const LOCAL_ORIGIN = '--disable-features=LocalNetworkAccessChecks';
const HTML =
  '<!doctype html><meta charset="utf-8"><title>Open tasks</title><div id="root"></div><script type="module" src="/react-page/app.js"></script>';

describe('the React binding in chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let app: string;
  let f: FamilyFixture;
  let phone: SyncClient;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    const client = join(ROOT, 'libs', 'client', 'src');
    await build({
      entryPoints: [join(__dirname, 'react-page', 'main.ts')],
      outfile: join(OUT, 'app.js'),
      bundle: true,
      format: 'esm',
      target: 'es2022',
      logLevel: 'warning',
      define: { 'process.env.NODE_ENV': '"development"' },
      alias: { '@delta-sync/client/react': join(client, 'react', 'index.ts'), '@delta-sync/client': join(client, 'index.ts') },
    });
    app = readFileSync(join(OUT, 'app.js'), 'utf8');
    t = await startTestApp({ SYNC_RATE_LIMIT: '0' });
    f = await createFamily(t, 'alice');
    await f.addMember('bob');
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [...CHROMIUM_ARGS, LOCAL_ORIGIN],
    });
  });

  afterAll(async () => {
    await phone?.stop();
    await browser?.close();
    await t?.close();
  });

  const titles = () => page.locator('li.task').allTextContents();

  it('lists the open tasks another device pushed before the page opened; StrictMode started one client', async () => {
    phone = await sdkClient(t, f, 'bob-phone', { user: 'bob' });
    await phone.create('task', 'a', { title: 'Buy milk' });
    await phone.create('task', 'b', { title: 'Answer the letter', status: 'done' });
    await phone.sync();

    const context = await browser.newContext({ viewport: { width: 640, height: 420 } });
    await context.route(`${t.baseUrl}/react-page**`, (route) => {
      const js = route.request().url().endsWith('/app.js');
      return route.fulfill({ status: 200, contentType: js ? 'text/javascript' : 'text/html', body: js ? app : HTML });
    });
    page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(`console error: ${m.text()}`));
    await page.goto(`${t.baseUrl}/react-page?device=alice-browser&token=${encodeURIComponent(f.token())}`);
    await eventually(
      async () => (await page.locator('#status').textContent())?.startsWith('live: open') ?? false,
      10_000,
      'live mode open',
    );
    await eventually(async () => (await titles()).length === 1, 10_000, 'the first sync');
    expect(await titles()).toEqual(['Buy milk']);
    expect(await page.locator('#clients').textContent()).toBe('clients started: 1');
    expect(errors).toEqual([]);
  });

  it("another device's push appears without a reload", async () => {
    const navigations: string[] = [];
    page.on('framenavigated', (fr) => navigations.push(fr.url()));
    await phone.create('task', 'c', { title: 'Call grandma' });
    await phone.update('task', 'a', { status: 'done' });
    await phone.create('task', 'd', { title: 'Defrost the freezer' });
    await phone.sync();
    await eventually(async () => (await titles()).join() === 'Call grandma,Defrost the freezer', 5_000, 'the push on the page');
    expect(navigations).toEqual([]);
    expect(await page.locator('#clients').textContent()).toBe('clients started: 1');
    await page.screenshot({ path: join(OUT, 'open-tasks.png') });
    console.log(`react page screenshot: ${join(OUT, 'open-tasks.png')}`);
  });
});
