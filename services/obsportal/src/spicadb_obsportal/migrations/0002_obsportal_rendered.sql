-- The VO answers served as stored: what an exposure row shows that does not change between reads
-- (ObsPortal's exp_projected_baselines string and exp_validation_log) is rendered once, when the row
-- is written, by the database itself (so every writer, the consumer or a bulk COPY, leaves it right),
-- not on every cone search.

ALTER TABLE exposure
    -- ObsPortal's exp_projected_baselines: {'S1-E1': {'length': {'start': '317.8720', ...}, ...}, ...}
    ADD COLUMN projected_baselines text NOT NULL DEFAULT '',
    -- exp_validation_log: a JSON list of messages
    ADD COLUMN validation_log text NOT NULL DEFAULT '[]';

-- exp_projected_baselines from the log's baselines (JSON): per baseline, its length (m) and position
-- angle (deg) at the start and the end of the exposure, four decimals; '' for none
CREATE FUNCTION exposure_baselines_text(baselines text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce('{' || string_agg(format(
        '''%s'': {''length'': {''start'': ''%s'', ''end'': ''%s''}, ''angle'': {''start'': ''%s'', ''end'': ''%s''}}',
        b ->> 'stations',
        to_char((b ->> 'length_start')::float8, 'FM999999990.0000'),
        to_char((b ->> 'length_end')::float8, 'FM999999990.0000'),
        to_char((b ->> 'angle_start')::float8, 'FM999999990.0000'),
        to_char((b ->> 'angle_end')::float8, 'FM999999990.0000')), ', ' ORDER BY n) || '}', '')
    FROM jsonb_array_elements(CASE WHEN coalesce(baselines, '') = '' THEN '[]' ELSE baselines END::jsonb)
        WITH ORDINALITY AS x(b, n)
$$;

-- what the view misses or doubts about an exposure, in ObsPortal's manner (one message each):
-- conditions the log did not record, an unmatched or unplanned target, and the quality flag
CREATE FUNCTION exposure_render() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    log text[] := '{}';
BEGIN
    IF TG_OP = 'INSERT' OR NEW.baselines IS DISTINCT FROM OLD.baselines THEN
        NEW.projected_baselines := exposure_baselines_text(NEW.baselines);
    END IF;
    IF NEW.seeing IS NULL THEN
        log := array_append(log, 'Missing seeing (no seeing recorded)');
    END IF;
    IF NEW.tau0 IS NULL THEN
        log := array_append(log, 'Missing tau0 (no coherence time recorded)');
    END IF;
    IF NEW.temperature IS NULL THEN
        log := array_append(log, 'Missing temperature');
    END IF;
    IF coalesce(cardinality(NEW.stations), 0) = 0 THEN
        log := array_append(log, 'Missing stations');
    END IF;
    IF NEW.baselines IN ('', '[]') THEN
        log := array_append(log, 'Missing projected baselines');
    END IF;
    IF NEW.matched_by = 'none' THEN
        log := array_append(log, 'Unmatched target (no programme target recognised)');
    END IF;
    IF NEW.programme IS NULL THEN
        log := array_append(log, 'No programme');
    END IF;
    IF NEW.ra IS NULL THEN
        log := array_append(log, 'Missing target position');
    END IF;
    IF NEW.planned_sequence IS NULL THEN
        log := array_append(log, 'Not in the night''s plan');
    END IF;
    IF NEW.level = 'unknown' THEN
        log := array_append(log, 'Not validated (no quality flag)');
    ELSIF NEW.level <> 'good' THEN
        log := array_append(log, format('Flagged %s: %s%s', NEW.level,
            coalesce(nullif(array_to_string(NEW.flag_reasons, ', '), ''), 'no reason given'),
            CASE WHEN NEW.flag_comment <> '' THEN format(' (%s)', NEW.flag_comment) ELSE '' END));
    END IF;
    NEW.validation_log := array_to_json(log)::text;
    RETURN NEW;
END
$$;

CREATE TRIGGER exposure_render BEFORE INSERT OR UPDATE ON exposure
    FOR EACH ROW EXECUTE FUNCTION exposure_render();

-- the rows already there
UPDATE exposure SET projected_baselines = exposure_baselines_text(baselines);
