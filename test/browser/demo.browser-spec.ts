import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, chromium } from 'playwright-core';
import { startTestApp, TestApp } from '../support/test-app';
import { demoFile, serveDemoElsewhere, StaticOrigin } from './demo-servers';
import { CHROMIUM_ARGS, Device, eventually } from './device';

/**
 * The demo in a real browser (issue 14) and browser CORS (issue 17): Debian's chromium driven
 * by playwright-core, the real AppModule in development mode with the development JWT secret
 * (so /demo and its token endpoint exist), on a real PostgreSQL. Each `it` is one step of one
 * story and needs the steps before it. Screenshots of every step go to SHOTS.
 */
const SHOTS = join(__dirname, '..', '..', '.data', 'browser-test', new Date().toISOString().replace(/[:.]/g, '-'));

const TASK = 'Water the plants';
const A_TITLE = 'Water all the plants';
const B_TITLE = 'Water the plants and the lawn';
const OTHER = 'Take out the trash';
const OTHER_OFFLINE = 'Take out the trash and recycling';
const CHORE = 'Sort the mail';

describe('the demo in chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let allowed: StaticOrigin;
  let refused: StaticOrigin;
  let a: Device;
  let b: Device;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    [allowed, refused] = await Promise.all([serveDemoElsewhere(), serveDemoElsewhere()]);
    t = await startTestApp({
      NODE_ENV: 'development',
      JWT_SECRET: undefined, // the development secret, created in the test's DATA_DIR
      CORS_ORIGINS: allowed.origin,
      SYNC_RATE_LIMIT: '0',
    });
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
      // Playwright starts the browser on a fresh temporary user-data dir of its own; each context is a fresh profile.
      downloadsPath: mkdtempSync(join(t.config.dataDir, 'downloads-')),
    });
    console.log(`browser test screenshots: ${SHOTS}`);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await Promise.all([allowed?.close(), refused?.close()]);
    console.log('browser test timings (ms):', timings);
  });

  it('two family members open the board on two devices; both sync and go live', async () => {
    a = await Device.open(
      'A-alice',
      await browser.newContext({ viewport: { width: 1200, height: 760 } }),
      `${t.baseUrl}/demo?member=alice`,
      SHOTS,
    );
    b = await Device.open(
      'B-bob',
      await browser.newContext({ viewport: { width: 1200, height: 760 } }),
      `${t.baseUrl}/demo?member=bob`,
      SHOTS,
    );
    await Promise.all([a.waitSynced(), b.waitSynced()]);
    expect(await a.text('.device-id')).toMatch(/^alice · web-alice-/);
    expect(await b.text('.device-id')).toMatch(/^bob · web-bob-/);
    await Promise.all([a.shot('01-open'), b.shot('01-open')]);
  });

  it("each device sees the other's new task within 2 s (realtime, no reload)", async () => {
    let start = Date.now();
    await a.addTask(TASK, 10, ['bob']);
    await b.card(TASK).waitFor({ timeout: 2000 });
    timings.aToB = Date.now() - start;

    start = Date.now();
    await b.addTask(OTHER, 5, ['alice']);
    await a.card(OTHER).waitFor({ timeout: 2000 });
    timings.bToA = Date.now() - start;
    await Promise.all([a.shot('02-realtime'), b.shot('02-realtime')]);
  });

  it('B offline (switch and network): B renames and completes the task, A renames it after', async () => {
    await b.setOnline(false);
    await b.context.setOffline(true);
    expect(await b.text('#sync-state')).toBe('Offline');

    await b.rename(TASK, B_TITLE);
    await b.complete(B_TITLE);
    expect(await b.card(B_TITLE).getAttribute('class')).toContain('pending');
    // Neither edit was sent: the completion merges into the rename (one change, issue 24).
    expect(await b.text('#pending')).toBe('1 change(s)');

    await a.rename(TASK, A_TITLE); // later than B's edit: A is the last writer of the title
    await a.page.locator(`.card[data-title="${A_TITLE}"]:not(.pending)`).waitFor();
    // B, offline, still shows its own version only.
    expect(await b.card(A_TITLE).count()).toBe(0);
    await Promise.all([a.shot('03-offline-edits'), b.shot('03-offline-edits')]);
  });

  it('B reconnects: both boards converge (done wins, title by the last writer) and B sees the conflict', async () => {
    await b.context.setOffline(false);
    await b.setOnline(true);
    for (const d of [a, b]) await d.page.locator(`.card[data-title="${A_TITLE}"][data-status="done"]:not(.pending)`).waitFor();
    await eventually(async () => JSON.stringify(await a.tasks()) === JSON.stringify(await b.tasks()), 10_000, 'both replicas equal');
    const tasks = await b.tasks();
    expect(tasks.map((x) => [x.title, x.status, x.pending])).toEqual(
      expect.arrayContaining([
        [A_TITLE, 'done', false],
        [OTHER, 'open', false],
      ]),
    );

    const conflict = b.page.locator('.conflict.mine');
    await conflict.waitFor();
    expect(await conflict.locator('tr[data-field=title] td.lost').innerText()).toBe(`“${B_TITLE}”`);
    expect(await conflict.locator('tr[data-field=title] td').nth(2).innerText()).toBe(`“${A_TITLE}”`);
    // Done by bob, assigned to bob: 10 points and the first-task badge, computed by the server, on both devices.
    for (const d of [a, b]) {
      await d.page.locator('[data-member=bob] .member-points', { hasText: '10 pts' }).waitFor();
      await d.page.locator('[data-member=bob] .badge', { hasText: 'First task' }).waitFor();
    }
    await Promise.all([a.shot('04-converged'), b.shot('04-converged')]);
  });

  it("why? on B's inbox entry asks the server (PROTOCOL 2.11): B holds the task's latest state", async () => {
    await b.page.locator('.conflict.mine button.why').click();
    const answer = await b.page.locator('.conflict.mine .why-answer').innerText();
    expect(answer).toMatch(/^why: (this device has its latest state|changed after last sync)$/);
  });

  it("restore on B brings back B's title on both boards and empties the inbox", async () => {
    await b.page.locator('.conflict.mine button.restore').click();
    for (const d of [a, b]) {
      await d.page.locator(`.card[data-title="${B_TITLE}"][data-status="done"]:not(.pending)`).waitFor();
      await d.page.locator('.conflict').first().waitFor({ state: 'detached' });
    }
    await eventually(async () => JSON.stringify(await a.tasks()) === JSON.stringify(await b.tasks()), 10_000, 'both replicas equal');
    await Promise.all([a.shot('05-restored'), b.shot('05-restored')]);
  });

  it('a reload of B while offline keeps its unsynced edit (IndexedDB) and syncs it later', async () => {
    await b.setOnline(false);
    await b.context.setOffline(true);
    await b.rename(OTHER, OTHER_OFFLINE);
    // Chromium cannot load a page with the network off (the demo has no service worker): for the
    // reload, the network is on but every request to the API except the page's own three files
    // fails as a network failure, and none may even be attempted (the app is switched offline).
    const attempts: string[] = [];
    await b.context.route(`${t.baseUrl}/**`, (route) => {
      if (demoFile(route.request().url())) return route.continue();
      attempts.push(route.request().url());
      return route.abort('internetdisconnected');
    });
    await b.context.setOffline(false);
    await b.page.reload();
    await b.card(OTHER_OFFLINE).waitFor();
    expect(await b.card(OTHER_OFFLINE).getAttribute('class')).toContain('pending');
    expect(await b.text('#pending')).toBe('1 change(s)');
    expect(await b.text('#sync-state')).toBe('Offline');
    expect(await a.card(OTHER).count()).toBe(1);
    expect(attempts).toEqual([]);
    await b.shot('06-reloaded-offline');

    await b.context.unroute(`${t.baseUrl}/**`);
    await b.setOnline(true);
    for (const d of [a, b]) await d.page.locator(`.card[data-title="${OTHER_OFFLINE}"]:not(.pending)`).waitFor();
    await eventually(async () => JSON.stringify(await a.tasks()) === JSON.stringify(await b.tasks()), 10_000, 'both replicas equal');
    await Promise.all([a.shot('07-synced-after-reload'), b.shot('07-synced-after-reload')]);
  });

  it('the network drops with the switch left on: B resumes on its own once it is back (no sync() by the app)', async () => {
    await b.context.setOffline(true);
    await b.addTask(CHORE, 1, []);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await b.card(CHORE).getAttribute('class')).toContain('pending');
    expect(await a.card(CHORE).count()).toBe(0);
    const back = Date.now();
    // The app calls sync() only from its switch, which stays on: the SDK resumes by itself.
    await b.context.setOffline(false);
    await a.card(CHORE).waitFor({ timeout: 10_000 });
    await b.page.locator(`.card[data-title="${CHORE}"]:not(.pending)`).waitFor({ timeout: 10_000 });
    timings.resumeAfterOffline = Date.now() - back;
    expect(timings.resumeAfterOffline).toBeLessThan(10_000);
    await Promise.all([a.shot('08-resumed'), b.shot('08-resumed')]);
  });

  it('served from another origin listed in CORS_ORIGINS, the demo syncs through CORS (HTTP and WebSocket)', async () => {
    const c = await Device.open(
      'C-carol-cors',
      await browser.newContext({ viewport: { width: 1200, height: 760 } }),
      `${allowed.origin}/demo?member=carol&api=${encodeURIComponent(t.baseUrl)}`,
      SHOTS,
    );
    await c.waitSynced();
    await c.card(B_TITLE).waitFor();
    await c.card(OTHER_OFFLINE).waitFor();
    await c.addTask('Feed the cat', 3, ['carol']);
    await a.card('Feed the cat').waitFor();
    await a.addTask('Walk the dog', 4, []);
    await c.card('Walk the dog').waitFor(); // a poke over the cross-origin WebSocket
    await c.shot('08-cors-allowed');
    await c.context.close();
  });

  it('served from an origin not in CORS_ORIGINS, the demo shows that it cannot reach the service', async () => {
    const d = await Device.open(
      'D-carol-refused',
      await browser.newContext({ viewport: { width: 1200, height: 760 } }),
      `${refused.origin}/demo?member=carol&api=${encodeURIComponent(t.baseUrl)}`,
      SHOTS,
    );
    await d.page.locator('#banner.error', { hasText: 'Cannot start' }).waitFor();
    expect(await d.text('#banner')).toContain(`is ${refused.origin} in its CORS_ORIGINS?`);
    expect(await d.text('#sync-state')).toBe('Sync failed');
    expect(await d.page.locator('.card').count()).toBe(0);
    // The browser refused it for CORS (not a dead server): chromium says so on the console.
    expect(d.console.some((line) => line.includes('blocked by CORS policy'))).toBe(true);
    await d.shot('09-cors-refused');
    await d.context.close();
  });
  it('two tabs of one profile are one device: an edit in one shows in the other within 1 s; the leader closing hands over', async () => {
    const a2 = await Device.open('A2-alice-second-tab', a.context, `${t.baseUrl}/demo?member=alice`, SHOTS);
    await a2.card(CHORE).waitFor();
    const role = (d: Device) => d.page.evaluate('window.demo.client.status().tab') as Promise<string>;
    expect([await role(a), await role(a2)]).toEqual(['leader', 'follower']);
    expect(await a2.text('.device-id')).toBe(await a.text('.device-id'));
    // The follower shows the device's socket and rounds: the leader tab's.
    await a2.page.locator('#live-state', { hasText: 'open' }).waitFor({ timeout: 5000 });

    let start = Date.now();
    await a2.addTask('Two tabs, one device', 2, []);
    await a.card('Two tabs, one device').waitFor({ timeout: 1000 });
    timings.tabToTab = Date.now() - start;
    // The follower's edit, handed to the leader tab (live), reaches the other device.
    await b.card('Two tabs, one device').waitFor({ timeout: 5000 });
    await a2.page.locator('.card[data-title="Two tabs, one device"]:not(.pending)').waitFor({ timeout: 5000 });

    // The leader tab closes: Web Locks hand leadership to the other, which opens the socket.
    await a.page.close();
    await eventually(async () => (await role(a2)) === 'leader', 5000, 'the second tab leads');
    await a2.page.locator('#live-state', { hasText: 'open' }).waitFor({ timeout: 10_000 });
    start = Date.now();
    await b.addTask('After the handover', 1, []);
    await a2.card('After the handover').waitFor({ timeout: 5000 });
    timings.afterHandover = Date.now() - start;
    await a2.shot('10-second-tab-leads');
  });
});
