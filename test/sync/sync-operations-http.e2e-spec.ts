import { gunzipSync, gzipSync } from 'node:zlib';
import request from 'supertest';
import { bearer } from '@app/testing';
import { change, createFamily, delta } from '../support/sync-fixtures';
import { Body, operationsSuite, rawPost, ts } from '../support/operations-helpers';

/**
 * PROTOCOL 3 and the HTTP envelope of POST /sync/delta, one of four suites
 * (sync-operations*.e2e-spec.ts, helpers in test/support/operations-helpers.ts): body limit, gzip
 * both ways and the OpenAPI description.
 */
describe('sync operations (PROTOCOL 3): request bodies, OpenAPI', () => {
  const { app, family, sql } = operationsSuite();

  describe('request bodies', () => {
    it('a body over SYNC_MAX_BODY (default 5 MB) is 413 with a JSON body, and nothing is applied', async () => {
      const huge = JSON.stringify({
        device_id: 'big',
        changes: [change({ entity_id: 'too-big', data: { title: 'big', desc: 'x'.repeat(5.5 * 1024 * 1024) }, client_timestamp: ts() })],
      });
      const res = await request(app().server)
        .post('/sync/delta')
        .set(bearer(family().token()))
        .set('content-type', 'application/json')
        .send(huge);
      expect(res.status).toBe(413);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toMatchObject({ statusCode: 413, error: expect.any(String), message: expect.any(String) });
      expect((await sql().query('SELECT 1 FROM tasks WHERE id = $1', ['too-big'])).rowCount).toBe(0);
    });

    it('the limit applies to the decompressed body: a small gzip that inflates past it is 413', async () => {
      const inflated = JSON.stringify({
        device_id: 'bomb',
        changes: [change({ entity_id: 'gz-bomb', data: { title: 'bomb', desc: 'y'.repeat(6 * 1024 * 1024) }, client_timestamp: ts() })],
      });
      const zipped = gzipSync(inflated);
      expect(zipped.length).toBeLessThan(100 * 1024);
      const res = await fetch(`${app().baseUrl}/sync/delta`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', ...bearer(family().token()) },
        body: zipped,
      });
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ statusCode: 413 });
      expect((await sql().query('SELECT 1 FROM tasks WHERE id = $1', ['gz-bomb'])).rowCount).toBe(0);
    });

    it('accepts a gzip request body (Content-Encoding: gzip)', async () => {
      const body = { device_id: 'gz-phone', changes: [change({ entity_id: 'gz-1', data: { title: 'zipped' }, client_timestamp: ts() })] };
      const res = await fetch(`${app().baseUrl}/sync/delta`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', ...bearer(family().token()) },
        body: gzipSync(JSON.stringify(body)),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ success: true, applied: [{ entity_type: 'task', entity_id: 'gz-1', version: 1 }] });
      const row = await sql().query('SELECT data FROM tasks WHERE family_id = $1 AND id = $2', [family().familyId, 'gz-1']);
      expect(row.rows[0].data.title).toBe('zipped');
    });

    it('a corrupt gzip body is a 400, not a 5xx', async () => {
      const res = await rawPost(
        app(),
        '/sync/delta',
        { 'content-type': 'application/json', 'content-encoding': 'gzip', ...bearer(family().token()) },
        Buffer.from('not gzip at all'),
      );
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body.toString())).toMatchObject({ statusCode: 400 });
    });

    it('compresses a large response when the client accepts gzip, and only then', async () => {
      const changes = Array.from({ length: 40 }, (_, i) =>
        change({
          entity_id: `gz-many-${i}`,
          data: { title: `A reasonably long task title number ${i}`, desc: 'lorem ipsum '.repeat(10) },
          client_timestamp: ts(),
        }),
      );
      expect((await delta(app(), family().token(), { device_id: 'gz-writer', changes })).status).toBe(200);
      const pull = JSON.stringify({ device_id: 'gz-reader' });
      const headers = { 'content-type': 'application/json', ...bearer(family().token()) };

      const zipped = await rawPost(app(), '/sync/delta', { ...headers, 'accept-encoding': 'gzip' }, pull);
      expect(zipped.status).toBe(200);
      expect(zipped.headers['content-encoding']).toBe('gzip');
      const inflated = gunzipSync(zipped.body);
      expect(zipped.body.length).toBeLessThan(inflated.length);
      const body = JSON.parse(inflated.toString());
      expect(body.server_changes.filter((c: Body) => String(c.entity_id).startsWith('gz-many-'))).toHaveLength(40);

      const plain = await rawPost(app(), '/sync/delta', headers, JSON.stringify({ device_id: 'gz-reader' }));
      expect(plain.status).toBe(200);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(JSON.parse(plain.body.toString()).server_changes.length).toBe(body.server_changes.length);
    });
  });

  describe('GET /docs-json', () => {
    it('describes POST /sync/delta with its request schema and the examples', async () => {
      const res = await request(app().server).get('/docs-json').expect(200);
      const doc = res.body;
      const resolve = (schema: Body): Body => {
        const ref = schema.$ref as string | undefined;
        return ref ? doc.components.schemas[ref.replace('#/components/schemas/', '')] : schema;
      };
      const op = doc.paths['/sync/delta']?.post;
      expect(op).toBeDefined();
      expect(op.security).toEqual(expect.arrayContaining([expect.objectContaining({ bearer: expect.anything() })]));
      const content = op.requestBody.content['application/json'];
      const schema = resolve(content.schema);
      expect(Object.keys(schema.properties as Body)).toEqual(
        expect.arrayContaining(['device_id', 'changes', 'last_sync_at', 'atomic', 'limit']),
      );
      expect(schema.required).toEqual(expect.arrayContaining(['device_id']));
      expect(schema.required).not.toEqual(expect.arrayContaining(['changes']));
      const props = schema.properties as Record<string, Body>;
      expect(props.limit).toMatchObject({ minimum: 1, maximum: 5000 });
      expect(props.atomic).toMatchObject({ type: 'boolean' });
      // From SYNC_MAX_BATCH (default 500), not a constant of the decorator.
      expect(props.changes).toMatchObject({ type: 'array', maxItems: 500 });
      const item = resolve((props.changes.items ?? {}) as Body);
      expect(Object.keys(item.properties as Body)).toEqual(
        expect.arrayContaining(['entity_type', 'entity_id', 'action', 'data', 'version', 'client_timestamp', 'change_id']),
      );
      expect((item.properties as Record<string, Body>).action.enum).toEqual(['create', 'update', 'delete']);

      expect(Object.keys(content.examples)).toEqual(expect.arrayContaining(['simpleSync', 'versionMismatch', 'doneWins']));
      for (const example of Object.values(content.examples) as { summary: string; value: Body }[]) {
        expect(example.summary).toEqual(expect.any(String));
        expect(example.value).toMatchObject({ device_id: expect.any(String), changes: expect.any(Array) });
      }
      expect(op.responses['200']).toBeDefined();
      expect(op.responses['429']).toBeDefined();
      const responseSchema = resolve(op.responses['200'].content['application/json'].schema);
      expect(Object.keys(responseSchema.properties as Body)).toEqual(
        expect.arrayContaining([
          'server_changes',
          'conflicts',
          'errors',
          'applied',
          'last_sync_at',
          'has_more',
          'resync_required',
          'success',
          'applied_count',
          'error_count',
        ]),
      );
      expect(doc.paths['/sync/devices']?.get).toBeDefined();
    });

    it('the documented examples are accepted by the endpoint as they are', async () => {
      const doc = (await request(app().server).get('/docs-json').expect(200)).body;
      const examples = doc.paths['/sync/delta'].post.requestBody.content['application/json'].examples as Record<string, { value: Body }>;
      const ex = await createFamily(app(), 'example-user', 'Examples');
      for (const [name, { value }] of Object.entries(examples)) {
        const res = await delta(app(), ex.token(), value);
        expect({ name, status: res.status }).toEqual({ name, status: 200 });
      }
    });
  });
});
