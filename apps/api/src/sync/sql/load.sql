-- a push touching tasks and events
WITH t0 AS (SELECT id, version, data, field_clocks, client_us, created_us, changed_us, deleted_us, field_positions FROM tasks WHERE family_id = $1 AND id = ANY($5::text[]) FOR UPDATE), t1 AS (SELECT id, version, data, field_clocks, client_us, created_us, changed_us, deleted_us, field_positions FROM events WHERE family_id = $1 AND id = ANY($6::text[]) FOR UPDATE)
       SELECT -1 AS src, k.device_id, r.outcome, k.change_key AS id, NULL::integer AS version, NULL::jsonb AS data, NULL::jsonb AS field_clocks, NULL::bigint AS client_us, NULL::bigint AS created_us, NULL::bigint AS changed_us, NULL::bigint AS deleted_us, NULL::jsonb AS field_positions
       FROM unnest($2::text[], $3::text[]) AS k(device_id, change_key)
       CROSS JOIN LATERAL (SELECT outcome FROM sync_receipts
                           WHERE family_id = $1 AND device_id = k.device_id AND change_key = k.change_key LIMIT 1) AS r
       UNION ALL SELECT -2, NULL, NULL, user_id, NULL::integer AS version, NULL::jsonb AS data, NULL::jsonb AS field_clocks, NULL::bigint AS client_us, NULL::bigint AS created_us, NULL::bigint AS changed_us, NULL::bigint AS deleted_us, NULL::jsonb AS field_positions FROM family_members WHERE family_id = $1 AND user_id = ANY($4::text[])
       UNION ALL SELECT -3, entity_type, NULL, field, NULL::integer AS version, NULL::jsonb AS data, NULL::jsonb AS field_clocks, NULL::bigint AS client_us, NULL::bigint AS created_us, NULL::bigint AS changed_us, NULL::bigint AS deleted_us, NULL::jsonb AS field_positions FROM sync_resolution_policies WHERE family_id = $1 AND rule = 'keep_device'
       UNION ALL SELECT 0, NULL, NULL, id, version, data, field_clocks, client_us, created_us, changed_us, deleted_us, field_positions FROM t0
UNION ALL SELECT 1, NULL, NULL, id, version, data, field_clocks, client_us, created_us, changed_us, deleted_us, field_positions FROM t1
