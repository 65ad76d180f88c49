-- Electio warehouse: présidentielle second-round duels by commune (stage « electio forecast », duels hook).
-- Portable SQL (DuckDB and PostgreSQL). Written after fact_prevision into the existing warehouse, in one
-- transaction (electio.warehouse.store.replace_stage_tables); a run replaces every row.
-- fact_prevision_duel.code_commune also holds the territory total (département code), member of no dimension.

CREATE TABLE dim_hypothese (
    hypothese_id      VARCHAR NOT NULL PRIMARY KEY,
    libelle           VARCHAR NOT NULL,
    candidats         VARCHAR NOT NULL,
    sondages          INTEGER NOT NULL,
    sondages_recents  INTEGER NOT NULL,
    dernier_sondage   DATE NOT NULL,
    par_defaut        BOOLEAN NOT NULL,
    retenue           BOOLEAN NOT NULL,
    duels_calcules    BOOLEAN NOT NULL,
    agregat           VARCHAR NOT NULL
);
COMMENT ON TABLE dim_hypothese IS 'Hypothèses de candidats des sondages de premier tour de la présidentielle 2027 (une par liste de candidats testée), avec leur agrégat de sondages.';
COMMENT ON COLUMN dim_hypothese.hypothese_id IS 'Identifiant stable de l''hypothèse : clés des candidats triées, en minuscules sans accents.';
COMMENT ON COLUMN dim_hypothese.libelle IS 'Libellé français nommant les candidats qui distinguent l''hypothèse des autres hypothèses récentes.';
COMMENT ON COLUMN dim_hypothese.candidats IS 'Liste des candidats testés (clés triées, séparées par « ; »), identité de l''hypothèse (dim_sondage.candidats).';
COMMENT ON COLUMN dim_hypothese.sondages IS 'Nombre de scénarios de sondage de cette hypothèse connus à la date de référence.';
COMMENT ON COLUMN dim_hypothese.sondages_recents IS 'Nombre de ces scénarios dont le terrain s''est achevé dans les 60 jours avant la date de référence (à défaut de sondage si récent : dans les 60 jours jusqu''au dernier sondage).';
COMMENT ON COLUMN dim_hypothese.dernier_sondage IS 'Fin de terrain du sondage le plus récent de l''hypothèse.';
COMMENT ON COLUMN dim_hypothese.par_defaut IS 'Vrai pour l''hypothèse par défaut : la plus sondée récemment : sondages des 60 jours avant la date de référence pondérés par leur fraîcheur (demi-vie 14 jours).';
COMMENT ON COLUMN dim_hypothese.retenue IS 'Vrai pour l''hypothèse utilisée par les duels de cette exécution (option --hypothese, sinon celle par défaut).';
COMMENT ON COLUMN dim_hypothese.duels_calcules IS 'Vrai si les duels de cette hypothèse sont dans fact_prevision_duel (l''hypothèse retenue et les plus sondées des 60 derniers jours).';
COMMENT ON COLUMN dim_hypothese.agregat IS 'Agrégat des sondages de l''hypothèse (JSON : part des exprimés par bloc, fraction de 0 à 1), moyenne des scénarios de ses 60 derniers jours de sondages.';

CREATE TABLE dim_duel (
    duel_id            VARCHAR NOT NULL PRIMARY KEY,
    libelle            VARCHAR NOT NULL,
    candidat_a         VARCHAR NOT NULL,
    candidat_b         VARCHAR NOT NULL,
    bloc_a             VARCHAR NOT NULL,
    bloc_b             VARCHAR NOT NULL,
    sondages           INTEGER NOT NULL,
    sondages_fenetre   INTEGER NOT NULL,
    premier_sondage    DATE NOT NULL,
    dernier_sondage    DATE NOT NULL,
    part_a_sondages    FLOAT8 NOT NULL,
    ecart_type_logit   FLOAT8 NOT NULL,
    analogues          VARCHAR NOT NULL,
    hypothese_id       VARCHAR NOT NULL REFERENCES dim_hypothese (hypothese_id),
    date_reference     DATE NOT NULL
);
COMMENT ON TABLE dim_duel IS 'Duels de second tour de la présidentielle 2027 testés par les sondages et prévus commune par commune.';
COMMENT ON COLUMN dim_duel.duel_id IS 'Identifiant du duel : clés des deux candidats triées, en minuscules sans accents (« le-pen_philippe »).';
COMMENT ON COLUMN dim_duel.libelle IS 'Libellé français du duel (« Édouard Philippe contre Marine Le Pen »).';
COMMENT ON COLUMN dim_duel.candidat_a IS 'Clé du premier candidat (le bloc le plus à gauche), dont la part est modélisée.';
COMMENT ON COLUMN dim_duel.candidat_b IS 'Clé du second candidat.';
COMMENT ON COLUMN dim_duel.bloc_a IS 'Bloc du premier candidat (dim_bloc).';
COMMENT ON COLUMN dim_duel.bloc_b IS 'Bloc du second candidat (dim_bloc).';
COMMENT ON COLUMN dim_duel.sondages IS 'Nombre de sondages du duel connus à la date de référence.';
COMMENT ON COLUMN dim_duel.sondages_fenetre IS 'Nombre de sondages de l''agrégat : ceux des 30 jours avant la date de référence, à défaut les 30 jours jusqu''au dernier sondage.';
COMMENT ON COLUMN dim_duel.premier_sondage IS 'Fin de terrain du premier sondage du duel.';
COMMENT ON COLUMN dim_duel.dernier_sondage IS 'Fin de terrain du dernier sondage du duel.';
COMMENT ON COLUMN dim_duel.part_a_sondages IS 'Agrégat national des sondages : part du premier candidat parmi les deux (fraction).';
COMMENT ON COLUMN dim_duel.ecart_type_logit IS 'Écart type de l''agrégat national tiré dans les simulations (échelle logit) : dispersion des sondages et erreurs passées des sondages de second tour, croissant avec la distance au scrutin.';
COMMENT ON COLUMN dim_duel.analogues IS 'Seconds tours historiques dont les taux de report sont repris (referentials/duels_analogues.csv).';
COMMENT ON COLUMN dim_duel.hypothese_id IS 'Hypothèse de premier tour utilisée pour le premier tour national (clé étrangère vers dim_hypothese).';
COMMENT ON COLUMN dim_duel.date_reference IS 'Date de référence de la prévision : sondages et résultats antérieurs seulement.';

CREATE TABLE fact_prevision_duel (
    hypothese_id  VARCHAR NOT NULL REFERENCES dim_hypothese (hypothese_id),
    duel_id       VARCHAR NOT NULL REFERENCES dim_duel (duel_id),
    code_commune  VARCHAR NOT NULL,
    candidat      VARCHAR NOT NULL,
    moyenne       FLOAT8 NOT NULL,
    q10           FLOAT8 NOT NULL,
    q50           FLOAT8 NOT NULL,
    q90           FLOAT8 NOT NULL,
    p_victoire    FLOAT8 NOT NULL,
    PRIMARY KEY (hypothese_id, duel_id, code_commune, candidat)
);
COMMENT ON TABLE fact_prevision_duel IS 'Second tour de la présidentielle 2027 par hypothèse de premier tour, duel, commune et candidat : part des exprimés simulée (reports de voix du premier tour prévu, calés sur les sondages du duel) et probabilité de victoire.';
COMMENT ON COLUMN fact_prevision_duel.hypothese_id IS 'Hypothèse de premier tour (clé étrangère vers dim_hypothese) : la retenue et les autres hypothèses récentes (dim_hypothese.duels_calcules).';
COMMENT ON COLUMN fact_prevision_duel.duel_id IS 'Duel (clé étrangère vers dim_duel).';
COMMENT ON COLUMN fact_prevision_duel.code_commune IS 'Unité d''analyse (dim_unite.code_unite : commune, ou arrondissement municipal), ou code du département pour le total du territoire.';
COMMENT ON COLUMN fact_prevision_duel.candidat IS 'Clé du candidat (dim_duel.candidat_a ou candidat_b).';
COMMENT ON COLUMN fact_prevision_duel.moyenne IS 'Moyenne simulée de la part du candidat parmi les exprimés du second tour (fraction).';
COMMENT ON COLUMN fact_prevision_duel.q10 IS 'Quantile à 10 % (borne basse de l''intervalle à 80 %).';
COMMENT ON COLUMN fact_prevision_duel.q50 IS 'Médiane.';
COMMENT ON COLUMN fact_prevision_duel.q90 IS 'Quantile à 90 % (borne haute de l''intervalle à 80 %).';
COMMENT ON COLUMN fact_prevision_duel.p_victoire IS 'Probabilité simulée que le candidat dépasse 50 % des exprimés (mêmes simulations pour les communes et le territoire).';

CREATE TABLE model_evaluation_duel (
    scrutin_test              VARCHAR NOT NULL,
    methode                   VARCHAR NOT NULL,
    conditionnel              BOOLEAN NOT NULL,
    analogues                 VARCHAR NOT NULL,
    sondages                  INTEGER NOT NULL,
    part_sondages             FLOAT8 NOT NULL,
    communes                  INTEGER NOT NULL,
    mae_points                FLOAT8,
    precision_vainqueur       FLOAT8,
    couverture_80             FLOAT8,
    erreur_territoire_points  FLOAT8,
    PRIMARY KEY (scrutin_test, methode, conditionnel)
);
COMMENT ON TABLE model_evaluation_duel IS 'Backtest du modèle de duels : second tour passé prévu commune par commune à partir du vrai premier tour (conditionnel) ou un mois avant le premier tour (inconditionnel : premier tour prévu, sondages de l''époque), à côté d''un swing uniforme depuis le second tour précédent.';
COMMENT ON COLUMN model_evaluation_duel.scrutin_test IS 'Second tour rejoué (pres2017_t2, pres2022_t2).';
COMMENT ON COLUMN model_evaluation_duel.methode IS 'transferts (modèle de reports de voix) ou swing_uniforme (référence : second tour précédent décalé de l''écart national).';
COMMENT ON COLUMN model_evaluation_duel.conditionnel IS 'Vrai : le vrai premier tour est donné (seuls les reports et le niveau national sont prévus). Faux : toute la chaîne telle qu''elle aurait tourné un mois avant le premier tour (premier tour rejoué, reports des paires antérieures, sondages du duel publiés avant cette date).';
COMMENT ON COLUMN model_evaluation_duel.analogues IS 'Seconds tours antérieurs dont les taux de report sont repris.';
COMMENT ON COLUMN model_evaluation_duel.sondages IS 'Nombre de sondages du duel dans l''agrégat, 30 derniers jours (conditionnel : fin de terrain avant le premier tour + 4 jours ; inconditionnel : avant la date de référence, 0 s''il n''y en avait aucun).';
COMMENT ON COLUMN model_evaluation_duel.part_sondages IS 'Agrégat national des sondages : part du premier candidat parmi les deux (fraction) ; sans sondage du duel (sondages = 0), la part nationale que donnent les reports appliqués au premier tour des sondages.';
COMMENT ON COLUMN model_evaluation_duel.communes IS 'Nombre de communes évaluées.';
COMMENT ON COLUMN model_evaluation_duel.mae_points IS 'Erreur absolue moyenne sur la part du premier candidat, en points (NULL si la méthode ne peut être calculée).';
COMMENT ON COLUMN model_evaluation_duel.precision_vainqueur IS 'Part des communes dont le vainqueur prévu (part moyenne au-dessus de 50 %) est le vrai vainqueur.';
COMMENT ON COLUMN model_evaluation_duel.couverture_80 IS 'Part des communes dont le vrai résultat tombe dans l''intervalle à 80 % (NULL pour le swing uniforme, sans intervalle).';
COMMENT ON COLUMN model_evaluation_duel.erreur_territoire_points IS 'Erreur sur la part du premier candidat dans le total du territoire, en points (prévu − observé).';
