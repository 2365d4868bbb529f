-- Target lists as astronomers have them (issue 14): every column a list brings is kept.

-- every column of the lists a programme imported, described once per programme (VOTable FIELD metadata),
-- so that exports write them back as they came
CREATE TABLE target_column (
    programme_id  uuid NOT NULL REFERENCES programme ON DELETE CASCADE,
    name          text NOT NULL,          -- the FIELD name (or CSV header) as in the list
    position      integer NOT NULL,       -- order of first appearance in the programme's lists
    datatype      text NOT NULL,          -- VOTable datatype: boolean short int long float double char unicodeChar
    arraysize     text,
    unit          text,
    ucd           text,
    utype         text,
    xtype         text,
    description   text,
    -- the target field a known column fills ('name', 'ra', 'mag_v', 'magnitudes.G', 'magnitudes.G.error',
    -- 'diameters.JSDC2.LD', 'diameters.JSDC2.LD.error', ...); null: kept as a property
    maps_to       text,
    PRIMARY KEY (programme_id, name)
);

-- FIELD name -> typed value (null cells absent)
ALTER TABLE target ADD COLUMN properties jsonb NOT NULL DEFAULT '{}'::jsonb;
CREATE INDEX target_properties ON target USING gin (properties jsonb_path_ops);

-- the known fields of the SPICA science database export and of catalogue lists
ALTER TABLE target
    -- identifiers besides hd/hip/tmass/gaia: Gaia DR2 and DR3 source ids, the CHARA target id
    ADD COLUMN gaia_dr2 text,
    ADD COLUMN gaia_dr3 text,
    ADD COLUMN chara_id text,
    -- every band the list has, errors included: {"G": {"mag": 5.1, "error": 0.003}, "V": {...}}
    -- (mag_v..mag_k stay the filterable copies of V R I J H K)
    ADD COLUMN magnitudes jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- angular diameters in mas: [{"catalogue": "JSDC2", "kind": "LD", "band": null, "value": 1.2, "error": 0.1}]
    ADD COLUMN diameters jsonb NOT NULL DEFAULT '[]'::jsonb,
    -- stellar parameters: effective temperature (K), log g (cgs), [Fe/H] (dex)
    ADD COLUMN teff double precision,
    ADD COLUMN logg double precision,
    ADD COLUMN feh double precision,
    -- the PI's priority of the target (smaller first), the type of science case
    ADD COLUMN priority integer,
    ADD COLUMN science_case text,
    -- the requested setups as the list names them: SPICA mode(s) and CHARA configuration(s)
    ADD COLUMN spica_setup text,
    ADD COLUMN chara_setup text,
    -- the calibrators the PI names for this target, as the list gives them ("HD 1234, HD 5678")
    ADD COLUMN calibrator_ids text,
    -- the number of observations requested (TARGET_Nobs)
    ADD COLUMN observations_requested integer;
