-- PREPARE sync_lock_family(uuid, text[])
SELECT last_us, horizon_us, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS now_us
   FROM family_sync_state
   WHERE family_id = $1 AND EXISTS (SELECT 1 FROM family_members WHERE family_id = $1 AND user_id = ANY($2))
   FOR UPDATE
