-- IM ids start where SQLite's do (store/im.rs: USER_ID_BASE = 2^41 + 1, GROUP_ID_BASE =
-- 2^42 + 1): 13-digit ids like Lanying's, users and groups in disjoint ranges. The
-- identity sequences are what allocates them (store/postgres/im.rs, nextval: never
-- reused, also after a rollback). setval past any row already there.
ALTER TABLE im_users ALTER COLUMN user_id SET START WITH 2199023255553;
ALTER TABLE im_groups ALTER COLUMN group_id SET START WITH 4398046511105;
SELECT setval(pg_get_serial_sequence('im_users', 'user_id'),
              GREATEST(2199023255553, (SELECT COALESCE(max(user_id) + 1, 0) FROM im_users)),
              false);
SELECT setval(pg_get_serial_sequence('im_groups', 'group_id'),
              GREATEST(4398046511105, (SELECT COALESCE(max(group_id) + 1, 0) FROM im_groups)),
              false);
