-- The programme targets published to the TAP service (spec.PUBLISHED): spicadb.targets, the targets of
-- public programmes and of the programmes the reader's viewer is a member of (admins and trusted robots:
-- all), the same rule as the service's own listings (services.access). The viewer is the one the TAP
-- service set for its transaction (spicadb_kit.rights.set_published_viewer: spicadb.viewer,
-- spicadb.sees_all). The condition is written out, so counts and joins see only what the rows show; the
-- view is a security_barrier, so a reader's condition cannot probe a hidden target, and a cone on
-- ra/dec uses the GiST index below (its pgSphere functions are LEAKPROOF: spicadb_kit.leakproof).

CREATE INDEX target_position ON target USING gist (spoint(radians(ra), radians(dec)));

CREATE VIEW spicadb.targets WITH (security_barrier) AS
SELECT
    p.code AS programme,
    p.title AS programme_title,
    t.id::text AS target_id,
    t.name,
    t.ra,
    t.dec,
    t.epoch,
    t.pmra,
    t.pmdec,
    t.parallax,
    t.radial_velocity,
    t.mag_v,
    t.mag_r,
    t.mag_i,
    t.mag_j,
    t.mag_h,
    t.mag_k,
    t.spectral_type,
    t.object_type,
    t.hd,
    t.hip,
    t.tmass,
    t.gaia,
    t.teff,
    (SELECT w.code FROM work_package w WHERE w.id = t.work_package_id) AS work_package,
    t.priority,
    t.science_case,
    t.observations_requested,
    t.progress,
    t.updated_at
FROM target t
JOIN programme p ON p.id = t.programme_id
WHERE (coalesce(current_setting('spicadb.sees_all', true), '') = 'on')
   OR p.public
   OR EXISTS (SELECT 1 FROM member m WHERE m.programme_id = t.programme_id
              AND m.username = nullif(current_setting('spicadb.viewer', true), ''));
