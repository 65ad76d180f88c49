-- Electio warehouse: star schema of commune-level election results on the reference COG.
-- Portable SQL (DuckDB and PostgreSQL). Names in snake_case; French business terms kept.

-- ─── Dimensions: geography ──────────────────────────────────────────────────────────────
CREATE TABLE dim_region (
    code_region      VARCHAR PRIMARY KEY,
    nom_region       VARCHAR NOT NULL
);
COMMENT ON TABLE dim_region IS 'Régions du COG de référence (2026).';
COMMENT ON COLUMN dim_region.code_region IS 'Code INSEE de la région.';
COMMENT ON COLUMN dim_region.nom_region IS 'Nom officiel de la région.';

CREATE TABLE dim_departement (
    code_departement VARCHAR PRIMARY KEY,
    nom_departement  VARCHAR NOT NULL,
    code_region      VARCHAR REFERENCES dim_region (code_region)
);
COMMENT ON TABLE dim_departement IS 'Départements du COG de référence (2026), plus ZZ pour les Français établis hors de France.';
COMMENT ON COLUMN dim_departement.code_departement IS 'Code INSEE du département (2A/2B pour la Corse, 971… outre-mer, ZZ étranger).';
COMMENT ON COLUMN dim_departement.nom_departement IS 'Nom officiel du département.';
COMMENT ON COLUMN dim_departement.code_region IS 'Région d''appartenance (NULL pour ZZ).';

CREATE TABLE dim_commune (
    code_commune     VARCHAR PRIMARY KEY,
    nom_commune      VARCHAR NOT NULL,
    code_departement VARCHAR NOT NULL REFERENCES dim_departement (code_departement),
    code_region      VARCHAR REFERENCES dim_region (code_region),
    zone             VARCHAR,
    population       BIGINT,
    type_unite       VARCHAR NOT NULL
);
COMMENT ON TABLE dim_commune IS 'Communes du territoire chargé, au COG de référence 2026 (communes actuelles ; Paris, Lyon, Marseille non découpées).';
COMMENT ON COLUMN dim_commune.code_commune IS 'Code INSEE de la commune au COG 2026 (ZZ999 : Français établis hors de France).';
COMMENT ON COLUMN dim_commune.nom_commune IS 'Nom officiel de la commune.';
COMMENT ON COLUMN dim_commune.code_departement IS 'Département de la commune.';
COMMENT ON COLUMN dim_commune.code_region IS 'Région de la commune.';
COMMENT ON COLUMN dim_commune.zone IS 'Zone du COG : metro, drom, com.';
COMMENT ON COLUMN dim_commune.population IS 'Population municipale du fichier COG 2026 (INSEE).';
COMMENT ON COLUMN dim_commune.type_unite IS 'commune, ou hors_commune pour l''unité fictive des votes de l''étranger.';

CREATE TABLE map_commune_cog (
    code_source        VARCHAR PRIMARY KEY,
    code_reference     VARCHAR NOT NULL,
    methode            VARCHAR NOT NULL,
    annee_modification INTEGER,
    detail             VARCHAR
);
COMMENT ON TABLE map_commune_cog IS 'Passage de tout code commune historique (COG 2008-2026) vers le COG de référence 2026 : une ligne par code source.';
COMMENT ON COLUMN map_commune_cog.code_source IS 'Code commune tel qu''il apparaît dans une source (toute année).';
COMMENT ON COLUMN map_commune_cog.code_reference IS 'Code de la commune au COG 2026 qui contient ce territoire.';
COMMENT ON COLUMN map_commune_cog.methode IS 'identite, fusion, changement_code, arrondissement_municipal, commune_deleguee, commune_associee, scission, etranger.';
COMMENT ON COLUMN map_commune_cog.annee_modification IS 'Année de la dernière modification appliquée.';
COMMENT ON COLUMN map_commune_cog.detail IS 'Explication lisible de la décision de passage.';

-- ─── Dimensions: ballots, blocs, candidates ──────────────────────────────────────────────
CREATE TABLE dim_scrutin (
    scrutin_id    VARCHAR PRIMARY KEY,
    type_scrutin  VARCHAR NOT NULL,
    annee         INTEGER NOT NULL,
    tour          INTEGER NOT NULL,
    date_scrutin  DATE NOT NULL,
    libelle       VARCHAR NOT NULL,
    source_id     VARCHAR NOT NULL,
    cog_annee     INTEGER NOT NULL,
    couverture    VARCHAR NOT NULL
);
COMMENT ON TABLE dim_scrutin IS 'Scrutins chargés : un tour d''une élection.';
COMMENT ON COLUMN dim_scrutin.scrutin_id IS 'Identifiant {pres|leg|euro|muni|reg|dep}{AAAA}_t{1|2}.';
COMMENT ON COLUMN dim_scrutin.type_scrutin IS 'presidentielle, legislatives, europeennes, municipales.';
COMMENT ON COLUMN dim_scrutin.annee IS 'Année du scrutin.';
COMMENT ON COLUMN dim_scrutin.tour IS 'Tour (1 ou 2).';
COMMENT ON COLUMN dim_scrutin.date_scrutin IS 'Date du scrutin en métropole.';
COMMENT ON COLUMN dim_scrutin.libelle IS 'Libellé lisible.';
COMMENT ON COLUMN dim_scrutin.source_id IS 'Source du catalogue dont proviennent les résultats.';
COMMENT ON COLUMN dim_scrutin.cog_annee IS 'Millésime du COG des codes communes de la source.';
COMMENT ON COLUMN dim_scrutin.couverture IS 'Territoire couvert par la source : FR ou un code département ; totaux quand le scrutin n''a que des totaux France et départements (table fact_participation_territoire), sans résultats par commune.';

CREATE TABLE dim_bloc (
    code_bloc   VARCHAR PRIMARY KEY,
    libelle     VARCHAR NOT NULL,
    ordre       INTEGER NOT NULL,
    couleur     VARCHAR NOT NULL,
    description VARCHAR
);
COMMENT ON TABLE dim_bloc IS 'Blocs politiques (référentiel versionné referentials/blocs.csv).';
COMMENT ON COLUMN dim_bloc.code_bloc IS 'Code du bloc.';
COMMENT ON COLUMN dim_bloc.libelle IS 'Libellé français.';
COMMENT ON COLUMN dim_bloc.ordre IS 'Ordre d''affichage, de gauche à droite.';
COMMENT ON COLUMN dim_bloc.couleur IS 'Couleur hexadécimale (palette lisible par les daltoniens).';
COMMENT ON COLUMN dim_bloc.description IS 'Composition du bloc.';

CREATE TABLE dim_candidat (
    candidat_id          INTEGER PRIMARY KEY,
    scrutin_id           VARCHAR NOT NULL REFERENCES dim_scrutin (scrutin_id),
    candidat             VARCHAR NOT NULL,
    prenom               VARCHAR,
    nuance               VARCHAR,
    code_bloc            VARCHAR REFERENCES dim_bloc (code_bloc),
    version_referentiel  VARCHAR NOT NULL,
    justification        VARCHAR
);
COMMENT ON TABLE dim_candidat IS 'Candidats, listes ou nuances d''un scrutin, rattachés à un bloc.';
COMMENT ON COLUMN dim_candidat.candidat_id IS 'Identifiant technique.';
COMMENT ON COLUMN dim_candidat.scrutin_id IS 'Scrutin.';
COMMENT ON COLUMN dim_candidat.candidat IS 'Nom du candidat (majuscules), de la liste, ou code nuance selon la source.';
COMMENT ON COLUMN dim_candidat.prenom IS 'Prénom quand la source le donne.';
COMMENT ON COLUMN dim_candidat.nuance IS 'Nuance politique du ministère quand la source la donne.';
COMMENT ON COLUMN dim_candidat.code_bloc IS 'Bloc politique attribué par le référentiel ; NULL quand le référentiel n''en attribue aucun (bloc « aucun » : listes municipales sans nuance, clé NC), comptées dans aucun bloc.';
COMMENT ON COLUMN dim_candidat.version_referentiel IS 'Version du référentiel des blocs utilisée.';
COMMENT ON COLUMN dim_candidat.justification IS 'Justification de l''affectation au bloc.';

-- ─── Facts ───────────────────────────────────────────────────────────────────────────────
CREATE TABLE fact_participation (
    scrutin_id    VARCHAR NOT NULL REFERENCES dim_scrutin (scrutin_id),
    code_commune  VARCHAR NOT NULL REFERENCES dim_commune (code_commune),
    inscrits      BIGINT NOT NULL,
    votants       BIGINT NOT NULL,
    blancs        BIGINT,
    nuls          BIGINT,
    exprimes      BIGINT NOT NULL,
    PRIMARY KEY (scrutin_id, code_commune)
);
COMMENT ON TABLE fact_participation IS 'Participation par commune (COG 2026) et scrutin.';
COMMENT ON COLUMN fact_participation.scrutin_id IS 'Scrutin.';
COMMENT ON COLUMN fact_participation.code_commune IS 'Commune au COG 2026.';
COMMENT ON COLUMN fact_participation.inscrits IS 'Électeurs inscrits.';
COMMENT ON COLUMN fact_participation.votants IS 'Votants.';
COMMENT ON COLUMN fact_participation.blancs IS 'Bulletins blancs (NULL si la source ne les distingue pas des nuls).';
COMMENT ON COLUMN fact_participation.nuls IS 'Bulletins nuls (NULL si la source ne les distingue pas des blancs).';
COMMENT ON COLUMN fact_participation.exprimes IS 'Suffrages exprimés.';

CREATE TABLE fact_resultat_commune (
    scrutin_id    VARCHAR NOT NULL REFERENCES dim_scrutin (scrutin_id),
    code_commune  VARCHAR NOT NULL REFERENCES dim_commune (code_commune),
    candidat_id   INTEGER NOT NULL REFERENCES dim_candidat (candidat_id),
    voix          BIGINT NOT NULL,
    PRIMARY KEY (scrutin_id, code_commune, candidat_id)
);
COMMENT ON TABLE fact_resultat_commune IS 'Voix par candidat (ou liste, ou nuance) par commune (COG 2026) et scrutin.';
COMMENT ON COLUMN fact_resultat_commune.scrutin_id IS 'Scrutin.';
COMMENT ON COLUMN fact_resultat_commune.code_commune IS 'Commune au COG 2026.';
COMMENT ON COLUMN fact_resultat_commune.candidat_id IS 'Candidat, liste ou nuance.';
COMMENT ON COLUMN fact_resultat_commune.voix IS 'Nombre de voix.';

CREATE TABLE map_commune_scrutin (
    scrutin_id          VARCHAR NOT NULL REFERENCES dim_scrutin (scrutin_id),
    code_commune_source VARCHAR NOT NULL,
    libelle_source      VARCHAR,
    code_commune        VARCHAR NOT NULL REFERENCES dim_commune (code_commune),
    methode             VARCHAR NOT NULL,
    ligne_source        INTEGER,
    PRIMARY KEY (scrutin_id, code_commune_source)
);
COMMENT ON TABLE map_commune_scrutin IS 'Audit : chaque commune d''une source de résultats et la commune COG 2026 où elle est comptée.';
COMMENT ON COLUMN map_commune_scrutin.scrutin_id IS 'Scrutin.';
COMMENT ON COLUMN map_commune_scrutin.code_commune_source IS 'Code commune dans le fichier source (forme INSEE).';
COMMENT ON COLUMN map_commune_scrutin.libelle_source IS 'Nom de la commune dans le fichier source.';
COMMENT ON COLUMN map_commune_scrutin.code_commune IS 'Commune au COG 2026.';
COMMENT ON COLUMN map_commune_scrutin.methode IS 'Méthode de passage (voir map_commune_cog).';
COMMENT ON COLUMN map_commune_scrutin.ligne_source IS 'Première ligne du fichier source pour cette commune.';

-- ─── Territory totals: France and every département, whatever territory was loaded ────────
CREATE TABLE fact_participation_territoire (
    scrutin_id      VARCHAR NOT NULL REFERENCES dim_scrutin (scrutin_id),
    niveau          VARCHAR NOT NULL,
    code_territoire VARCHAR NOT NULL,
    inscrits        BIGINT NOT NULL,
    votants         BIGINT NOT NULL,
    blancs          BIGINT,
    nuls            BIGINT,
    exprimes        BIGINT NOT NULL,
    source_id       VARCHAR NOT NULL,
    methode         VARCHAR NOT NULL,
    PRIMARY KEY (scrutin_id, niveau, code_territoire)
);
COMMENT ON TABLE fact_participation_territoire IS 'Participation par territoire : la France et chaque département, par scrutin national, même dans un entrepôt d''un seul département.';
COMMENT ON COLUMN fact_participation_territoire.scrutin_id IS 'Scrutin.';
COMMENT ON COLUMN fact_participation_territoire.niveau IS 'france ou departement.';
COMMENT ON COLUMN fact_participation_territoire.code_territoire IS 'FR pour la France ; sinon code INSEE du département (2A, 2B, 971…), ZX pour Saint-Martin et Saint-Barthélemy réunis, ZZ pour les Français établis hors de France.';
COMMENT ON COLUMN fact_participation_territoire.inscrits IS 'Électeurs inscrits.';
COMMENT ON COLUMN fact_participation_territoire.votants IS 'Votants.';
COMMENT ON COLUMN fact_participation_territoire.blancs IS 'Bulletins blancs (NULL si la source ne les distingue pas ou s''il manque une commune).';
COMMENT ON COLUMN fact_participation_territoire.nuls IS 'Bulletins nuls (NULL si la source ne les distingue pas ou s''il manque une commune).';
COMMENT ON COLUMN fact_participation_territoire.exprimes IS 'Suffrages exprimés.';
COMMENT ON COLUMN fact_participation_territoire.source_id IS 'Source du catalogue des totaux.';
COMMENT ON COLUMN fact_participation_territoire.methode IS 'agregation_communes (somme du fichier communal national, communes au COG 2026) ou fichier_departement (fichier du ministère par département ; au 2nd tour des législatives, seules les circonscriptions ayant un 2nd tour).';

CREATE TABLE fact_resultat_territoire (
    scrutin_id      VARCHAR NOT NULL REFERENCES dim_scrutin (scrutin_id),
    niveau          VARCHAR NOT NULL,
    code_territoire VARCHAR NOT NULL,
    candidat_id     INTEGER NOT NULL REFERENCES dim_candidat (candidat_id),
    voix            BIGINT NOT NULL,
    PRIMARY KEY (scrutin_id, niveau, code_territoire, candidat_id)
);
COMMENT ON TABLE fact_resultat_territoire IS 'Voix par territoire : candidat (ou liste, ou nuance) de la France et de chaque département, par scrutin national.';
COMMENT ON COLUMN fact_resultat_territoire.scrutin_id IS 'Scrutin.';
COMMENT ON COLUMN fact_resultat_territoire.niveau IS 'france ou departement.';
COMMENT ON COLUMN fact_resultat_territoire.code_territoire IS 'FR, ou code du département (voir fact_participation_territoire).';
COMMENT ON COLUMN fact_resultat_territoire.candidat_id IS 'Candidat, liste ou nuance.';
COMMENT ON COLUMN fact_resultat_territoire.voix IS 'Nombre de voix.';

-- ─── Lineage and quality ─────────────────────────────────────────────────────────────────
CREATE TABLE etl_run (
    run_id        VARCHAR PRIMARY KEY,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    code_version  VARCHAR NOT NULL,
    territoire    VARCHAR NOT NULL,
    statut        VARCHAR NOT NULL
);
COMMENT ON TABLE etl_run IS 'Une exécution de l''ETL qui a produit cet entrepôt.';
COMMENT ON COLUMN etl_run.run_id IS 'Identifiant unique de l''exécution.';
COMMENT ON COLUMN etl_run.started_at IS 'Début (UTC).';
COMMENT ON COLUMN etl_run.finished_at IS 'Fin (UTC).';
COMMENT ON COLUMN etl_run.code_version IS 'Version du paquet et commit git du code.';
COMMENT ON COLUMN etl_run.territoire IS 'Territoire chargé : code département ou FR.';
COMMENT ON COLUMN etl_run.statut IS 'succes (un échec ne remplace jamais l''entrepôt).';

CREATE TABLE etl_input (
    run_id     VARCHAR NOT NULL REFERENCES etl_run (run_id),
    source_id  VARCHAR NOT NULL,
    chemin     VARCHAR NOT NULL,
    origine    VARCHAR NOT NULL,
    sha256     VARCHAR NOT NULL,
    octets     BIGINT NOT NULL,
    licence    VARCHAR,
    url        VARCHAR,
    PRIMARY KEY (run_id, source_id)
);
COMMENT ON TABLE etl_input IS 'Fichiers lus par une exécution, avec leur empreinte vérifiée.';
COMMENT ON COLUMN etl_input.run_id IS 'Exécution.';
COMMENT ON COLUMN etl_input.source_id IS 'Source du catalogue.';
COMMENT ON COLUMN etl_input.chemin IS 'Fichier lu.';
COMMENT ON COLUMN etl_input.origine IS 'miroir ou cache (téléchargé).';
COMMENT ON COLUMN etl_input.sha256 IS 'Empreinte sha256 vérifiée.';
COMMENT ON COLUMN etl_input.octets IS 'Taille du fichier.';
COMMENT ON COLUMN etl_input.licence IS 'Licence de la source.';
COMMENT ON COLUMN etl_input.url IS 'URL de téléchargement ou de provenance.';

CREATE TABLE etl_step (
    run_id         VARCHAR NOT NULL REFERENCES etl_run (run_id),
    etape          VARCHAR NOT NULL,
    source_id      VARCHAR,
    lignes_lues    BIGINT,
    lignes_ecrites BIGINT,
    lignes_rejetees BIGINT,
    started_at     TIMESTAMP NOT NULL,
    finished_at    TIMESTAMP NOT NULL
);
COMMENT ON TABLE etl_step IS 'Étapes d''une exécution : lignes lues, écrites, rejetées.';
COMMENT ON COLUMN etl_step.run_id IS 'Exécution.';
COMMENT ON COLUMN etl_step.etape IS 'Nom de l''étape (extract, parse, harmonise, load…).';
COMMENT ON COLUMN etl_step.source_id IS 'Source traitée, le cas échéant.';
COMMENT ON COLUMN etl_step.lignes_lues IS 'Lignes lues.';
COMMENT ON COLUMN etl_step.lignes_ecrites IS 'Lignes écrites.';
COMMENT ON COLUMN etl_step.lignes_rejetees IS 'Lignes rejetées (hors territoire ou invalides).';
COMMENT ON COLUMN etl_step.started_at IS 'Début (UTC).';
COMMENT ON COLUMN etl_step.finished_at IS 'Fin (UTC).';

CREATE TABLE dq_check (
    run_id          VARCHAR NOT NULL REFERENCES etl_run (run_id),
    table_name      VARCHAR NOT NULL,
    regle           VARCHAR NOT NULL,
    severite        VARCHAR NOT NULL,
    lignes_en_echec BIGINT NOT NULL,
    exemple         VARCHAR
);
COMMENT ON TABLE dq_check IS 'Résultats des contrats de qualité des données d''une exécution.';
COMMENT ON COLUMN dq_check.run_id IS 'Exécution.';
COMMENT ON COLUMN dq_check.table_name IS 'Table contrôlée.';
COMMENT ON COLUMN dq_check.regle IS 'Règle vérifiée.';
COMMENT ON COLUMN dq_check.severite IS 'bloquante (arrête l''exécution) ou avertissement.';
COMMENT ON COLUMN dq_check.lignes_en_echec IS 'Nombre de lignes qui ne respectent pas la règle.';
COMMENT ON COLUMN dq_check.exemple IS 'Exemple de ligne en échec.';

CREATE TABLE couverture_scrutin (
    scrutin_id          VARCHAR NOT NULL REFERENCES dim_scrutin (scrutin_id),
    territoire          VARCHAR NOT NULL,
    communes_presentes  INTEGER NOT NULL,
    communes_attendues  INTEGER NOT NULL,
    taux                FLOAT8 NOT NULL,
    PRIMARY KEY (scrutin_id, territoire)
);
COMMENT ON TABLE couverture_scrutin IS 'Matrice de couverture : communes présentes / attendues par scrutin et territoire.';
COMMENT ON COLUMN couverture_scrutin.scrutin_id IS 'Scrutin.';
COMMENT ON COLUMN couverture_scrutin.territoire IS 'Code département.';
COMMENT ON COLUMN couverture_scrutin.communes_presentes IS 'Communes COG 2026 ayant des résultats.';
COMMENT ON COLUMN couverture_scrutin.communes_attendues IS 'Communes COG 2026 du département.';
COMMENT ON COLUMN couverture_scrutin.taux IS 'communes_presentes / communes_attendues.';

-- ─── Views for BI and later stages ───────────────────────────────────────────────────────
CREATE VIEW v_participation_commune AS
SELECT scrutin_id, code_commune, inscrits, votants, blancs, nuls, exprimes
FROM fact_participation;

CREATE VIEW v_resultat_candidat_commune AS
SELECT f.scrutin_id, f.code_commune, c.candidat, c.nuance, c.code_bloc AS bloc, f.voix
FROM fact_resultat_commune f
JOIN dim_candidat c ON c.candidat_id = f.candidat_id;

-- One row per commune, ballot and bloc that stood in that ballot (0 voix where it got none).
CREATE VIEW v_resultat_bloc_commune AS
WITH blocs_scrutin AS (
    SELECT DISTINCT scrutin_id, code_bloc FROM dim_candidat WHERE code_bloc IS NOT NULL
), voix_bloc AS (
    SELECT f.scrutin_id, f.code_commune, c.code_bloc, SUM(f.voix) AS voix
    FROM fact_resultat_commune f
    JOIN dim_candidat c ON c.candidat_id = f.candidat_id
    GROUP BY f.scrutin_id, f.code_commune, c.code_bloc
)
SELECT p.scrutin_id, p.code_commune, b.code_bloc AS bloc,
       COALESCE(v.voix, 0) AS voix, p.exprimes,
       CASE WHEN p.exprimes > 0 THEN CAST(COALESCE(v.voix, 0) AS FLOAT8) / p.exprimes END AS part
FROM fact_participation p
JOIN blocs_scrutin b ON b.scrutin_id = p.scrutin_id
LEFT JOIN voix_bloc v
       ON v.scrutin_id = p.scrutin_id AND v.code_commune = p.code_commune AND v.code_bloc = b.code_bloc;

-- One row per territory, ballot and bloc that stood in that ballot (0 voix where it got none).
CREATE VIEW v_resultat_bloc_territoire AS
WITH blocs_scrutin AS (
    SELECT DISTINCT scrutin_id, code_bloc FROM dim_candidat WHERE code_bloc IS NOT NULL
), voix_bloc AS (
    SELECT f.scrutin_id, f.niveau, f.code_territoire, c.code_bloc, SUM(f.voix) AS voix
    FROM fact_resultat_territoire f
    JOIN dim_candidat c ON c.candidat_id = f.candidat_id
    GROUP BY f.scrutin_id, f.niveau, f.code_territoire, c.code_bloc
)
SELECT p.scrutin_id, p.niveau, p.code_territoire, b.code_bloc AS bloc,
       COALESCE(v.voix, 0) AS voix, p.exprimes,
       CASE WHEN p.exprimes > 0 THEN CAST(COALESCE(v.voix, 0) AS FLOAT8) / p.exprimes END AS part
FROM fact_participation_territoire p
JOIN blocs_scrutin b ON b.scrutin_id = p.scrutin_id
LEFT JOIN voix_bloc v
       ON v.scrutin_id = p.scrutin_id AND v.niveau = p.niveau AND v.code_territoire = p.code_territoire
      AND v.code_bloc = b.code_bloc;
