-- Electio warehouse: local indicators on the reference COG (built by the ETL with schema.sql).

CREATE TABLE dim_indicateur (
    indicateur        VARCHAR PRIMARY KEY,
    libelle           VARCHAR NOT NULL,
    theme             VARCHAR NOT NULL,
    unite             VARCHAR NOT NULL,
    definition        VARCHAR NOT NULL,
    source            VARCHAR NOT NULL,
    sens_defavorable  VARCHAR NOT NULL,
    calcul            VARCHAR
);
COMMENT ON TABLE dim_indicateur IS 'Indicateurs locaux (référentiel referentials/indicateurs.csv).';
COMMENT ON COLUMN dim_indicateur.indicateur IS 'Code de l''indicateur.';
COMMENT ON COLUMN dim_indicateur.libelle IS 'Libellé français.';
COMMENT ON COLUMN dim_indicateur.theme IS 'Thème : securite, emploi, pauvrete_revenus, population, entreprises, vie_associative, logement, education…';
COMMENT ON COLUMN dim_indicateur.unite IS 'Unité de la valeur.';
COMMENT ON COLUMN dim_indicateur.definition IS 'Définition.';
COMMENT ON COLUMN dim_indicateur.source IS 'Producteur et fichier d''origine.';
COMMENT ON COLUMN dim_indicateur.sens_defavorable IS 'Sens d''une dégradation : hausse, baisse ou neutre.';
COMMENT ON COLUMN dim_indicateur.calcul IS 'Mode de calcul des valeurs dérivées.';

CREATE TABLE fact_indicateur_commune (
    code_commune      VARCHAR NOT NULL REFERENCES dim_commune (code_commune),
    indicateur        VARCHAR NOT NULL REFERENCES dim_indicateur (indicateur),
    annee             INTEGER NOT NULL,
    valeur            FLOAT8,
    source_id         VARCHAR NOT NULL,
    qualite           VARCHAR NOT NULL,
    date_publication  DATE,
    PRIMARY KEY (code_commune, indicateur, annee, source_id)
);
COMMENT ON TABLE fact_indicateur_commune IS 'Valeur d''un indicateur pour une commune (COG 2026) et une année de référence.';
COMMENT ON COLUMN fact_indicateur_commune.code_commune IS 'Commune au COG 2026.';
COMMENT ON COLUMN fact_indicateur_commune.indicateur IS 'Indicateur.';
COMMENT ON COLUMN fact_indicateur_commune.annee IS 'Année de référence de la valeur (ex. 2018 pour le recensement 2018).';
COMMENT ON COLUMN fact_indicateur_commune.valeur IS 'Valeur ; NULL si secret statistique ou non publiée (jamais 0 par défaut).';
COMMENT ON COLUMN fact_indicateur_commune.source_id IS 'Source du catalogue (calcul pour une valeur dérivée sans source directe).';
COMMENT ON COLUMN fact_indicateur_commune.qualite IS 'ok, derive (calculée ou fusion de communes), non_publie, secret.';
COMMENT ON COLUMN fact_indicateur_commune.date_publication IS 'Date de publication : utilisable pour un scrutin postérieur seulement.';

CREATE TABLE couverture_indicateur (
    theme               VARCHAR NOT NULL,
    indicateur          VARCHAR NOT NULL REFERENCES dim_indicateur (indicateur),
    annee               INTEGER,
    communes_couvertes  INTEGER NOT NULL,
    communes_attendues  INTEGER NOT NULL,
    nulls_secret        INTEGER NOT NULL,
    nulls_non_publie    INTEGER NOT NULL,
    statut              VARCHAR NOT NULL
);
COMMENT ON TABLE couverture_indicateur IS 'Couverture des indicateurs par thème et année sur le territoire ; statut lacune si aucune donnée.';
COMMENT ON COLUMN couverture_indicateur.theme IS 'Thème.';
COMMENT ON COLUMN couverture_indicateur.indicateur IS 'Indicateur.';
COMMENT ON COLUMN couverture_indicateur.annee IS 'Année de référence (NULL pour une lacune).';
COMMENT ON COLUMN couverture_indicateur.communes_couvertes IS 'Communes ayant une valeur non nulle.';
COMMENT ON COLUMN couverture_indicateur.communes_attendues IS 'Communes du territoire.';
COMMENT ON COLUMN couverture_indicateur.nulls_secret IS 'Valeurs NULL pour secret statistique.';
COMMENT ON COLUMN couverture_indicateur.nulls_non_publie IS 'Valeurs NULL non publiées (SSMSI petites communes).';
COMMENT ON COLUMN couverture_indicateur.statut IS 'ok, ou lacune (indicateur sans donnée dans les sources disponibles).';

CREATE TABLE fact_indicateur_territoire (
    indicateur      VARCHAR NOT NULL REFERENCES dim_indicateur (indicateur),
    niveau          VARCHAR NOT NULL,
    code_territoire VARCHAR NOT NULL,
    annee           INTEGER NOT NULL,
    valeur          FLOAT8 NOT NULL,
    source_id       VARCHAR NOT NULL,
    communes        INTEGER NOT NULL,
    PRIMARY KEY (indicateur, niveau, code_territoire, annee, source_id)
);
COMMENT ON TABLE fact_indicateur_territoire IS 'Taux, parts, densités et médianes de la France et de chaque département, calculés sur toutes les communes d''un fichier national (comparateur de territoires INSEE), dans tout entrepôt : justification du territoire.';
COMMENT ON COLUMN fact_indicateur_territoire.indicateur IS 'Indicateur (taux, part, densité ou médiane ; pas les effectifs).';
COMMENT ON COLUMN fact_indicateur_territoire.niveau IS 'france ou departement.';
COMMENT ON COLUMN fact_indicateur_territoire.code_territoire IS 'FR, ou le code du département (les deux ou trois premiers caractères du code commune).';
COMMENT ON COLUMN fact_indicateur_territoire.annee IS 'Année de référence de la valeur.';
COMMENT ON COLUMN fact_indicateur_territoire.valeur IS 'Taux dérivé : rapport des effectifs sommés sur les communes qui les publient ; taux ou médiane publié : moyenne des communes pondérée par leur population (approximation pour une médiane).';
COMMENT ON COLUMN fact_indicateur_territoire.source_id IS 'Source du catalogue.';
COMMENT ON COLUMN fact_indicateur_territoire.communes IS 'Communes du fichier ayant contribué (celles où la valeur n''est pas secrète).';

CREATE TABLE disponibilite_territoire (
    code_departement    VARCHAR NOT NULL,
    famille             VARCHAR NOT NULL,
    source_id           VARCHAR NOT NULL,
    scrutin_id          VARCHAR,
    communes            INTEGER NOT NULL,
    communes_attendues  INTEGER NOT NULL,
    PRIMARY KEY (code_departement, source_id)
);
COMMENT ON TABLE disponibilite_territoire IS 'Disponibilité des données par département : pour chaque fichier lu par l''ETL (scrutins et indicateurs), les communes (COG 2026) du département qui y ont une valeur ; un département absent n''a aucune commune dans le fichier.';
COMMENT ON COLUMN disponibilite_territoire.code_departement IS 'Département (code INSEE).';
COMMENT ON COLUMN disponibilite_territoire.famille IS 'scrutin ou indicateur.';
COMMENT ON COLUMN disponibilite_territoire.source_id IS 'Fichier du catalogue.';
COMMENT ON COLUMN disponibilite_territoire.scrutin_id IS 'Scrutin du fichier (NULL pour un fichier d''indicateurs).';
COMMENT ON COLUMN disponibilite_territoire.communes IS 'Communes du département (COG 2026) ayant au moins une valeur dans le fichier.';
COMMENT ON COLUMN disponibilite_territoire.communes_attendues IS 'Communes du département au COG 2026.';

CREATE VIEW v_indicateur_commune AS
SELECT f.code_commune, f.indicateur, f.annee, f.valeur, d.unite, f.source_id AS source, f.qualite, f.date_publication
FROM fact_indicateur_commune f
JOIN dim_indicateur d ON d.indicateur = f.indicateur;
