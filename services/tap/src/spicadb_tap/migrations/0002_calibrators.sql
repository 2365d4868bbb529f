-- The calibrator catalogue (catalogues.calibrators), imported by `spicadb catalogue import` from the
-- VOTables JMMC's SearchCal, GetStar and JSDC write, one catalogue source at a time: an import replaces
-- its source's rows in one transaction and leaves the other sources alone. The schema `catalogues` is
-- made by the migration runner (the tap service publishes in it); the reader role reads the table.
-- Column names are JSDC's, lower case, so that ADQL reads as JSDC's users write it.

CREATE TABLE catalogues.calibrators (
    name           text             NOT NULL,
    -- ICRS (or FK5 J2000, the same within SearchCal's precision), epoch J2000, degrees
    ra             double precision NOT NULL CHECK (ra >= 0 AND ra < 360),
    dec            double precision NOT NULL CHECK (dec BETWEEN -90 AND 90),
    pmra           double precision,
    pmdec          double precision,
    parallax       double precision,
    e_parallax     double precision,
    bmag           double precision,
    vmag           double precision,
    rmag           double precision,
    imag           double precision,
    jmag           double precision,
    hmag           double precision,
    kmag           double precision,
    gmag           double precision,
    ldd            double precision,
    e_ldd          double precision,
    uddb           double precision,
    uddv           double precision,
    uddr           double precision,
    uddi           double precision,
    uddj           double precision,
    uddh           double precision,
    uddk           double precision,
    diam_vk        double precision,
    e_diam_vk      double precision,
    sptype         text,
    calflag        integer,
    diamflag       boolean,
    bad_calibrator boolean          NOT NULL DEFAULT false,
    hd             text,
    hip            text,
    tyc            text,
    tmass          text,
    source         text             NOT NULL,
    import_id      bigint           NOT NULL
);

-- the cone search (ADQL CONTAINS(POINT, CIRCLE) becomes spoint(RADIANS(ra), RADIANS(dec)) @ scircle)
CREATE INDEX calibrators_position ON catalogues.calibrators USING gist (spoint(radians(ra), radians(dec)));
CREATE INDEX calibrators_vmag ON catalogues.calibrators (vmag);
CREATE INDEX calibrators_ldd ON catalogues.calibrators (ldd);
-- an import deletes its source's rows
CREATE INDEX calibrators_source ON catalogues.calibrators (source);

-- one row per import that was committed; the newest of a source is the one whose rows are in the table
CREATE TABLE calibrator_imports (
    id            bigserial   PRIMARY KEY,
    source        text        NOT NULL,
    file          text        NOT NULL,
    rows_read     bigint      NOT NULL,
    rows_imported bigint      NOT NULL,
    rows_skipped  bigint      NOT NULL,
    imported_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calibrator_imports_source ON calibrator_imports (source, id);
