-- A work package's targets in the listing's default order (name), so that `work_package=WP2` reads its
-- first page from the index instead of sorting every target of the package (make bench, 100,000 targets:
-- p99 58 ms with the index on work_package_id alone). It replaces that index: its leading column is the same.
CREATE INDEX target_work_package_name ON target (work_package_id, name_key, id);
DROP INDEX target_work_package;
