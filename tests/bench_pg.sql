-- bench_pg.sql -- the hub's join bench done by PostgreSQL (tests/bench.sh): 3 200 halls
-- of cap 30, 96 000 unplaced members, and a join that locks the member and the hall
-- rows, refuses a seated member (the customer lock) and a full hall (the cap).
CREATE TABLE hall (id int PRIMARY KEY, cap int NOT NULL, seats int NOT NULL DEFAULT 0);
CREATE TABLE member (id int PRIMARY KEY, hall int REFERENCES hall);
CREATE SEQUENCE next_member;
INSERT INTO hall SELECT h, 30 FROM generate_series (0, 3199) h;
INSERT INTO member SELECT m, NULL FROM generate_series (0, 95999) m;
CREATE FUNCTION join_next () RETURNS void AS $$
DECLARE
    m int := nextval ('next_member') - 1;
    h int := m / 30;
    held int;
    free int;
BEGIN
    SELECT hall INTO held FROM member WHERE id = m FOR UPDATE;
    IF held IS NOT NULL THEN RAISE EXCEPTION 'LOCKED: member % is in hall %', m, held; END IF;
    SELECT cap - seats INTO free FROM hall WHERE id = h FOR UPDATE;
    IF free <= 0 THEN RAISE EXCEPTION 'FULL: hall %', h; END IF;
    UPDATE member SET hall = h WHERE id = m;
    UPDATE hall SET seats = seats + 1 WHERE id = h;
END $$ LANGUAGE plpgsql;
