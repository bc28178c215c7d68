-- PREPARE sync_pull_lanes_since_patches_dd4b75ab2ab6(uuid, bigint, bigint, bigint, integer, text[], text[], text[], text[], text[], text[])
WITH heads AS (SELECT 0 AS lane, least(count(*), $5) AS c, min(changed_us) AS first FROM ((SELECT changed_us FROM tasks WHERE family_id = $1 AND changed_us > $2 AND id <> ALL($6) ORDER BY changed_us LIMIT $5) UNION ALL (SELECT changed_us FROM events WHERE family_id = $1 AND changed_us > $2 AND id <> ALL($7) ORDER BY changed_us LIMIT $5)) AS h UNION ALL SELECT 1 AS lane, least(count(*), $5) AS c, min(changed_us) AS first FROM ((SELECT changed_us FROM user_streaks WHERE family_id = $1 AND changed_us > $3 AND id <> ALL($9) ORDER BY changed_us LIMIT $5) UNION ALL (SELECT changed_us FROM badges WHERE family_id = $1 AND changed_us > $3 AND id <> ALL($10) ORDER BY changed_us LIMIT $5) UNION ALL (SELECT changed_us FROM conflicts WHERE family_id = $1 AND changed_us > $3 AND id <> ALL($11) ORDER BY changed_us LIMIT $5)) AS h UNION ALL SELECT 2 AS lane, least(count(*), $5) AS c, min(changed_us) AS first FROM ((SELECT changed_us FROM points_ledger WHERE family_id = $1 AND changed_us > $4 AND id <> ALL($8) ORDER BY changed_us LIMIT $5)) AS h), plan AS MATERIALIZED (SELECT o, r, k0, k1, greatest(0, least(c2 - CASE WHEN o = 2 THEN r ELSE 0 END, $5 - 1 - r - k0 - k1)) AS k2
     FROM (SELECT *, greatest(0, least(c1 - CASE WHEN o = 1 THEN r ELSE 0 END, $5 - 1 - r - k0)) AS k1
           FROM (SELECT *, greatest(0, least(c0 - CASE WHEN o = 0 THEN r ELSE 0 END, $5 - 1 - r)) AS k0
                 FROM (SELECT *, CASE o WHEN 0 THEN least(q, c0) WHEN 1 THEN least(q, c1) WHEN 2 THEN least(q, c2) ELSE 0 END AS r
                       FROM (SELECT (SELECT c FROM heads WHERE lane = 0) AS c0, (SELECT c FROM heads WHERE lane = 1) AS c1,
                                    (SELECT c FROM heads WHERE lane = 2) AS c2, ($5 + 2) / 4 AS q,
                                    (SELECT lane FROM heads WHERE c > 0 ORDER BY first LIMIT 1) AS o) AS counted) AS reserved) AS first_lane) AS second_lane)
          SELECT lane, changed_us::text AS changed_us, odd, CASE WHEN fits THEN entry END AS entry
          FROM (SELECT seg, lane, changed_us, odd, entry, entry IS NOT NULL AND (total - octet_length(entry) = 2 OR total <= 4194304) AS fits
                FROM (SELECT *, 1 + sum(octet_length(entry) + 1) OVER (ORDER BY seg, changed_us ROWS UNBOUNDED PRECEDING) AS total
                      FROM (SELECT seg, lane, changed_us, NOT (client_us >= -62135596800000000 AND client_us < 253402300800000000) AS odd, CASE WHEN NOT beyond THEN '{"entity_type":' || to_json(entity_type)::text || ',"entity_id":' || to_json(id)::text ||
                 ',"action":"' || CASE WHEN deleted_us IS NOT NULL THEN 'delete' WHEN created THEN 'create' ELSE 'update' END ||
                 '",' || CASE WHEN patch IS NOT NULL THEN '"patch":true,"data":' || patch::text WHEN deleted_us IS NULL THEN '"data":' || data::text ELSE '"data":null' END || ',"version":' || version ||
                 ',"client_timestamp":"' || CASE WHEN client_us >= -62135596800000000 AND client_us < 253402300800000000
     THEN to_char(timestamp 'epoch' + (client_us / 1000000) * interval '1 second' + (client_us % 1000000) * interval '1 microsecond',
                  'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
     ELSE '#' || client_us END || '","server_timestamp":"' || CASE WHEN changed_us >= -62135596800000000 AND changed_us < 253402300800000000
     THEN to_char(timestamp 'epoch' + (changed_us / 1000000) * interval '1 second' + (changed_us % 1000000) * interval '1 microsecond',
                  'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
     ELSE '#' || changed_us END || '"}' END AS entry
                            FROM (SELECT 0 AS seg, 0 AS lane, false AS beyond, * FROM (SELECT * FROM ((SELECT 'task' AS entity_type, id, version, data, client_us, created_us > $2 AS created, changed_us, deleted_us, CASE WHEN deleted_us IS NULL AND created_us <= $2 AND field_positions IS NOT NULL THEN
     (SELECT CASE WHEN count(*) FILTER (WHERE f.p::bigint > $2) < count(*)
                  THEN coalesce(jsonb_object_agg(f.k, data -> f.k) FILTER (WHERE f.p::bigint > $2), '{}'::jsonb) END
      FROM jsonb_each_text(field_positions) AS f(k, p)) END AS patch FROM tasks WHERE family_id = $1 AND changed_us > $2 AND id <> ALL($6) ORDER BY changed_us LIMIT $5) UNION ALL (SELECT 'event' AS entity_type, id, version, data, client_us, created_us > $2 AS created, changed_us, deleted_us, CASE WHEN deleted_us IS NULL AND created_us <= $2 AND field_positions IS NOT NULL THEN
     (SELECT CASE WHEN count(*) FILTER (WHERE f.p::bigint > $2) < count(*)
                  THEN coalesce(jsonb_object_agg(f.k, data -> f.k) FILTER (WHERE f.p::bigint > $2), '{}'::jsonb) END
      FROM jsonb_each_text(field_positions) AS f(k, p)) END AS patch FROM events WHERE family_id = $1 AND changed_us > $2 AND id <> ALL($7) ORDER BY changed_us LIMIT $5)) AS l0 ORDER BY changed_us LIMIT (SELECT CASE WHEN o = 0 THEN r ELSE 0 END FROM plan)) AS s0 UNION ALL SELECT 1 AS seg, 1 AS lane, false AS beyond, * FROM (SELECT * FROM ((SELECT 'user_streak' AS entity_type, id, version, data, client_us, created_us > $3 AS created, changed_us, deleted_us, CASE WHEN deleted_us IS NULL AND created_us <= $3 AND field_positions IS NOT NULL THEN
     (SELECT CASE WHEN count(*) FILTER (WHERE f.p::bigint > $3) < count(*)
                  THEN coalesce(jsonb_object_agg(f.k, data -> f.k) FILTER (WHERE f.p::bigint > $3), '{}'::jsonb) END
      FROM jsonb_each_text(field_positions) AS f(k, p)) END AS patch FROM user_streaks WHERE family_id = $1 AND changed_us > $3 AND id <> ALL($9) ORDER BY changed_us LIMIT $5) UNION ALL (SELECT 'badge' AS entity_type, id, version, data, client_us, created_us > $3 AS created, changed_us, deleted_us, CASE WHEN deleted_us IS NULL AND created_us <= $3 AND field_positions IS NOT NULL THEN
     (SELECT CASE WHEN count(*) FILTER (WHERE f.p::bigint > $3) < count(*)
                  THEN coalesce(jsonb_object_agg(f.k, data -> f.k) FILTER (WHERE f.p::bigint > $3), '{}'::jsonb) END
      FROM jsonb_each_text(field_positions) AS f(k, p)) END AS patch FROM badges WHERE family_id = $1 AND changed_us > $3 AND id <> ALL($10) ORDER BY changed_us LIMIT $5) UNION ALL (SELECT 'conflict' AS entity_type, id, version, data, client_us, created_us > $3 AS created, changed_us, deleted_us, CASE WHEN deleted_us IS NULL AND created_us <= $3 AND field_positions IS NOT NULL THEN
     (SELECT CASE WHEN count(*) FILTER (WHERE f.p::bigint > $3) < count(*)
                  THEN coalesce(jsonb_object_agg(f.k, data -> f.k) FILTER (WHERE f.p::bigint > $3), '{}'::jsonb) END
      FROM jsonb_each_text(field_positions) AS f(k, p)) END AS patch FROM conflicts WHERE family_id = $1 AND changed_us > $3 AND id <> ALL($11) ORDER BY changed_us LIMIT $5)) AS l1 ORDER BY changed_us LIMIT (SELECT CASE WHEN o = 1 THEN r ELSE 0 END FROM plan)) AS s1 UNION ALL SELECT 2 AS seg, 2 AS lane, false AS beyond, * FROM (SELECT * FROM ((SELECT 'points_ledger' AS entity_type, id, version, data, client_us, created_us > $4 AS created, changed_us, deleted_us, CASE WHEN deleted_us IS NULL AND created_us <= $4 AND field_positions IS NOT NULL THEN
     (SELECT CASE WHEN count(*) FILTER (WHERE f.p::bigint > $4) < count(*)
                  THEN coalesce(jsonb_object_agg(f.k, data -> f.k) FILTER (WHERE f.p::bigint > $4), '{}'::jsonb) END
      FROM jsonb_each_text(field_positions) AS f(k, p)) END AS patch FROM points_ledger WHERE family_id = $1 AND changed_us > $4 AND id <> ALL($8) ORDER BY changed_us LIMIT $5)) AS l2 ORDER BY changed_us LIMIT (SELECT CASE WHEN o = 2 THEN r ELSE 0 END FROM plan)) AS s2 UNION ALL SELECT 3 AS seg, 0 AS lane, row_number() OVER (ORDER BY changed_us) > (SELECT k0 FROM plan) AS beyond, *
               FROM (SELECT * FROM ((SELECT 'task' AS entity_type, id, version, data, client_us, created_us > $2 AS created, changed_us, deleted_us, CASE WHEN deleted_us IS NULL AND created_us <= $2 AND field_positions IS NOT NULL THEN
     (SELECT CASE WHEN count(*) FILTER (WHERE f.p::bigint > $2) < count(*)
                  THEN coalesce(jsonb_object_agg(f.k, data -> f.k) FILTER (WHERE f.p::bigint > $2), '{}'::jsonb) END
      FROM jsonb_each_text(field_positions) AS f(k, p)) END AS patch FROM tasks WHERE family_id = $1 AND changed_us > $2 AND id <> ALL($6) ORDER BY changed_us LIMIT $5) UNION ALL (SELECT 'event' AS entity_type, id, version, data, client_us, created_us > $2 AS created, changed_us, deleted_us, CASE WHEN deleted_us IS NULL AND created_us <= $2 AND field_positions IS NOT NULL THEN
     (SELECT CASE WHEN count(*) FILTER (WHERE f.p::bigint > $2) < count(*)
                  THEN coalesce(jsonb_object_agg(f.k, data -> f.k) FILTER (WHERE f.p::bigint > $2), '{}'::jsonb) END
      FROM jsonb_each_text(field_positions) AS f(k, p)) END AS patch FROM events WHERE family_id = $1 AND changed_us > $2 AND id <> ALL($7) ORDER BY changed_us LIMIT $5)) AS l0 ORDER BY changed_us LIMIT (SELECT k0 + 1 FROM plan) OFFSET (SELECT CASE WHEN o = 0 THEN r ELSE 0 END FROM plan)) AS m0 UNION ALL SELECT 4 AS seg, 1 AS lane, row_number() OVER (ORDER BY changed_us) > (SELECT k1 FROM plan) AS beyond, *
               FROM (SELECT * FROM ((SELECT 'user_streak' AS entity_type, id, version, data, client_us, created_us > $3 AS created, changed_us, deleted_us, CASE WHEN deleted_us IS NULL AND created_us <= $3 AND field_positions IS NOT NULL THEN
     (SELECT CASE WHEN count(*) FILTER (WHERE f.p::bigint > $3) < count(*)
                  THEN coalesce(jsonb_object_agg(f.k, data -> f.k) FILTER (WHERE f.p::bigint > $3), '{}'::jsonb) END
      FROM jsonb_each_text(field_positions) AS f(k, p)) END AS patch FROM user_streaks WHERE family_id = $1 AND changed_us > $3 AND id <> ALL($9) ORDER BY changed_us LIMIT $5) UNION ALL (SELECT 'badge' AS entity_type, id, version, data, client_us, created_us > $3 AS created, changed_us, deleted_us, CASE WHEN deleted_us IS NULL AND created_us <= $3 AND field_positions IS NOT NULL THEN
     (SELECT CASE WHEN count(*) FILTER (WHERE f.p::bigint > $3) < count(*)
                  THEN coalesce(jsonb_object_agg(f.k, data -> f.k) FILTER (WHERE f.p::bigint > $3), '{}'::jsonb) END
      FROM jsonb_each_text(field_positions) AS f(k, p)) END AS patch FROM badges WHERE family_id = $1 AND changed_us > $3 AND id <> ALL($10) ORDER BY changed_us LIMIT $5) UNION ALL (SELECT 'conflict' AS entity_type, id, version, data, client_us, created_us > $3 AS created, changed_us, deleted_us, CASE WHEN deleted_us IS NULL AND created_us <= $3 AND field_positions IS NOT NULL THEN
     (SELECT CASE WHEN count(*) FILTER (WHERE f.p::bigint > $3) < count(*)
                  THEN coalesce(jsonb_object_agg(f.k, data -> f.k) FILTER (WHERE f.p::bigint > $3), '{}'::jsonb) END
      FROM jsonb_each_text(field_positions) AS f(k, p)) END AS patch FROM conflicts WHERE family_id = $1 AND changed_us > $3 AND id <> ALL($11) ORDER BY changed_us LIMIT $5)) AS l1 ORDER BY changed_us LIMIT (SELECT k1 + 1 FROM plan) OFFSET (SELECT CASE WHEN o = 1 THEN r ELSE 0 END FROM plan)) AS m1 UNION ALL SELECT 5 AS seg, 2 AS lane, row_number() OVER (ORDER BY changed_us) > (SELECT k2 FROM plan) AS beyond, *
               FROM (SELECT * FROM ((SELECT 'points_ledger' AS entity_type, id, version, data, client_us, created_us > $4 AS created, changed_us, deleted_us, CASE WHEN deleted_us IS NULL AND created_us <= $4 AND field_positions IS NOT NULL THEN
     (SELECT CASE WHEN count(*) FILTER (WHERE f.p::bigint > $4) < count(*)
                  THEN coalesce(jsonb_object_agg(f.k, data -> f.k) FILTER (WHERE f.p::bigint > $4), '{}'::jsonb) END
      FROM jsonb_each_text(field_positions) AS f(k, p)) END AS patch FROM points_ledger WHERE family_id = $1 AND changed_us > $4 AND id <> ALL($8) ORDER BY changed_us LIMIT $5)) AS l2 ORDER BY changed_us LIMIT (SELECT k2 + 1 FROM plan) OFFSET (SELECT CASE WHEN o = 2 THEN r ELSE 0 END FROM plan)) AS m2) AS segs OFFSET 0) AS built) AS summed) AS page
          ORDER BY page.seg, page.changed_us
