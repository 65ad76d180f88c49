-- Electio warehouse: forecasts of the real ballots of the next three years (stage « electio forecast »).
-- Portable SQL (DuckDB and PostgreSQL). Written after « electio evaluate » into the existing warehouse,
-- in one transaction (electio.warehouse.store.replace_stage_tables); a run replaces every row.
-- Foreign keys: fact_prevision → dim_scenario and dim_scrutin_cible (the forecast targets: future ballots are
-- not in dim_scrutin). DuckDB cannot delete parent rows in the transaction that deletes their children, so
-- the warehouse file checks these keys in bulk before committing (electio.warehouse.store.replace_stage_tables);
-- PostgreSQL, the MCD and Power BI keep them declared. code_commune and bloc also hold the territory total
-- (département code) and the abstention, which are members of no dimension: their links to dim_unite and
-- dim_bloc are declared as relationships of the MCD and of Power BI (electio.outputs.mcd.LOGICAL_RELATIONS).

CREATE TABLE dim_scenario (
    scenario     VARCHAR NOT NULL PRIMARY KEY,
    libelle      VARCHAR NOT NULL,
    description  VARCHAR NOT NULL,
    parametres   VARCHAR NOT NULL
);
COMMENT ON TABLE dim_scenario IS 'Scénarios de prévision : tendance calibrée, scénarios nommés et scénario personnalisé.';
COMMENT ON COLUMN dim_scenario.scenario IS 'Code du scénario (tendance = scénario par défaut, personnalise = réglages en ligne de commande).';
COMMENT ON COLUMN dim_scenario.libelle IS 'Libellé français du scénario.';
COMMENT ON COLUMN dim_scenario.description IS 'Description française des hypothèses du scénario.';
COMMENT ON COLUMN dim_scenario.parametres IS 'Paramètres (JSON) : écarts des totaux du territoire en points par bloc (swing_points, appliqués à la tendance, autres blocs rééchelonnés pour sommer à 100 %) et décalages d''indicateurs dans leur unité (indicateurs).';

CREATE TABLE dim_scrutin_cible (
    scrutin_cible     VARCHAR NOT NULL PRIMARY KEY,
    type_scrutin      VARCHAR NOT NULL,
    tour              INTEGER NOT NULL,
    date_scrutin      DATE NOT NULL,
    statut            VARCHAR NOT NULL,
    source_date       VARCHAR NOT NULL,
    date_reference    DATE NOT NULL,
    horizon_ans       INTEGER NOT NULL,
    libelle           VARCHAR NOT NULL,
    libelle_court     VARCHAR NOT NULL,
    prevu             BOOLEAN NOT NULL,
    raison_exclusion  VARCHAR,
    methode_totaux    VARCHAR,
    nb_sondages       INTEGER,
    sondage_debut     DATE,
    sondage_fin       DATE,
    instituts         VARCHAR,
    note_totaux       VARCHAR
);
COMMENT ON TABLE dim_scrutin_cible IS 'Scrutins du calendrier électoral (referentials/calendrier.csv) dans les trois ans suivant la date de référence : ceux qui sont prévus (cibles de fact_prevision) et ceux qui ne le sont pas, avec la raison.';
COMMENT ON COLUMN dim_scrutin_cible.scrutin_cible IS 'Identifiant du scrutin réel (presAAAA_t1, euroAAAA_t1, legAAAA_t1…), le même que dans dim_scrutin une fois le scrutin tenu.';
COMMENT ON COLUMN dim_scrutin_cible.type_scrutin IS 'Type de scrutin (presidentielle, legislatives, europeennes, municipales, regionales, departementales).';
COMMENT ON COLUMN dim_scrutin_cible.tour IS 'Tour (1 ou 2).';
COMMENT ON COLUMN dim_scrutin_cible.date_scrutin IS 'Date du scrutin (réelle, prévue ou hypothétique selon le statut).';
COMMENT ON COLUMN dim_scrutin_cible.statut IS 'officiel : date fixée par décret ; prevu : scrutin obligatoire dans une fenêtre légale connue, jour retenu indiqué ; hypothese : scrutin qui peut ne pas avoir lieu (dissolution).';
COMMENT ON COLUMN dim_scrutin_cible.source_date IS 'Source de la date (texte du calendrier).';
COMMENT ON COLUMN dim_scrutin_cible.methode_totaux IS 'Origine des totaux du territoire : sondages (agrégat des intentions de vote publiées avant la date de référence, porté au territoire par son écart à la France) ou dernier_scrutin_comparable (pas de sondage : dernier scrutin national du même type et dérive mesurée). NULL pour un scrutin non prévu.';
COMMENT ON COLUMN dim_scrutin_cible.nb_sondages IS 'Nombre de scénarios de sondage retenus dans l''agrégat (0 sans sondage).';
COMMENT ON COLUMN dim_scrutin_cible.sondage_debut IS 'Fin de terrain du plus ancien sondage retenu.';
COMMENT ON COLUMN dim_scrutin_cible.sondage_fin IS 'Fin de terrain du plus récent sondage retenu (toujours antérieure à la date de référence).';
COMMENT ON COLUMN dim_scrutin_cible.instituts IS 'Instituts des sondages retenus, séparés par des virgules.';
COMMENT ON COLUMN dim_scrutin_cible.note_totaux IS 'Explication française des totaux du territoire : hypothèse de candidats, écart à la France utilisé, abstention, erreur calibrée.';
COMMENT ON COLUMN dim_scrutin_cible.date_reference IS 'Date de référence de la prévision : les cibles sont les scrutins postérieurs à cette date.';
COMMENT ON COLUMN dim_scrutin_cible.horizon_ans IS 'Années entre la date de référence et le scrutin, arrondies au supérieur (au moins 1).';
COMMENT ON COLUMN dim_scrutin_cible.libelle IS 'Libellé français du scrutin avec sa date et son statut.';
COMMENT ON COLUMN dim_scrutin_cible.libelle_court IS 'Libellé court pour les axes et en-têtes (« prés. 2027 (1 an) »).';
COMMENT ON COLUMN dim_scrutin_cible.prevu IS 'Vrai si le scrutin est une cible de fact_prevision.';
COMMENT ON COLUMN dim_scrutin_cible.raison_exclusion IS 'Pourquoi le scrutin n''est pas prévu (NULL s''il l''est).';

CREATE TABLE fact_prevision (
    scenario       VARCHAR NOT NULL REFERENCES dim_scenario (scenario),
    horizon_ans    INTEGER NOT NULL,
    scrutin_cible  VARCHAR NOT NULL REFERENCES dim_scrutin_cible (scrutin_cible),
    code_commune   VARCHAR NOT NULL,
    bloc           VARCHAR NOT NULL,
    moyenne        FLOAT8 NOT NULL,
    q025           FLOAT8 NOT NULL,
    q10            FLOAT8 NOT NULL,
    q50            FLOAT8 NOT NULL,
    q90            FLOAT8 NOT NULL,
    q975           FLOAT8 NOT NULL,
    p_tete         FLOAT8,
    PRIMARY KEY (scenario, scrutin_cible, code_commune, bloc)
);
COMMENT ON TABLE fact_prevision IS 'Prévisions par scénario, scrutin cible, commune et bloc : distribution prédictive simulée (moyenne, quantiles, probabilité d''arriver en tête).';
COMMENT ON COLUMN fact_prevision.scenario IS 'Scénario (clé étrangère vers dim_scenario).';
COMMENT ON COLUMN fact_prevision.horizon_ans IS 'Années entre la date de référence de la prévision et le scrutin cible, arrondies au supérieur (dim_scrutin_cible.horizon_ans).';
COMMENT ON COLUMN fact_prevision.scrutin_cible IS 'Scrutin prévu (clé étrangère vers dim_scrutin_cible), identifié comme le scrutin réel du calendrier : presAAAA_t1, euroAAAA_t1, legAAAA_t1.';
COMMENT ON COLUMN fact_prevision.code_commune IS 'Unité d''analyse (dim_unite.code_unite) : commune (COG 2026), ou arrondissement municipal de Lyon, Paris, Marseille (69381…) ; ou code du département (dim_departement) pour le total du territoire.';
COMMENT ON COLUMN fact_prevision.bloc IS 'Bloc (dim_bloc, part des exprimés) ou abstention (taux d''abstention des inscrits).';
COMMENT ON COLUMN fact_prevision.moyenne IS 'Moyenne de la distribution prédictive (fraction, de 0 à 1).';
COMMENT ON COLUMN fact_prevision.q025 IS 'Quantile à 2,5 % (borne basse de l''intervalle à 95 %).';
COMMENT ON COLUMN fact_prevision.q10 IS 'Quantile à 10 % (borne basse de l''intervalle à 80 %).';
COMMENT ON COLUMN fact_prevision.q50 IS 'Médiane.';
COMMENT ON COLUMN fact_prevision.q90 IS 'Quantile à 90 % (borne haute de l''intervalle à 80 %).';
COMMENT ON COLUMN fact_prevision.q975 IS 'Quantile à 97,5 % (borne haute de l''intervalle à 95 %).';
COMMENT ON COLUMN fact_prevision.p_tete IS 'Probabilité simulée que le bloc arrive en tête (NULL pour l''abstention).';

CREATE TABLE forecast_calibration (
    territoire          VARCHAR NOT NULL,
    modele              VARCHAR NOT NULL,
    source              VARCHAR NOT NULL,
    conditionnel        BOOLEAN NOT NULL,
    classe              INTEGER NOT NULL,
    borne_basse         FLOAT8 NOT NULL,
    borne_haute         FLOAT8 NOT NULL,
    proba_moyenne       FLOAT8,
    frequence_observee  FLOAT8,
    effectif            INTEGER NOT NULL,
    brier               FLOAT8 NOT NULL,
    brier_reference     FLOAT8 NOT NULL,
    scrutins            VARCHAR NOT NULL,
    PRIMARY KEY (territoire, modele, source, conditionnel, classe)
);
COMMENT ON TABLE forecast_calibration IS 'Fiabilité des probabilités d''arriver en tête : diagramme de fiabilité calculé sur les backtests (model_prediction_backtest).';
COMMENT ON COLUMN forecast_calibration.territoire IS 'Territoire évalué (code département).';
COMMENT ON COLUMN forecast_calibration.modele IS 'Modèle (retenu).';
COMMENT ON COLUMN forecast_calibration.source IS 'backtest : probabilités enregistrées par « electio evaluate » (erreurs communales seules) ; simulation : la simulation des prévisions rejouée sur les backtests non conditionnels avec les seules informations antérieures à chaque scrutin (incertitude du territoire comprise).';
COMMENT ON COLUMN forecast_calibration.conditionnel IS 'Vrai : backtests aux vrais totaux départementaux ; faux : totaux eux aussi prévus.';
COMMENT ON COLUMN forecast_calibration.classe IS 'Classe de probabilité (0 = [0 ; 0,1[, …, 9 = [0,9 ; 1]).';
COMMENT ON COLUMN forecast_calibration.borne_basse IS 'Borne basse de la classe de probabilité prévue.';
COMMENT ON COLUMN forecast_calibration.borne_haute IS 'Borne haute de la classe.';
COMMENT ON COLUMN forecast_calibration.proba_moyenne IS 'Probabilité prévue moyenne des couples commune × bloc de la classe (NULL si classe vide).';
COMMENT ON COLUMN forecast_calibration.frequence_observee IS 'Part de ces couples où le bloc est réellement arrivé en tête (idéalement égale à proba_moyenne).';
COMMENT ON COLUMN forecast_calibration.effectif IS 'Nombre de couples commune × bloc dans la classe.';
COMMENT ON COLUMN forecast_calibration.brier IS 'Score de Brier sur tous les couples commune × bloc : moyenne de (probabilité − issue)², issue = 1 si le bloc est en tête ; 0 = parfait.';
COMMENT ON COLUMN forecast_calibration.brier_reference IS 'Score de Brier de la référence sans fuite (probabilité = part des communes où le bloc était en tête au scrutin comparable précédent, connu avant le vote).';
COMMENT ON COLUMN forecast_calibration.scrutins IS 'Scrutins de backtest utilisés (horizon en années).';
