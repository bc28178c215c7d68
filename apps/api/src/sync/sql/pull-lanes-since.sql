-- PREPARE sync_pull_lanes_since_73bd185f5e69(uuid, bigint, bigint, bigint, integer, text[], text[], text[], text[], text[], text[])
SELECT lane, changed_us::text AS changed_us, odd, CASE WHEN fits THEN entry END AS entry
          FROM (SELECT *, count(*) FILTER (WHERE fits) OVER (PARTITION BY lane) AS lane_fits
                FROM (SELECT *, fill_n < $5 AND (fill_n = 1 OR total <= 4194304) AS fits
                      FROM (SELECT *, 1 + sum(octet_length(entry) + 1) OVER (ORDER BY fill_n ROWS UNBOUNDED PRECEDING) AS total
                            FROM (SELECT lane, changed_us, lane_n, fill_n, NOT (client_us >= -62135596800000000 AND client_us < 253402300800000000) AS odd,
                                         CASE WHEN fill_n < $5 THEN '{"entity_type":' || to_json(entity_type)::text || ',"entity_id":' || to_json(id)::text ||
                 ',"action":"' || CASE WHEN deleted_us IS NOT NULL THEN 'delete' WHEN created THEN 'create' ELSE 'update' END ||
                 '","data":' || CASE WHEN deleted_us IS NULL THEN data::text ELSE 'null' END || ',"version":' || version ||
                 ',"client_timestamp":"' || CASE WHEN client_us >= -62135596800000000 AND client_us < 253402300800000000
     THEN to_char(timestamp 'epoch' + (client_us / 1000000) * interval '1 second' + (client_us % 1000000) * interval '1 microsecond',
                  'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
     ELSE '#' || client_us END || '","server_timestamp":"' || CASE WHEN changed_us >= -62135596800000000 AND changed_us < 253402300800000000
     THEN to_char(timestamp 'epoch' + (changed_us / 1000000) * interval '1 second' + (changed_us % 1000000) * interval '1 microsecond',
                  'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
     ELSE '#' || changed_us END || '"}' END AS entry
                                  FROM (SELECT *, row_number() OVER (ORDER BY (lane = oldest AND lane_n <= ($5 + 2) / 4) DESC, lane, changed_us) AS fill_n
                                        FROM (SELECT *, row_number() OVER (PARTITION BY lane ORDER BY changed_us) AS lane_n,
                                                     first_value(lane) OVER (ORDER BY changed_us) AS oldest
                                              FROM ((SELECT 0 AS lane, 'task' AS entity_type, id, version, data, client_us, created_us > $2 AS created, changed_us, deleted_us
             FROM tasks WHERE family_id = $1 AND changed_us > $2 AND id <> ALL($6) ORDER BY changed_us LIMIT $5) UNION ALL (SELECT 0 AS lane, 'event' AS entity_type, id, version, data, client_us, created_us > $2 AS created, changed_us, deleted_us
             FROM events WHERE family_id = $1 AND changed_us > $2 AND id <> ALL($7) ORDER BY changed_us LIMIT $5) UNION ALL (SELECT 2 AS lane, 'points_ledger' AS entity_type, id, version, data, client_us, created_us > $4 AS created, changed_us, deleted_us
             FROM points_ledger WHERE family_id = $1 AND changed_us > $4 AND id <> ALL($8) ORDER BY changed_us LIMIT $5) UNION ALL (SELECT 1 AS lane, 'user_streak' AS entity_type, id, version, data, client_us, created_us > $3 AS created, changed_us, deleted_us
             FROM user_streaks WHERE family_id = $1 AND changed_us > $3 AND id <> ALL($9) ORDER BY changed_us LIMIT $5) UNION ALL (SELECT 1 AS lane, 'badge' AS entity_type, id, version, data, client_us, created_us > $3 AS created, changed_us, deleted_us
             FROM badges WHERE family_id = $1 AND changed_us > $3 AND id <> ALL($10) ORDER BY changed_us LIMIT $5) UNION ALL (SELECT 1 AS lane, 'conflict' AS entity_type, id, version, data, client_us, created_us > $3 AS created, changed_us, deleted_us
             FROM conflicts WHERE family_id = $1 AND changed_us > $3 AND id <> ALL($11) ORDER BY changed_us LIMIT $5)) AS changed) AS ranked) AS filled) AS built) AS summed) AS cut) AS page
          WHERE fits OR lane_n = lane_fits + 1
          ORDER BY page.lane, page.changed_us
