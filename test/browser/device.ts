import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';

/** Headless Debian chromium, quiet: no sandbox (root in CI), no GPU, no background traffic. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TaskView {
  id: string;
  title: string;
  status: string;
  version: number;
  pending: boolean;
}

/** Polls `check` until it returns true (or throws its last failure after `ms`). */
export async function eventually(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One family member's device: a browser context (its own IndexedDB and network) showing the demo. */
export class Device {
  readonly console: string[] = [];

  constructor(
    readonly name: string,
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly shots: string,
  ) {
    page.on('console', (m) => this.console.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => this.console.push(`pageerror: ${e.message}`));
    page.setDefaultTimeout(15_000);
  }

  static async open(name: string, context: BrowserContext, url: string, shots: string): Promise<Device> {
    const device = new Device(name, context, await context.newPage(), shots);
    await device.page.goto(url);
    return device;
  }

  card(title: string): Locator {
    return this.page.locator(`.card[data-title="${title}"]`);
  }

  async waitSynced(): Promise<void> {
    await this.page.locator('#live-state', { hasText: 'open' }).waitFor();
    await this.page.locator('#sync-state', { hasText: /^Synced$/ }).waitFor();
  }

  async addTask(title: string, points: number, assignees: string[]): Promise<void> {
    await this.page.fill('input[name=title]', title);
    await this.page.fill('input[name=points]', String(points));
    for (const a of assignees) await this.page.check(`input[name=assignee][value=${a}]`);
    await this.page.click('button[type=submit]');
    await this.card(title).waitFor();
  }

  async rename(from: string, to: string): Promise<void> {
    const input = this.card(from).locator('input.title');
    await input.fill(to);
    await input.press('Enter');
    await this.card(to).waitFor();
  }

  async complete(title: string): Promise<void> {
    await this.card(title).locator('button.complete').click();
    await this.page.locator(`.card[data-title="${title}"][data-status="done"]`).waitFor();
  }

  /** The app's switch; the browser context's network is set by the caller. */
  async setOnline(on: boolean): Promise<void> {
    const toggle = this.page.locator('#online-switch');
    if ((await toggle.isChecked()) !== on) await toggle.click();
    await this.page.locator('.switch span', { hasText: on ? 'Online' : 'Offline' }).waitFor();
  }

  /** The replica's tasks as the app's SyncClient shows them (server state + pending changes). */
  tasks(): Promise<TaskView[]> {
    return this.page.evaluate(
      `window.demo.client.list('task').map((t) => ({ id: t.id, title: t.data.title, status: t.data.status, version: t.version, pending: t.pending }))
        .sort((a, b) => a.id.localeCompare(b.id))`,
    ) as Promise<TaskView[]>;
  }

  text(selector: string): Promise<string> {
    return this.page.locator(selector).innerText();
  }

  async shot(step: string): Promise<string> {
    mkdirSync(this.shots, { recursive: true });
    const path = join(this.shots, `${step}-${this.name}.png`);
    await this.page.screenshot({ path });
    return path;
  }
}
