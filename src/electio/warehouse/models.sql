-- Electio warehouse: results of the supervised models (stage « electio evaluate »).
-- Portable SQL (DuckDB and PostgreSQL). Written after the ETL into the existing warehouse,
-- in one transaction (electio.warehouse.store.replace_stage_tables).

CREATE TABLE model_evaluation (
    modele        VARCHAR NOT NULL,
    scrutin_test  VARCHAR NOT NULL REFERENCES dim_scrutin (scrutin_id),
    territoire    VARCHAR NOT NULL,
    horizon_ans   INTEGER NOT NULL,
    conditionnel  BOOLEAN NOT NULL,
    bloc          VARCHAR NOT NULL,
    metrique      VARCHAR NOT NULL,
    valeur        FLOAT8,
    ic_basse      FLOAT8,
    ic_haute      FLOAT8,
    n_communes    INTEGER,
    classe_taille VARCHAR NOT NULL DEFAULT 'toutes',
    date_reference DATE,
    PRIMARY KEY (modele, scrutin_test, territoire, horizon_ans, conditionnel, bloc, metrique)
);
COMMENT ON TABLE model_evaluation IS 'Précision des modèles en backtest chronologique (entraînement sur les scrutins antérieurs au scrutin testé uniquement).';
COMMENT ON COLUMN model_evaluation.modele IS 'persistance, swing_uniforme, swing_proportionnel (références), plancher_bruit (référence : erreur du seul tirage binomial aux exprimés, ce qu''aucun modèle ne peut battre en moyenne), frequence_tete (référence sans fuite de P(tête) : fréquence de tête de chaque bloc au scrutin comparable précédent), ridge_logratio, foret_aleatoire, lightgbm, mixte_communes (modèles testés), retenu (copie du modèle choisi par la règle fixée d''avance), total_territoire (erreur du modèle de total départemental) ; rejeux de la prévision complète à une date passée (date_reference renseignée) : retenu_rejoue (modèle retenu avec les totaux du territoire de la prévision), total_precedent_rejoue (même modèle local, ancien modèle de total : le total du scrutin comparable), persistance_rejoue (parts du scrutin comparable), plancher_bruit_rejoue (plancher de bruit du rejeu).';
COMMENT ON COLUMN model_evaluation.scrutin_test IS 'Scrutin prévu (jamais vu à l''entraînement).';
COMMENT ON COLUMN model_evaluation.territoire IS 'Communes évaluées : code département, ou FR pour toute la France.';
COMMENT ON COLUMN model_evaluation.horizon_ans IS 'Backtests : années (arrondies) entre le dernier scrutin connu du modèle et le scrutin prévu ; rejeux (date_reference renseignée) : années entières entre la date de référence et le scrutin (0 : rejeu à un mois du vote).';
COMMENT ON COLUMN model_evaluation.conditionnel IS 'Vrai : les vrais totaux départementaux du scrutin testé sont donnés (précision de la répartition entre communes) ; faux : ils sont eux aussi prévus (précision complète).';
COMMENT ON COLUMN model_evaluation.bloc IS 'Code du bloc, abstention (taux d''abstention des inscrits), ou moyenne (moyenne sur les blocs en lice, abstention exclue).';
COMMENT ON COLUMN model_evaluation.metrique IS 'mae, rmse, mae_pond, rmse_pond (points de pourcentage ; _pond : pondérées par les exprimés, les inscrits pour l''abstention), mae_taille_<classe> (MAE par classe de taille), r2, acc_tete, bacc_tete, brier (probabilité du bloc prévu en tête), brier_blocs, brier_fiabilite, brier_resolution, brier_incertitude (Brier de P(tête) sur chaque commune × bloc en lice et sa décomposition de Murphy), couv80, couv95 (couverture par bloc ; moyenne = moyenne des blocs), couv80_joint, couv95_joint (tous les blocs d''une commune dans leurs intervalles), couv80_pond, couv95_pond (pondérées par les exprimés), couv80_taille_<classe>, couv95_taille_<classe> (par classe de taille), is80, is95 (score d''intervalle, points : largeur + 2/α × dépassement).';
COMMENT ON COLUMN model_evaluation.valeur IS 'Valeur de la métrique.';
COMMENT ON COLUMN model_evaluation.ic_basse IS 'Borne basse de l''intervalle à 90 % de la métrique par bootstrap en grappes sur les communes (tous les blocs d''une commune tirés ensemble) ; NULL quand non calculé.';
COMMENT ON COLUMN model_evaluation.ic_haute IS 'Borne haute de l''intervalle à 90 % par bootstrap sur les communes ; NULL quand non calculé.';
COMMENT ON COLUMN model_evaluation.n_communes IS 'Nombre de communes évaluées (où le bloc était en lice).';
COMMENT ON COLUMN model_evaluation.date_reference IS 'Rejeux seulement : date de référence de la prévision rejouée (tout ce qui était public avant cette date, rien après) ; NULL pour les backtests.';
COMMENT ON COLUMN model_evaluation.classe_taille IS 'Classe de taille des communes évaluées (exprimés au scrutin comparable : moins_200, 200_999, 1000_4999, 5000_plus) ou toutes.';

CREATE TABLE model_importance (
    modele        VARCHAR NOT NULL,
    scrutin_test  VARCHAR NOT NULL REFERENCES dim_scrutin (scrutin_id),
    territoire    VARCHAR NOT NULL,
    bloc          VARCHAR NOT NULL,
    variable      VARCHAR NOT NULL,
    famille       VARCHAR NOT NULL,
    importance    FLOAT8 NOT NULL,
    ecart_type    FLOAT8 NOT NULL,
    rang          INTEGER NOT NULL,
    PRIMARY KEY (modele, scrutin_test, territoire, bloc, variable)
);
COMMENT ON TABLE model_importance IS 'Importance par permutation des variables du modèle retenu, par bloc, sur le scrutin de test principal (conditionnel aux vrais totaux).';
COMMENT ON COLUMN model_importance.modele IS 'Nom du modèle retenu.';
COMMENT ON COLUMN model_importance.scrutin_test IS 'Scrutin sur lequel l''importance est mesurée.';
COMMENT ON COLUMN model_importance.territoire IS 'Communes évaluées : code département ou FR.';
COMMENT ON COLUMN model_importance.bloc IS 'Bloc, abstention, ou moyenne (moyenne sur les blocs).';
COMMENT ON COLUMN model_importance.variable IS 'Variable explicative permutée (préfixe f_).';
COMMENT ON COLUMN model_importance.famille IS 'Famille de la variable : dernier scrutin, même type de scrutin, historique moyen, référence, indicateur local, type de scrutin, taille.';
COMMENT ON COLUMN model_importance.importance IS 'Hausse moyenne de la MAE (points de pourcentage) quand la variable est permutée entre communes.';
COMMENT ON COLUMN model_importance.ecart_type IS 'Écart-type de cette hausse sur les répétitions de la permutation.';
COMMENT ON COLUMN model_importance.rang IS 'Rang de la variable pour ce bloc (1 = la plus importante).';

CREATE TABLE model_prediction_backtest (
    modele          VARCHAR NOT NULL,
    scrutin_test    VARCHAR NOT NULL REFERENCES dim_scrutin (scrutin_id),
    territoire      VARCHAR NOT NULL,
    horizon_ans     INTEGER NOT NULL,
    conditionnel    BOOLEAN NOT NULL,
    code_commune    VARCHAR NOT NULL,
    bloc            VARCHAR NOT NULL,
    part_observee   FLOAT8 NOT NULL,
    part_prevue     FLOAT8 NOT NULL,
    borne_basse_80  FLOAT8,
    borne_haute_80  FLOAT8,
    borne_basse_95  FLOAT8,
    borne_haute_95  FLOAT8,
    proba_tete      FLOAT8,
    inscrits        BIGINT NOT NULL,
    exprimes        BIGINT NOT NULL
);
COMMENT ON TABLE model_prediction_backtest IS 'Prévisions de backtest par commune et bloc, avec intervalles conformes et probabilité d''arriver en tête (diagrammes de fiabilité).';
COMMENT ON COLUMN model_prediction_backtest.modele IS 'Modèle (mêmes codes que model_evaluation).';
COMMENT ON COLUMN model_prediction_backtest.scrutin_test IS 'Scrutin prévu.';
COMMENT ON COLUMN model_prediction_backtest.territoire IS 'Territoire d''évaluation : code département ou FR.';
COMMENT ON COLUMN model_prediction_backtest.horizon_ans IS 'Années entre le dernier scrutin connu et le scrutin prévu.';
COMMENT ON COLUMN model_prediction_backtest.conditionnel IS 'Vrai si les vrais totaux départementaux étaient donnés.';
COMMENT ON COLUMN model_prediction_backtest.code_commune IS 'Unité d''analyse (dim_unite.code_unite) : commune (COG 2026) ou arrondissement municipal.';
COMMENT ON COLUMN model_prediction_backtest.bloc IS 'Bloc, ou abstention (taux d''abstention des inscrits).';
COMMENT ON COLUMN model_prediction_backtest.part_observee IS 'Part observée des exprimés (taux d''abstention pour abstention).';
COMMENT ON COLUMN model_prediction_backtest.part_prevue IS 'Part prévue (fraction, de 0 à 1).';
COMMENT ON COLUMN model_prediction_backtest.borne_basse_80 IS 'Borne basse de l''intervalle de prévision à 80 % (NULL sans scrutin antérieur pour calibrer).';
COMMENT ON COLUMN model_prediction_backtest.borne_haute_80 IS 'Borne haute de l''intervalle à 80 %.';
COMMENT ON COLUMN model_prediction_backtest.borne_basse_95 IS 'Borne basse de l''intervalle à 95 %.';
COMMENT ON COLUMN model_prediction_backtest.borne_haute_95 IS 'Borne haute de l''intervalle à 95 %.';
COMMENT ON COLUMN model_prediction_backtest.proba_tete IS 'Probabilité simulée que ce bloc arrive en tête dans la commune (NULL pour l''abstention ou sans calibration).';
COMMENT ON COLUMN model_prediction_backtest.inscrits IS 'Inscrits de la commune au scrutin prévu.';
COMMENT ON COLUMN model_prediction_backtest.exprimes IS 'Suffrages exprimés de la commune au scrutin prévu.';

CREATE TABLE model_card (
    territoire  VARCHAR NOT NULL,
    ordre       INTEGER NOT NULL,
    section     VARCHAR NOT NULL,
    cle         VARCHAR NOT NULL,
    valeur      VARCHAR NOT NULL,
    PRIMARY KEY (territoire, section, cle)
);
COMMENT ON TABLE model_card IS 'Fiche du modèle retenu : données, règle de choix, performances mesurées, limites.';
COMMENT ON COLUMN model_card.territoire IS 'Territoire de l''entrepôt évalué (code département ou FR).';
COMMENT ON COLUMN model_card.ordre IS 'Ordre d''affichage.';
COMMENT ON COLUMN model_card.section IS 'Rubrique de la fiche (modele, donnees, regle, performance, limites…).';
COMMENT ON COLUMN model_card.cle IS 'Élément de la rubrique.';
COMMENT ON COLUMN model_card.valeur IS 'Valeur (texte).';
