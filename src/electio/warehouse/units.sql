-- Units of analysis below the commune: the arrondissements municipaux of Paris, Lyon and Marseille
-- (referentials/unites_analyse.csv). The commune tables and views above are unchanged; the
-- *_unite views give one row per unit of analysis (the commune, or its arrondissements).
-- No foreign key to dim_commune (code_commune is checked by the ETL contracts): DuckDB refuses to
-- alter a table that keys point to, and the commune model stays exactly as before.
CREATE TABLE dim_unite (
    code_unite        VARCHAR PRIMARY KEY,
    nom_unite         VARCHAR NOT NULL,
    type_unite        VARCHAR NOT NULL,
    code_commune      VARCHAR NOT NULL,
    code_departement  VARCHAR,
    population        BIGINT
);
COMMENT ON TABLE dim_unite IS 'Unités d''analyse : chaque commune, sauf les communes à arrondissements municipaux (Paris, Lyon, Marseille), remplacées par leurs arrondissements.';
COMMENT ON COLUMN dim_unite.code_unite IS 'Code de l''unité : code INSEE de la commune ou de l''arrondissement municipal (69381…69389) ; 69123_HA pour les bureaux de Lyon rattachés à aucun arrondissement.';
COMMENT ON COLUMN dim_unite.nom_unite IS 'Nom de la commune ou de l''arrondissement.';
COMMENT ON COLUMN dim_unite.type_unite IS 'commune, hors_commune (Français de l''étranger), arrondissement ou hors_arrondissement.';
COMMENT ON COLUMN dim_unite.code_commune IS 'Commune (COG 2026) à laquelle l''unité appartient ; elle-même pour une commune.';
COMMENT ON COLUMN dim_unite.code_departement IS 'Département.';
COMMENT ON COLUMN dim_unite.population IS 'Population légale (COG 2026 ; NULL quand elle n''est pas publiée, ainsi pour hors_arrondissement).';

CREATE TABLE fact_participation_arrondissement (
    scrutin_id         VARCHAR NOT NULL REFERENCES dim_scrutin (scrutin_id),
    code_unite         VARCHAR NOT NULL REFERENCES dim_unite (code_unite),
    code_commune       VARCHAR NOT NULL,
    inscrits           BIGINT NOT NULL,
    votants            BIGINT NOT NULL,
    blancs             BIGINT,
    nuls               BIGINT,
    exprimes           BIGINT NOT NULL,
    estime             BOOLEAN NOT NULL,
    scrutin_reference  VARCHAR,
    PRIMARY KEY (scrutin_id, code_unite)
);
COMMENT ON TABLE fact_participation_arrondissement IS 'Participation par arrondissement municipal et scrutin : somme des bureaux de vote, ou estimation quand le scrutin n''est publié que par commune.';
COMMENT ON COLUMN fact_participation_arrondissement.scrutin_id IS 'Scrutin.';
COMMENT ON COLUMN fact_participation_arrondissement.code_unite IS 'Unité d''analyse (arrondissement).';
COMMENT ON COLUMN fact_participation_arrondissement.code_commune IS 'Commune de l''arrondissement.';
COMMENT ON COLUMN fact_participation_arrondissement.inscrits IS 'Électeurs inscrits.';
COMMENT ON COLUMN fact_participation_arrondissement.votants IS 'Votants.';
COMMENT ON COLUMN fact_participation_arrondissement.blancs IS 'Bulletins blancs (NULL si la source ne les distingue pas des nuls).';
COMMENT ON COLUMN fact_participation_arrondissement.nuls IS 'Bulletins nuls (NULL si la source ne les distingue pas des blancs).';
COMMENT ON COLUMN fact_participation_arrondissement.exprimes IS 'Suffrages exprimés.';
COMMENT ON COLUMN fact_participation_arrondissement.estime IS 'false : somme exacte des bureaux ; true : total communal réparti avec les parts de l''arrondissement au scrutin de référence (docs/units.md) ; à n''utiliser que comme variable explicative, jamais comme cible.';
COMMENT ON COLUMN fact_participation_arrondissement.scrutin_reference IS 'Scrutin dont les parts ont servi à l''estimation (NULL si mesuré).';

CREATE TABLE fact_resultat_arrondissement (
    scrutin_id         VARCHAR NOT NULL REFERENCES dim_scrutin (scrutin_id),
    code_unite         VARCHAR NOT NULL REFERENCES dim_unite (code_unite),
    code_commune       VARCHAR NOT NULL,
    candidat_id        INTEGER NOT NULL REFERENCES dim_candidat (candidat_id),
    voix               BIGINT NOT NULL,
    estime             BOOLEAN NOT NULL,
    scrutin_reference  VARCHAR,
    PRIMARY KEY (scrutin_id, code_unite, candidat_id)
);
COMMENT ON TABLE fact_resultat_arrondissement IS 'Voix par candidat (ou liste, ou nuance) par arrondissement municipal et scrutin.';
COMMENT ON COLUMN fact_resultat_arrondissement.scrutin_id IS 'Scrutin.';
COMMENT ON COLUMN fact_resultat_arrondissement.code_unite IS 'Unité d''analyse (arrondissement).';
COMMENT ON COLUMN fact_resultat_arrondissement.code_commune IS 'Commune de l''arrondissement.';
COMMENT ON COLUMN fact_resultat_arrondissement.candidat_id IS 'Candidat, liste ou nuance.';
COMMENT ON COLUMN fact_resultat_arrondissement.voix IS 'Nombre de voix.';
COMMENT ON COLUMN fact_resultat_arrondissement.estime IS 'Voir fact_participation_arrondissement.estime (voix de la commune réparties avec les parts du bloc du candidat au scrutin de référence).';
COMMENT ON COLUMN fact_resultat_arrondissement.scrutin_reference IS 'Scrutin dont les parts ont servi à l''estimation (NULL si mesuré).';

CREATE TABLE map_bureau_unite (
    scrutin_id    VARCHAR NOT NULL REFERENCES dim_scrutin (scrutin_id),
    code_commune  VARCHAR NOT NULL,
    bureau        VARCHAR NOT NULL,
    code_unite    VARCHAR NOT NULL REFERENCES dim_unite (code_unite),
    PRIMARY KEY (scrutin_id, code_commune, bureau)
);
COMMENT ON TABLE map_bureau_unite IS 'Audit : chaque bureau de vote d''une commune à arrondissements et l''unité où il est compté (règle : referentials/unites_analyse.csv).';
COMMENT ON COLUMN map_bureau_unite.scrutin_id IS 'Scrutin.';
COMMENT ON COLUMN map_bureau_unite.code_commune IS 'Commune (code INSEE du fichier source).';
COMMENT ON COLUMN map_bureau_unite.bureau IS 'Code du bureau de vote dans le fichier source.';
COMMENT ON COLUMN map_bureau_unite.code_unite IS 'Unité d''analyse du bureau.';

-- One row per unit of analysis and ballot: the commune's row, except in a commune that has unit
-- rows for that ballot, where its arrondissements' rows replace it.
CREATE VIEW v_participation_unite AS
SELECT p.scrutin_id, p.code_commune AS code_unite, p.code_commune, COALESCE(u.type_unite, 'commune') AS type_unite,
       p.inscrits, p.votants, p.blancs, p.nuls, p.exprimes, FALSE AS estime, CAST(NULL AS VARCHAR) AS scrutin_reference
FROM fact_participation p
LEFT JOIN dim_unite u ON u.code_unite = p.code_commune
WHERE NOT EXISTS (SELECT 1 FROM fact_participation_arrondissement a
                  WHERE a.scrutin_id = p.scrutin_id AND a.code_commune = p.code_commune)
UNION ALL
SELECT a.scrutin_id, a.code_unite, a.code_commune, u.type_unite,
       a.inscrits, a.votants, a.blancs, a.nuls, a.exprimes, a.estime, a.scrutin_reference
FROM fact_participation_arrondissement a
JOIN dim_unite u ON u.code_unite = a.code_unite;

-- Like v_resultat_bloc_commune, per unit of analysis (0 voix where a bloc that stood got none).
CREATE VIEW v_resultat_bloc_unite AS
WITH blocs_scrutin AS (
    SELECT DISTINCT scrutin_id, code_bloc FROM dim_candidat WHERE code_bloc IS NOT NULL
), voix_unite AS (
    SELECT f.scrutin_id, f.code_commune AS code_unite, f.candidat_id, f.voix
    FROM fact_resultat_commune f
    WHERE NOT EXISTS (SELECT 1 FROM fact_participation_arrondissement a
                      WHERE a.scrutin_id = f.scrutin_id AND a.code_commune = f.code_commune)
    UNION ALL
    SELECT scrutin_id, code_unite, candidat_id, voix FROM fact_resultat_arrondissement
), voix_bloc AS (
    SELECT v.scrutin_id, v.code_unite, c.code_bloc, SUM(v.voix) AS voix
    FROM voix_unite v
    JOIN dim_candidat c ON c.candidat_id = v.candidat_id
    GROUP BY v.scrutin_id, v.code_unite, c.code_bloc
)
SELECT p.scrutin_id, p.code_unite, p.code_commune, p.type_unite, b.code_bloc AS bloc,
       COALESCE(v.voix, 0) AS voix, p.exprimes,
       CASE WHEN p.exprimes > 0 THEN CAST(COALESCE(v.voix, 0) AS FLOAT8) / p.exprimes END AS part,
       p.estime, p.scrutin_reference
FROM v_participation_unite p
JOIN blocs_scrutin b ON b.scrutin_id = p.scrutin_id
LEFT JOIN voix_bloc v
       ON v.scrutin_id = p.scrutin_id AND v.code_unite = p.code_unite AND v.code_bloc = b.code_bloc;

-- Indicators published for the arrondissements themselves (issue 18, item 3): the rows the source
-- files give per arrondissement municipal (Filosofi, comparateur de territoires, CNAF, URSSAF, RNA,
-- IRIS census data aggregated per arrondissement), with the same derived rates and dates as the
-- commune facts. An indicator not published for the arrondissements is a gap (couverture_indicateur_unite).
CREATE TABLE fact_indicateur_unite (
    code_unite        VARCHAR NOT NULL REFERENCES dim_unite (code_unite),
    indicateur        VARCHAR NOT NULL REFERENCES dim_indicateur (indicateur),
    annee             INTEGER NOT NULL,
    valeur            FLOAT8,
    source_id         VARCHAR NOT NULL,
    qualite           VARCHAR NOT NULL,
    date_publication  DATE,
    PRIMARY KEY (code_unite, indicateur, annee, source_id)
);
COMMENT ON TABLE fact_indicateur_unite IS 'Valeur d''un indicateur publiée pour un arrondissement municipal (unité d''analyse sous la commune) et une année.';
COMMENT ON COLUMN fact_indicateur_unite.code_unite IS 'Arrondissement municipal (dim_unite).';
COMMENT ON COLUMN fact_indicateur_unite.indicateur IS 'Indicateur.';
COMMENT ON COLUMN fact_indicateur_unite.annee IS 'Année de référence de la valeur.';
COMMENT ON COLUMN fact_indicateur_unite.valeur IS 'Valeur ; NULL si secret statistique ou non publiée.';
COMMENT ON COLUMN fact_indicateur_unite.source_id IS 'Source du catalogue (calcul pour une valeur dérivée sans source directe).';
COMMENT ON COLUMN fact_indicateur_unite.qualite IS 'ok, derive (calculée ou agrégée des IRIS), non_publie, secret.';
COMMENT ON COLUMN fact_indicateur_unite.date_publication IS 'Date de publication : utilisable pour un scrutin postérieur seulement.';

CREATE TABLE couverture_indicateur_unite (
    theme             VARCHAR NOT NULL,
    indicateur        VARCHAR NOT NULL REFERENCES dim_indicateur (indicateur),
    unites_couvertes  INTEGER NOT NULL,
    unites_attendues  INTEGER NOT NULL,
    annees            VARCHAR,
    sources           VARCHAR,
    statut            VARCHAR NOT NULL
);
COMMENT ON TABLE couverture_indicateur_unite IS 'Couverture des indicateurs par arrondissement municipal : publiés (ok) ou lacune (le modèle reprend alors la valeur de la commune entière).';
COMMENT ON COLUMN couverture_indicateur_unite.theme IS 'Thème.';
COMMENT ON COLUMN couverture_indicateur_unite.indicateur IS 'Indicateur.';
COMMENT ON COLUMN couverture_indicateur_unite.unites_couvertes IS 'Unités sous la commune (arrondissements, et 69123_HA) ayant au moins une valeur.';
COMMENT ON COLUMN couverture_indicateur_unite.unites_attendues IS 'Unités sous la commune du territoire.';
COMMENT ON COLUMN couverture_indicateur_unite.annees IS 'Années de référence publiées par arrondissement.';
COMMENT ON COLUMN couverture_indicateur_unite.sources IS 'Sources qui publient l''indicateur par arrondissement.';
COMMENT ON COLUMN couverture_indicateur_unite.statut IS 'ok, ou lacune (aucune valeur par arrondissement dans les sources disponibles).';

-- Indicators per unit of analysis: a commune's own rows, and an arrondissement's own rows.
CREATE VIEW v_indicateur_unite AS
SELECT f.code_commune AS code_unite, f.code_commune, f.indicateur, f.annee, f.valeur, d.unite, f.source_id AS source,
       f.qualite, f.date_publication
FROM fact_indicateur_commune f
JOIN dim_indicateur d ON d.indicateur = f.indicateur
WHERE f.code_commune IN (SELECT code_unite FROM dim_unite)
UNION ALL
SELECT f.code_unite, u.code_commune, f.indicateur, f.annee, f.valeur, d.unite, f.source_id AS source, f.qualite, f.date_publication
FROM fact_indicateur_unite f
JOIN dim_indicateur d ON d.indicateur = f.indicateur
JOIN dim_unite u ON u.code_unite = f.code_unite;

-- The units the model forecasts, named like the commune dimension (code_commune = the unit's code):
-- every commune, except those with arrondissements municipaux, replaced by their arrondissements.
-- A warehouse whose dim_unite is empty (built without the units referential) reads its communes.
CREATE VIEW v_unite_analyse AS
SELECT code_unite AS code_commune, nom_unite AS nom_commune, code_departement, population, type_unite,
       code_commune AS code_commune_parente
FROM dim_unite
WHERE type_unite IN ('commune', 'arrondissement')
UNION ALL
SELECT code_commune, nom_commune, code_departement, population, type_unite, code_commune AS code_commune_parente
FROM dim_commune
WHERE type_unite = 'commune' AND NOT EXISTS (SELECT 1 FROM dim_unite);
