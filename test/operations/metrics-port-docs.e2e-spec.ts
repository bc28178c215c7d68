import request from 'supertest';
import { MetricsServer } from '../../apps/api/src/metrics/metrics-server';
import { createFamily, syncOk } from '../support/sync-fixtures';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * METRICS_PORT moves /metrics off the API port onto a server of its own (the manifests scrape
 * that port; the ingress never reaches it). /docs is off in production unless API_DOCS=true.
 */
describe('METRICS_PORT: /metrics on its own port only', () => {
  let t: TestApp;
  let metricsUrl: string;

  beforeAll(async () => {
    t = await startTestApp({ METRICS_PORT: '0' });
    metricsUrl = `http://127.0.0.1:${t.app.get(MetricsServer).port()}`;
  });
  afterAll(() => t?.close());

  it('serves the sync metrics and the process defaults there, after a sync', async () => {
    const f = await createFamily(t);
    await syncOk(t, f.token(), { changes: [] });
    const res = await fetch(`${metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^sync_requests_total\{status="200"\} 1$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
  });

  it('answers 404 to other paths, and the API port no longer serves /metrics', async () => {
    expect((await fetch(`${metricsUrl}/health/ready`)).status).toBe(404);
    await request(t.server).get('/metrics').expect(404);
    await request(t.server).get('/health/ready').expect(200);
  });

  it('closes with the app', async () => {
    const other = await startTestApp({ METRICS_PORT: '0' });
    const url = `http://127.0.0.1:${other.app.get(MetricsServer).port()}/metrics`;
    expect((await fetch(url)).status).toBe(200);
    await other.close();
    await expect(fetch(url)).rejects.toThrow();
  });
});

describe('API docs: off in production unless API_DOCS=true', () => {
  const production = { NODE_ENV: 'production', HOST: '127.0.0.1' };

  it.each([
    ['production', production, 404],
    ['production with API_DOCS=true', { ...production, API_DOCS: 'true' }, 200],
    ['test (development default)', {}, 200],
    ['test with API_DOCS=false', { API_DOCS: 'false' }, 404],
  ])('%s: /docs and /docs-json answer %i', async (_name, env, status) => {
    const t = await startTestApp(env);
    try {
      await request(t.server).get('/docs-json').expect(status);
      await request(t.server).get('/docs/').expect(status);
      await request(t.server).get('/health/live').expect(200);
    } finally {
      await t.close();
    }
  });
});
