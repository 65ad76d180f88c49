-- Electio warehouse: results of the exploratory analysis stage (electio explore).
-- Portable SQL (DuckDB and PostgreSQL). Written after the ETL, in one transaction per run:
-- the rows of the analysed territory and weighting are replaced, other rows are kept.

CREATE TABLE analysis_correlation (
    territoire           VARCHAR NOT NULL,
    scrutin_id           VARCHAR NOT NULL REFERENCES dim_scrutin (scrutin_id),
    cible                VARCHAR NOT NULL,
    indicateur           VARCHAR NOT NULL,
    annee_indicateur     INTEGER NOT NULL,
    transformation       VARCHAR NOT NULL,
    methode              VARCHAR NOT NULL,
    ponderation          VARCHAR NOT NULL,
    coefficient          FLOAT8,
    ic_bas               FLOAT8,
    ic_haut              FLOAT8,
    niveau_confiance     FLOAT8 NOT NULL,
    p_valeur             FLOAT8,
    n_communes           INTEGER NOT NULL,
    n_bootstrap          INTEGER NOT NULL,
    graine               INTEGER NOT NULL,
    regle_disponibilite  VARCHAR NOT NULL,
    variables_controle   VARCHAR,
    run_id               VARCHAR NOT NULL,
    calcule_le           TIMESTAMP NOT NULL,
    PRIMARY KEY (territoire, scrutin_id, cible, indicateur, methode, ponderation)
);
COMMENT ON TABLE analysis_correlation IS 'Corrélations commune par commune entre chaque indicateur local (valeur disponible avant le scrutin) et chaque cible électorale (part d''un bloc ou participation), avec intervalle de confiance bootstrap. Une corrélation n''est pas une causalité.';
COMMENT ON COLUMN analysis_correlation.territoire IS 'Territoire analysé : code département ou FR.';
COMMENT ON COLUMN analysis_correlation.scrutin_id IS 'Scrutin.';
COMMENT ON COLUMN analysis_correlation.cible IS 'Variable électorale : code d''un bloc (part des exprimés, voir dim_bloc) ou participation (votants / inscrits).';
COMMENT ON COLUMN analysis_correlation.indicateur IS 'Code de l''indicateur (voir dim_indicateur).';
COMMENT ON COLUMN analysis_correlation.annee_indicateur IS 'Année de référence des valeurs utilisées : la plus récente disponible avant le scrutin (voir regle_disponibilite).';
COMMENT ON COLUMN analysis_correlation.transformation IS 'Transformation appliquée à l''indicateur avant calcul : aucune, ou log10 (population, densité).';
COMMENT ON COLUMN analysis_correlation.methode IS 'pearson, spearman (sur les rangs), partielle_pearson ou partielle_spearman (à log10 population et log10 densité constantes).';
COMMENT ON COLUMN analysis_correlation.ponderation IS 'aucune (chaque commune compte pour un) ou votants (communes pondérées par leur nombre de votants).';
COMMENT ON COLUMN analysis_correlation.coefficient IS 'Coefficient de corrélation, entre -1 et 1.';
COMMENT ON COLUMN analysis_correlation.ic_bas IS 'Borne basse de l''intervalle de confiance bootstrap (percentiles).';
COMMENT ON COLUMN analysis_correlation.ic_haut IS 'Borne haute de l''intervalle de confiance bootstrap (percentiles).';
COMMENT ON COLUMN analysis_correlation.niveau_confiance IS 'Niveau de l''intervalle de confiance (0,95 pour 95 %).';
COMMENT ON COLUMN analysis_correlation.p_valeur IS 'p-valeur bilatérale du test t de nullité du coefficient (approximative pour Spearman et avec pondération).';
COMMENT ON COLUMN analysis_correlation.n_communes IS 'Communes ayant toutes les valeurs nécessaires au calcul.';
COMMENT ON COLUMN analysis_correlation.n_bootstrap IS 'Nombre de rééchantillonnages bootstrap.';
COMMENT ON COLUMN analysis_correlation.graine IS 'Graine du générateur aléatoire (résultats reproductibles).';
COMMENT ON COLUMN analysis_correlation.regle_disponibilite IS 'Règle de choix de l''année : date_publication (référentiel indicateurs_disponibilite.csv : publiée avant le scrutin) ou annee_anterieure (année ≤ année du scrutin - 1).';
COMMENT ON COLUMN analysis_correlation.variables_controle IS 'Variables de contrôle des corrélations partielles (NULL sinon).';
COMMENT ON COLUMN analysis_correlation.run_id IS 'Exécution de l''ETL dont les données ont été analysées (voir etl_run).';
COMMENT ON COLUMN analysis_correlation.calcule_le IS 'Date et heure du calcul (UTC).';

CREATE TABLE analysis_answer (
    territoire               VARCHAR NOT NULL,
    scrutin_id               VARCHAR NOT NULL REFERENCES dim_scrutin (scrutin_id),
    cible                    VARCHAR NOT NULL,
    ponderation              VARCHAR NOT NULL,
    methode_classement       VARCHAR NOT NULL,
    indicateur               VARCHAR NOT NULL,
    libelle_indicateur       VARCHAR NOT NULL,
    annee_indicateur         INTEGER NOT NULL,
    coefficient              FLOAT8 NOT NULL,
    ic_bas                   FLOAT8,
    ic_haut                  FLOAT8,
    coefficient_partiel      FLOAT8,
    ic_partiel_bas           FLOAT8,
    ic_partiel_haut          FLOAT8,
    n_communes               INTEGER NOT NULL,
    second_indicateur        VARCHAR,
    second_coefficient       FLOAT8,
    ecart_significatif       BOOLEAN NOT NULL,
    texte                    VARCHAR NOT NULL,
    avertissement            VARCHAR NOT NULL,
    run_id                   VARCHAR NOT NULL,
    calcule_le               TIMESTAMP NOT NULL,
    PRIMARY KEY (territoire, scrutin_id, cible, ponderation)
);
COMMENT ON TABLE analysis_answer IS 'Réponse à « quel indicateur est le plus corrélé aux résultats ? » : pour chaque scrutin et chaque cible, l''indicateur de plus forte corrélation en valeur absolue, avec son incertitude.';
COMMENT ON COLUMN analysis_answer.territoire IS 'Territoire analysé : code département ou FR.';
COMMENT ON COLUMN analysis_answer.scrutin_id IS 'Scrutin.';
COMMENT ON COLUMN analysis_answer.cible IS 'Code du bloc, ou participation.';
COMMENT ON COLUMN analysis_answer.ponderation IS 'aucune ou votants (voir analysis_correlation).';
COMMENT ON COLUMN analysis_answer.methode_classement IS 'Méthode dont la valeur absolue classe les indicateurs (spearman : robuste aux valeurs extrêmes et aux relations monotones non linéaires).';
COMMENT ON COLUMN analysis_answer.indicateur IS 'Indicateur le plus corrélé.';
COMMENT ON COLUMN analysis_answer.libelle_indicateur IS 'Libellé français de l''indicateur.';
COMMENT ON COLUMN analysis_answer.annee_indicateur IS 'Année des valeurs de l''indicateur utilisées.';
COMMENT ON COLUMN analysis_answer.coefficient IS 'Coefficient de la méthode de classement.';
COMMENT ON COLUMN analysis_answer.ic_bas IS 'Borne basse de son intervalle de confiance bootstrap.';
COMMENT ON COLUMN analysis_answer.ic_haut IS 'Borne haute de son intervalle de confiance bootstrap.';
COMMENT ON COLUMN analysis_answer.coefficient_partiel IS 'Corrélation partielle (même méthode sur les rangs) à log10 population et log10 densité constantes ; NULL pour la population et la densité elles-mêmes.';
COMMENT ON COLUMN analysis_answer.ic_partiel_bas IS 'Borne basse de l''intervalle de confiance de la corrélation partielle.';
COMMENT ON COLUMN analysis_answer.ic_partiel_haut IS 'Borne haute de l''intervalle de confiance de la corrélation partielle.';
COMMENT ON COLUMN analysis_answer.n_communes IS 'Communes utilisées.';
COMMENT ON COLUMN analysis_answer.second_indicateur IS 'Deuxième indicateur le plus corrélé.';
COMMENT ON COLUMN analysis_answer.second_coefficient IS 'Coefficient du deuxième indicateur.';
COMMENT ON COLUMN analysis_answer.ecart_significatif IS 'Vrai si les intervalles de confiance du premier et du deuxième indicateur (en valeur absolue) ne se recouvrent pas.';
COMMENT ON COLUMN analysis_answer.texte IS 'Réponse rédigée en français, avec l''incertitude.';
COMMENT ON COLUMN analysis_answer.avertissement IS 'Rappel : une corrélation n''est pas une causalité.';
COMMENT ON COLUMN analysis_answer.run_id IS 'Exécution de l''ETL dont les données ont été analysées.';
COMMENT ON COLUMN analysis_answer.calcule_le IS 'Date et heure du calcul (UTC).';
