-- a push writing tasks and events
WITH w0 AS (
  INSERT INTO tasks (family_id, id, version, data, field_clocks, client_us, created_us, changed_us, deleted_us, field_positions)
  SELECT $1, r.id, r.version, r.data, r.field_clocks, r.client_us, r.created_us, r.changed_us, r.deleted_us, r.field_positions
  FROM jsonb_to_recordset($5::jsonb) AS r(id text, version integer, data jsonb, field_clocks jsonb,
       client_us bigint, created_us bigint, changed_us bigint, deleted_us bigint, field_positions jsonb)
  ON CONFLICT (family_id, id) DO UPDATE SET
    version = EXCLUDED.version, data = EXCLUDED.data, field_clocks = EXCLUDED.field_clocks,
    client_us = EXCLUDED.client_us, changed_us = EXCLUDED.changed_us, deleted_us = EXCLUDED.deleted_us,
    field_positions = EXCLUDED.field_positions),
w1 AS (
  INSERT INTO events (family_id, id, version, data, field_clocks, client_us, created_us, changed_us, deleted_us, field_positions)
  SELECT $1, r.id, r.version, r.data, r.field_clocks, r.client_us, r.created_us, r.changed_us, r.deleted_us, r.field_positions
  FROM jsonb_to_recordset($6::jsonb) AS r(id text, version integer, data jsonb, field_clocks jsonb,
       client_us bigint, created_us bigint, changed_us bigint, deleted_us bigint, field_positions jsonb)
  ON CONFLICT (family_id, id) DO UPDATE SET
    version = EXCLUDED.version, data = EXCLUDED.data, field_clocks = EXCLUDED.field_clocks,
    client_us = EXCLUDED.client_us, changed_us = EXCLUDED.changed_us, deleted_us = EXCLUDED.deleted_us,
    field_positions = EXCLUDED.field_positions),
position AS (UPDATE family_sync_state SET last_us = $2 WHERE family_id = $1 AND $2::bigint IS NOT NULL),
device AS (
           INSERT INTO sync_devices (family_id, device_id, user_id, sync_count, last_sync_us, lanes)
           SELECT $1, d."deviceId", d."userId", d.visits, d."lastSyncUs", d.lanes
           FROM jsonb_to_recordset($3::jsonb) AS d("deviceId" text, "userId" text, visits bigint, "lastSyncUs" bigint, lanes jsonb)
           ON CONFLICT (family_id, device_id) DO UPDATE
           SET user_id = EXCLUDED.user_id, last_seen_at = now(), sync_count = sync_devices.sync_count + EXCLUDED.sync_count,
               last_sync_us = EXCLUDED.last_sync_us, lanes = EXCLUDED.lanes),
decision AS (
           INSERT INTO sync_resolution_decisions (family_id, entity_type, field, decisions, restored)
           SELECT $1, d."entityType", d.field, d.decisions, d.restored
           FROM jsonb_to_recordset($8::jsonb) AS d("entityType" text, field text, decisions integer, restored integer)
           ON CONFLICT (family_id, entity_type, field) DO UPDATE
           SET decisions = sync_resolution_decisions.decisions + EXCLUDED.decisions,
               restored = sync_resolution_decisions.restored + EXCLUDED.restored),
record AS (
           INSERT INTO sync_requests (family_id, id, device_id, user_id, position_before_us, position_us, server_us, atomic, discarded,
                                      max_skew_us, changes, before, outcomes, applied, conflicts, errors)
           SELECT $1, r.id, r."deviceId", r."userId", r."positionBeforeUs", r."positionUs", r."serverUs", r.atomic, r.discarded,
                  r."maxSkewUs", r.changes, r.before, r.outcomes, r.applied, r.conflicts, r.errors
           FROM jsonb_to_recordset($7::jsonb) AS r(id uuid, "deviceId" text, "userId" text, "positionBeforeUs" bigint,
                "positionUs" bigint, "serverUs" bigint, atomic boolean, discarded boolean, "maxSkewUs" bigint, changes jsonb, before jsonb,
                outcomes jsonb, applied integer, conflicts integer, errors integer))
       INSERT INTO sync_receipts (family_id, device_id, change_key, outcome, entity_type, entity_id, action, change_index)
       SELECT $1, r."deviceId", r.key, r.outcome, r."entityType", r."entityId", r.action, r.index
       FROM jsonb_to_recordset($4::jsonb)
            AS r("deviceId" text, key text, outcome jsonb, "entityType" text, "entityId" text, action text, index integer)
       ON CONFLICT DO NOTHING
