-- PREPARE sync_pull_since_dea920e309f0(uuid, bigint, integer, text[], text[], text[], text[], text[], text[])
SELECT changed_us::text AS changed_us, odd, CASE WHEN n = 1 OR total <= 4194304 THEN entry END AS entry
          FROM (SELECT changed_us, odd, entry, row_number() OVER w AS n, 1 + sum(octet_length(entry) + 1) OVER w AS total
                FROM (SELECT changed_us, NOT (client_us >= -62135596800000000 AND client_us < 253402300800000000) AS odd,
                 '{"entity_type":' || to_json(entity_type)::text || ',"entity_id":' || to_json(id)::text ||
                 ',"action":"' || CASE WHEN deleted_us IS NOT NULL THEN 'delete' WHEN created_us > $2 THEN 'create' ELSE 'update' END ||
                 '","data":' || CASE WHEN deleted_us IS NULL THEN data::text ELSE 'null' END || ',"version":' || version ||
                 ',"client_timestamp":"' || CASE WHEN client_us >= -62135596800000000 AND client_us < 253402300800000000
     THEN to_char(timestamp 'epoch' + (client_us / 1000000) * interval '1 second' + (client_us % 1000000) * interval '1 microsecond',
                  'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
     ELSE '#' || client_us END || '","server_timestamp":"' || CASE WHEN changed_us >= -62135596800000000 AND changed_us < 253402300800000000
     THEN to_char(timestamp 'epoch' + (changed_us / 1000000) * interval '1 second' + (changed_us % 1000000) * interval '1 microsecond',
                  'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
     ELSE '#' || changed_us END || '"}' AS entry
                  FROM (SELECT * FROM ((SELECT 'task' AS entity_type, id, version, data, client_us, created_us, changed_us, deleted_us
             FROM tasks WHERE family_id = $1 AND changed_us > $2 AND id <> ALL($4) ORDER BY changed_us LIMIT $3) UNION ALL (SELECT 'event' AS entity_type, id, version, data, client_us, created_us, changed_us, deleted_us
             FROM events WHERE family_id = $1 AND changed_us > $2 AND id <> ALL($5) ORDER BY changed_us LIMIT $3) UNION ALL (SELECT 'points_ledger' AS entity_type, id, version, data, client_us, created_us, changed_us, deleted_us
             FROM points_ledger WHERE family_id = $1 AND changed_us > $2 AND id <> ALL($6) ORDER BY changed_us LIMIT $3) UNION ALL (SELECT 'user_streak' AS entity_type, id, version, data, client_us, created_us, changed_us, deleted_us
             FROM user_streaks WHERE family_id = $1 AND changed_us > $2 AND id <> ALL($7) ORDER BY changed_us LIMIT $3) UNION ALL (SELECT 'badge' AS entity_type, id, version, data, client_us, created_us, changed_us, deleted_us
             FROM badges WHERE family_id = $1 AND changed_us > $2 AND id <> ALL($8) ORDER BY changed_us LIMIT $3) UNION ALL (SELECT 'conflict' AS entity_type, id, version, data, client_us, created_us, changed_us, deleted_us
             FROM conflicts WHERE family_id = $1 AND changed_us > $2 AND id <> ALL($9) ORDER BY changed_us LIMIT $3)) AS changed ORDER BY changed_us LIMIT $3) AS p
                  OFFSET 0) AS e
                WINDOW w AS (ORDER BY changed_us ROWS UNBOUNDED PRECEDING)) AS s
          WHERE n <= 2 OR total - octet_length(entry) - 1 <= 4194304
          ORDER BY s.changed_us
