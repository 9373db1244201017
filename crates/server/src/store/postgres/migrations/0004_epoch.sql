-- The store's epoch shared by every instance on this database (store/postgres/mod.rs,
-- `Store::epoch`): advanced after every committed write, read by every authenticated
-- request. A sequence, not a counter row: nextval takes no row lock, so writers of
-- different instances never queue on it.
CREATE SEQUENCE imadm_epoch;
